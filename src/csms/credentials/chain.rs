//! The credential chain: which source gives the base keys, and the agency assumed on top.
//!
//! Order (the Go provider's, which our users know): the provider block's keys, then
//! `HW_ACCESS_KEY`/`HW_SECRET_KEY`, then the KooCLI profile (read only when a file or profile is
//! named), then the ECS metadata service (only when no keys were found anywhere). A security
//! token belongs to the keys of its own source. An agency, from the provider's settings or else
//! from the profile, is then assumed with the base keys.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::agency::{AgencyClient, AgencySettings};
use super::error::{CredentialError, NoCredentials};
use super::metadata::{MetadataClient, MetadataSettings};
use super::refresh::{unexpired, CredentialProvider, Fetcher, RefreshSettings};
use super::shared_file::{self, Profile, ProfileKeys, SharedFileSettings, Warning};
use super::{Credentials, Source};
use crate::csms::config::ClientConfig;

/// Keys as one source gives them; empty strings count as unset.
#[derive(Clone, Default)]
pub struct StaticKeys {
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub security_token: Option<String>,
}

impl std::fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| if set(v).is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("StaticKeys")
            .field("access_key", &self.access_key)
            .field("secret_key", &set(&self.secret_key))
            .field("security_token", &set(&self.security_token))
            .finish()
    }
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

impl StaticKeys {
    /// `HW_ACCESS_KEY`, `HW_SECRET_KEY`, `HW_SECURITY_TOKEN`.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Self {
        StaticKeys {
            access_key: env("HW_ACCESS_KEY"),
            secret_key: env("HW_SECRET_KEY"),
            security_token: env("HW_SECURITY_TOKEN"),
        }
    }

    /// Both keys, or nothing; one without the other is an error naming what is missing.
    fn credentials(
        &self,
        origin: &'static str,
        [ak, sk]: [&'static str; 2],
    ) -> Result<Option<Credentials>, CredentialError> {
        match (set(&self.access_key), set(&self.secret_key)) {
            (Some(a), Some(s)) => Ok(Some(Credentials::new(a, s, self.security_token.as_deref()))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(CredentialError::IncompleteKeys {
                origin,
                present: ak,
                missing: sk,
            }),
            (None, Some(_)) => Err(CredentialError::IncompleteKeys {
                origin,
                present: sk,
                missing: ak,
            }),
        }
    }
}

/// Everything the chain looks at, as the provider collected it from its block and environment.
#[derive(Debug, Clone, Default)]
pub struct ChainInputs {
    /// `access_key`, `secret_key`, `security_token` of the provider block.
    pub block: StaticKeys,
    /// See [`StaticKeys::from_env`].
    pub environment: StaticKeys,
    pub shared_file: SharedFileSettings,
    pub metadata: MetadataSettings,
    /// `assume_role` (block or `HW_ASSUME_ROLE_*`); wins over a profile's agency.
    pub agency: Option<AgencySettings>,
    /// Region, cloud and IAM endpoint as configured, for the agency exchange's endpoint (a
    /// profile's region fills a missing one).
    pub region: Option<String>,
    pub cloud: Option<String>,
    pub iam_endpoint: Option<String>,
    /// Skip TLS verification towards IAM.
    pub insecure: bool,
    pub refresh: RefreshSettings,
    /// Longest the whole resolution may take (`configure_timeout`); `None`: [`DEFAULT_DEADLINE`].
    pub deadline: Option<Duration>,
    /// Ends the resolution at once (StopProvider, SIGTERM).
    pub cancel: CancellationToken,
}

/// Default of `configure_timeout`: room for the slowest chain that works (the metadata
/// service's two requests, then an agency exchange with IAM's 30 s timeout), and no more.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// What the chain is doing, for the error that says where a resolution that ran out of time or
/// was cancelled stood.
#[derive(Default)]
struct Progress(Mutex<Option<String>>);

impl Progress {
    fn set(&self, doing: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(doing);
    }

    fn doing(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "looking for credentials".into())
    }
}

