//! Where the keys that sign requests come from, resolved once per provider configuration in the
//! order users know from Huawei Cloud's Go provider: the provider block, `HW_*` environment
//! variables, a KooCLI profile, the ECS metadata service; then, on top of whichever gave the base
//! keys, an assumed IAM agency. Nothing here knows Terraform: the provider maps its block and
//! environment into [`ChainInputs`] and renders [`CredentialError`] as diagnostics.
//!
//! # Layout
//! - [`chain`]: [`resolve`], the order of the sources and the "nothing found anywhere" error.
//! - [`shared_file`]: the KooCLI `config.json`, its profiles and their modes.
//! - [`metadata`]: temporary keys from the ECS metadata service (session token first).
//! - [`agency`]: assuming an IAM agency (`/v3.0/OS-CREDENTIAL/securitytokens`) with base keys.
//! - [`refresh`]: [`CredentialProvider`], which renews temporary keys shortly before they expire,
//!   once for all concurrent callers.
//! - [`error`]: [`CredentialError`] and the errors of each source; none of them holds a secret.

pub mod agency;
pub mod chain;
pub mod error;
pub mod metadata;
pub mod refresh;
pub mod shared_file;
mod wire;

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

pub use agency::{AgencyClient, AgencyDomain, AgencySettings};
pub use chain::{resolve, ChainInputs, Resolved, StaticKeys};
pub use error::{AgencyError, CredentialError, MetadataError, NoCredentials};
pub use metadata::{MetadataClient, MetadataSettings};
pub use refresh::{CredentialProvider, RefreshSettings};
pub use shared_file::{SharedFileSettings, Warning};

use super::signer::Signer;

/// An AK/SK pair, with the security token and expiry of temporary keys. `Debug` shows the access
/// key (it names the key in IAM and in the gateway's errors) and never the secret key or token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    /// Present for temporary keys; sent as `X-Security-Token` with every request.
    pub security_token: Option<String>,
    /// When temporary keys stop working; `None` when unknown (long-lived keys, or a token given
    /// by the user, whose expiry nobody told us).
    pub expires_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Credentials {
    /// Long-lived keys, or temporary ones when `security_token` is non-empty.
    pub fn new(access_key: &str, secret_key: &str, security_token: Option<&str>) -> Self {
        Credentials {
            access_key: access_key.trim().to_string(),
            secret_key: secret_key.to_string(),
            security_token: security_token
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from),
            expires_at: None,
        }
    }

    /// The signer of requests made with these keys.
    pub fn signer(&self) -> Signer {
        Signer::new(&self.access_key, &self.secret_key)
    }

    /// True when the keys expire at or before `now + margin`. Keys of unknown expiry never do.
    pub fn expires_within(&self, margin: Duration, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now + margin)
    }
}

/// Where the credentials in use came from, for the INFO line the provider logs and for error
/// messages. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `access_key` / `secret_key` (and `security_token`) in the provider block.
    Block,
    /// `HW_ACCESS_KEY` / `HW_SECRET_KEY` (and `HW_SECURITY_TOKEN`).
    Environment,
    /// A profile of a KooCLI configuration file.
    SharedFile { path: PathBuf, profile: String },
    /// The ECS metadata service (`via_profile` when an `ecsAgency` profile sent us there).
    EcsMetadata {
        endpoint: String,
        via_profile: Option<String>,
    },
    /// An IAM agency assumed with the keys of `base`.
    Agency {
        agency_name: String,
        domain: AgencyDomain,
        base: Box<Source>,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Block => f.write_str("the provider block (access_key, secret_key)"),
            Source::Environment => f.write_str("the environment (HW_ACCESS_KEY, HW_SECRET_KEY)"),
            Source::SharedFile { path, profile } => write!(
                f,
                "profile {profile:?} of the shared configuration file {}",
                path.display()
            ),
            Source::EcsMetadata {
                endpoint,
                via_profile,
            } => {
                write!(f, "the ECS metadata service at {endpoint}")?;
                match via_profile {
                    Some(p) => write!(f, " (profile {p:?} is in ecsAgency mode)"),
                    None => Ok(()),
                }
            }
            Source::Agency {
                agency_name,
                domain,
                base,
            } => write!(
                f,
                "agency {agency_name:?} of {domain}, assumed with the keys from {base}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret_key_or_token() {
        let c = Credentials::new("AKVISIBLE", "SK-SECRET", Some("TOKEN-SECRET"));
        let d = format!("{c:?}");
        assert!(d.contains("AKVISIBLE"), "{d}");
        assert!(
            !d.contains("SK-SECRET") && !d.contains("TOKEN-SECRET"),
            "{d}"
        );
    }

    #[test]
    fn an_empty_token_means_long_lived_keys() {
        assert_eq!(
            Credentials::new("AK", "SK", Some("  ")).security_token,
            None
        );
        assert_eq!(
            Credentials::new(" AK ", "SK", Some("t"))
                .security_token
                .as_deref(),
            Some("t")
        );
    }

    #[test]
    fn expiry_within_a_margin() {
        let now = OffsetDateTime::now_utc();
        let mut c = Credentials::new("AK", "SK", None);
        assert!(!c.expires_within(Duration::from_secs(600), now));
        c.expires_at = Some(now + Duration::from_secs(300));
        assert!(c.expires_within(Duration::from_secs(600), now));
        assert!(!c.expires_within(Duration::from_secs(60), now));
    }

    #[test]
    fn sources_name_themselves_for_the_log() {
        let s = Source::Agency {
            agency_name: "audit".into(),
            domain: AgencyDomain::Name("other-account".into()),
            base: Box::new(Source::EcsMetadata {
                endpoint: "http://169.254.169.254".into(),
                via_profile: None,
            }),
        };
        assert_eq!(
            s.to_string(),
            "agency \"audit\" of domain \"other-account\", assumed with the keys from the ECS \
             metadata service at http://169.254.169.254"
        );
    }
}
