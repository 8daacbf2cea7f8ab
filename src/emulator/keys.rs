//! Temporary keys (issued by ECS metadata and assume-role) and the authentication of every
//! signed request: which account a request acts as is decided by the key that signed it.
//!
//! A temporary key is only valid with its security token in `X-Security-Token` and until its
//! `expires_at`, as on the real gateway. Refusals are 401 `APIGW.0301`, the gateway's code for
//! every IAM authentication failure; the exact messages for a missing, wrong or expired token are
//! not published and are the emulator's wording.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

use super::accounts::{AccountId, Directory};
use super::auth;
use super::counters::Counters;
use super::error::ApiError;
use crate::csms::Signer;

/// The header carrying a temporary key's token.
pub const SECURITY_TOKEN: &str = "x-security-token";

/// How long an expired key is still recognised (and answered with "expired" rather than
/// "ak not exist"); older ones are forgotten so the store stays small.
const FORGET_AFTER: time::Duration = time::Duration::hours(1);

/// A key the emulator issued.
#[derive(Clone)]
pub struct TemporaryKey {
    pub access: String,
    pub secret: String,
    pub security_token: String,
    pub expires_at: OffsetDateTime,
}

impl TemporaryKey {
    /// `{"access", "secret", "securitytoken", "expires_at"}`, the shape both ECS metadata and
    /// IAM answer with; `expires_at` in UTC with microseconds, as they send it.
    pub fn credential_json(&self) -> serde_json::Value {
        serde_json::json!({
            "access": self.access,
            "secret": self.secret,
            "securitytoken": self.security_token,
            "expires_at": expires_at_text(self.expires_at),
        })
    }
}

/// `2026-12-01T18:00:00.000000Z`.
pub(crate) fn expires_at_text(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(f)
        .expect("a UTC time formats")
}

struct Issued {
    account: AccountId,
    key: TemporaryKey,
    signer: Signer,
}

/// The keys issued so far, by access key.
#[derive(Default)]
pub(crate) struct KeyStore {
    issued: Mutex<HashMap<String, Issued>>,
}

/// Who a request acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) account: AccountId,
    /// Signed with a temporary key (and its token).
    pub(crate) temporary: bool,
}

impl KeyStore {
    /// A fresh key of `account`, valid for `lifetime` from `now`.
    pub(crate) fn issue(
        &self,
        account: AccountId,
        lifetime: Duration,
        now: OffsetDateTime,
    ) -> TemporaryKey {
        let key = TemporaryKey {
            // Real temporary AKs are 20 upper-case characters, like permanent ones.
            access: format!("TMP{}", random(17).to_uppercase()),
            secret: random(40),
            security_token: random(256),
            expires_at: now + lifetime,
        };
        let mut issued = self.issued.lock().unwrap();
        issued.retain(|_, i| i.key.expires_at + FORGET_AFTER > now);
        issued.insert(
            key.access.clone(),
            Issued {
                account,
                signer: Signer::new(&key.access, &key.secret),
                key: key.clone(),
            },
        );
        key
    }

    /// The account `req` acts as: the owner of the key that signed it, after checking the
    /// signature (and, for a temporary key, its token and expiry). Unsigned requests, and
    /// requests signed with a key nobody has, act as the default account when it is open.
    pub(crate) fn authenticate(
        &self,
        dir: &Directory,
        counters: &Counters,
        req: &auth::Request<'_>,
        now: OffsetDateTime,
    ) -> Result<Caller, ApiError> {
        let access = access_key(req.headers);
        if let Some(access) = access {
            if let Some((account, signer)) = dir.by_access_key(access) {
                auth::verify(signer, req, now)?;
                return Ok(Caller {
                    account,
                    temporary: false,
                });
            }
            let temporary = self
                .issued
                .lock()
                .unwrap()
                .get(access)
                .map(|i| (i.account, i.signer.clone(), i.key.clone()));
            if let Some((account, signer, key)) = temporary {
                let checked = check_token(req.headers, &key, now)
                    .and_then(|()| auth::verify(&signer, req, now));
                if let Err(e) = checked {
                    counters
                        .temporary_key_rejections
                        .fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
                counters
                    .temporary_key_requests
                    .fetch_add(1, Ordering::Relaxed);
                return Ok(Caller {
                    account,
                    temporary: true,
                });
            }
        }
        match &dir.account(0).signer {
            // The default account's key gives the gateway's own errors (no Authorization,
            // unknown AK, ...).
            Some(signer) => auth::verify(signer, req, now).map(|()| Caller {
                account: 0,
                temporary: false,
            }),
            None => Ok(Caller {
                account: 0,
                temporary: false,
            }),
        }
    }
}

/// The `Access=` field of an `SDK-*` Authorization header, whatever the algorithm.
fn access_key(headers: &hyper::HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (_, fields) = value.trim().split_once(' ')?;
    fields
        .split(',')
        .find_map(|f| f.trim().strip_prefix("Access="))
        .map(str::trim)
}

fn check_token(
    headers: &hyper::HeaderMap,
    key: &TemporaryKey,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let token = headers
        .get(SECURITY_TOKEN)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::auth("the access key is temporary, but X-Security-Token is missing")
        })?;
    if !auth::constant_time_eq(token.as_bytes(), key.security_token.as_bytes()) {
        return Err(ApiError::auth(
            "decrypt token fail: X-Security-Token does not belong to this access key",
        ));
    }
    if now >= key.expires_at {
        return Err(ApiError::auth(format!(
            "the security token has expired, expires_at:{},server time:{}",
            expires_at_text(key.expires_at),
            expires_at_text(now)
        )));
    }
    Ok(())
}

fn random(n: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn access_key_is_read_from_any_sdk_algorithm() {
        let mut h = hyper::HeaderMap::new();
        assert_eq!(access_key(&h), None);
        for alg in ["SDK-HMAC-SHA256", "SDK-HMAC-SM3"] {
            let v = format!("{alg} Access=AK1, SignedHeaders=host;x-sdk-date, Signature=ab");
            h.insert("authorization", HeaderValue::from_str(&v).unwrap());
            assert_eq!(access_key(&h), Some("AK1"));
        }
    }

    #[test]
    fn expires_at_has_microseconds_in_utc() {
        let t = time::macros::datetime!(2026-12-01 18:00:00.5 +02:00);
        assert_eq!(expires_at_text(t), "2026-12-01T16:00:00.500000Z");
    }

    #[test]
    fn a_token_is_checked_before_expiry() {
        let now = time::macros::datetime!(2026-12-01 18:00:00 UTC);
        let key = KeyStore::default().issue(0, Duration::from_secs(60), now);
        assert_eq!(key.access.len(), 20);
        let mut h = hyper::HeaderMap::new();
        assert!(check_token(&h, &key, now)
            .unwrap_err()
            .message
            .contains("missing"));
        h.insert(SECURITY_TOKEN, HeaderValue::from_static("wrong"));
        assert!(check_token(&h, &key, now)
            .unwrap_err()
            .message
            .contains("decrypt token fail"));
        h.insert(
            SECURITY_TOKEN,
            HeaderValue::from_str(&key.security_token).unwrap(),
        );
        check_token(&h, &key, now + time::Duration::seconds(59)).unwrap();
        let e = check_token(&h, &key, now + time::Duration::seconds(60)).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (401, "APIGW.0301"));
        assert!(e.message.contains("expired"), "{}", e.message);
    }
}
