# Large accounts: keep only the last 30 days in `tasks`, so the plan carries the window and not
# years of history. `latest` and `latest_success` still cover every secret, however old their
# tasks: a secret whose rotation fails every day, or never succeeded, fails the freshness check
# instead of passing on its newest (failed) attempt.
data "csms_rotation_tasks" "recent" {
  since = timeadd(plantimestamp(), "-720h")
}

locals {
  # Every secret with a task, whose newest successful rotation is older than 30 days or absent.
  not_rotated = [
    for name in keys(data.csms_rotation_tasks.recent.latest) : name
    if !try(timecmp(data.csms_rotation_tasks.recent.latest_success[name].created_at, timeadd(plantimestamp(), "-720h")) >= 0, false)
  ]
}

check "every_secret_rotated_successfully_in_the_last_30_days" {
  assert {
    condition = length(local.not_rotated) == 0
    error_message = format(
      "No successful rotation in the last 30 days: %s.",
      join(", ", [
        for name in local.not_rotated :
        "${name} (last success: ${try(data.csms_rotation_tasks.recent.latest_success[name].created_at, "never")})"
      ]),
    )
  }
}

output "failed_in_the_last_30_days" {
  value = [for t in data.csms_rotation_tasks.recent.tasks : t.task_id if t.task_status == "FAILED"]
}
