//! The CSMS API client, usable without Terraform: endpoint resolution, AK/SK signing, retries,
//! error mapping, the all-pages listing and the IAM project lookup.

pub mod signer;
pub mod task;

pub use signer::Signer;
pub use task::{SecretTask, TaskPage};
