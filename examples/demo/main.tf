# The demo behind ./scripts/demo. The provider block names only the region: scripts/demo points
# the provider at a local CSMS emulator through HW_CSMS_ENDPOINT, HW_PROJECT_ID, HW_ACCESS_KEY and
# HW_SECRET_KEY, exactly as a user would point it at a test endpoint.
terraform {
  required_providers {
    csms = {
      source = "registry.terraform.io/example/csms"
    }
  }
}

provider "csms" {
  region = "cn-north-4"
}

variable "enforce" {
  description = "Fail the plan (postconditions) instead of only warning (check block)."
  type        = bool
  default     = true
}

# Every task of every secret, every page.
data "csms_rotation_tasks" "all" {}

output "task_count" {
  value = data.csms_rotation_tasks.all.total
}

output "newest_tasks" {
  value = [for t in slice(data.csms_rotation_tasks.all.tasks, 0, min(5, length(data.csms_rotation_tasks.all.tasks))) :
  "${t.created_at}  ${t.secret_name}  ${t.task_status}"]
}

output "latest_status" {
  value = { for name, t in data.csms_rotation_tasks.all.latest : name => t.task_status }
}

check "newest_rotations_succeeded" {
  assert {
    condition = alltrue([for name, t in data.csms_rotation_tasks.all.latest : t.task_status == "SUCCESS"])
    error_message = format(
      "The newest rotation failed for: %s.",
      join(", ", [for name, t in data.csms_rotation_tasks.all.latest : name if t.task_status != "SUCCESS"]),
    )
  }
}

# Passes: the newest rotation of prod-db-password succeeded.
data "csms_rotation_tasks" "prod_db" {
  secret_name = "prod-db-password"

  lifecycle {
    postcondition {
      condition     = !var.enforce || try(self.latest["prod-db-password"].task_status, "NONE") == "SUCCESS"
      error_message = "The last rotation of prod-db-password did not succeed."
    }
  }
}

# Fails with the demo data: the newest rotation of legacy-api-key failed.
data "csms_rotation_tasks" "legacy_api" {
  secret_name = "legacy-api-key"

  lifecycle {
    postcondition {
      condition     = !var.enforce || try(self.latest["legacy-api-key"].task_status, "NONE") == "SUCCESS"
      # Evaluated even when the condition holds: null error fields (success) and a missing
      # entry (no task yet) must both give a string, hence coalesce() inside try().
      error_message = "The last rotation of legacy-api-key did not succeed: ${try(coalesce(self.latest["legacy-api-key"].task_error_msg, "no error message"), "no rotation task found")}"
    }
  }
}
