//! `terraform-provider-csms`: Terraform starts this binary as a plugin; everything happens in
//! the library. On GNU/Linux it skips std's runtime start-up, which costs every launch a read of
//! `/proc/self/maps` (see `plugin::entry`); its test build (which has no tests) keeps std's
//! `main`, which the test harness replaces.
#![cfg_attr(all(target_os = "linux", target_env = "gnu", not(test)), no_main)]

use csms_provider::plugin;
use csms_provider::provider::CsmsProvider;

#[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    plugin::entry::main(CsmsProvider::default())
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(test))))]
fn main() -> std::process::ExitCode {
    plugin::serve(CsmsProvider::default())
}
