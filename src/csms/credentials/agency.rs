//! Assuming an IAM agency: the base keys ask IAM for temporary keys of another account (or of a
//! narrower role), which is how a central security team checks rotations in many accounts.
//!
//! `POST {iam}/v3.0/OS-CREDENTIAL/securitytokens`, signed like every request (plus
//! `X-Security-Token` when the base keys are temporary), answers `201 Created` with the same
//! credential document as the metadata service.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use serde_json::json;

use super::error::{AgencyError, CredentialError};
use super::wire::{describe, http_client, parse_credential_document, read_body};
use super::Credentials;
use crate::csms::config::{host_header, CONNECT_TIMEOUT};
use crate::csms::error::parse_error_body;
use crate::csms::proxy::ProxyEnv;
use crate::csms::redirect::Redirect;
use crate::csms::signer::{sdk_date, SignedRequest};

/// Lifetime of assumed keys when none is configured.
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;
/// The range IAM accepts for `duration_seconds`.
pub const DURATION_RANGE: std::ops::RangeInclusive<u32> = 900..=86400;
/// Time for the whole exchange; IAM answers in well under a second.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

const PATH: &str = "/v3.0/OS-CREDENTIAL/securitytokens";
const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// The account that owns the agency, by name or by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgencyDomain {
    Name(String),
    Id(String),
}

impl std::fmt::Display for AgencyDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgencyDomain::Name(n) => write!(f, "domain {n:?}"),
            AgencyDomain::Id(id) => write!(f, "domain id {id:?}"),
        }
    }
}

/// Which agency to assume, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencySettings {
    pub agency_name: String,
    pub domain: AgencyDomain,
    /// Within [`DURATION_RANGE`].
    pub duration_seconds: u32,
}

impl AgencySettings {
    /// Checks the names and the duration (default [`DEFAULT_DURATION_SECONDS`]).
    pub fn new(
        agency_name: &str,
        domain: AgencyDomain,
        duration_seconds: Option<u64>,
    ) -> Result<Self, CredentialError> {
        let agency_name = agency_name.trim();
        if agency_name.is_empty() {
            return Err(CredentialError::InvalidAgency(
                "agency_name is empty".into(),
            ));
        }
        let domain = match domain {
            AgencyDomain::Name(n) if !n.trim().is_empty() => AgencyDomain::Name(n.trim().into()),
            AgencyDomain::Id(id) if !id.trim().is_empty() => AgencyDomain::Id(id.trim().into()),
            _ => {
                return Err(CredentialError::InvalidAgency(format!(
                    "agency {agency_name:?} needs the domain (account) that owns it"
                )))
            }
        };
        let duration_seconds = match duration_seconds {
            None => DEFAULT_DURATION_SECONDS,
            Some(d) => u32::try_from(d)
                .ok()
                .filter(|d| DURATION_RANGE.contains(d))
                .ok_or_else(|| {
                    CredentialError::InvalidAgency(format!(
                        "duration_seconds {d} is out of range: IAM accepts {} to {}",
                        DURATION_RANGE.start(),
                        DURATION_RANGE.end()
                    ))
                })?,
        };
        Ok(AgencySettings {
            agency_name: agency_name.to_string(),
            domain,
            duration_seconds,
        })
    }

    /// `HW_ASSUME_ROLE_AGENCY_NAME` with `HW_ASSUME_ROLE_DOMAIN_NAME` (or
    /// `HW_ASSUME_ROLE_DOMAIN_ID`) and `HW_ASSUME_ROLE_DURATION`, as the Go provider reads them
    /// even without an `assume_role` block; `None` without an agency name.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, CredentialError> {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let Some(agency_name) = set("HW_ASSUME_ROLE_AGENCY_NAME") else {
            return Ok(None);
        };
        let domain = match (
            set("HW_ASSUME_ROLE_DOMAIN_NAME"),
            set("HW_ASSUME_ROLE_DOMAIN_ID"),
        ) {
            (Some(name), _) => AgencyDomain::Name(name),
            (None, Some(id)) => AgencyDomain::Id(id),
            (None, None) => AgencyDomain::Name(String::new()),
        };
        let duration = match set("HW_ASSUME_ROLE_DURATION") {
            None => None,
            Some(raw) => Some(raw.trim().parse::<u64>().map_err(|_| {
                CredentialError::InvalidAgency(format!(
                    "HW_ASSUME_ROLE_DURATION {raw:?} is not a whole number of seconds"
                ))
            })?),
        };
        Self::new(&agency_name, domain, duration).map(Some)
    }

    /// The request body IAM documents.
    fn body(&self) -> Vec<u8> {
        let mut role = json!({
            "agency_name": self.agency_name,
            "duration_seconds": self.duration_seconds,
        });
        match &self.domain {
            AgencyDomain::Name(n) => role["domain_name"] = json!(n),
            AgencyDomain::Id(id) => role["domain_id"] = json!(id),
        }
        json!({"auth": {"identity": {"methods": ["assume_role"], "assume_role": role}}})
            .to_string()
            .into_bytes()
    }
}

