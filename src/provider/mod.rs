//! The `csms` provider block and the `csms_rotation_tasks` data source, written against the
//! small types of [`crate::plugin`] so they read like the HCL they serve.
//!
//! The configured [`Client`] is built once in `configure` and shared by every read; Terraform
//! reads data sources in parallel, so it sits behind a lock that reads only clone an `Arc` from.

pub mod config;
pub mod diagnostics;
pub mod rotation_tasks;

use std::sync::{Arc, RwLock};

use crate::csms::Client;
use crate::plugin::{CancellationToken, Diagnostic, Provider, Schema, Value};

/// The provider's version, sent in the User-Agent and logged at configure time.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Default)]
pub struct CsmsProvider {
    client: RwLock<Option<Arc<Client>>>,
}

impl Provider for CsmsProvider {
    fn type_name(&self) -> &'static str {
        "csms"
    }

    fn provider_schema(&self) -> Schema {
        config::schema()
    }

    fn data_source_schemas(&self) -> Vec<(&'static str, Schema)> {
        vec![(rotation_tasks::TYPE_NAME, rotation_tasks::schema())]
    }

    fn validate_provider_config(&self, config: &Value) -> Vec<Diagnostic> {
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
            Ok(client) => {
                *self.client.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(client))
            }
            Err(e) => diags.push(diagnostics::from_error(&e)),
        }
        diags
    }

    fn validate_data_source(&self, type_name: &str, config: &Value) -> Vec<Diagnostic> {
        match type_name {
            rotation_tasks::TYPE_NAME => rotation_tasks::query(config).err().unwrap_or_default(),
            other => vec![unknown_data_source(other)],
        }
    }

    async fn read_data_source(
        &self,
        type_name: &str,
        config: Value,
        cancel: CancellationToken,
    ) -> (Option<Value>, Vec<Diagnostic>) {
        if type_name != rotation_tasks::TYPE_NAME {
            return (None, vec![unknown_data_source(type_name)]);
        }
        let query = match rotation_tasks::query(&config) {
            Ok(q) => q,
            Err(diags) => return (None, diags),
        };
        let Some(client) = self
            .client
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        else {
            return (
                None,
                vec![Diagnostic::error(
                    "Provider not configured",
                    "The csms provider was asked to read before it was configured. This is a bug in Terraform or \
                     the provider; please report it with the output of TF_LOG_PROVIDER=DEBUG.",
                )],
            );
        };
        match client.list_tasks(&query.to_task_query(), &cancel).await {
            Ok(listing) => {
                let warnings = listing
                    .warnings
                    .iter()
                    .map(diagnostics::from_warning)
                    .collect();
                (Some(rotation_tasks::state(&query, listing)), warnings)
            }
            Err(e) => (None, vec![diagnostics::from_error(&e)]),
        }
    }
}

fn unknown_data_source(type_name: &str) -> Diagnostic {
    Diagnostic::error(
        "Unknown data source",
        format!(
            "The csms provider has no data source {type_name:?}; it serves {:?}.",
            rotation_tasks::TYPE_NAME
        ),
    )
}
