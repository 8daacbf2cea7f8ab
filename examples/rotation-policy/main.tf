# A rotation policy a team can drop into a pipeline: the plan FAILS when the newest rotation of a
# listed secret did not succeed (or the secret never rotated), and WARNS when a secret's newest
# successful rotation is older than `max_age`. The module configures no provider: the caller's
# `provider "csms"` block (or the HW_* environment) applies.
#
#   module "rotation_policy" {
#     source       = "./rotation-policy"
#     secret_names = ["prod-db-password", "payments-api-key"]
#     max_age      = "720h" # 30 days
#   }

terraform {
  required_version = ">= 1.5" # check blocks
  required_providers {
    csms = {
      source = "registry.terraform.io/example/csms"
    }
  }
}

variable "secret_names" {
  description = "Secrets the policy covers, by name."
  type        = set(string)

  validation {
    condition     = length(var.secret_names) > 0
    error_message = "Name at least one secret."
  }
}

variable "max_age" {
  description = "Longest accepted time since a secret's newest successful rotation, as a duration timeadd() reads (\"720h\" is 30 days)."
  type        = string
  default     = "720h"

  validation {
    condition     = !startswith(var.max_age, "-") && can(timeadd("2000-01-01T00:00:00Z", var.max_age))
    error_message = "max_age must be a positive duration such as \"720h\" or \"90m\"."
  }
}

# One read per secret: the filter keeps the listing small however many secrets the account has.
data "csms_rotation_tasks" "secret" {
  for_each    = var.secret_names
  secret_name = each.key

  lifecycle {
    postcondition {
      condition = try(self.latest[each.key].task_status, "NONE") == "SUCCESS"
      # Evaluated even when the condition holds, so it must be a string on every path: the
      # error fields are null on success, and a secret without tasks has no `latest` entry.
      error_message = "The newest rotation of ${each.key} did not succeed: ${try(coalesce(self.latest[each.key].task_error_msg, self.latest[each.key].task_status), "the secret has no rotation task (a wrong name, or it never rotated)")}"
    }
  }
}

locals {
  # The instant a rotation must be newer than; plantimestamp() is fixed for the whole plan.
  cutoff = timeadd(plantimestamp(), "-${var.max_age}")

  # The newest SUCCESSFUL rotation per secret, null when there is none. `latest` would be the
  # newest task of any status: a failed task newer than a success says nothing about age.
  last_success = {
    for name, tasks in data.csms_rotation_tasks.secret :
    name => try([for t in tasks.tasks : t.created_at if t.task_status == "SUCCESS"][0], null)
  }

  stale = sort([for name, at in local.last_success : name if try(timecmp(at, local.cutoff) < 0, true)])
}

check "rotations_are_recent" {
  assert {
    condition     = length(local.stale) == 0
    error_message = "No successful rotation within ${var.max_age} for: ${join(", ", local.stale)}."
  }
}

output "latest" {
  description = "The newest rotation task of each secret: status, time and error message (null on success)."
  value = {
    for name, tasks in data.csms_rotation_tasks.secret : name => try({
      status     = tasks.latest[name].task_status
      created_at = tasks.latest[name].created_at
      error      = tasks.latest[name].task_error_msg
    }, null)
  }
}

output "last_success" {
  description = "When each secret last rotated successfully (RFC 3339), null when it never did."
  value       = local.last_success
}

output "stale" {
  description = "Secrets whose newest successful rotation is older than max_age, sorted."
  value       = local.stale
}
