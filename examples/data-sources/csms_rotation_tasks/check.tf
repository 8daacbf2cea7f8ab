# A `check` block turns the same kind of assertion into a warning: the plan goes on.
data "csms_rotation_tasks" "all" {}

check "newest_rotations_succeeded" {
  assert {
    condition = alltrue([for name, task in data.csms_rotation_tasks.all.latest : task.task_status == "SUCCESS"])
    error_message = format(
      "The newest rotation failed for: %s.",
      join(", ", [for name, task in data.csms_rotation_tasks.all.latest : name if task.task_status != "SUCCESS"]),
    )
  }
}
