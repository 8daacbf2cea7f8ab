//! Temporary keys from the ECS metadata service, the way Huawei Cloud recommends running tools
//! on an instance: no key stored anywhere, an agency bound to the instance instead.
//!
//! A session token is asked for first (`PUT /meta-data/latest/api/token`, IMDSv2 style); a 404
//! or 405 means the service predates tokens, and the keys are read without one
//! (`GET /openstack/latest/securitykey`). Every request has a short timeout, as in both official
//! SDKs, so a machine that is not an ECS instance learns it within seconds rather than hanging a
//! plan (the Go provider's issue #3660).

use std::time::Duration;

use reqwest::Url;

use super::error::{CredentialError, MetadataError};
use super::wire::{describe, http_client, parse_credential_document, read_body};
use super::Credentials;
use crate::csms::config::parse_base_url;
use crate::csms::error::parse_error_body;
use crate::csms::redirect::Redirect;

/// The link-local address of the metadata service; `HW_METADATA_ENDPOINT` overrides it.
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// The environment variable the provider reads the endpoint from.
pub const ENDPOINT_ENV: &str = "HW_METADATA_ENDPOINT";
/// Timeout of each request (connection included), as in both official SDKs.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Lifetime asked for the session token: six hours, as the SDKs ask.
pub const TOKEN_TTL_SECONDS: &str = "21600";

const TOKEN_PATH: &str = "/meta-data/latest/api/token";
const KEY_PATH: &str = "/openstack/latest/securitykey";

/// Where the metadata service is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct MetadataSettings {
    /// Base URL, default [`DEFAULT_ENDPOINT`].
    pub endpoint: String,
    /// Per-request timeout, default [`DEFAULT_TIMEOUT`]; short in tests.
    pub timeout: Duration,
}

impl Default for MetadataSettings {
    fn default() -> Self {
        MetadataSettings {
            endpoint: DEFAULT_ENDPOINT.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl MetadataSettings {
    /// The default settings with the endpoint from `HW_METADATA_ENDPOINT` when set.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Self {
        MetadataSettings {
            endpoint: env(ENDPOINT_ENV)
                .filter(|e| !e.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_ENDPOINT.into()),
            ..MetadataSettings::default()
        }
    }
}

/// Reads the instance's temporary keys. Holds no secret between calls.
#[derive(Debug, Clone)]
pub struct MetadataClient {
    http: reqwest::Client,
    base: Url,
}

impl MetadataClient {
    /// Checks the endpoint and builds the HTTP client. Sends no request.
    pub fn new(settings: &MetadataSettings) -> Result<Self, CredentialError> {
        let base = parse_base_url(ENDPOINT_ENV, settings.endpoint.trim())
            .map_err(|e| CredentialError::InvalidEndpoint(e.to_string()))?;
        let http = http_client(settings.timeout, settings.timeout, false, false)
            .map_err(CredentialError::InvalidEndpoint)?;
        Ok(MetadataClient { http, base })
    }

    /// The base URL, as shown in logs and errors.
    pub fn endpoint(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path().trim_end_matches('/')));
        url
    }

    /// Fresh keys: a session token when the service has them, then the security key.
    pub async fn fetch(&self) -> Result<Credentials, MetadataError> {
        let token = self.session_token().await?;
        let url = self.url(KEY_PATH);
        let mut request = self.http.get(url.clone());
        if let Some(t) = &token {
            let mut value =
                reqwest::header::HeaderValue::from_str(t).map_err(|_| MetadataError::Decode {
                    url: self.url(TOKEN_PATH).to_string(),
                    what: "the session token has characters not allowed in a header".into(),
                })?;
            value.set_sensitive(true);
            request = request.header("X-Metadata-Token", value);
        }
        let (status, body) = self.send(request, &url).await?;
        if !(200..300).contains(&status) {
            return Err(MetadataError::Status {
                url: url.to_string(),
                error: parse_error_body(status, None, &body),
            });
        }
        let credentials =
            parse_credential_document(&body).map_err(|what| MetadataError::Decode {
                url: url.to_string(),
                what,
            })?;
        tracing::debug!(
            endpoint = self.endpoint(),
            with_session_token = token.is_some(),
            expires_at = ?credentials.expires_at,
            "read temporary keys from the ECS metadata service"
        );
        Ok(credentials)
    }

    /// The session token, or `None` when the service has no token support (404, 405).
    async fn session_token(&self) -> Result<Option<String>, MetadataError> {
        let url = self.url(TOKEN_PATH);
        let request = self
            .http
            .put(url.clone())
            .header("X-Metadata-Token-Ttl-Seconds", TOKEN_TTL_SECONDS);
        let (status, body) = self.send(request, &url).await?;
        match status {
            200..=299 => {
                let token = String::from_utf8_lossy(&body).trim().to_string();
                Ok((!token.is_empty()).then_some(token))
            }
            404 | 405 => Ok(None),
            _ => Err(MetadataError::Status {
                url: url.to_string(),
                error: parse_error_body(status, None, &body),
            }),
        }
    }

    /// Status and (bounded) body of `request` to `url`; no answer at all is [`Unreachable`].
    ///
    /// [`Unreachable`]: MetadataError::Unreachable
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<(u16, Vec<u8>), MetadataError> {
        let resp = request
            .send()
            .await
            .map_err(|e| MetadataError::Unreachable {
                endpoint: self.endpoint().to_string(),
                message: describe(&e),
                timeout: e.is_timeout(),
            })?;
        let status = resp.status().as_u16();
        if let Some(redirect) = Redirect::of(url.as_str(), status, resp.headers()) {
            return Err(MetadataError::Redirect(redirect));
        }
        let body = read_body(resp)
            .await
            .map_err(|what| MetadataError::Decode {
                url: url.to_string(),
                what,
            })?;
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_from_the_environment_with_a_path_prefix() {
        let s = MetadataSettings::from_env(|v| {
            (v == ENDPOINT_ENV).then(|| "http://127.0.0.1:9/meta/".to_string())
        });
        let c = MetadataClient::new(&s).unwrap();
        assert_eq!(c.endpoint(), "http://127.0.0.1:9/meta");
        assert_eq!(
            c.url(KEY_PATH).as_str(),
            "http://127.0.0.1:9/meta/openstack/latest/securitykey"
        );
        let d = MetadataSettings::from_env(|_| None);
        assert_eq!(d.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(d.timeout, Duration::from_secs(3));
    }

    #[test]
    fn a_bad_endpoint_names_the_variable() {
        let e = MetadataClient::new(&MetadataSettings {
            endpoint: "169.254.169.254".into(),
            ..MetadataSettings::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("HW_METADATA_ENDPOINT"), "{e}");
    }
}
