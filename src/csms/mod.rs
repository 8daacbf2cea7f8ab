//! The CSMS API client, usable without Terraform: endpoint resolution, AK/SK signing, retries,
//! error mapping, the listing engine with its endpoints, and the IAM project lookup.
//!
//! # Layout
//! From the bottom up; a module uses only those above it in this list (`credentials` uses
//! `redirect`, `trust`, `config`, `error` and `signer`).
//! - [`text`]: service text made inert (terminal controls, bidi and zero-width characters).
//! - [`redirect`]: a 3xx answer, described alike for every endpoint; [`proxy`]: which proxy
//!   the environment sends a request through, for errors that name it.
//! - [`trust`]: which HTTPS servers are believed: the platform's verifier, loaded on the first
//!   certificate to verify and shared by every HTTP client of the process.
//! - [`error`]: [`Error`], [`ServiceError`], [`ItemKind`], the error-body shapes, and the cause
//!   chain every HTTP client reports a transport failure with.
//! - [`signer`]: SDK-HMAC-SHA256 and SDK-HMAC-SM3 signing.
//! - [`regions`]: the table of known regions and the nearest one to a typo.
//! - [`config`]: [`ClientConfig`], endpoint resolution (`https://kms.{region}.{cloud}`) and the
//!   project id rule.
//! - [`retry`]: which failures are retried, backoff with full jitter, `Retry-After`, deadline.
//! - `health`: the shared, expiring verdict that an endpoint is down, so reads fail fast.
//! - [`credentials`]: where the keys come from (block, environment, KooCLI profile, ECS
//!   metadata, assumed agency) and their renewal before expiry.
//! - [`transport`]: [`Client`], signed GETs over one reqwest connection pool, with retries,
//!   budgets and the classification of answers; it knows no API operation.
//! - `iam`: the project id, configured or looked up by region.
//! - [`pager`]: the listing engine: an [`Endpoint`] states its query and page shape, the
//!   [`Pager`] applies the paging rules (markers, stop rules, de-duplication, page and item
//!   caps, warnings) and [`Client::list`] drives it, handing items to a [`Sink`].
//! - [`task`], [`tasks`]: the API's task type, and the task listing on the engine
//!   ([`TaskQuery`], the `since` window and the newest task per secret in [`Tasks`]).
//! - [`secret`], [`secrets`]: the API's secret type (its times and rotation period), and the
//!   secret listing on the engine.
//! - [`rotation`]: whether a secret rotates on schedule: the per-secret fold of its tasks, the
//!   due time and the verdict; pure.
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
//! println!("{} tasks in {} pages", listing.items.tasks.len(), listing.pages);
//! # Ok(()) }
//! ```

pub mod config;
pub mod credentials;
pub mod error;
mod health;
mod iam;
pub mod pager;
pub mod proxy;
pub mod redirect;
pub mod regions;
pub mod retry;
pub mod rotation;
pub mod secret;
pub mod secrets;
pub mod signer;
pub mod task;
pub mod tasks;
pub mod text;
pub mod transport;
pub mod trust;

pub use config::{project_id_problem, ClientConfig, Timeouts};
pub use credentials::{CredentialError, CredentialProvider, Credentials};
pub use error::{Error, ItemKind, ServiceError};
pub use pager::{Endpoint, Listing, ListingWarning, Page, PageSize, Pager, Sink};
pub use retry::RetryPolicy;
pub use secret::{Secret, SecretPage};
pub use secrets::SecretQuery;
pub use signer::Signer;
pub use task::{SecretTask, TaskPage};
pub use tasks::{TaskQuery, TaskSink, Tasks};
pub use transport::Client;
