//! A local CSMS for demos, tests, benchmarks and users' offline checks: ListSecretTask
//! (`GET /v1/{project_id}/csms/tasks`), ListSecrets (`GET /v1/{project_id}/secrets`) and the IAM
//! project lookup (`GET /v3/projects?name=`), with AK/SK signature checking and fault injection,
//! over plain HTTP/1.1.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use csms_provider::emulator::{generate, Config, Emulator};
//! let emu = Emulator::start(Config { tasks: generate(237, 42), ..Config::default() }).await?;
//! println!("{}/v1/{}/csms/tasks", emu.base_url(), emu.project_id());
//! emu.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `server`: the accept loop, connections and the route table; [`run`] and [`Emulator`] are
//!   its API. It imports the endpoints; nothing imports it.
//! - One module per endpoint: [`tasks`] (ListSecretTask), [`secrets`] (ListSecrets), `projects`
//!   (IAM's project lookup), `sts` (IAM's assume-role exchange), [`metadata`] (the ECS metadata
//!   service). The listings' query semantics are pure functions there.
//! - [`paging`]: `limit`, exclusive markers and `next_marker`, as both listings page.
//! - [`faults`]: [`Faults`] and how they bend a listing's answer.
//! - `http`: bodies, JSON and error responses, the cut-body fault, query parsing; `state`: what
//!   the server shares between connections (configuration, directory, keys, counters).
//! - [`auth`]: signature verification with the client's own [`Signer`](crate::csms::Signer).
//! - [`accounts`]: accounts, their projects per region, agencies, and the `--accounts` file.
//! - `keys`: temporary keys and the authentication of each request (which account it acts as).
//! - `counters`: what [`Stats::credentials`] counts.
//! - [`data`]: the generated, demo and file data sets.
//! - [`error`]: error bodies and the error codes the emulator answers with.
//! - [`wire`]: gzip when asked, bandwidth pacing and byte counting on the way to the socket;
//!   the gzip faults.
//! - [`cli`]: the `csms-emulator` command line, parsed into a [`Config`].

pub mod accounts;
pub mod auth;
pub mod cli;
mod counters;
pub mod data;
pub mod error;
pub mod faults;
mod http;
mod keys;
pub mod metadata;
pub mod paging;
mod projects;
pub mod secrets;
mod server;
mod state;
mod sts;
pub mod tasks;
pub mod wire;

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use crate::csms::secret::Secret;
pub use crate::csms::task::SecretTask;
pub use accounts::{Account, Agency, Project, DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME};
pub use counters::CredentialStats;
pub use data::{demo, generate, generate_with, DataSpec, DEFAULT_PROJECT_ID, DEFAULT_REGION};
pub use error::ApiError;
pub use faults::Faults;
pub use keys::TemporaryKey;
pub use metadata::{InstanceAgency, Metadata, MetadataTokens};
pub use wire::Wire;

/// What the emulator serves and how.
///
/// `project_id`, `region`, `credentials`, `tasks`, `secrets` and `domain_name` describe the
/// *default account*; `regions` and `accounts` add projects and accounts (see [`accounts`]).
#[derive(Debug, Clone)]
pub struct Config {
    /// The default account's project in `region` (unknown projects get 404 `CSMS.0005`).
    pub project_id: String,
    /// The region the IAM lookup maps to `project_id`.
    pub region: String,
    /// The default account's `(access key, secret key)`: requests must be signed with them or
    /// with another account's key. `None`: open, unsigned requests act as the default account.
    pub credentials: Option<(String, String)>,
    /// Largest accepted `limit` (the API documents 1000); larger is 400 `CSMS.0002`.
    pub max_limit: u32,
    /// Send `next_marker` on the last page too, as the real service may.
    pub last_page_marker: bool,
    /// At most this many secrets on a ListSecrets page, whatever its `limit` asks for: the
    /// service documents no maximum and may answer with fewer. `None`: as many as asked.
    pub secrets_per_page: Option<u32>,
    /// The rotation tasks of `project_id`, in stored (response) order.
    pub tasks: Vec<SecretTask>,
    /// The secrets of `project_id`, in stored (response) order; names are unique.
    pub secrets: Vec<Secret>,
    /// The default account's domain (account) name, as assume-role and agencies name it.
    pub domain_name: String,
    /// More projects of the default account, in other regions.
    pub regions: Vec<Project>,
    /// More accounts, each with its own keys and projects.
    pub accounts: Vec<Account>,
    /// Agencies that let one account assume another.
    pub agencies: Vec<Agency>,
    /// The ECS metadata service.
    pub metadata: Metadata,
    /// Lifetime of every key the emulator issues, so tests can watch keys expire in seconds.
    /// `None`: metadata keys live an hour (as on ECS), assumed keys `duration_seconds`.
    pub temporary_key_lifetime: Option<Duration>,
    pub faults: Faults,
    /// Compression, pacing and the gzip faults.
    pub wire: Wire,
}

