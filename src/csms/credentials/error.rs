//! What can go wrong finding credentials, typed so the provider can put each error on the
//! argument it concerns (`profile`, `assume_role`, ...) and render it once.
//!
//! No variant holds a secret: bodies that carry keys (metadata, IAM's 201) are never quoted, and
//! a malformed configuration file is described by position, not by its text. Names taken from
//! files or services are shown with `{:?}`, which escapes control characters.

use std::path::PathBuf;

use crate::csms::ServiceError;

/// The hint for profiles whose keys KooCLI stored encrypted (its default).
pub const ENCRYPTION_HINT: &str = "KooCLI encrypts stored keys by default; run \
     `hcloud configure set --cli-auth-encrypt=false` and configure the profile again";

/// Every failure of the credential chain.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// One half of a key pair in a source that must give both.
    #[error("{present} is set in {origin} but {missing} is not: set both, or neither to use another source")]
    IncompleteKeys {
        origin: &'static str,
        present: &'static str,
        missing: &'static str,
    },

    #[error("the shared configuration file {} does not exist; check shared_config_file (HW_SHARED_CONFIG_FILE), or create it with `hcloud configure init`", path.display())]
    SharedFileMissing { path: PathBuf },

    #[error("cannot read the shared configuration file {}: {message}", path.display())]
    SharedFileUnreadable { path: PathBuf, message: String },

    #[error("the shared configuration file {} is not a valid KooCLI configuration: {what} at line {line}, column {column}", path.display())]
    SharedFileMalformed {
        path: PathBuf,
        what: &'static str,
        line: usize,
        column: usize,
    },

    #[error("profile {profile:?} is not in {}; it has {}", path.display(), names(available))]
    ProfileNotFound {
        path: PathBuf,
        profile: String,
        available: Vec<String>,
    },

    #[error("the shared configuration file {} names no current profile; set profile (HW_PROFILE) to one of {}", path.display(), names(available))]
    NoProfileChosen {
        path: PathBuf,
        available: Vec<String>,
    },

    #[error("profile {profile:?} of {} (mode {mode}) has no usable access key and secret key; {ENCRYPTION_HINT}, or use another source", path.display())]
    ProfileWithoutKeys {
        path: PathBuf,
        profile: String,
        mode: String,
    },

    #[error("profile {profile:?} of {} has mode {mode:?}, which is not supported; use AKSK, SSO or ecsAgency", path.display())]
    UnsupportedMode {
        path: PathBuf,
        profile: String,
        mode: String,
    },

    #[error("assume_role: {0}")]
    InvalidAgency(String),

    /// An endpoint that cannot be used (bad URL, or no region to build it from).
    #[error("{0}")]
    InvalidEndpoint(String),

    #[error(transparent)]
    Metadata(Box<MetadataError>),

    #[error(transparent)]
    Agency(Box<AgencyError>),

    #[error(transparent)]
    NoCredentials(Box<NoCredentials>),

    /// The whole resolution outlived `configure_timeout`.
    #[error("finding credentials did not finish within {}s: the provider was still {doing}; check that this source answers, or raise configure_timeout (HW_CONFIGURE_TIMEOUT) if it is slow but working", deadline.as_secs_f64())]
    TimedOut {
        deadline: std::time::Duration,
        doing: String,
    },

    /// A source handed out temporary keys that had already expired: every request signed with
    /// them would fail with the gateway's generic 401.
    #[error("{from} handed out temporary keys that expired at {}, before the provider could use them (it is now {}); check the clock of this machine and that the source renews its keys", rfc3339(*expires_at), rfc3339(*now))]
    Expired {
        from: super::Source,
        expires_at: time::OffsetDateTime,
        now: time::OffsetDateTime,
    },

    /// StopProvider (Ctrl-C in Terraform) or SIGTERM ended the resolution.
    #[error("finding credentials was cancelled, as Terraform asked the provider to stop, while the provider was {doing}")]
    Cancelled { doing: String },
}

