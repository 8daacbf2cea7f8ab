# Every rotation task of one secret, newest first, read across all pages.
data "csms_rotation_tasks" "db" {
  secret_name = "prod-db-password"
}

output "db_last_rotation" {
  value = {
    status = data.csms_rotation_tasks.db.latest["prod-db-password"].task_status
    at     = data.csms_rotation_tasks.db.latest["prod-db-password"].created_at
  }
}

# Failed tasks of every secret.
data "csms_rotation_tasks" "failed" {
  status = "FAILED"
}

output "failed_rotations" {
  value = [for t in data.csms_rotation_tasks.failed.tasks : "${t.created_at} ${t.secret_name}: ${coalesce(t.task_error_msg, "no message")}"]
}
