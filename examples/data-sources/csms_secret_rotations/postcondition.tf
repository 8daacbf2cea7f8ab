# `terraform plan` fails when any rotating secret of the project is off its schedule: its newest
# rotation failed, it is overdue (a schedule that silently stopped leaves no task behind, and is
# caught here), or its due time cannot be told. The message names each one with its reason.
data "csms_secret_rotations" "all" {
  as_of = plantimestamp()
  lifecycle {
    postcondition {
      condition     = self.all_healthy
      error_message = "Secrets off their rotation schedule:\n${join("\n", [for n, r in self.unhealthy : "${n}: ${r}"])}"
    }
  }
}
