//! The Terraform plugin layer: go-plugin handshake, mutual TLS, the tfplugin6 gRPC service,
//! values, schemas, diagnostics and logging. Nothing here knows about CSMS; a provider plugs in
//! through the [`Provider`] trait and is started with [`serve`].

pub mod diag;
pub mod schema;
pub mod value;

use std::future::Future;

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
    /// The provider's type name, e.g. `csms`; data source names start with it.
    fn type_name(&self) -> &'static str;
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

/// Runs `provider` as a Terraform plugin: handshake, serve until Shutdown, exit code for `main`.
/// (Placeholder until the server lands.)
pub fn serve<P: Provider>(provider: P) -> std::process::ExitCode {
    drop(provider);
    std::process::ExitCode::FAILURE
}
