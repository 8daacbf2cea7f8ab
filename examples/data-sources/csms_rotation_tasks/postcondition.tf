# `terraform plan` fails when the newest rotation of the secret did not succeed, and when the
# secret has no rotation task at all: `try()` turns the missing `latest` entry into "NONE".
# Terraform evaluates `error_message` even when the condition holds, so it must not fail on a
# successful task (its error fields are null) or on a missing one: hence `coalesce()` and `try()`.
data "csms_rotation_tasks" "prod_db" {
  secret_name = "prod-db-password"

  lifecycle {
    postcondition {
      condition     = try(self.latest["prod-db-password"].task_status, "NONE") == "SUCCESS"
      error_message = "The last rotation of prod-db-password did not succeed: ${try(coalesce(self.latest["prod-db-password"].task_error_msg, "no error message"), "no rotation task found")}"
    }
  }
}