impl ChainInputs {
    /// What the environment alone says (`HW_*` keys, `HW_SHARED_CONFIG_FILE`, `HW_PROFILE`,
    /// `HOME`, `HW_METADATA_ENDPOINT`, `HW_ASSUME_ROLE_*`, `HW_REGION_NAME`, `HW_CLOUD`,
    /// `HW_IAM_ENDPOINT`); the provider then sets `block` and lets its own arguments win.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, CredentialError> {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        Ok(ChainInputs {
            environment: StaticKeys::from_env(&env),
            shared_file: SharedFileSettings::from_env(&env),
            metadata: MetadataSettings::from_env(&env),
            agency: AgencySettings::from_env(&env)?,
            region: set("HW_REGION_NAME"),
            cloud: set("HW_CLOUD"),
            iam_endpoint: set("HW_IAM_ENDPOINT"),
            ..ChainInputs::default()
        })
    }
}

/// The outcome of the chain.
#[derive(Debug)]
pub struct Resolved {
    pub credentials: Arc<CredentialProvider>,
    /// The profile's non-empty `region`, for the provider to use when neither block nor
    /// environment sets one.
    pub region: Option<String>,
    /// The profile's non-empty `projectId`, likewise.
    pub project_id: Option<String>,
    pub warnings: Vec<Warning>,
}

/// Finds the base keys, assumes an agency on top when configured, and logs the source at INFO;
/// within `inputs.deadline`, and ended at once by `inputs.cancel`, so a source that never
/// answers cannot hold the provider's configuration.
pub async fn resolve(inputs: ChainInputs) -> Result<Resolved, CredentialError> {
    let progress = Progress::default();
    let deadline = inputs.deadline.unwrap_or(DEFAULT_DEADLINE);
    let cancel = inputs.cancel.clone();
    tokio::select! {
        resolved = tokio::time::timeout(deadline, resolve_chain(inputs, &progress)) => {
            resolved.unwrap_or_else(|_| Err(CredentialError::TimedOut {
                deadline,
                doing: progress.doing(),
            }))
        }
        () = cancel.cancelled() => Err(CredentialError::Cancelled { doing: progress.doing() }),
    }
}

async fn resolve_chain(
    inputs: ChainInputs,
    progress: &Progress,
) -> Result<Resolved, CredentialError> {
    let mut warnings = Vec::new();
    let mut profile = None;
    let base = if let Some(c) = inputs
        .block
        .credentials("the provider block", ["access_key", "secret_key"])?
    {
        warnings.extend(file_not_read(&inputs.shared_file, Source::Block));
        CredentialProvider::fixed(Source::Block, c)
    } else if let Some(c) = inputs
        .environment
        .credentials("the environment", ["HW_ACCESS_KEY", "HW_SECRET_KEY"])?
    {
        warnings.extend(file_not_read(&inputs.shared_file, Source::Environment));
        CredentialProvider::fixed(Source::Environment, c)
    } else if inputs.shared_file.is_set() {
        let (base, p, warning) = from_profile(&inputs, progress).await?;
        warnings.extend(warning);
        profile = Some(p);
        base
    } else {
        match from_metadata(&inputs.metadata, None, inputs.refresh, progress).await {
            Err(CredentialError::Metadata(metadata)) => {
                return Err(NoCredentials {
                    default_shared_file: inputs.shared_file.default_path(),
                    metadata: *metadata,
                }
                .into())
            }
            other => other?,
        }
    };

    let (profile_region, project_id, profile_agency) = match profile {
        Some(p) => (p.region, p.project_id, p.agency),
        None => (None, None, None),
    };
    let credentials = match inputs.agency.clone().or(profile_agency) {
        None => base,
        Some(settings) => {
            let region = inputs.region.clone().or_else(|| profile_region.clone());
            assume(&inputs, region, settings, base, progress).await?
        }
    };
    tracing::info!("using credentials from {}", credentials.source());
    Ok(Resolved {
        credentials: Arc::new(credentials),
        region: profile_region,
        project_id,
        warnings,
    })
}