impl Default for Config {
    /// Default project, region and domain, open (no credentials), `max_limit` 1000, no tasks or
    /// secrets, secret pages as large as asked, no other accounts, metadata with required tokens serving the default account, no faults,
    /// gzip when asked, no pacing.
    fn default() -> Self {
        Config {
            project_id: DEFAULT_PROJECT_ID.into(),
            region: DEFAULT_REGION.into(),
            credentials: None,
            max_limit: 1000,
            last_page_marker: false,
            secrets_per_page: None,
            tasks: Vec::new(),
            secrets: Vec::new(),
            domain_name: DEFAULT_DOMAIN_NAME.into(),
            regions: Vec::new(),
            accounts: Vec::new(),
            agencies: Vec::new(),
            metadata: Metadata::default(),
            temporary_key_lifetime: None,
            faults: Faults::default(),
            wire: Wire::default(),
        }
    }
}

/// Counters since start, so tests can prove paging, retries and connection reuse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// TCP connections accepted.
    pub connections: u64,
    /// HTTP requests received, all paths.
    pub requests: u64,
    /// Requests per path (without query), e.g. `/v1/{project}/csms/tasks`.
    pub by_path: BTreeMap<String, u64>,
    /// Metadata, assume-role and temporary-key counters, and requests per account.
    pub credentials: CredentialStats,
    /// Bytes written to the sockets: status lines, headers and bodies as sent (compressed, cut).
    pub bytes_sent: u64,
    /// Responses sent compressed with gzip.
    pub gzipped_responses: u64,
}

/// Serves `config` on `listener` until `shutdown` completes (an inconsistent `config` is
/// `InvalidInput` at once), then stops accepting, lets open
/// connections finish their current request (up to 5 seconds) and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    server::serve(listener, Arc::new(state::Shared::new(config)?), shutdown).await
}

/// A running emulator on `127.0.0.1`, for tests and embedding. Dropping it stops the server
/// (without waiting); [`Emulator::shutdown`] stops it and waits.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<state::Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<io::Result<()>>>,
}

impl Emulator {
    /// Binds `127.0.0.1:0` and serves `config` on a background task. An inconsistent `config`
    /// (two accounts with one key, an agency naming an unknown account, ...) is `InvalidInput`.
    pub async fn start(config: Config) -> io::Result<Emulator> {
        let shared = Arc::new(state::Shared::new(config)?);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, shared.clone(), async move {
            let _ = stopped.await;
        }));
        Ok(Emulator {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash: the CSMS and IAM endpoint.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn project_id(&self) -> &str {
        &self.shared.config.project_id
    }

    /// The default project's tasks, in stored order.
    pub fn tasks(&self) -> &[SecretTask] {
        &self.shared.config.tasks
    }

    /// The default project's secrets, in stored order.
    pub fn secrets(&self) -> &[Secret] {
        &self.shared.config.secrets
    }

    /// A temporary key of the account named `domain_name`, valid for `lifetime`, as ECS metadata
    /// or assume-role would issue it: for clients given temporary keys directly
    /// (`HW_SECURITY_TOKEN`). `None` when there is no such account.
    pub fn issue_temporary_key(
        &self,
        domain_name: &str,
        lifetime: Duration,
    ) -> Option<TemporaryKey> {
        let account = self.shared.directory.by_domain_name(domain_name)?;
        Some(
            self.shared
                .keys
                .issue(account, lifetime, time::OffsetDateTime::now_utc()),
        )
    }

    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Stops the server and waits for it (open connections get up to 5 seconds).
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
