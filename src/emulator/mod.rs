//! A local CSMS for demos, tests, benchmarks and users' offline checks: ListSecretTask
//! (`GET /v1/{project_id}/csms/tasks`) and the IAM project lookup (`GET /v3/projects?name=`),
//! with AK/SK signature checking and fault injection, over plain HTTP/1.1.
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
//! - [`listing`]: the ListSecretTask query semantics (filters, `limit`, `marker`, `total`,
//!   `next_marker`), pure functions.
//! - [`auth`]: signature verification with the client's own [`Signer`](crate::csms::Signer).
//! - [`data`]: the generated, demo and file data sets.
//! - [`error`]: error bodies and the error codes the emulator answers with.
//! - `server`: the HTTP server, routing and faults; [`run`] and [`Emulator`] are its API.
//! - [`wire`]: gzip when asked, bandwidth pacing and byte counting on the way to the socket;
//!   the gzip faults.
//! - [`cli`]: the `csms-emulator` command line, parsed into a [`Config`].

pub mod auth;
pub mod cli;
pub mod data;
pub mod error;
pub mod listing;
mod server;
pub mod wire;

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use crate::csms::task::SecretTask;
pub use data::{demo, generate, generate_with, DataSpec, DEFAULT_PROJECT_ID, DEFAULT_REGION};
pub use error::ApiError;
pub use wire::Wire;

/// What the emulator serves and how.
#[derive(Debug, Clone)]
pub struct Config {
    /// The only project id the tasks API answers for (others get 404 `CSMS.0005`).
    pub project_id: String,
    /// The region the IAM lookup maps to `project_id`.
    pub region: String,
    /// `(access key, secret key)`: every request must be signed with them. `None`: open.
    pub credentials: Option<(String, String)>,
    /// Largest accepted `limit` (the API documents 1000); larger is 400 `CSMS.0002`.
    pub max_limit: u32,
    /// Send `next_marker` on the last page too, as the real service may.
    pub last_page_marker: bool,
    /// The data set, in stored (response) order.
    pub tasks: Vec<SecretTask>,
    pub faults: Faults,
    /// Compression, pacing and the gzip faults.
    pub wire: Wire,
}

impl Default for Config {
    /// Default project and region, open (no credentials), `max_limit` 1000, no tasks, no faults,
    /// gzip when asked, no pacing.
    fn default() -> Self {
        Config {
            project_id: DEFAULT_PROJECT_ID.into(),
            region: DEFAULT_REGION.into(),
            credentials: None,
            max_limit: 1000,
            last_page_marker: false,
            tasks: Vec::new(),
            faults: Faults::default(),
            wire: Wire::default(),
        }
    }
}

/// Faults injected into ListSecretTask responses (never into the IAM lookup or into error
/// responses the request earns on its own: a bad signature or bad parameter is answered first).
///
/// The `*_every: Some(n)` faults hit ListSecretTask requests number n, 2n, 3n, ... (counting
/// from 1, every tasks request counts, including failed ones). When several hit the same request
/// the first in this order wins: `throttle_every`, `fail_every`, `reset_every`,
/// `truncate_every`, `empty_every`. `latency`, the marker faults and `total_delta` apply to
/// every request (the marker faults and `total_delta` to every successful page).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// `(n, status)`: answer every nth request with `status` and a JSON error body
    /// (429/502/503/504 with the gateway's codes, others with `CSMS.0{status}`).
    pub fail_every: Option<(u32, u16)>,
    /// With `fail_every`: answer with an HTML error page (`text/html`) instead of JSON, as a
    /// load balancer in front of the service would.
    pub html_errors: bool,
    /// Every nth request: 429 `APIGW.0308` with `Retry-After: retry_after_secs`.
    pub throttle_every: Option<u32>,
    /// `Retry-After` seconds of throttled responses.
    pub retry_after_secs: u32,
    /// Delay before answering each request.
    pub latency: Duration,
    /// `next_marker` never advances: a page fetched with marker M says `next_marker` M again
    /// (the first page is normal). Takes precedence over `looping_marker`.
    pub sticky_marker: bool,
    /// `next_marker` loops: the third and later pages, and the last page, point back to the end
    /// of the first page, so pages 2, 3, 2, 3, ... repeat forever.
    pub looping_marker: bool,
    /// Every nth request: 200 with the full `Content-Length` but only half the JSON body, then
    /// the connection is closed (FIN).
    pub truncate_every: Option<u32>,
    /// Every nth request: like `truncate_every`, but the connection is reset (RST).
    pub reset_every: Option<u32>,
    /// Every nth request: 200 with an empty body (`Content-Length: 0`).
    pub empty_every: Option<u32>,
    /// Added to every page's `total` (a lying service); the result is at least 0.
    pub total_delta: i64,
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
    /// Bytes written to the sockets: status lines, headers and bodies as sent (compressed, cut).
    pub bytes_sent: u64,
}

/// Serves `config` on `listener` until `shutdown` completes, then stops accepting, lets open
/// connections finish their current request (up to 5 seconds) and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    server::serve(listener, Arc::new(server::Shared::new(config)), shutdown).await
}

/// A running emulator on `127.0.0.1`, for tests and embedding. Dropping it stops the server
/// (without waiting); [`Emulator::shutdown`] stops it and waits.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<io::Result<()>>>,
}

impl Emulator {
    /// Binds `127.0.0.1:0` and serves `config` on a background task.
    pub async fn start(config: Config) -> io::Result<Emulator> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(server::Shared::new(config));
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

    /// The data set, in stored order.
    pub fn tasks(&self) -> &[SecretTask] {
        &self.shared.config.tasks
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