/// Names a file or profile the user set that lost to keys found earlier.
fn file_not_read(settings: &SharedFileSettings, used: Source) -> Option<Warning> {
    settings.is_set().then(|| Warning::SharedFileNotRead {
        path: settings.file(),
        used,
    })
}

/// The base keys of the chosen profile (from the metadata service for `ecsAgency`).
async fn from_profile(
    inputs: &ChainInputs,
    progress: &Progress,
) -> Result<(CredentialProvider, Profile, Option<Warning>), CredentialError> {
    let path = inputs
        .shared_file
        .file()
        .ok_or_else(|| CredentialError::SharedFileUnreadable {
            path: shared_file::DEFAULT_RELATIVE_PATH.into(),
            message: "the home directory is unknown (HOME is not set); set shared_config_file \
                      (HW_SHARED_CONFIG_FILE)"
                .into(),
        })?;
    progress.set(format!(
        "reading the shared configuration file {}",
        path.display()
    ));
    let (profile, warning) =
        shared_file::load_within(&path, inputs.shared_file.profile.as_deref()).await?;
    let base = match &profile.keys {
        ProfileKeys::Keys(c) => CredentialProvider::fixed(
            Source::SharedFile {
                path,
                profile: profile.name.clone(),
            },
            c.clone(),
        ),
        ProfileKeys::EcsMetadata => {
            from_metadata(
                &inputs.metadata,
                Some(profile.name.clone()),
                inputs.refresh,
                progress,
            )
            .await?
        }
    };
    Ok((base, profile, warning))
}

async fn from_metadata(
    settings: &MetadataSettings,
    via_profile: Option<String>,
    refresh: RefreshSettings,
    progress: &Progress,
) -> Result<CredentialProvider, CredentialError> {
    let client = MetadataClient::new(settings)?;
    progress.set(format!(
        "asking the ECS metadata service at {} for keys",
        client.endpoint()
    ));
    let source = Source::EcsMetadata {
        endpoint: client.endpoint().to_string(),
        via_profile,
    };
    let keys = unexpired(&source, client.fetch().await?)?;
    Ok(CredentialProvider::new(
        source,
        keys,
        Fetcher::Metadata(client),
        refresh,
    ))
}

