//! `terraform-provider-csms`: Terraform starts this binary as a plugin; everything happens in
//! the library.

fn main() -> std::process::ExitCode {
    csms_provider::plugin::serve(csms_provider::provider::CsmsProvider::default())
}