/// Exchanges base keys for an agency's keys at one IAM endpoint.
#[derive(Debug, Clone)]
pub struct AgencyClient {
    http: reqwest::Client,
    url: Url,
    /// The decoded path, as signed.
    signed_path: String,
    host: String,
    settings: AgencySettings,
    /// The proxy variables the exchange follows, for an error that names the proxy.
    proxies: Box<ProxyEnv>,
}

impl AgencyClient {
    /// `iam` is the IAM base URL (scheme, host, optional port and path prefix). Sends nothing.
    pub fn new(
        iam: &Url,
        settings: AgencySettings,
        insecure: bool,
    ) -> Result<Self, CredentialError> {
        let prefix = iam.path().trim_end_matches('/');
        let mut url = iam.clone();
        url.set_path(&format!("{prefix}{PATH}"));
        let signed_path = format!(
            "{}{PATH}",
            percent_encoding::percent_decode_str(prefix).decode_utf8_lossy()
        );
        let http = http_client(CONNECT_TIMEOUT, TIMEOUT, insecure, true)
            .map_err(CredentialError::InvalidEndpoint)?;
        Ok(AgencyClient {
            host: host_header(&url),
            http,
            url,
            signed_path,
            settings,
            proxies: Box::new(ProxyEnv::from_env(|name| std::env::var(name).ok())),
        })
    }

