# Every rotating secret on schedule, as a module a pipeline drops in: the plan FAILS when a
# secret with rotation enabled did not rotate successfully on schedule (its newest rotation
# failed, it is overdue, its due time cannot be told) or, with `secret_names`, when a named
# secret does not exist or does not rotate. The module configures no provider: the caller's
# `provider "csms"` block (or the HW_* environment) applies.
#
#   module "rotation_coverage" {
#     source       = "./rotation-coverage"
#     grace_period = "24h"
#   }

terraform {
  required_providers {
    csms = {
      source = "registry.terraform.io/example/csms"
    }
  }
}

variable "secret_names" {
  description = "Judge exactly these secrets; null: every secret with rotation enabled."
  type        = set(string)
  default     = null
}

variable "grace_period" {
  description = "How long past its due time a rotation may still be on its way, e.g. \"24h\"."
  type        = string
  default     = "1h"
}

variable "as_of" {
  description = "RFC 3339 instant to judge at; null: the plan's time. Tests pin it, so that a data set with fixed dates does not age."
  type        = string
  default     = null
}

data "csms_secret_rotations" "this" {
  secret_names = var.secret_names
  grace_period = var.grace_period
  as_of        = coalesce(var.as_of, plantimestamp())

  lifecycle {
    postcondition {
      condition     = self.all_healthy
      error_message = "Secrets off their rotation schedule:\n${join("\n", [for n, r in self.unhealthy : "${n}: ${r}"])}"
    }
  }
}

output "verdicts" {
  description = "The verdict of each secret judged, by name."
  value       = { for s in data.csms_secret_rotations.this.secrets : s.name => s.verdict }
}

output "due_at" {
  description = "When each secret's next rotation is due (RFC 3339), null when it cannot be told."
  value       = { for s in data.csms_secret_rotations.this.secrets : s.name => s.due_at }
}

output "counts" {
  description = "Number of secrets per verdict, every verdict present."
  value       = data.csms_secret_rotations.this.counts
}
