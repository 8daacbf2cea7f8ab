//! What the metadata service and IAM have in common: a small HTTP client, bounded bodies, and
//! the `{"credential": {access, secret, securitytoken, expires_at}}` document both answer with.

use std::time::Duration;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::Credentials;

/// Largest body read from either service; a credential document is about 2 KB.
pub(super) const MAX_BODY_BYTES: usize = 256 * 1024;

/// An HTTP client that follows no redirect (a signed request must not wander) and, for the
/// metadata service, ignores `HTTP(S)_PROXY`: 169.254.169.254 is only reachable from the instance.
pub(super) fn http_client(
    connect_timeout: Duration,
    timeout: Duration,
    insecure: bool,
    proxies: bool,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .user_agent(concat!(
            "terraform-provider-csms/",
            env!("CARGO_PKG_VERSION")
        ))
        .redirect(reqwest::redirect::Policy::none());
    builder = crate::csms::trust::verified(builder, insecure);
    if !proxies {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| describe(&e))
}

/// Reads at most [`MAX_BODY_BYTES`] of `resp`'s body.
pub(super) async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(format!("the body is larger than {MAX_BODY_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error as one line: what failed, then each cause not already said by an earlier one.
pub(super) fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut causes: Vec<String> = Vec::new();
    crate::csms::error::add_causes(e, &mut causes);
    std::iter::once(what.to_string())
        .chain(causes)
        .collect::<Vec<_>>()
        .join(": ")
}

#[derive(Deserialize)]
struct Document {
    credential: Option<Fields>,
}

#[derive(Deserialize)]
struct Fields {
    access: Option<String>,
    secret: Option<String>,
    securitytoken: Option<String>,
    expires_at: Option<String>,
}

/// The temporary keys in a credential document. The error says what is wrong without quoting
/// the body, which holds secrets.
pub(super) fn parse_credential_document(body: &[u8]) -> Result<Credentials, String> {
    let doc: Document = serde_json::from_slice(body).map_err(|e| {
        format!(
            "{} at line {}, column {}",
            json_problem(&e),
            e.line(),
            e.column()
        )
    })?;
    let fields = doc.credential.ok_or("it has no \"credential\" object")?;
    let present = |v: Option<String>, name: &str| {
        v.filter(|s| !s.trim().is_empty())
            .ok_or_else(|| format!("\"credential\" has no {name:?}"))
    };
    let access = present(fields.access, "access")?;
    let secret = present(fields.secret, "secret")?;
    let token = present(fields.securitytoken, "securitytoken")?;
    let expires_at = match fields.expires_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| {
            format!(
                "\"expires_at\" {:?} is not an RFC 3339 time",
                crate::csms::error::excerpt(raw.as_bytes())
            )
        })?),
    };
    Ok(Credentials {
        expires_at,
        ..Credentials::new(&access, &secret, Some(&token))
    })
}

/// The kind of a JSON error, without serde's message (which may quote a value).
pub(super) fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Eof => "unexpected end of the document",
        serde_json::error::Category::Data => "a value of the wrong type",
        serde_json::error::Category::Io => "read error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_shape_with_fractional_utc_expiry() {
        let c = parse_credential_document(
            br#"{"credential":{"access":"AK1","secret":"SK1","securitytoken":"TOK",
                "expires_at":"2026-12-01T18:00:00.000000Z"}}"#,
        )
        .unwrap();
        assert_eq!(c.access_key, "AK1");
        assert_eq!(c.security_token.as_deref(), Some("TOK"));
        assert_eq!(
            c.expires_at.unwrap().unix_timestamp(),
            time::macros::datetime!(2026-12-01 18:00:00 UTC).unix_timestamp()
        );
    }

    #[test]
    fn errors_never_quote_the_secret() {
        for body in [
            &br#"{"credential":{"access":"AK","secret":"SK-SECRET","securitytoken":""}}"#[..],
            br#"{"credential":{"access":"AK","secret":"SK-SECRET","securitytoken":"T","expires_at":"soon"}}"#,
            br#"{"credential":{"access":"AK","secret":["SK-SECRET"]}}"#,
            br#"{"credential":{"access":"AK","secret":"SK-SECRET""#,
            br#"{"other":"SK-SECRET"}"#,
        ] {
            let e = parse_credential_document(body).unwrap_err();
            assert!(!e.contains("SK-SECRET"), "{e}");
            assert!(!e.is_empty());
        }
    }
}
