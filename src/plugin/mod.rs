//! The Terraform plugin layer: go-plugin handshake, mutual TLS, the tfplugin6 gRPC service,
//! values, schemas, diagnostics and logging. Nothing here knows about CSMS; a provider plugs in
//! through the [`Provider`] trait and is started with [`serve`].
//!
//! # Layout
//! - [`handshake`]: magic cookie, protocol negotiation, the listener (private Unix socket or
//!   loopback TCP) and the handshake line.
//! - [`tls`]: the fresh server certificate and the verifier that pins Terraform's client
//!   certificate (mutual TLS that is real).
//! - `server`: the gRPC services (tfplugin6 Provider, go-plugin controller/stdio/broker,
//!   health) and the serve loop; `debug`: `-debug` mode's reattach line; `log`: hclog lines;
//!   `parent`: shutting down once Terraform is gone; `entry`: the binary's entry point on
//!   GNU/Linux, without std's runtime start-up.
//! - [`codec`] and [`convert`]: the request decoder (DynamicValue msgpack/JSON) and the
//!   conversions of schemas and diagnostics to tfplugin6 messages; [`proto`]: the generated code.
//! - [`value`], [`schema`], [`diag`]: the small types a provider is written against; [`input`]
//!   and [`state`]: the schema-checked reader of configurations and writer of states;
//!   [`validate`]: the validators an attribute declares, run from the schema; [`duration`]:
//!   Terraform's duration syntax.

pub mod codec;
pub mod convert;
mod debug;
pub mod diag;
pub mod duration;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub mod entry;
pub mod handshake;
pub mod input;
mod log;
mod parent;
pub mod proto;
pub mod schema;
mod server;
pub mod state;
pub mod tls;
pub mod validate;
pub mod value;

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;

pub use diag::{Diagnostic, PathStep, Severity};
pub use input::{Input, InputError};
pub use schema::{AttrType, Attribute, BlockNesting, Nesting, Schema, Type, Usage};
pub use state::{Fragment, Fragments, ObjectWriter, SchemaMismatch, State};
pub use tokio_util::sync::CancellationToken;
pub use validate::{Rule, Validator};
pub use value::{Attr, Value};

/// What a data-source-only provider implements: its own block and the data sources it lists.
/// The server owns the protocol; implementations see decoded [`Value`]s and return
/// [`Diagnostic`]s.
///
/// `configure` takes `&self` because Terraform calls RPCs concurrently (one read per data source
/// in parallel); a provider hands its data sources a shared slot for the configured client.
pub trait Provider: Send + Sync + 'static {
    /// The provider's type name, e.g. `csms`; data source names start with it. It also names
    /// the provider's own environment variables: `TF_LOG_PROVIDER_CSMS` (log level) and
    /// `CSMS_PLUGIN_TRANSPORT=tcp` (listen on TCP instead of a Unix socket).
    fn type_name(&self) -> &'static str;
    /// The provider's source address, printed in debug mode's `TF_REATTACH_PROVIDERS`. The
    /// default, `registry.terraform.io/example/<type_name>`, suits a provider used through
    /// `dev_overrides`; a published provider returns its real address.
    fn registry_address(&self) -> String {
        format!("registry.terraform.io/example/{}", self.type_name())
    }
    /// The provider block's schema, built when Terraform asks for it (once per command).
    fn schema(&self) -> Schema;
    /// The data sources, asked for once when the server starts: it indexes them by type name
    /// and answers unknown type names itself.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;
    /// Checks the provider block; unknown values must skip their checks.
    fn validate(&self, config: &Value) -> Vec<Diagnostic>;
    /// Builds the API client from the provider block (called once per process). `cancel` fires
    /// on StopProvider (Ctrl-C in Terraform) and on SIGTERM: a configuration waiting on the
    /// network or a file must then end.
    fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
        cancel: CancellationToken,
    ) -> impl Future<Output = Vec<Diagnostic>> + Send;
}

