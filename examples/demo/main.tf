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
  description = "Fail the plan (postcondition) instead of only warning (check block)."
  type        = bool
  default     = true
}

# Did every secret with rotation enabled rotate successfully on schedule? One verdict per
# rotating secret, judged at plan time. The demo data has a secret whose newest rotation FAILED
# (legacy-api-key), one whose schedule silently stopped (ldap-bind-password, OVERDUE: no task
# shows it) and one whose period cannot be read (reporting_readonly, UNKNOWN).
data "csms_secret_rotations" "all" {
  as_of = plantimestamp()

  lifecycle {
    postcondition {
      condition     = !var.enforce || self.all_healthy
      error_message = "Secrets off their rotation schedule:\n${join("\n", [for s in self.secrets : "${s.name} ${s.verdict}: ${s.reason}" if s.verdict != "HEALTHY"])}"
    }
  }
}

output "verdicts" {
  value = { for s in data.csms_secret_rotations.all.secrets : s.name => s.verdict }
}

output "rotation_counts" {
  value = data.csms_secret_rotations.all.counts
}

check "every_secret_rotates_on_schedule" {
  assert {
    condition     = data.csms_secret_rotations.all.all_healthy
    error_message = "Off their rotation schedule: ${join(", ", sort(keys(data.csms_secret_rotations.all.unhealthy)))}."
  }
}

# The task history behind the verdicts: every task of every secret, every page.
data "csms_rotation_tasks" "all" {}

output "task_count" {
  value = data.csms_rotation_tasks.all.total
}

output "newest_tasks" {
  value = [for t in slice(data.csms_rotation_tasks.all.tasks, 0, min(5, length(data.csms_rotation_tasks.all.tasks))) :
  "${t.created_at}  ${t.secret_name}  ${t.task_status}"]
}
