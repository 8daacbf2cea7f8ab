//! The integration tests as one binary, as ripgrep keeps them: each file under `tests/` is a
//! module here, so the shared helpers in `common/` and the dependency graph are compiled and
//! linked once instead of once per file, and the suite's slow waits (timeouts, throttling,
//! Terraform runs) overlap across files. `hostile_input` stays a binary of its own: its
//! counting global allocator would tax every other test. Run one file's tests with
//! `cargo test --test integration FILE::`, e.g. `cargo test --test integration time_bounds::`.

mod common;

mod audit;
mod client_renewal;
mod codec;
mod compat;
mod configure_bounds;
mod credentials;
mod credentials_terraform;
mod csms_client;
mod docs;
mod emulator;
mod emulator_credentials;
mod emulator_sdk;
mod emulator_sdk_secrets;
mod emulator_sdk_wire;
mod emulator_wire;
mod examples;
mod field_reliability;
mod guides;
mod hardening;
mod install;
mod large_accounts;
mod protocol;
mod regions;
mod release;
mod secret_rotations;
mod secrets;
mod signing_oracle;
mod terraform;
mod time_bounds;
mod trust;
mod untrusted_answers;