/// One data source type, in the shape of terraform-plugin-framework's `datasource.DataSource`.
pub trait DataSource: Send + Sync + 'static {
    /// The full type name, e.g. `csms_rotation_tasks`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Checks a block; unknown values must skip their checks.
    fn validate(&self, config: &Value) -> Vec<Diagnostic>;
    /// Reads the data source. `cancel` fires on StopProvider (Ctrl-C in Terraform). The
    /// `schema` passed in is this data source's own, built by the server at its first read,
    /// for [`State::write`].
    fn read<'a>(&'a self, read: ReadRequest<'a>) -> BoxFuture<'a, ReadResult>;
}

/// What a read gets: the block's decoded configuration, the data source's schema and the
/// token that StopProvider cancels.
pub struct ReadRequest<'a> {
    pub config: Value,
    pub schema: &'a Schema,
    pub cancel: CancellationToken,
}

/// A read either produced a state (perhaps with warnings) or failed with at least one error:
/// nothing in between, so Terraform never gets "no value and no error".
pub type ReadResult = Result<Read, Failed>;

/// A successful read.
#[derive(Debug)]
pub struct Read {
    pub state: State,
    /// Warnings only; an error belongs in [`Failed`].
    pub warnings: Vec<Diagnostic>,
}

/// A failed read: its diagnostics hold at least one error (warnings may come along).
#[derive(Debug)]
pub struct Failed(Vec<Diagnostic>);

impl Failed {
    /// Fails with `diags`; an error is added if they hold none, because a failure without an
    /// error would reach Terraform as a silent success without a value.
    pub fn new(mut diags: Vec<Diagnostic>) -> Failed {
        if !diag::has_error(&diags) {
            diags.push(Diagnostic::error(
                "Read failed without an error",
                "The data source failed without saying why. This is a bug in the provider; please report \
                 it with the output of TF_LOG_PROVIDER=DEBUG.",
            ));
        }
        Failed(diags)
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl From<Diagnostic> for Failed {
    fn from(diag: Diagnostic) -> Failed {
        Failed::new(vec![diag])
    }
}

/// The future a [`DataSource`] read returns: boxed, so data sources can sit behind `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs `provider` as a Terraform plugin and returns the exit code for `main`: 0 after
/// Terraform's Shutdown, 1 when the plugin cannot serve (started by hand without the magic
/// cookie, protocol 6 not offered, no socket...), with the reason on stderr.
///
/// Builds its own tokio runtime, on one thread. With `-debug` among the arguments it serves in
/// debug mode (no cookie, no TLS, prints `TF_REATTACH_PROVIDERS`, stays up until Ctrl-C).
/// Environment read: Terraform's handshake variables (`TF_PLUGIN_MAGIC_COOKIE`,
/// `PLUGIN_PROTOCOL_VERSIONS`, `PLUGIN_CLIENT_CERT`, `PLUGIN_MIN_PORT`, `PLUGIN_MAX_PORT`,
/// `PLUGIN_UNIX_SOCKET_DIR`), the log level (`TF_LOG_PROVIDER_<TYPE>`, `TF_LOG_PROVIDER`,
/// `TF_LOG`) and `<TYPE>_PLUGIN_TRANSPORT`.
pub fn serve<P: Provider>(provider: P) -> ExitCode {
    let debug = std::env::args()
        .skip(1)
        .any(|arg| arg == "-debug" || arg == "--debug");
    log::init(provider.type_name());
    let address = provider.registry_address();
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("Error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(server::run(provider, debug, address));
    // Every answer is sent and the socket removed by now, and the process exits next: the
    // runtime is not taken down. Dropping it cancelled and freed every parked task (an
    // abandoned read, idle pooled connections, the streams' buffers) one by one, ~0.14 ms of
    // each launch's CPU for memory and descriptors the exit returns at once (issue 22); the
    // blocking pool's threads (DNS lookups) end with the process too.
    std::mem::forget(runtime);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}

/// The runtime a launch runs on: one thread. A launch serves a handful of small calls and exits,
/// and Terraform starts 3 or 4 of them per command, so worker threads cost more CPU (spawning
/// them, handing every wake-up across threads) than their parallelism gives back; calls that
/// Terraform sends concurrently still interleave at every await.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
