//! What can go wrong talking to CSMS, typed so the provider can branch on the kind (a hint for
//! 401/403, another for 404, a retry count for 429) and render it once at the edge.
//!
//! No variant ever holds credentials or request headers: the `Authorization` header, the secret
//! key and the security token stay in the client.

use std::time::Duration;

use super::text;

/// Longest excerpt of an unexpected body kept in an error, in characters.
pub const EXCERPT_CHARS: usize = 200;

/// Every failure of the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The service answered with an error status (after any retries).
    #[error("{0}")]
    Service(ServiceError),

    /// No HTTP answer: connection refused or reset, DNS, a timeout, a body cut short.
    #[error("request to {url} failed{}: {message}", after_retries(*.retries))]
    Transport {
        url: String,
        message: String,
        /// The request timed out (connect or per-request timeout) rather than failing outright.
        timeout: bool,
        retries: u32,
    },

    /// DNS says the host does not exist (not a resolver that is down or slow). Not retried: a
    /// name that does not exist does not appear by waiting, and it is mostly a mistyped
    /// `region`, `cloud` or endpoint.
    #[error("the host of {url} does not exist ({detail}); not retried")]
    UnknownHost { url: String, detail: String },

    /// The server answered with a redirect (3xx). Redirects are not followed: the request is
    /// signed for this host and path, and its signature and token must not travel elsewhere.
    #[error("{0}")]
    Redirect(super::redirect::Redirect),

    /// The server answered, but with something that is not readable HTTP (headers larger than
    /// the client accepts, an invalid header or status line). Trying again does not help.
    #[error("{url} answered with a response that is not readable HTTP: {problem} ({detail})")]
    Unreadable {
        url: String,
        problem: &'static str,
        detail: String,
    },

    /// The TLS handshake failed: mostly a certificate this machine does not trust. Trying again
    /// does not help.
    #[error("TLS with {url} failed: {trouble} ({detail})")]
    Tls {
        url: String,
        trouble: TlsTrouble,
        /// rustls' own description, cleaned.
        detail: String,
    },

    /// A success status whose body is not the documented JSON.
    #[error(
        "unexpected response from {url} (HTTP {status}): {message}; body starts with: {excerpt:?}"
    )]
    Decode {
        url: String,
        status: u16,
        message: String,
        excerpt: String,
    },

    /// The service's paging misbehaved (marker did not advance, loop, page cap).
    #[error("paging stopped: {0}")]
    Paging(String),

    /// The listing grew past a cap: `kept` when the items its sink kept reached it, else the
    /// distinct items listed.
    #[error("{} more than {cap} {}; stopped reading", if *kept { "the listing would keep" } else { "the service listed" }, kind.plural)]
    TooManyItems {
        kind: &'static ItemKind,
        cap: usize,
        kept: bool,
    },

    /// The caller cancelled (e.g. Terraform's StopProvider).
    #[error("request cancelled")]
    Cancelled,

    /// The overall deadline of a call passed.
    #[error(
        "deadline of {}s exceeded after {requests} requests ({pages} pages read)",
        deadline.as_secs_f64()
    )]
    DeadlineExceeded {
        deadline: Duration,
        pages: u32,
        requests: u32,
        /// What the call was listing, when it was a listing (set by `Error::listing`).
        listing: Option<&'static ItemKind>,
    },

    /// A request could not be built from the values it must carry (e.g. a project id from IAM
    /// with characters no HTTP header allows). Nothing was sent.
    #[error("cannot build the request to {url}: {reason}")]
    Request { url: String, reason: String },

    /// Invalid client configuration (endpoint URL, missing region, ...). No request was sent.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The IAM project lookup failed or was ambiguous. `source` holds the underlying error when
    /// the lookup request itself failed (e.g. a 401 from IAM).
    #[error("cannot determine the project id of region {region:?}: {reason}")]
    ProjectLookup {
        region: String,
        reason: String,
        #[source]
        source: Option<Box<Error>>,
    },
}

/// What a listing lists, as its errors, warnings and diagnostics name it: the engine
/// ([`super::pager`]) knows items only through this and the endpoint's accessors. What a user
/// can change about a listing is a data source's business (`provider::diagnostics::Advice`):
/// the same listing is narrowed by different attributes in different data sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemKind {
    /// One item: `"task"`.
    pub singular: &'static str,
    /// Several items, and the noun of counts and caps: `"tasks"`.
    pub plural: &'static str,
    /// The field that identifies an item on the wire, named where repeats are dropped:
    /// `"task_id"`.
    pub id_field: &'static str,
    /// The items as a heading names them: `"rotation tasks"`.
    pub title: &'static str,
    /// The IAM action a user needs to list them, for the hint of a refused request:
    /// `"csms:task:list"`.
    pub action: &'static str,
}

