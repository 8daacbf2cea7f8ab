//! The CSMS API client, usable without Terraform: endpoint resolution, AK/SK signing, retries,
//! error mapping, the all-pages listing and the IAM project lookup.
//!
//! # Layout
//! - [`config`]: [`ClientConfig`] and endpoint resolution (`https://kms.{region}.{cloud}`).
//! - [`client`]: [`Client`], signed GETs over one reqwest connection pool, `list_tasks`,
//!   `project_id`.
//! - [`pager`]: [`TaskPager`], the paging rules (markers, stop rules, de-duplication, page and
//!   task caps) and the aggregation (the `since` window through a [`TaskSink`], the newest task
//!   per secret) without I/O; [`TaskQuery`] and [`Listing`].
//! - [`retry`]: which failures are retried, backoff with full jitter, `Retry-After`, deadline.
//! - [`error`]: [`Error`], [`ServiceError`] and the error-body shapes; [`redirect`]: a 3xx
//!   answer, described alike for every endpoint.
//! - `health`: the shared, expiring verdict that an endpoint is down, so reads fail fast.
//! - [`iam`]: the project id lookup by region.
//! - [`credentials`]: where the keys come from (block, environment, KooCLI profile, ECS
//!   metadata, assumed agency) and their renewal before expiry.
//! - [`signer`], [`task`]: SDK-HMAC-SHA256 and SDK-HMAC-SM3 signing, and the API's task type.
//! - [`text`]: service text made inert (terminal controls, bidi and zero-width characters).
//!
//! ```no_run
//! # async fn demo() -> Result<(), csms_provider::csms::Error> {
//! use csms_provider::csms::{Client, ClientConfig, TaskQuery};
//! let client = Client::new(ClientConfig {
//!     region: Some("cn-north-4".into()),
//!     access_key: "AK".into(),
//!     secret_key: "SK".into(),
//!     ..ClientConfig::default()
//! })?;
//! let query = TaskQuery { secret_name: Some("prod-db-password".into()), ..TaskQuery::default() };
//! let listing = client.list_tasks(&query, &tokio_util::sync::CancellationToken::new()).await?;
//! println!("{} tasks in {} pages", listing.tasks.len(), listing.pages);
//! # Ok(()) }
//! ```

pub mod client;
pub mod config;
pub mod credentials;
pub mod error;
mod health;
mod iam;
pub mod pager;
pub mod redirect;
pub mod retry;
pub mod signer;
pub mod task;
pub mod text;

pub use client::Client;
pub use config::{ClientConfig, Timeouts};
pub use credentials::{CredentialError, CredentialProvider, Credentials};
pub use error::{Error, ServiceError};
pub use iam::project_id_problem;
pub use pager::{Listing, ListingWarning, TaskPager, TaskQuery, TaskSink};
pub use retry::RetryPolicy;
pub use signer::Signer;
pub use task::{SecretTask, TaskPage};
