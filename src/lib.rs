//! terraform-provider-csms: a Terraform/OpenTofu provider that judges whether every secret of
//! Huawei Cloud's Cloud Secret Management Service (CSMS) with rotation enabled rotated
//! successfully on schedule, and lists the secrets and their rotation tasks, every page of
//! them, so that a plan can fail (`postcondition`) or warn (`check`) when one did not.
//!
//! # Layout
//! - [`plugin`]: everything about being a Terraform plugin and nothing about CSMS: the go-plugin
//!   handshake, mutual TLS, the tfplugin6 gRPC service, msgpack values, schema and diagnostic
//!   types, hclog-style logging and debug mode. A provider plugs in through [`plugin::Provider`].
//! - [`provider`]: the `csms` provider block and the data sources `csms_secret_rotations`,
//!   `csms_secrets` and `csms_rotation_tasks`, written against the small types of [`plugin`], so
//!   they read like the HCL they serve.
//! - [`csms`]: the CSMS API client, usable without Terraform: endpoints, AK/SK signing, retries,
//!   error mapping, the all-pages listing of tasks and secrets, the rotation verdicts and the IAM
//!   project lookup.
//! - [`emulator`]: a local CSMS (ListSecretTask, ListSecrets and the IAM project lookup) with
//!   signature checking and fault injection, for demos, tests, benchmarks and users' offline
//!   checks.
//! - [`docs`]: the Registry pages in `docs/`, generated from the provider's schemas and `examples/`.

pub mod csms;
pub mod docs;
pub mod emulator;
pub mod plugin;
pub mod provider;