/// Why a TLS handshake failed, as far as the user can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsTrouble {
    /// The certificate chains to no authority this machine trusts (self-signed, a private CA,
    /// an intercepting proxy), or its signature does not verify.
    Untrusted,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet (often this machine's clock).
    NotYetValid,
    /// The certificate does not name the host of the URL.
    WrongName,
    /// Revoked, or not a certificate for servers.
    Refused,
    /// The handshake itself failed (protocol versions, ciphers, an alert from the server).
    Handshake,
}

impl std::fmt::Display for TlsTrouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsTrouble::Untrusted => {
                "the server's certificate is not issued by an authority this machine trusts"
            }
            TlsTrouble::Expired => "the server's certificate has expired",
            TlsTrouble::NotYetValid => "the server's certificate is not valid yet",
            TlsTrouble::WrongName => "the server's certificate is not valid for this host name",
            TlsTrouble::Refused => "the server's certificate was refused",
            TlsTrouble::Handshake => "the TLS handshake failed",
        })
    }
}

impl TlsTrouble {
    /// The trouble behind a rustls error.
    pub fn of(e: &rustls::Error) -> TlsTrouble {
        use rustls::CertificateError as C;
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                C::UnknownIssuer | C::BadSignature | C::BadEncoding => TlsTrouble::Untrusted,
                C::Expired | C::ExpiredContext { .. } => TlsTrouble::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => TlsTrouble::NotYetValid,
                C::NotValidForName | C::NotValidForNameContext { .. } => TlsTrouble::WrongName,
                C::Other(o) if o.0.downcast_ref::<super::trust::NoTrustStore>().is_some() => {
                    TlsTrouble::Untrusted
                }
                _ => TlsTrouble::Refused,
            },
            _ => TlsTrouble::Handshake,
        }
    }
}

/// What rustls says, except that a verifier's own error (an empty trust store, a certificate
/// not for servers) is told in its words: rustls shows those as Rust debug output.
pub(crate) fn tls_text(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
            other.0.to_string()
        }
        _ => e.to_string(),
    }
}

/// Appends to `said` the causes under a transport error `e`, each unless an earlier part
/// already says it, a TLS error as [`tls_text`] tells it: the one chain every HTTP client of the
/// provider reports a failure with.
pub(crate) fn add_causes(e: &(dyn std::error::Error + 'static), said: &mut Vec<String>) {
    let mut next = e.source();
    while let Some(cause) = next {
        let text = match cause.downcast_ref::<rustls::Error>() {
            Some(tls) => tls_text(tls),
            None => cause.to_string(),
        };
        if !said.iter().any(|part| part.contains(&text)) {
            said.push(text);
        }
        next = cause.source();
    }
}

impl Error {
    /// The service error, also when it is the cause of a failed project lookup.
    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(e) => Some(e),
            Error::ProjectLookup {
                source: Some(e), ..
            } => e.service(),
            _ => None,
        }
    }

    /// A 2xx body that is not the documented JSON. The parser's message is cut at
    /// [`EXCERPT_CHARS`] (serde quotes the offending value, and a 20 MB string where a number
    /// belongs must not make a 20 MB diagnostic), keeping the position it names.
    pub fn not_json(url: &str, status: u16, e: &serde_json::Error, body: &[u8]) -> Error {
        let mut message = text::excerpt(e, EXCERPT_CHARS);
        if message.ends_with("...") && e.line() > 0 {
            message.push_str(&format!(" at line {} column {}", e.line(), e.column()));
        }
        Error::Decode {
            url: url.to_string(),
            status,
            message: format!("not the documented JSON ({message})"),
            excerpt: excerpt(body),
        }
    }

    /// The error as a listing of `kind` reports it: a deadline that passed names what was being
    /// listed, also when it passed during the project lookup before the first page.
    pub(crate) fn listing(mut self, kind: &'static ItemKind) -> Self {
        if let Error::DeadlineExceeded { listing, .. } = &mut self {
            *listing = Some(kind);
        }
        self
    }

    /// The same error with its retry count, and for a service error the limit that ended the
    /// retries, set (service and transport errors only).
    pub(crate) fn with_retries(mut self, n: u32, gave_up: GaveUp) -> Self {
        match &mut self {
            Error::Service(e) => {
                e.retries = n;
                e.gave_up = gave_up;
            }
            Error::Transport { retries, .. } => *retries = n,
            _ => {}
        }
        self
    }
}

