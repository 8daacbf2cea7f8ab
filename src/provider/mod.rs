//! The `csms` provider block and the data sources `csms_rotation_tasks`, `csms_secrets` and
//! `csms_secret_rotations`, written against the small types of [`crate::plugin`] so they read
//! like the HCL they serve.
//!
//! The credentials are resolved and the [`Clients`] built once in `configure`, and shared by
//! every read through a [`ClientSlot`]; Terraform reads data sources in parallel, so reads only
//! clone an `Arc` from it.

pub mod authentication;
pub mod clients;
pub mod config;
pub mod data_source;
pub mod diagnostics;
pub mod rotation_tasks;
pub mod secret_rotations;
pub mod secrets;

use std::sync::{Arc, RwLock};

use crate::csms::credentials::{self, ChainInputs};
use crate::csms::{self, Client};
use crate::plugin::{CancellationToken, DataSource, Diagnostic, Provider, Schema, Value};
pub use clients::Clients;

/// The provider's version, sent in the User-Agent and logged at configure time.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Default)]
pub struct CsmsProvider {
    client: ClientSlot,
}

/// Where `configure` puts the client and data sources take it from.
#[derive(Clone, Default)]
pub struct ClientSlot(Arc<RwLock<Option<Arc<Clients>>>>);

impl ClientSlot {
    fn set(&self, clients: Clients) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(clients));
    }

    /// The configured client of `region` (`None`: the provider's), or the error a read before
    /// configuration deserves.
    pub fn get(&self, region: Option<&str>) -> Result<Arc<Client>, Diagnostic> {
        let clients = self.configured()?;
        clients
            .client(region)
            .map_err(|e| diagnostics::from_error(&e))
    }

    fn configured(&self) -> Result<Arc<Clients>, Diagnostic> {
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
        vec![
            Arc::new(rotation_tasks::RotationTasks::new(self.client.clone())),
            Arc::new(secrets::Secrets::new(self.client.clone())),
            Arc::new(secret_rotations::SecretRotations::new(self.client.clone())),
        ]
    }

    fn validate(&self, config: &Value) -> Vec<Diagnostic> {
        config::validate(config)
    }

    async fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
        cancel: CancellationToken,
    ) -> Vec<Diagnostic> {
        let user_agent = format!("terraform-provider-csms/{VERSION} terraform/{terraform_version}");
        let (
            config::Resolution {
                mut client,
                chain,
                agency_origin,
            },
            mut diags,
        ) = match config::resolve(config, |var| std::env::var(var).ok(), user_agent) {
            Ok(resolved) => resolved,
            Err(diags) => return diags,
        };
        // Logs the source it used at INFO.
        let resolved = match credentials::resolve(ChainInputs { cancel, ..chain }).await {
            Ok(resolved) => resolved,
            Err(e) => {
                diags.push(authentication::error(&e, agency_origin));
                return diags;
            }
        };
        diags.extend(resolved.warnings.iter().map(authentication::warning));
        if let Err(missing) = config::complete(&mut client, resolved.region, resolved.project_id) {
            diags.extend(missing);
            return diags;
        }
        tracing::info!(
            version = VERSION,
            terraform_version,
            region = client.region.as_deref(),
            signing_algorithm = %client.signing_algorithm,
            "configuring provider"
        );
        // Keys no header can carry are refused here, naming the argument, not at every request.
        let checked = match resolved.credentials.current().await {
            Ok(keys) => csms::transport::check_keys(&keys).map_err(|e| diagnostics::from_error(&e)),
            Err(e) => Err(authentication::error(&e, agency_origin)),
        };
        if let Err(diagnostic) = checked {
            diags.push(diagnostic);
            return diags;
        }
        match Clients::new(client, resolved.credentials) {
            Ok(clients) => self.client.set(clients),
            Err(e) => diags.push(diagnostics::from_error(&e)),
        }
        diags
    }
}
