//! [`Clients`]: the provider's client, and one per other region a data source names in its
//! `region`, so `for_each` over regions works with one provider block.
//!
//! A client per region, created on first use and kept for the life of the process, so each
//! region's project is looked up once (its `OnceCell`) however many data sources read it. A
//! provider `project_id` belongs to the provider's own region: another region's project is looked
//! up through IAM, with the same (possibly assumed) credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::csms::credentials::CredentialProvider;
use crate::csms::{Client, ClientConfig, Error};

pub struct Clients {
    provider: Arc<Client>,
    /// The provider's configuration without its project, for the other regions' clients.
    /// `endpoint` and `iam_endpoint`, when set, serve every region.
    other_regions: ClientConfig,
    credentials: Arc<CredentialProvider>,
    by_region: Mutex<HashMap<String, Arc<Client>>>,
}

impl Clients {
    pub fn new(cfg: ClientConfig, credentials: Arc<CredentialProvider>) -> Result<Self, Error> {
        let provider = Arc::new(Client::with_credentials(cfg.clone(), credentials.clone())?);
        let mut by_region = HashMap::new();
        if let Some(region) = &cfg.region {
            by_region.insert(region.clone(), provider.clone());
        }
        Ok(Clients {
            provider,
            other_regions: ClientConfig {
                project_id: None,
                ..cfg
            },
            credentials,
            by_region: Mutex::new(by_region),
        })
    }

    /// The client of `region`; `None` is the provider's.
    pub fn client(&self, region: Option<&str>) -> Result<Arc<Client>, Error> {
        let Some(region) = region else {
            return Ok(self.provider.clone());
        };
        let mut by_region = self.by_region.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = by_region.get(region) {
            return Ok(client.clone());
        }
        let cfg = ClientConfig {
            region: Some(region.to_string()),
            ..self.other_regions.clone()
        };
        let client = Arc::new(Client::with_credentials(cfg, self.credentials.clone())?);
        by_region.insert(region.to_string(), client.clone());
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csms::credentials::{Credentials, Source};

    fn clients(project_id: Option<&str>) -> Clients {
        let credentials = Arc::new(CredentialProvider::fixed(
            Source::Block,
            Credentials::new("AK", "SK", None),
        ));
        let cfg = ClientConfig {
            region: Some("cn-north-4".into()),
            project_id: project_id.map(String::from),
            ..ClientConfig::default()
        };
        Clients::new(cfg, credentials).unwrap()
    }

    #[test]
    fn one_client_per_region_and_the_provider_region_is_the_provider_client() {
        let c = clients(Some("p-north"));
        let provider = c.client(None).unwrap();
        assert!(Arc::ptr_eq(
            &provider,
            &c.client(Some("cn-north-4")).unwrap()
        ));
        let eu = c.client(Some("eu-west-101")).unwrap();
        assert!(Arc::ptr_eq(&eu, &c.client(Some("eu-west-101")).unwrap()));
        assert!(!Arc::ptr_eq(&eu, &provider));
        let shown = format!("{eu:?}");
        assert!(
            shown.contains("kms.eu-west-101.myhuaweicloud.eu"),
            "{shown}"
        );
        assert!(
            shown.contains("iam.eu-west-101.myhuaweicloud.eu"),
            "the provider's project_id must not serve another region: {shown}"
        );
        assert!(format!("{provider:?}").contains("p-north"));
    }
}