impl From<ServiceError> for Error {
    fn from(e: ServiceError) -> Self {
        Error::Service(e)
    }
}

/// An error answer of the service: HTTP status plus what the body and headers said.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceError {
    pub status: u16,
    /// `error_code` (or `errorCode`, `code`), e.g. `APIGW.0301`.
    pub code: Option<String>,
    /// `error_msg` (or `errorMsg`, `message`); for a non-JSON body, a short sanitized excerpt.
    pub message: Option<String>,
    /// Header `X-Request-Id`, else body `request_id`.
    pub request_id: Option<String>,
    /// Retries spent before giving up (0 when the first answer was final).
    pub retries: u32,
    /// Which limit ended the retries, so that advice names the one reached.
    pub gave_up: GaveUp,
}

/// Why the retries of a request ended: the advice of a failed request names the limit that was
/// actually reached, since raising another one cannot help.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum GaveUp {
    /// The answer was final (not retryable), or nothing was retried.
    #[default]
    Final,
    /// `max_retries` retries were spent.
    MaxRetries,
    /// The service asked to wait (429 with `Retry-After`) as many times as the client waits
    /// ([`super::retry::MAX_THROTTLED_RETRIES`]).
    Throttling,
    /// The next wait would have passed the call's deadline (a read's `timeouts { read }`):
    /// `wait` was asked for by the service (`Retry-After`) when `asked`, else it was the
    /// client's backoff; `left` is what remained of the deadline. Both in seconds, which is all
    /// a message needs and keeps every error small.
    Deadline { wait: f64, left: f64, asked: bool },
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        match &self.message {
            Some(m) => write!(f, ": {m}")?,
            None => write!(f, ": {}", reason_phrase(self.status))?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        f.write_str(&after_retries(self.retries))?;
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

fn after_retries(n: u32) -> String {
    match n {
        0 => String::new(),
        1 => " after 1 retry".into(),
        n => format!(" after {n} retries"),
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "bad request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not found",
        429 => "too many requests",
        500 => "internal server error",
        502 => "bad gateway",
        503 => "service unavailable",
        504 => "gateway timeout",
        _ => "error",
    }
}

/// Builds the [`ServiceError`] of an error answer. Understands the shapes the official SDK
/// tolerates (`{error_code, error_msg}`, `{errorCode, errorMsg}`, `{code, message}`, each also
/// nested under `"error"`, with an optional `request_id`); any other body becomes a short,
/// sanitized excerpt in `message`. `header_request_id` (`X-Request-Id`) wins over the body's.
pub fn parse_error_body(status: u16, header_request_id: Option<&str>, body: &[u8]) -> ServiceError {
    let mut err = ServiceError {
        status,
        request_id: header_request_id.map(printable).filter(|s| !s.is_empty()),
        ..ServiceError::default()
    };
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let mut found = false;
    if let Some(serde_json::Value::Object(top)) = &json {
        let nested = match top.get("error") {
            Some(serde_json::Value::Object(inner)) => Some(inner),
            _ => None,
        };
        for obj in [Some(top), nested].into_iter().flatten() {
            let code = field(obj, &["error_code", "errorCode", "code"]);
            let msg = field(obj, &["error_msg", "errorMsg", "message"]);
            if err.code.is_none() {
                err.code = code;
            }
            if err.message.is_none() {
                err.message = msg;
            }
            if err.request_id.is_none() {
                err.request_id = field(obj, &["request_id", "requestId"]);
            }
        }
        found = err.code.is_some() || err.message.is_some();
    }
    if !found {
        let text = excerpt(body);
        err.message = (!text.is_empty()).then_some(text);
    }
    err
}

fn field(obj: &serde_json::Map<String, serde_json::Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match obj.get(*n) {
        Some(serde_json::Value::String(s)) => Some(printable(s)).filter(|s| !s.is_empty()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Longest field (code, message, request id) taken from an error body, in characters.
pub const FIELD_CHARS: usize = 1000;

/// A field of an error body as it may be shown to the user: on one line (newlines that would
/// forge diagnostic lines become spaces; runs of whitespace collapse), every other control and
/// invisible character (ESC, BEL, bidi overrides, zero-width) replaced (see [`text`]), and at most
/// [`FIELD_CHARS`] characters (with `...` when cut). The body comes from the network, possibly
/// from a proxy that is not the service.
fn printable(s: &str) -> String {
    text::excerpt(s, FIELD_CHARS)
}

/// A short, single-line, printable excerpt of `body`: HTML tags dropped, then
/// [`text::excerpt`] (whitespace collapsed, unsafe characters replaced, at most
/// [`EXCERPT_CHARS`] characters, with `...` when cut).
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]);
    let mut untagged = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => {
                in_tag = true;
                untagged.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            c => untagged.push(c),
        }
    }
    text::excerpt(untagged, EXCERPT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_shape_with_body_request_id() {
        let e = parse_error_body(
            401,
            None,
            br#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information","request_id":"r-1"}"#,
        );
        assert_eq!(e.code.as_deref(), Some("APIGW.0301"));
        assert_eq!(
            e.message.as_deref(),
            Some("Incorrect IAM authentication information")
        );
        assert_eq!(e.request_id.as_deref(), Some("r-1"));
    }

    #[test]
    fn camel_case_shape() {
        let e = parse_error_body(400, None, br#"{"errorCode":"CSMS.0401","errorMsg":"bad"}"#);
        assert_eq!(
            (e.code.as_deref(), e.message.as_deref()),
            (Some("CSMS.0401"), Some("bad"))
        );
    }

    #[test]
    fn code_message_shape_with_numeric_code() {
        let e = parse_error_body(500, None, br#"{"code":500,"message":"boom"}"#);
        assert_eq!(
            (e.code.as_deref(), e.message.as_deref()),
            (Some("500"), Some("boom"))
        );
    }

    #[test]
    fn nested_under_error() {
        for body in [
            &br#"{"error":{"error_code":"A.1","error_msg":"m","request_id":"rid"}}"#[..],
            br#"{"error":{"errorCode":"A.1","errorMsg":"m","request_id":"rid"}}"#,
            br#"{"error":{"code":"A.1","message":"m"},"request_id":"rid"}"#,
        ] {
            let e = parse_error_body(403, None, body);
            assert_eq!(
                e.code.as_deref(),
                Some("A.1"),
                "{}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(e.message.as_deref(), Some("m"));
            assert_eq!(e.request_id.as_deref(), Some("rid"));
        }
    }

    #[test]
    fn header_request_id_wins_over_body() {
        let e = parse_error_body(
            429,
            Some("hdr-id"),
            br#"{"error_code":"APIGW.0308","error_msg":"throttled","request_id":"body-id"}"#,
        );
        assert_eq!(e.request_id.as_deref(), Some("hdr-id"));
    }

    #[test]
    fn html_body_becomes_short_sanitized_excerpt() {
        let mut body =
            b"<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>\x07".to_vec();
        body.extend(std::iter::repeat_n(b'x', 1000));
        body.extend(b"</body></html>");
        let e = parse_error_body(502, None, &body);
        let m = e.message.unwrap();
        assert!(m.starts_with("502 Bad Gateway \u{fffd}x"), "{m}");
        assert!(m.ends_with("..."), "{m}");
        assert!(m.chars().count() <= EXCERPT_CHARS + 3, "{m}");
        assert!(!m.contains('<') && !m.chars().any(|c| c.is_control()));
        assert_eq!(e.code, None);
    }

    #[test]
    fn json_without_known_fields_and_empty_body() {
        let e = parse_error_body(500, None, br#"{"unexpected":true}"#);
        assert_eq!(e.message.as_deref(), Some(r#"{"unexpected":true}"#));
        let e = parse_error_body(503, None, b"");
        assert_eq!(e.message, None);
        assert_eq!(e.to_string(), "HTTP 503: service unavailable");
    }

    #[test]
    fn fields_are_printable_and_bounded() {
        let long = "x".repeat(5000);
        let body = serde_json::json!({
            "error_code": "A.1\u{1b}[31m",
            "error_msg": format!("line one\n\rError: forged\u{7} {long}"),
            "request_id": "\t rid \u{0}",
        });
        let e = parse_error_body(500, None, body.to_string().as_bytes());
        assert_eq!(e.code.as_deref(), Some("A.1\u{fffd}[31m"));
        let m = e.message.unwrap();
        assert!(m.starts_with("line one Error: forged\u{fffd} x"), "{m}");
        assert!(
            m.ends_with("...") && m.chars().count() == FIELD_CHARS + 3,
            "{m}"
        );
        assert_eq!(e.request_id.as_deref(), Some("rid \u{fffd}"));
    }

    #[test]
    fn display_has_status_code_message_request_id_and_retries() {
        let e = ServiceError {
            status: 429,
            code: Some("APIGW.0308".into()),
            message: Some("throttled".into()),
            request_id: Some("rid".into()),
            retries: 5,
            gave_up: GaveUp::MaxRetries,
        };
        assert_eq!(
            Error::Service(e).to_string(),
            "HTTP 429 APIGW.0308: throttled (request id rid) after 5 retries"
        );
    }
}
