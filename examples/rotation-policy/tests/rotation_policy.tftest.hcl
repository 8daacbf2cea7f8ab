# `terraform test` for the module, against the CSMS emulator serving tests/emulator-data.json:
#
#   csms-emulator --data tests/emulator-data.json &   # prints: listening on http://127.0.0.1:PORT
#   export HW_CSMS_ENDPOINT=http://127.0.0.1:PORT HW_PROJECT_ID=0123456789abcdef0123456789abcdef
#   export HW_REGION_NAME=cn-north-4 HW_ACCESS_KEY=AK HW_SECRET_KEY=SK
#   terraform test
#
# The data set's tasks are from 2025, so the runs choose max_age relative to those dates. Every
# failure a run provokes is listed in its expect_failures: in `terraform test` an unexpected
# check failure is an error too, not a warning.

run "succeeded_rotations_pass" {
  command = plan

  variables {
    secret_names = ["app-db-password", "payments-api-key"]
    max_age      = "876000h" # 100 years: every successful rotation counts as recent
  }

  assert {
    condition     = length(output.stale) == 0
    error_message = "No secret should be stale with a 100-year max_age."
  }

  assert {
    condition     = output.latest["app-db-password"].status == "SUCCESS" && output.latest["app-db-password"].error == null
    error_message = "The newest task of app-db-password succeeded and has no error message."
  }

  assert {
    condition     = output.last_success["app-db-password"] == "2025-06-01T03:00:00Z"
    error_message = "The newest successful rotation of app-db-password is the one of 2025-06-01."
  }
}

run "failed_rotation_fails_the_plan" {
  command = plan

  variables {
    secret_names = ["app-db-password", "legacy-api-key"]
    max_age      = "876000h"
  }

  expect_failures = [data.csms_rotation_tasks.secret]
}

run "never_rotated_secret_fails_the_plan" {
  command = plan

  variables {
    secret_names = ["never-rotated-secret"]
    max_age      = "876000h"
  }

  expect_failures = [data.csms_rotation_tasks.secret]
}

run "old_rotation_warns" {
  command = plan

  variables {
    secret_names = ["app-db-password"]
    max_age      = "720h" # 30 days: the 2025 rotations are older
  }

  expect_failures = [check.rotations_are_recent]
}

run "max_age_must_be_a_positive_duration" {
  command = plan

  variables {
    secret_names = ["app-db-password"]
    max_age      = "-1h"
  }

  expect_failures = [var.max_age]
}