    /// The agency's temporary keys, asked for with `base`.
    pub async fn assume(&self, base: &Credentials) -> Result<Credentials, AgencyError> {
        let agency = || self.settings.agency_name.clone();
        let shown = self.url.to_string();
        let body = self.settings.body();
        let mut headers = vec![
            ("Host".to_string(), self.host.clone()),
            ("X-Sdk-Date".to_string(), sdk_date()),
            ("Content-Type".to_string(), CONTENT_TYPE.to_string()),
        ];
        if let Some(t) = &base.security_token {
            headers.push(("X-Security-Token".into(), t.clone()));
        }
        let authorization = base.signer().authorization(&SignedRequest {
            method: "POST",
            path: &self.signed_path,
            query: &[],
            headers: &headers,
            body: &body,
        });
        headers.push(("Authorization".into(), authorization));
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("fixed header names");
            let mut value =
                HeaderValue::from_str(&value).map_err(|_| AgencyError::Unreachable {
                    agency: agency(),
                    url: shown.clone(),
                    message: format!(
                        "header {name} of the base keys has characters not allowed in HTTP"
                    ),
                })?;
            value.set_sensitive(matches!(
                name.as_str(),
                "authorization" | "x-security-token"
            ));
            map.insert(name, value);
        }
        let sent = self
            .http
            .post(self.url.clone())
            .headers(map)
            .body(body)
            .send()
            .await;
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                let mut message = describe(&e);
                self.proxies
                    .explain(&self.url, &mut message, CONNECT_TIMEOUT)
                    .await;
                return Err(AgencyError::Unreachable {
                    agency: agency(),
                    url: shown,
                    message,
                });
            }
        };
        let status = resp.status().as_u16();
        if let Some(redirect) = Redirect::of(&shown, status, resp.headers()) {
            return Err(AgencyError::Redirect {
                agency: agency(),
                redirect,
            });
        }
        let request_id = resp
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = read_body(resp).await.map_err(|what| AgencyError::Decode {
            agency: agency(),
            url: shown.clone(),
            what,
        })?;
        if !(200..300).contains(&status) {
            return Err(AgencyError::Refused {
                agency: agency(),
                domain: self.settings.domain.clone(),
                error: parse_error_body(status, request_id.as_deref(), &body),
            });
        }
        let credentials = parse_credential_document(&body).map_err(|what| AgencyError::Decode {
            agency: agency(),
            url: shown,
            what,
        })?;
        tracing::debug!(
            agency = %self.settings.agency_name,
            domain = %self.settings.domain,
            expires_at = ?credentials.expires_at,
            "assumed the agency"
        );
        Ok(credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_defaults_to_an_hour_and_is_range_checked() {
        let d = |s| AgencySettings::new("a", AgencyDomain::Name("d".into()), s);
        assert_eq!(d(None).unwrap().duration_seconds, 3600);
        assert_eq!(d(Some(900)).unwrap().duration_seconds, 900);
        assert_eq!(d(Some(86400)).unwrap().duration_seconds, 86400);
        for bad in [0, 899, 86401, u64::MAX] {
            let e = d(Some(bad)).unwrap_err();
            assert!(e.to_string().contains("900 to 86400"), "{e}");
        }
        assert!(AgencySettings::new(" ", AgencyDomain::Name("d".into()), None).is_err());
        assert!(AgencySettings::new("a", AgencyDomain::Id("".into()), None).is_err());
    }

    #[test]
    fn settings_from_the_go_providers_environment_variables() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(AgencySettings::from_env(env(&[])).unwrap(), None);
        let s = AgencySettings::from_env(env(&[
            ("HW_ASSUME_ROLE_AGENCY_NAME", "audit"),
            ("HW_ASSUME_ROLE_DOMAIN_ID", "d-1"),
            ("HW_ASSUME_ROLE_DURATION", "1800"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            (s.domain, s.duration_seconds),
            (AgencyDomain::Id("d-1".into()), 1800)
        );
        let e = AgencySettings::from_env(env(&[
            ("HW_ASSUME_ROLE_AGENCY_NAME", "audit"),
            ("HW_ASSUME_ROLE_DOMAIN_NAME", "acct"),
            ("HW_ASSUME_ROLE_DURATION", "1h"),
        ]))
        .unwrap_err();
        assert!(
            e.to_string().contains("HW_ASSUME_ROLE_DURATION \"1h\""),
            "{e}"
        );
        let e =
            AgencySettings::from_env(env(&[("HW_ASSUME_ROLE_AGENCY_NAME", "audit")])).unwrap_err();
        assert!(e.to_string().contains("domain"), "{e}");
    }

    #[test]
    fn body_is_the_documented_assume_role_request() {
        let s =
            AgencySettings::new("audit", AgencyDomain::Name("acct".into()), Some(1200)).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&s.body()).unwrap();
        assert_eq!(
            body,
            json!({"auth": {"identity": {"methods": ["assume_role"], "assume_role":
                {"agency_name": "audit", "domain_name": "acct", "duration_seconds": 1200}}}})
        );
        let s = AgencySettings::new("audit", AgencyDomain::Id("d-1".into()), None).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&s.body()).unwrap();
        assert_eq!(body["auth"]["identity"]["assume_role"]["domain_id"], "d-1");
        assert!(body["auth"]["identity"]["assume_role"]
            .get("domain_name")
            .is_none());
    }

    #[test]
    fn path_prefix_is_kept_on_the_wire_and_decoded_when_signed() {
        let iam = Url::parse("http://127.0.0.1:8080/my%20iam").unwrap();
        let s = AgencySettings::new("a", AgencyDomain::Name("d".into()), None).unwrap();
        let c = AgencyClient::new(&iam, s, false).unwrap();
        assert_eq!(
            c.url.as_str(),
            "http://127.0.0.1:8080/my%20iam/v3.0/OS-CREDENTIAL/securitytokens"
        );
        assert_eq!(c.signed_path, "/my iam/v3.0/OS-CREDENTIAL/securitytokens");
        assert_eq!(c.host, "127.0.0.1:8080");
    }
}
