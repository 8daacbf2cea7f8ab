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
//!   health) and the serve loop; `debug`: `-debug` mode's reattach line; `log`: hclog lines.
//! - [`codec`] and [`convert`]: DynamicValue msgpack/JSON and the conversions of schemas and
//!   diagnostics to tfplugin6 messages; [`proto`]: the generated code.
//! - [`value`], [`schema`], [`diag`]: the small types a provider is written against.

pub mod codec;
pub mod convert;
mod debug;
pub mod diag;
pub mod handshake;
mod log;
pub mod proto;
pub mod schema;
mod server;
pub mod tls;
pub mod value;

use std::future::Future;
use std::process::ExitCode;

pub use diag::{Diagnostic, PathStep, Severity};
pub use schema::{AttrType, Attribute, Nesting, Schema, Type, Usage};
pub use tokio_util::sync::CancellationToken;
pub use value::{Attr, Value};

/// What a data-source-only provider implements. The server owns the protocol; implementations
/// see decoded [`Value`]s and return [`Diagnostic`]s.
///
/// `configure` and `read_data_source` take `&self` because Terraform calls RPCs concurrently
/// (one read per data source in parallel); a provider keeps its configured client behind a lock.
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
    fn provider_schema(&self) -> Schema;
    /// Data sources by full type name (`csms_rotation_tasks`).
    fn data_source_schemas(&self) -> Vec<(&'static str, Schema)>;
    /// Checks the provider block; unknown values must skip their checks.
    fn validate_provider_config(&self, config: &Value) -> Vec<Diagnostic>;
    /// Builds the API client from the provider block (called once per process).
    fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
    ) -> impl Future<Output = Vec<Diagnostic>> + Send;
    /// Checks a data source block; unknown values must skip their checks.
    fn validate_data_source(&self, type_name: &str, config: &Value) -> Vec<Diagnostic>;
    /// Reads a data source. `cancel` fires on StopProvider (Ctrl-C in Terraform). The returned
    /// value must be a complete object of the data source's schema (null where unset).
    fn read_data_source(
        &self,
        type_name: &str,
        config: Value,
        cancel: CancellationToken,
    ) -> impl Future<Output = (Option<Value>, Vec<Diagnostic>)> + Send;
}

/// Runs `provider` as a Terraform plugin and returns the exit code for `main`: 0 after
/// Terraform's Shutdown, 1 when the plugin cannot serve (started by hand without the magic
/// cookie, protocol 6 not offered, no socket...), with the reason on stderr.
///
/// Builds its own tokio runtime. With `-debug` among the arguments it serves in debug mode (no
/// cookie, no TLS, prints `TF_REATTACH_PROVIDERS`, stays up until Ctrl-C). Environment read:
/// Terraform's handshake variables (`TF_PLUGIN_MAGIC_COOKIE`, `PLUGIN_PROTOCOL_VERSIONS`,
/// `PLUGIN_CLIENT_CERT`, `PLUGIN_MIN_PORT`, `PLUGIN_MAX_PORT`, `PLUGIN_UNIX_SOCKET_DIR`), the log
/// level (`TF_LOG_PROVIDER_<TYPE>`, `TF_LOG_PROVIDER`, `TF_LOG`) and `<TYPE>_PLUGIN_TRANSPORT`.
pub fn serve<P: Provider>(provider: P) -> ExitCode {
    let debug = std::env::args()
        .skip(1)
        .any(|arg| arg == "-debug" || arg == "--debug");
    log::init(provider.type_name());
    let address = provider.registry_address();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("Error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(server::run(provider, debug, address));
    // Tasks still parked (an abandoned read) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}
