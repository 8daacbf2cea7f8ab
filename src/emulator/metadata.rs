//! The ECS instance metadata service, as far as credentials go: the optional session token
//! (`PUT /meta-data/latest/api/token`) and the instance agency's temporary keys
//! (`GET /openstack/latest/securitykey`). Point a client's metadata endpoint (ours:
//! `HW_METADATA_ENDPOINT`) at the emulator and it acts as the instance's `169.254.169.254`.
//!
//! Each `securitykey` call issues a fresh key; ECS hands out the same key until about 10
//! minutes before it expires, so clients can rely on neither and must honour `expires_at`.
//!
//! These endpoints are not signed, as on ECS. Their error bodies are plain text: ECS publishes
//! none, and the official SDKs only look at the status and, for a 401, at whether the text says
//! "Please configure Cloud Service Agency first" (then there is no agency; otherwise they fetch a
//! session token and retry).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{HeaderMap, Response, StatusCode};
use time::OffsetDateTime;

use super::http::{json_response, ResBody};
use super::state::Shared;

/// The header that asks for a session token, with its lifetime in seconds.
pub const TOKEN_TTL_HEADER: &str = "x-metadata-token-ttl-seconds";
/// The header that presents a session token.
pub const TOKEN_HEADER: &str = "x-metadata-token";
/// Longest session token lifetime, as on ECS (and IMDSv2): 6 hours.
pub const MAX_TOKEN_TTL_SECS: u32 = 21_600;
/// How long metadata keys live unless `Config::temporary_key_lifetime` says otherwise: one
/// hour, as ECS documents.
pub const KEY_LIFETIME: Duration = Duration::from_secs(3600);
/// What the service says when the instance has no agency (the SDKs look for this text).
pub const NO_AGENCY: &str = "Please configure Cloud Service Agency first";

/// The metadata service the emulator plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `false`: there is no metadata service (its paths answer 404 like any unknown path).
    pub enabled: bool,
    pub tokens: MetadataTokens,
    /// Whose keys `securitykey` hands out.
    pub agency: InstanceAgency,
    /// `securitykey` hands out keys whose `expires_at` is [`EXPIRED_FOR`] in the past, as a
    /// service with a wrong clock or a stuck renewal would; the gateway refuses them.
    pub expired_keys: bool,
}

/// How long ago the keys of [`Metadata::expired_keys`] expired.
pub const EXPIRED_FOR: Duration = Duration::from_secs(60);

impl Default for Metadata {
    /// Enabled, session tokens required, the default account's agency.
    fn default() -> Self {
        Metadata {
            enabled: true,
            tokens: MetadataTokens::Required,
            agency: InstanceAgency::DefaultAccount,
            expired_keys: false,
        }
    }
}

/// Session token support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataTokens {
    /// `securitykey` needs a valid `X-Metadata-Token`.
    Required,
    /// Tokens are issued; `securitykey` works without one, but a token sent must be valid.
    Optional,
    /// No token support: the PUT answers this status (404 or 405), tokens are ignored.
    Unsupported(u16),
}

/// The agency attached to the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceAgency {
    DefaultAccount,
    /// The account with this domain name.
    Domain(String),
    /// None: `securitykey` answers 401 [`NO_AGENCY`].
    Missing,
}

/// Session tokens issued, with their expiry.
#[derive(Default)]
pub(crate) struct Tokens {
    issued: Mutex<HashMap<String, OffsetDateTime>>,
}

/// `PUT /meta-data/latest/api/token`.
pub(crate) fn put_token(shared: &Shared, headers: &HeaderMap) -> Response<ResBody> {
    let config = &shared.config.metadata;
    if let MetadataTokens::Unsupported(status) = config.tokens {
        if status != 405 {
            return text(status, "Not Found\n");
        }
        let mut r = text(405, "Method Not Allowed\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    let ttl = headers
        .get(TOKEN_TTL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|t| (1..=MAX_TOKEN_TTL_SECS).contains(t));
    let Some(ttl) = ttl else {
        return text(
            400,
            &format!("X-Metadata-Token-Ttl-Seconds must be 1..{MAX_TOKEN_TTL_SECS}\n"),
        );
    };
    let now = OffsetDateTime::now_utc();
    let token: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(56)
        .collect();
    let mut issued = shared.metadata_tokens.issued.lock().unwrap();
    issued.retain(|_, expires| *expires > now);
    issued.insert(token.clone(), now + Duration::from_secs(u64::from(ttl)));
    shared
        .counters
        .metadata_tokens
        .fetch_add(1, Ordering::Relaxed);
    text(200, &token)
}

/// `GET /openstack/latest/securitykey`.
pub(crate) fn security_key(shared: &Shared, headers: &HeaderMap) -> Response<ResBody> {
    let config = &shared.config.metadata;
    let now = OffsetDateTime::now_utc();
    let presented = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
    let valid = |t: &str| {
        shared
            .metadata_tokens
            .issued
            .lock()
            .unwrap()
            .get(t)
            .is_some_and(|expires| *expires > now)
    };
    let token_ok = match (config.tokens, presented) {
        (MetadataTokens::Unsupported(_), _) | (MetadataTokens::Optional, None) => true,
        (_, Some(t)) => valid(t),
        (MetadataTokens::Required, None) => false,
    };
    if !token_ok {
        return text(
            401,
            "Unauthorized: X-Metadata-Token is missing, unknown or expired\n",
        );
    }
    let account = match &config.agency {
        InstanceAgency::DefaultAccount => 0,
        InstanceAgency::Domain(name) => shared
            .directory
            .by_domain_name(name)
            .expect("the directory checked the instance agency"),
        InstanceAgency::Missing => return text(401, &format!("{NO_AGENCY}\n")),
    };
    let lifetime = shared.config.temporary_key_lifetime.unwrap_or(KEY_LIFETIME);
    let issued_at = if config.expired_keys {
        now - lifetime - EXPIRED_FOR
    } else {
        now
    };
    let key = shared.keys.issue(account, lifetime, issued_at);
    shared
        .counters
        .metadata_keys
        .fetch_add(1, Ordering::Relaxed);
    let body = serde_json::json!({ "credential": key.credential_json() });
    json_response(StatusCode::OK, body.to_string().into())
}

fn text(status: u16, body: &str) -> Response<ResBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
    let mut r = json_response(status, Bytes::from(body.to_string()));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}
