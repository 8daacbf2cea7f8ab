# Every rotation task of one secret, newest first, read across all pages.
data "csms_rotation_tasks" "db" {
  secret_name = "prod-db-password"
}

# `lookup()` gives null instead of an error while the secret has never rotated: a secret
# without tasks has no entry in `latest`.
locals {
  db_latest = lookup(data.csms_rotation_tasks.db.latest, "prod-db-password", null)
}

output "db_last_rotation" {
  value = local.db_latest == null ? "prod-db-password has never rotated" : "${local.db_latest.task_status} at ${local.db_latest.created_at}"
}

# Failed tasks of every secret. The error fields are null on success, so `coalesce()` them.
data "csms_rotation_tasks" "failed" {
  status = "FAILED"
}

output "failed_rotations" {
  value = [for t in data.csms_rotation_tasks.failed.tasks : "${t.created_at} ${t.secret_name}: ${coalesce(t.task_error_msg, "no message")}"]
}
