# `terraform plan` fails when the newest rotation of the secret did not succeed.
data "csms_rotation_tasks" "prod_db" {
  secret_name = "prod-db-password"

  lifecycle {
    postcondition {
      condition     = try(self.latest["prod-db-password"].task_status, "NONE") == "SUCCESS"
      error_message = "The last rotation of prod-db-password did not succeed."
    }
  }
}
