terraform {
  required_providers {
    csms = {
      source = "registry.terraform.io/example/csms"
    }
  }
}

# Credentials come from the first source that has them: access_key/secret_key here,
# HW_ACCESS_KEY/HW_SECRET_KEY, a KooCLI profile (profile, HW_PROFILE), or the ECS metadata
# service; see Authentication. The project is looked up by region unless project_id or
# HW_PROJECT_ID is set.
provider "csms" {
  region = "cn-north-4"
}
