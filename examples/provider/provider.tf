terraform {
  required_providers {
    csms = {
      source = "registry.terraform.io/example/csms"
    }
  }
}

# Credentials come from HW_ACCESS_KEY and HW_SECRET_KEY (and HW_SECURITY_TOKEN for temporary
# credentials); the project is looked up by region unless project_id or HW_PROJECT_ID is set.
provider "csms" {
  region = "cn-north-4"
}
