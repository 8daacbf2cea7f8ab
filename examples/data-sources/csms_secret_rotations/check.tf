# A `check` block turns the same question into a warning for a few named secrets, with a day of
# grace: the plan goes on. A name that does not exist is MISSING, so a typo cannot pass.
data "csms_secret_rotations" "databases" {
  secret_names = ["prod-db-password", "legacy-api-key"]
  as_of        = plantimestamp()
  grace_period = "24h"
}

check "databases_rotate_on_schedule" {
  assert {
    condition     = data.csms_secret_rotations.databases.all_healthy
    error_message = "Off their rotation schedule: ${join(", ", sort(keys(data.csms_secret_rotations.databases.unhealthy)))}."
  }
}
