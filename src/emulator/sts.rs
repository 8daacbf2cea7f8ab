//! IAM's assume-role exchange, `POST /v3.0/OS-CREDENTIAL/securitytokens`: a signed request
//! naming an agency of another account gets temporary keys of that account.
//!
//! Request and answers as IAM documents them: the body
//! `{"auth": {"identity": {"methods": ["assume_role"], "assume_role": {"agency_name",
//! "domain_name" | "domain_id", "duration_seconds"}}}}`, `duration_seconds` 900..86400 (default
//! 900); success `201 Created` with `{"credential": {"access", "secret", "securitytoken",
//! "expires_at"}}`; errors `{"error": {"code", "message", "title"}}` (400 for a malformed
//! request, 403 when the agency cannot be assumed). The messages are the emulator's wording.

use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::{Response, StatusCode};
use serde_json::Value;
use time::OffsetDateTime;

use super::accounts::{AgencyRefusal, DomainRef};
use super::http::{json_response, ResBody};
use super::keys::Caller;
use super::state::Shared;

/// Shortest and longest `duration_seconds`, and the default when absent.
pub const MIN_DURATION_SECS: u64 = 900;
pub const MAX_DURATION_SECS: u64 = 86_400;
pub const DEFAULT_DURATION_SECS: u64 = 900;

/// Answers an assume-role request by `caller` with `body`.
pub(crate) fn assume_role(shared: &Shared, caller: Caller, body: &[u8]) -> Response<ResBody> {
    let answer = exchange(shared, caller, body);
    if answer.is_err() {
        shared
            .counters
            .assume_role_refusals
            .fetch_add(1, Ordering::Relaxed);
    }
    match answer {
        Ok(credential) => json_response(StatusCode::CREATED, credential.to_string().into()),
        Err(e) => iam_error(e.0, &e.1),
    }
}

/// `(status, message)` of a refusal.
struct Refusal(u16, String);

fn bad_request(message: impl Into<String>) -> Refusal {
    Refusal(400, message.into())
}

fn exchange(shared: &Shared, caller: Caller, body: &[u8]) -> Result<Value, Refusal> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("The request body is not valid JSON: {e}.")))?;
    let identity = &body["auth"]["identity"];
    let methods = identity["methods"].as_array();
    if !methods.is_some_and(|m| m.iter().any(|m| m == "assume_role")) {
        return Err(bad_request(
            "Invalid input for field 'auth.identity.methods': it must contain \"assume_role\".",
        ));
    }
    let role = &identity["assume_role"];
    let agency = role["agency_name"]
        .as_str()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad_request("Invalid input for field 'agency_name': it is required."))?;
    let domain = match (role["domain_name"].as_str(), role["domain_id"].as_str()) {
        (Some(name), _) => DomainRef::Name(name),
        (None, Some(id)) => DomainRef::Id(id),
        (None, None) => {
            return Err(bad_request(
                "Invalid input for field 'assume_role': domain_name or domain_id is required.",
            ))
        }
    };
    let duration = match &role["duration_seconds"] {
        Value::Null => DEFAULT_DURATION_SECS,
        v => v
            .as_u64()
            .filter(|d| (MIN_DURATION_SECS..=MAX_DURATION_SECS).contains(d))
            .ok_or_else(|| {
                bad_request(format!(
                    "Invalid input for field 'duration_seconds': {v} is not an integer from \
                     {MIN_DURATION_SECS} to {MAX_DURATION_SECS}."
                ))
            })?,
    };
    let dir = &shared.directory;
    let domain_text = match domain {
        DomainRef::Name(n) | DomainRef::Id(n) => n.to_string(),
    };
    let trusting = dir.agency(agency, &domain, caller.account).map_err(|why| {
        let caller = &dir.account(caller.account).domain_name;
        let reason = match why {
            AgencyRefusal::UnknownDomain => format!("there is no account {domain_text}"),
            AgencyRefusal::UnknownAgency => {
                format!("account {domain_text} has no agency named {agency}")
            }
            AgencyRefusal::NotTrusted => {
                format!("agency {agency} of account {domain_text} does not trust account {caller}")
            }
        };
        Refusal(
            403,
            format!("You are not authorized to assume agency {agency}: {reason}."),
        )
    })?;
    let lifetime = shared
        .config
        .temporary_key_lifetime
        .unwrap_or(Duration::from_secs(duration));
    let key = shared
        .keys
        .issue(trusting, lifetime, OffsetDateTime::now_utc());
    shared.counters.assumed_keys.fetch_add(1, Ordering::Relaxed);
    Ok(serde_json::json!({ "credential": key.credential_json() }))
}

/// IAM's error body.
fn iam_error(status: u16, message: &str) -> Response<ResBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    let body = serde_json::json!({
        "error": {
            "code": status.as_u16(),
            "message": message,
            "title": status.canonical_reason().unwrap_or("Error"),
        }
    });
    json_response(status, body.to_string().into())
}
