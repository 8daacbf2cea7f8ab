# One verdict per rotating secret (`auto_rotation` on, `ENABLED`), judged at plan time:
# HEALTHY, FAILED, OVERDUE or UNKNOWN; with `secret_names`, also MISSING and NOT_ROTATING.
data "csms_secret_rotations" "all" {
  as_of = plantimestamp()
}

output "rotation_counts" {
  value = data.csms_secret_rotations.all.counts
}

output "unhealthy_secrets" {
  value = data.csms_secret_rotations.all.unhealthy
}
