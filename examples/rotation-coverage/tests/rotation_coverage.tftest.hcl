# `terraform test` for the module, against the CSMS emulator serving the secrets and tasks
# beside this file:
#
#   csms-emulator --data tests/emulator-tasks.json --secrets-data tests/emulator-secrets.json &
#   # prints: listening on http://127.0.0.1:PORT
#   export HW_CSMS_ENDPOINT=http://127.0.0.1:PORT HW_PROJECT_ID=0123456789abcdef0123456789abcdef
#   export HW_REGION_NAME=cn-north-4 HW_ACCESS_KEY=AK HW_SECRET_KEY=SK
#   terraform test
#
# The data set's times are from 2025, so every run pins `as_of`: a verdict at a fixed instant
# does not change as the calendar moves on. Every failure a run provokes is listed in its
# expect_failures.

run "secrets_on_schedule_pass" {
  command = plan

  variables {
    secret_names = ["app-db-password", "payments-api-key"]
    as_of        = "2025-06-03T00:00:00Z"
  }

  assert {
    condition     = output.verdicts == { "app-db-password" = "HEALTHY", "payments-api-key" = "HEALTHY" }
    error_message = "Both secrets rotated successfully and are not due yet."
  }

  assert {
    condition     = output.due_at["app-db-password"] == "2025-06-08T03:00:00Z"
    error_message = "app-db-password is due at its next_rotation_time, a week after its last rotation."
  }
}

run "failed_rotation_fails_the_plan" {
  command = plan

  variables {
    secret_names = ["app-db-password", "legacy-api-key"]
    as_of        = "2025-06-03T00:00:00Z"
  }

  expect_failures = [data.csms_secret_rotations.this]
}

run "stopped_schedule_fails_the_plan" {
  command = plan

  variables {
    secret_names = ["ldap-bind-password"] # no task since April: due 2025-05-01
    as_of        = "2025-06-03T00:00:00Z"
  }

  expect_failures = [data.csms_secret_rotations.this]
}

run "every_rotating_secret_is_judged" {
  command = plan

  variables {
    as_of = "2025-06-03T00:00:00Z" # legacy-api-key FAILED, ldap-bind-password OVERDUE
  }

  expect_failures = [data.csms_secret_rotations.this]
}

run "grace_period_covers_a_late_rotation" {
  command = plan

  variables {
    secret_names = ["payments-api-key"] # due 2025-06-09T03:00:00Z
    as_of        = "2025-06-09T12:00:00Z"
    grace_period = "24h"
  }

  assert {
    condition     = output.verdicts["payments-api-key"] == "HEALTHY"
    error_message = "Nine hours late is within a day of grace."
  }
}

run "late_rotation_past_the_grace_period_fails" {
  command = plan

  variables {
    secret_names = ["payments-api-key"]
    as_of        = "2025-06-09T12:00:00Z" # the default grace is 1h
  }

  expect_failures = [data.csms_secret_rotations.this]
}

run "a_misspelt_or_non_rotating_secret_fails" {
  command = plan

  variables {
    secret_names = ["app-db-pasword", "smtp-relay-password"] # MISSING, NOT_ROTATING
    as_of        = "2025-06-03T00:00:00Z"
  }

  expect_failures = [data.csms_secret_rotations.this]
}