async fn assume(
    inputs: &ChainInputs,
    region: Option<String>,
    settings: AgencySettings,
    base: CredentialProvider,
    progress: &Progress,
) -> Result<CredentialProvider, CredentialError> {
    let iam = ClientConfig {
        region,
        // Empty when unset, so the endpoint follows ClientConfig's own default-domain rule.
        cloud: inputs.cloud.clone().unwrap_or_default(),
        iam_endpoint: inputs.iam_endpoint.clone(),
        ..ClientConfig::default()
    }
    .iam_base()
    .map_err(|e| CredentialError::InvalidEndpoint(format!("assume_role: {e}")))?;
    let source = Source::Agency {
        agency_name: settings.agency_name.clone(),
        domain: settings.domain.clone(),
        base: Box::new(base.source().clone()),
    };
    progress.set(format!(
        "assuming agency {:?} of {} through IAM at {}",
        settings.agency_name,
        settings.domain,
        iam.as_str().trim_end_matches('/')
    ));
    let client = AgencyClient::new(&iam, settings, inputs.insecure)?;
    let base = Arc::new(base);
    let keys = unexpired(&source, client.assume(&*base.current().await?).await?)?;
    Ok(CredentialProvider::new(
        source,
        keys,
        Fetcher::Agency { base, client },
        inputs.refresh,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn keys(ak: &str, sk: &str, token: Option<&str>) -> StaticKeys {
        StaticKeys {
            access_key: Some(ak.into()),
            secret_key: Some(sk.into()),
            security_token: token.map(String::from),
        }
    }

    /// A metadata endpoint nothing listens on: a port just bound and released, so connecting
    /// is refused at once.
    fn refused_endpoint() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    }

    fn inputs(home: Option<PathBuf>) -> ChainInputs {
        ChainInputs {
            shared_file: SharedFileSettings {
                home,
                ..SharedFileSettings::default()
            },
            metadata: MetadataSettings {
                endpoint: refused_endpoint(),
                timeout: Duration::from_secs(2),
            },
            ..ChainInputs::default()
        }
    }

    fn home_with_profiles() -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".hcloud")).unwrap();
        let file = serde_json::json!({"current": "default", "profiles": [
            {"name": "default", "mode": "AKSK", "accessKeyId": "AK-FILE", "secretAccessKey": "SK-FILE",
             "region": "cn-south-1", "projectId": "p-file"},
            {"name": "prod", "mode": "AKSK", "accessKeyId": "AK-PROD", "secretAccessKey": "SK-PROD"}]});
        std::fs::write(home.path().join(".hcloud/config.json"), file.to_string()).unwrap();
        home
    }

    async fn access_key(r: &Resolved) -> String {
        r.credentials.current().await.unwrap().access_key.clone()
    }

    #[test]
    fn inputs_from_the_environment() {
        let i = ChainInputs::from_env(|v| {
            let value = match v {
                "HW_ACCESS_KEY" => "AK",
                "HW_SECRET_KEY" => "SK",
                "HW_PROFILE" => "prod",
                "HOME" => "/home/u",
                "HW_METADATA_ENDPOINT" => "http://127.0.0.1:1",
                "HW_ASSUME_ROLE_AGENCY_NAME" => "audit",
                "HW_ASSUME_ROLE_DOMAIN_NAME" => "acct",
                "HW_REGION_NAME" => "eu-west-101",
                _ => return None,
            };
            Some(value.to_string())
        })
        .unwrap();
        assert_eq!(i.environment.secret_key.as_deref(), Some("SK"));
        assert_eq!(i.block.access_key, None);
        assert_eq!(i.shared_file.profile.as_deref(), Some("prod"));
        assert_eq!(i.metadata.endpoint, "http://127.0.0.1:1");
        assert_eq!(i.agency.unwrap().agency_name, "audit");
        assert_eq!(i.region.as_deref(), Some("eu-west-101"));
        assert_eq!(i.cloud, None);
    }

    #[tokio::test]
    async fn block_keys_win_and_a_named_profile_is_reported_unread() {
        let home = home_with_profiles();
        let r = resolve(ChainInputs {
            block: keys("AK-BLOCK", "SK-BLOCK", Some("TOK-BLOCK")),
            environment: keys("AK-ENV", "SK-ENV", None),
            shared_file: SharedFileSettings {
                profile: Some("prod".into()),
                home: Some(home.path().into()),
                ..SharedFileSettings::default()
            },
            ..inputs(None)
        })
        .await
        .unwrap();
        assert_eq!(r.credentials.source(), &Source::Block);
        let c = r.credentials.current().await.unwrap();
        assert_eq!(
            (c.access_key.as_str(), c.security_token.as_deref()),
            ("AK-BLOCK", Some("TOK-BLOCK"))
        );
        assert_eq!(r.region, None);
        assert!(
            matches!(
                &r.warnings[..],
                [Warning::SharedFileNotRead {
                    used: Source::Block,
                    ..
                }]
            ),
            "{:?}",
            r.warnings
        );
    }

    #[tokio::test]
    async fn environment_keys_come_next_with_their_own_token() {
        let r = resolve(ChainInputs {
            environment: keys("AK-ENV", "SK-ENV", Some("TOK-ENV")),
            block: StaticKeys {
                security_token: Some("TOK-BLOCK".into()),
                ..StaticKeys::default()
            },
            ..inputs(None)
        })
        .await
        .unwrap();
        assert_eq!(r.credentials.source(), &Source::Environment);
        let c = r.credentials.current().await.unwrap();
        assert_eq!(c.security_token.as_deref(), Some("TOK-ENV"));
        assert!(r.warnings.is_empty());
    }

    #[tokio::test]
    async fn half_a_key_pair_is_an_error_naming_the_missing_half() {
        let e = resolve(ChainInputs {
            block: StaticKeys {
                access_key: Some("AK".into()),
                ..StaticKeys::default()
            },
            environment: keys("AK-ENV", "SK-ENV", None),
            ..inputs(None)
        })
        .await
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "access_key is set in the provider block but secret_key is not: set both, or \
             neither to use another source"
        );
        let e = resolve(ChainInputs {
            environment: StaticKeys {
                secret_key: Some("SK".into()),
                ..StaticKeys::default()
            },
            ..inputs(None)
        })
        .await
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("HW_SECRET_KEY is set in the environment but HW_ACCESS_KEY"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_profile_by_name_or_current_fills_region_and_project() {
        let home = home_with_profiles();
        let mut i = inputs(Some(home.path().into()));
        i.shared_file.profile = Some("prod".into());
        let r = resolve(i.clone()).await.unwrap();
        assert_eq!(access_key(&r).await, "AK-PROD");
        assert_eq!(
            r.credentials.source(),
            &Source::SharedFile {
                path: home.path().join(".hcloud/config.json"),
                profile: "prod".into()
            }
        );
        i.shared_file.profile = None;
        i.shared_file.path = Some(home.path().join(".hcloud/config.json"));
        let r = resolve(i).await.unwrap();
        assert_eq!(access_key(&r).await, "AK-FILE");
        assert_eq!(r.region.as_deref(), Some("cn-south-1"));
        assert_eq!(r.project_id.as_deref(), Some("p-file"));
    }

    #[tokio::test]
    async fn the_default_file_is_not_read_unless_asked_for() {
        let home = home_with_profiles();
        let i = inputs(Some(home.path().into()));
        let endpoint = i.metadata.endpoint.clone();
        let e = resolve(i).await.unwrap_err();
        let CredentialError::NoCredentials(none) = &e else {
            panic!("{e:?}")
        };
        assert!(matches!(
            none.metadata,
            crate::csms::credentials::MetadataError::Unreachable { .. }
        ));
        let m = e.to_string();
        for part in [
            "the provider block",
            "HW_ACCESS_KEY and HW_SECRET_KEY",
            &format!("{}", home.path().join(".hcloud/config.json").display()),
            "HW_SHARED_CONFIG_FILE",
            "HW_PROFILE",
            &endpoint,
            "not reachable",
        ] {
            assert!(m.contains(part), "{part:?} missing from: {m}");
        }
    }

    #[tokio::test]
    async fn a_named_file_that_is_missing_is_an_error_not_a_fallthrough() {
        let dir = tempfile::tempdir().unwrap();
        let mut i = inputs(None);
        i.shared_file.path = Some(dir.path().join("config.json"));
        let e = resolve(i).await.unwrap_err();
        assert!(
            matches!(e, CredentialError::SharedFileMissing { .. }),
            "{e:?}"
        );
        let mut i = inputs(None);
        i.shared_file.profile = Some("prod".into());
        let e = resolve(i).await.unwrap_err();
        assert!(e.to_string().contains("HOME"), "{e}");
    }

    #[tokio::test]
    async fn an_agency_needs_somewhere_to_send_the_exchange() {
        let e = resolve(ChainInputs {
            environment: keys("AK", "SK", None),
            agency: Some(
                AgencySettings::new("audit", super::super::AgencyDomain::Name("d".into()), None)
                    .unwrap(),
            ),
            ..inputs(None)
        })
        .await
        .unwrap_err();
        assert!(matches!(e, CredentialError::InvalidEndpoint(_)), "{e:?}");
        assert!(e.to_string().starts_with("assume_role:"), "{e}");
    }
}
