# Every secret of the project, every page, sorted by name; times come as RFC 3339 (`*_at`) and
# rotation periods in seconds, next to the API's own fields.
data "csms_secrets" "enabled" {
  state = "ENABLED"
}

output "rotation_periods" {
  value = { for s in data.csms_secrets.enabled.secrets : s.name => s.rotation_period if s.auto_rotation == true }
}

output "next_rotations" {
  value = { for s in data.csms_secrets.enabled.secrets : s.name => s.next_rotation_at if s.next_rotation_at != null }
}