// Boxed, so the `Result`s of the whole chain stay small; the `From`s keep `?` working.
impl From<MetadataError> for CredentialError {
    fn from(e: MetadataError) -> Self {
        CredentialError::Metadata(Box::new(e))
    }
}

impl From<AgencyError> for CredentialError {
    fn from(e: AgencyError) -> Self {
        CredentialError::Agency(Box::new(e))
    }
}

impl From<NoCredentials> for CredentialError {
    fn from(e: NoCredentials) -> Self {
        CredentialError::NoCredentials(Box::new(e))
    }
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn names(available: &[String]) -> String {
    if available.is_empty() {
        return "no profiles".into();
    }
    let quoted: Vec<String> = available.iter().map(|n| format!("{n:?}")).collect();
    format!("profiles {}", quoted.join(", "))
}

/// The ECS metadata service failed to give keys.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// No HTTP answer within the timeout: not on ECS, or the service is down.
    #[error("the ECS metadata service at {endpoint} was not reachable ({message})")]
    Unreachable {
        endpoint: String,
        message: String,
        timeout: bool,
    },

    #[error("the ECS metadata service answered {url} with {error}; check that an agency is bound to this ECS instance")]
    Status { url: String, error: ServiceError },

    #[error("the ECS metadata service's answer from {url} is not a credential document: {what}")]
    Decode { url: String, what: String },

    #[error("the ECS metadata service at {0}")]
    Redirect(crate::csms::redirect::Redirect),
}

/// IAM did not hand out the agency's keys.
#[derive(Debug, thiserror::Error)]
pub enum AgencyError {
    #[error("assuming agency {agency:?}: the request to {url} failed: {message}")]
    Unreachable {
        agency: String,
        url: String,
        message: String,
    },

    /// IAM's refusal, e.g. `{"error":{"code":403,"message":...,"title":"Forbidden"}}`.
    #[error("IAM refused to let the base keys assume agency {agency:?} of {domain}: {error}; check that the agency exists in that account, that it trusts the account of the base keys, and that their user may assume agencies")]
    Refused {
        agency: String,
        domain: super::AgencyDomain,
        error: ServiceError,
    },

    #[error("assuming agency {agency:?}: IAM at {redirect}")]
    Redirect {
        agency: String,
        redirect: crate::csms::redirect::Redirect,
    },

    #[error(
        "assuming agency {agency:?}: IAM's answer from {url} is not a credential document: {what}"
    )]
    Decode {
        agency: String,
        url: String,
        what: String,
    },
}

impl AgencyError {
    /// HTTP status of IAM's refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            AgencyError::Refused { error, .. } => Some(error.status),
            _ => None,
        }
    }
}

/// No source gave keys: every source tried, why it gave nothing, and what to set.
#[derive(Debug, thiserror::Error)]
#[error("no credentials found. Tried, in this order:\n\
  1. the provider block: access_key and secret_key are not set;\n\
  2. the environment: HW_ACCESS_KEY and HW_SECRET_KEY are not set;\n\
  3. the shared configuration file{}: not read, as neither shared_config_file \
     (HW_SHARED_CONFIG_FILE) nor profile (HW_PROFILE) is set;\n\
  4. {metadata}.\n\
Set access_key and secret_key (or HW_ACCESS_KEY and HW_SECRET_KEY), or name a KooCLI profile \
with profile (HW_PROFILE), or run on an ECS instance with an agency bound to it \
(HW_METADATA_ENDPOINT changes the metadata URL).",
  default_shared_file.as_ref().map(|p| format!(" ({})", p.display())).unwrap_or_default())]
pub struct NoCredentials {
    /// `~/.hcloud/config.json`, when the home directory is known.
    pub default_shared_file: Option<PathBuf>,
    /// Why the metadata service gave nothing.
    pub metadata: MetadataError,
}
