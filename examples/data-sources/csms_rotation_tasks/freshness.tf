# Large accounts: keep only the last 30 days in `tasks`, so the plan carries the window and not
# years of history. `latest` still has every secret, even one whose newest rotation is older
# than the window, so a freshness check fails for it instead of passing on nothing.
data "csms_rotation_tasks" "recent" {
  since = timeadd(plantimestamp(), "-720h")
}

check "every_secret_rotated_in_the_last_30_days" {
  assert {
    condition = alltrue([
      for name, task in data.csms_rotation_tasks.recent.latest :
      try(timecmp(task.created_at, timeadd(plantimestamp(), "-720h")) >= 0, false)
    ])
    error_message = format(
      "Not rotated in the last 30 days: %s.",
      join(", ", [
        for name, task in data.csms_rotation_tasks.recent.latest : name
        if !try(timecmp(task.created_at, timeadd(plantimestamp(), "-720h")) >= 0, false)
      ]),
    )
  }
}

output "failed_in_the_last_30_days" {
  value = [for t in data.csms_rotation_tasks.recent.tasks : t.task_id if t.task_status == "FAILED"]
}
