//! The `csms` provider block and the `csms_rotation_tasks` data source, written against the
//! small types of [`crate::plugin`] so they read like the HCL they serve.
//!
//! The configured [`Client`] is built once in `configure` and shared by every read through a
//! [`ClientSlot`]; Terraform reads data sources in parallel, so reads only clone an `Arc` from it.

pub mod config;
pub mod diagnostics;
pub mod rotation_tasks;
pub mod timeouts;

use std::sync::{Arc, RwLock};

use crate::csms::Client;
use crate::plugin::{DataSource, Diagnostic, Provider, Schema, Value};

/// The provider's version, sent in the User-Agent and logged at configure time.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Default)]
pub struct CsmsProvider {
    client: ClientSlot,
}

/// Where `configure` puts the client and data sources take it from.
#[derive(Clone, Default)]
pub struct ClientSlot(Arc<RwLock<Option<Arc<Client>>>>);

impl ClientSlot {
    fn set(&self, client: Client) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(client));
    }

    /// The configured client, or the error a read before configuration deserves.
    pub fn get(&self) -> Result<Arc<Client>, Diagnostic> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| {
                Diagnostic::error(
                    "Provider not configured",
                    "The csms provider was asked to read before it was configured. This is a bug in Terraform or \
                     the provider; please report it with the output of TF_LOG_PROVIDER=DEBUG.",
                )
            })
    }
}

impl Provider for CsmsProvider {
    fn type_name(&self) -> &'static str {
        "csms"
    }

    fn schema(&self) -> Schema {
        config::schema()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(rotation_tasks::RotationTasks::new(
            self.client.clone(),
        ))]
    }

    fn validate(&self, config: &Value) -> Vec<Diagnostic> {
        config::validate(config)
    }

    async fn configure(&self, config: &Value, terraform_version: &str) -> Vec<Diagnostic> {
        let user_agent = format!("terraform-provider-csms/{VERSION} terraform/{terraform_version}");
        let (cfg, mut diags) =
            match config::resolve(config, |var| std::env::var(var).ok(), user_agent) {
                Ok(resolved) => resolved,
                Err(diags) => return diags,
            };
        tracing::info!(
            version = VERSION,
            terraform_version,
            region = cfg.region.as_deref(),
            "configuring provider"
        );
        match Client::new(cfg) {
            Ok(client) => self.client.set(client),
            Err(e) => diags.push(diagnostics::from_error(&e)),
        }
        diags
    }
}
