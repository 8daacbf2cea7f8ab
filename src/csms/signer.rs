//! SDK-HMAC-SHA256 request signing, byte-identical to Huawei Cloud's official SDKs.
//!
//! The emulator verifies signatures with the same [`Signer`], so the two cannot drift apart
//! silently; the SDK oracle test (`tests/signing_oracle.rs`) keeps both honest against the
//! official Python signer.

use aws_lc_rs::{digest, hmac};

/// The algorithm name, first token of the `Authorization` header and of the string to sign.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Hex SHA-256 of an empty body; every GET signs it.
pub const EMPTY_BODY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a request looks like to the signer: the decoded path, the query pairs as sent, and the
/// headers to sign (`host` and `x-sdk-date` among them).
#[derive(Debug, Clone)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// Decoded path, e.g. `/v1/{project}/csms/tasks`.
    pub path: &'a str,
    pub query: &'a [(String, String)],
    /// `(name, value)`; names in any case. Names containing `_` are never signed.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Signs with an AK/SK pair. `Debug` never shows the secret key.
#[derive(Clone)]
pub struct Signer {
    access_key: String,
    key: hmac::Key,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str) -> Self {
        Signer {
            access_key: access_key.to_string(),
            key: hmac::Key::new(hmac::HMAC_SHA256, secret_key.as_bytes()),
        }
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The `Authorization` header value for `req`, whose headers must include `X-Sdk-Date`.
    pub fn authorization(&self, req: &SignedRequest<'_>) -> String {
        let (signed_headers, signature) = self.signature(req);
        format!(
            "{ALGORITHM} Access={}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key
        )
    }

    /// `(signed header list, hex signature)` of `req`.
    pub fn signature(&self, req: &SignedRequest<'_>) -> (String, String) {
        let date = req
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-sdk-date"))
            .map(|(_, v)| v.trim())
            .unwrap_or_default();
        let (canonical, signed_headers) = canonical_request(req);
        let string_to_sign = format!(
            "{ALGORITHM}\n{date}\n{}",
            hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
        );
        let tag = hmac::sign(&self.key, string_to_sign.as_bytes());
        (signed_headers, hex(tag.as_ref()))
    }
}

/// The canonical request and its signed-header list.
pub fn canonical_request(req: &SignedRequest<'_>) -> (String, String) {
    let mut headers: Vec<(String, &str)> = req
        .headers
        .iter()
        .filter(|(n, _)| !n.contains('_'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim()))
        .collect();
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut out = String::with_capacity(256);
    out.push_str(&req.method.to_ascii_uppercase());
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query));
    out.push('\n');
    for (n, v) in &headers {
        out.push_str(n);
        out.push(':');
        out.push_str(v);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers);
    out.push('\n');
    out.push_str(&hex(digest::digest(&digest::SHA256, req.body).as_ref()));
    (out, signed_headers)
}

/// Each path segment percent-encoded, with the trailing `/` the SDK appends (canonical form
/// only; the wire path has none).
pub fn canonical_uri(path: &str) -> String {
    let mut out: String = path.split('/').map(encode).collect::<Vec<_>>().join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The query as signed and as sent on the wire: pairs sorted by raw key then raw value (as the
/// SDK sorts, before encoding), each side percent-encoded.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = query.iter().collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but `A-Za-z0-9-_.~`, as UTF-8 bytes in upper-case `%XX`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const AK: &str = "AKTESTEXAMPLE0000001";
    const SK: &str = "SKtestExampleSecretKey0123456789abcdefgh";
    const PATH: &str = "/v1/0123456789abcdef0123456789abcdef/csms/tasks";
    const PROJECT: &str = "0123456789abcdef0123456789abcdef";

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn headers(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut h = q(&[
            ("Host", "kms.cn-north-4.myhuaweicloud.com"),
            ("X-Sdk-Date", "20240102T030405Z"),
        ]);
        h.extend(q(extra));
        h
    }

    fn sign(query: &[(&str, &str)], extra: &[(&str, &str)]) -> (String, String) {
        let (query, headers) = (q(query), headers(extra));
        Signer::new(AK, SK).signature(&SignedRequest {
            method: "GET",
            path: PATH,
            query: &query,
            headers: &headers,
            body: b"",
        })
    }

    const V1_QUERY: &[(&str, &str)] = &[("secret_name", "a b"), ("limit", "10"), ("marker", "x")];
    const V1_HEADERS: &[(&str, &str)] = &[
        ("Content-Type", "application/json"),
        ("X-Project-Id", PROJECT),
    ];

    #[test]
    fn vector_v1_canonical_request_matches_reference() {
        let (query, headers) = (q(V1_QUERY), headers(V1_HEADERS));
        let (canonical, _) = canonical_request(&SignedRequest {
            method: "GET",
            path: PATH,
            query: &query,
            headers: &headers,
            body: b"",
        });
        let expected = "GET\n/v1/0123456789abcdef0123456789abcdef/csms/tasks/\nlimit=10&marker=x&secret_name=a%20b\n\
            content-type:application/json\nhost:kms.cn-north-4.myhuaweicloud.com\nx-project-id:0123456789abcdef0123456789abcdef\n\
            x-sdk-date:20240102T030405Z\n\ncontent-type;host;x-project-id;x-sdk-date\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(canonical, expected);
    }

    #[test]
    fn vector_v1() {
        assert_eq!(
            sign(V1_QUERY, V1_HEADERS),
            (
                "content-type;host;x-project-id;x-sdk-date".into(),
                "b7d48358a231b80616ace72222af809b3057af0c31d6dc0f4ae6fcf86ae79f58".into()
            )
        );
    }

    #[test]
    fn vector_v2_security_token_and_status() {
        let mut query = V1_QUERY.to_vec();
        query.push(("status", "FAILED"));
        let mut extra = V1_HEADERS.to_vec();
        extra.push(("X-Security-Token", "tok+en/with=chars"));
        assert_eq!(
            sign(&query, &extra),
            (
                "content-type;host;x-project-id;x-sdk-date;x-security-token".into(),
                "7474028e15bebe72761f5d89418f57d25197c4cab305d48c4317a1101f5675a2".into()
            )
        );
    }

    #[test]
    fn vector_v3_reserved_and_unicode_characters() {
        let query = [("task_id", "t-1"), ("secret_name", "s/é*~+=&x")];
        assert_eq!(
            sign(&query, &[("X-Project-Id", PROJECT)]),
            (
                "host;x-project-id;x-sdk-date".into(),
                "d2a6f1c55608cd4f6bb8b79107397d876a36ff710b9ddea4c6f3c978f04ed2a9".into()
            )
        );
        assert_eq!(
            canonical_query(&q(&query)),
            "secret_name=s%2F%C3%A9%2A~%2B%3D%26x&task_id=t-1"
        );
    }

    #[test]
    fn vector_v4_no_query_no_extra_headers() {
        assert_eq!(
            sign(&[], &[]),
            (
                "host;x-sdk-date".into(),
                "2262f18066e9a5ec902ca48ecab1dfd905ac47b71d5121ebf2097ed11e174218".into()
            )
        );
    }

    #[test]
    fn headers_with_underscore_are_not_signed() {
        assert_eq!(sign(&[], &[("X_Custom", "v")]).0, "host;x-sdk-date");
    }

    #[test]
    fn debug_never_shows_the_secret_key() {
        assert!(!format!("{:?}", Signer::new(AK, SK)).contains(SK));
    }
}
