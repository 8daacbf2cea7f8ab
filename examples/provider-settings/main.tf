# The provider settings the README's Authentication and Regions sections show, as one complete
# configuration: each kind of credentials in a provider block of its own (the aliases keep them
# apart here; copy a block without its `alias`). The tests run `terraform validate` on this file;
# tests/credentials_terraform.rs plans every kind of credentials against the emulator.
terraform {
  required_providers {
    csms = {
      source = "registry.terraform.io/example/csms"
    }
  }
}

variable "access_key" {
  type      = string
  sensitive = true
}

variable "secret_key" {
  type      = string
  sensitive = true
}

# Keys in the provider block, from variables rather than the configuration's text.
provider "csms" {
  alias      = "keys"
  region     = "cn-north-4"
  access_key = var.access_key
  secret_key = var.secret_key
}

# A KooCLI profile.
provider "csms" {
  alias   = "profile"
  profile = "audit" # or HW_PROFILE=audit; shared_config_file = "/path/config.json"
}

# The ECS metadata service.
provider "csms" {
  region = "cn-north-4" # no keys anywhere: the instance's agency
}

# An agency on top of whichever keys were found.
provider "csms" {
  alias  = "agency"
  region = "cn-north-4"
  assume_role {
    agency_name      = "rotation-audit"
    domain_name      = "team-b"
    duration_seconds = 3600 # 900..86400, checked at plan time
  }
}

# Another region with the same provider block and credentials.
data "csms_rotation_tasks" "by_region" {
  for_each = toset(["cn-north-4", "eu-west-101"])
  region   = each.key
}
