//! Client configuration and endpoint resolution.

use std::time::Duration;

use reqwest::Url;

use super::error::Error;
use super::retry::RetryPolicy;
use super::signer::SigningAlgorithm;

/// Time to establish a TCP (and TLS) connection, for the clients that have no [`Timeouts`] of
/// their own (the credential sources).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Domain of the public Huawei Cloud endpoints.
pub const DEFAULT_CLOUD: &str = "myhuaweicloud.com";
/// Domain of Huawei Cloud Europe, whose regions (`eu-west-101`, ...) are not under
/// [`DEFAULT_CLOUD`]: their `myhuaweicloud.com` names do not resolve.
pub const EUROPE_CLOUD: &str = "myhuaweicloud.eu";
/// Regions served under [`EUROPE_CLOUD`], by prefix, as the Go provider decides it.
const EUROPE_REGION_PREFIX: &str = "eu-west-1";
/// Overall budget of one call (a whole listing, retries included), and the default of the data
/// source's `timeouts { read }`: 100,000 tasks take about 10 s here, so this leaves room for slow
/// links and throttling, while a service that keeps answering slowly cannot hold a plan for long.
/// A silent endpoint is given up on much sooner, by the per-request [`Timeouts`].
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(300);

/// How long one request may take, phase by phase. A whole call is bounded by its deadline; these
/// bound the waits inside it, so that an endpoint that never answers fails a read in about
/// `(max_retries + 1) * response` plus the backoff (75 s with the defaults), while a big page
/// over a slow link keeps going as long as its bytes keep coming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP (and TLS) connection set-up.
    pub connect: Duration,
    /// From sending a request to its response headers, connecting included: a service that
    /// takes longer than this to start answering is treated as silent.
    pub response: Duration,
    /// Longest pause between two pieces of a response body. There is no limit on the whole
    /// body's time other than the call's deadline, so slow links still get big pages.
    pub body_idle: Duration,
    /// A request still waiting for its response after this is logged at DEBUG (and again after
    /// each further period), so a hanging plan shows what it waits for.
    pub still_waiting: Duration,
    /// How long the verdict "this endpoint is unreachable" makes other requests to it fail at
    /// once with the same cause, instead of each waiting it out. A success ends it sooner.
    pub down_for: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            response: Duration::from_secs(10),
            body_idle: Duration::from_secs(30),
            still_waiting: Duration::from_secs(5),
            down_for: Duration::from_secs(60),
        }
    }
}

/// Everything the client needs. `Debug` redacts `secret_key` and `security_token`.
#[derive(Clone)]
pub struct ClientConfig {
    /// Region, e.g. `cn-north-4`: picks the default endpoints and names the IAM project.
    pub region: Option<String>,
    /// Base URL of CSMS (scheme, host, optional port and path prefix). Default
    /// `https://kms.{region}.{cloud}`.
    pub endpoint: Option<String>,
    /// Domain of the default endpoints. Empty: the region's domain ([`EUROPE_CLOUD`] for
    /// `eu-west-1*` regions, else [`DEFAULT_CLOUD`]); set, it wins for every region.
    pub cloud: String,
    /// Base URL of IAM for the project lookup. Default `https://iam.{region}.{cloud}`.
    pub iam_endpoint: Option<String>,
    /// Project id; looked up through IAM by region when absent.
    pub project_id: Option<String>,
    pub access_key: String,
    pub secret_key: String,
    /// For temporary AK/SK; sent as `X-Security-Token`.
    pub security_token: Option<String>,
    /// How requests are signed (`SDK-HMAC-SHA256` or `SDK-HMAC-SM3`).
    pub signing_algorithm: SigningAlgorithm,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// Retries of a failed request (429, 5xx gateway faults, connection errors) and the waits
    /// between them.
    pub retry: RetryPolicy,
    pub user_agent: String,
    /// Overall deadline of one call (a whole listing including retries; a project lookup),
    /// unless the caller gives its own.
    pub deadline: Duration,
    /// Per-request time bounds.
    pub timeouts: Timeouts,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            region: None,
            endpoint: None,
            cloud: String::new(),
            iam_endpoint: None,
            project_id: None,
            access_key: String::new(),
            secret_key: String::new(),
            security_token: None,
            signing_algorithm: SigningAlgorithm::HmacSha256,
            insecure: false,
            retry: RetryPolicy::default(),
            user_agent: concat!("terraform-provider-csms/", env!("CARGO_PKG_VERSION")).to_string(),
            deadline: DEFAULT_DEADLINE,
            timeouts: Timeouts::default(),
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |set: bool| if set { "<redacted>" } else { "<empty>" };
        f.debug_struct("ClientConfig")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("cloud", &self.cloud)
            .field("iam_endpoint", &self.iam_endpoint)
            .field("project_id", &self.project_id)
            .field("access_key", &self.access_key)
            .field("secret_key", &redacted(!self.secret_key.is_empty()))
            .field(
                "security_token",
                &self
                    .security_token
                    .as_ref()
                    .map(|t| redacted(!t.is_empty())),
            )
            .field("signing_algorithm", &self.signing_algorithm)
            .field("insecure", &self.insecure)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("deadline", &self.deadline)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

impl ClientConfig {
    pub(crate) fn region(&self) -> Option<&str> {
        self.region
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }

    /// The configured domain, else the region's.
    pub fn cloud(&self) -> &str {
        match self.cloud.trim() {
            "" if self
                .region()
                .is_some_and(|r| r.starts_with(EUROPE_REGION_PREFIX)) =>
            {
                EUROPE_CLOUD
            }
            "" => DEFAULT_CLOUD,
            c => c,
        }
    }

    /// The CSMS base URL: `endpoint`, else `https://kms.{region}.{cloud}`.
    pub fn csms_endpoint(&self) -> Result<Url, Error> {
        resolve(
            "endpoint",
            self.endpoint.as_deref(),
            "kms",
            self.region(),
            self.cloud(),
        )
    }

    /// The IAM base URL: `iam_endpoint`, else `https://iam.{region}.{cloud}`.
    pub fn iam_base(&self) -> Result<Url, Error> {
        resolve(
            "iam_endpoint",
            self.iam_endpoint.as_deref(),
            "iam",
            self.region(),
            self.cloud(),
        )
    }
}

fn resolve(
    what: &str,
    explicit: Option<&str>,
    service: &str,
    region: Option<&str>,
    cloud: &str,
) -> Result<Url, Error> {
    let explicit = explicit.map(str::trim).filter(|e| !e.is_empty());
    match (explicit, region) {
        (Some(url), _) => parse_base_url(what, url),
        (None, Some(region)) => {
            parse_base_url(what, &format!("https://{service}.{region}.{cloud}"))
        }
        (None, None) => Err(Error::Config(format!(
            "either a region or {what} must be set to know where to send requests"
        ))),
    }
}

/// What makes `id` unusable as a project id, or `None` when it is fine. The id becomes one path
/// segment of every request (`/v1/{project_id}/csms/tasks`) and the `X-Project-Id` header: `/`
/// would split the segment, and `.` or `..` would be removed by URL normalisation (also when
/// percent-encoded as `%2E`), moving the signed request to another path such as `/csms/tasks`.
pub fn project_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("is empty")
    } else if id == "." || id == ".." {
        Some("is `.` or `..`, which URL normalisation would remove from the request path")
    } else if id.contains('/') {
        Some("contains `/`, which would split the request path")
    } else if !id.bytes().all(|b| b.is_ascii_graphic()) {
        Some("may only contain printable ASCII characters (no spaces or control characters)")
    } else {
        None
    }
}

/// Checks a base URL: http or https, a host, no credentials, query or fragment. The path (a
/// prefix such as `/csms`) is kept without its trailing `/`.
pub fn parse_base_url(what: &str, raw: &str) -> Result<Url, Error> {
    let bad = |shown: &str, why: &str| {
        Error::Config(format!("{what} {shown:?} is not a usable base URL: {why}"))
    };
    if !raw.contains("://") {
        return Err(bad(
            raw,
            "it has no scheme; write it as https://host[:port][/prefix]",
        ));
    }
    let mut url = Url::parse(raw).map_err(|e| bad(raw, &e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
        return Err(bad(url.as_str(), "it must not contain credentials"));
    }
    let bad = |why: &str| bad(raw, why);
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// The `Host` header for `url`, as the HTTP client sends it: the port only when not the
/// scheme's default.
pub fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(region: Option<&str>, endpoint: Option<&str>) -> ClientConfig {
        ClientConfig {
            region: region.map(String::from),
            endpoint: endpoint.map(String::from),
            ..ClientConfig::default()
        }
    }

    #[test]
    fn default_endpoints_from_region_and_cloud() {
        let c = cfg(Some("cn-north-4"), None);
        assert_eq!(
            c.csms_endpoint().unwrap().as_str(),
            "https://kms.cn-north-4.myhuaweicloud.com/"
        );
        assert_eq!(
            c.iam_base().unwrap().as_str(),
            "https://iam.cn-north-4.myhuaweicloud.com/"
        );
        let c = ClientConfig {
            cloud: "example.eu".into(),
            ..cfg(Some("eu-west-101"), None)
        };
        assert_eq!(
            host_header(&c.csms_endpoint().unwrap()),
            "kms.eu-west-101.example.eu"
        );
    }

    #[test]
    fn europe_regions_default_to_the_eu_domain_unless_cloud_is_set() {
        for region in ["eu-west-101", "eu-west-1"] {
            let c = cfg(Some(region), None);
            assert_eq!(
                host_header(&c.csms_endpoint().unwrap()),
                format!("kms.{region}.myhuaweicloud.eu")
            );
            assert_eq!(
                host_header(&c.iam_base().unwrap()),
                format!("iam.{region}.myhuaweicloud.eu")
            );
        }
        for region in ["eu-west-0", "cn-north-4", "af-south-1"] {
            let c = cfg(Some(region), None);
            assert_eq!(c.cloud(), "myhuaweicloud.com", "{region}");
        }
        let c = ClientConfig {
            cloud: "myhuaweicloud.com".into(),
            ..cfg(Some("eu-west-101"), None)
        };
        assert_eq!(
            host_header(&c.iam_base().unwrap()),
            "iam.eu-west-101.myhuaweicloud.com"
        );
    }

    #[test]
    fn explicit_endpoint_wins_and_keeps_port_and_prefix() {
        let u = cfg(Some("cn-north-4"), Some("http://127.0.0.1:8080/prefix/"))
            .csms_endpoint()
            .unwrap();
        assert_eq!(u.path(), "/prefix");
        assert_eq!(host_header(&u), "127.0.0.1:8080");
        let u = cfg(None, Some("https://kms.example.com:443"))
            .csms_endpoint()
            .unwrap();
        assert_eq!(host_header(&u), "kms.example.com");
        let u = cfg(None, Some("http://[::1]:9000"))
            .csms_endpoint()
            .unwrap();
        assert_eq!(host_header(&u), "[::1]:9000");
    }

    #[test]
    fn missing_region_and_endpoint_is_a_config_error() {
        let e = cfg(None, None).csms_endpoint().unwrap_err();
        assert!(matches!(e, Error::Config(_)));
        assert!(e.to_string().contains("region"), "{e}");
        let e = cfg(Some("  "), Some("")).csms_endpoint().unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e}");
    }

    #[test]
    fn bad_endpoints_are_refused_with_the_reason() {
        for (raw, why) in [
            ("kms.example.com", "no scheme"),
            ("ftp://kms.example.com", "http or https"),
            ("https://user:pw@kms.example.com", "credentials"),
            ("https://kms.example.com/?a=b", "query"),
            ("http://", "empty host"),
        ] {
            let e = cfg(None, Some(raw)).csms_endpoint().unwrap_err();
            assert!(e.to_string().contains(why), "{raw}: {e}");
            assert!(!e.to_string().contains("pw@"), "{e}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = ClientConfig {
            access_key: "AKVISIBLE".into(),
            secret_key: "SK-SECRET-VALUE".into(),
            security_token: Some("TOKEN-SECRET-VALUE".into()),
            ..ClientConfig::default()
        };
        let d = format!("{c:?}");
        assert!(d.contains("AKVISIBLE"), "{d}");
        assert!(
            !d.contains("SK-SECRET-VALUE") && !d.contains("TOKEN-SECRET-VALUE"),
            "{d}"
        );
    }

    /// The bound: with the defaults, a silent endpoint fails a read in well under two
    /// minutes: every try waits `response` at most, plus the largest backoffs between them.
    #[test]
    fn a_silent_endpoint_fails_a_read_well_under_two_minutes_by_default() {
        let (t, p) = (Timeouts::default(), crate::csms::RetryPolicy::default());
        let tries = ClientConfig::default().retry.max_retries + 1;
        let backoff: Duration = (0..tries - 1).map(|r| p.ceiling(r)).sum();
        let worst = t.response * tries + backoff;
        assert_eq!(worst, Duration::from_millis(75_500));
        assert!(
            t.connect < t.response,
            "connecting is part of the response wait"
        );
        assert!(worst < DEFAULT_DEADLINE / 2);
    }

    #[test]
    fn defaults() {
        let c = ClientConfig::default();
        assert_eq!(c.cloud(), "myhuaweicloud.com");
        assert_eq!(c.retry.max_retries, 5);
        assert_eq!(c.deadline, Duration::from_secs(300));
        assert!(c.user_agent.starts_with("terraform-provider-csms/"));
    }

    #[test]
    fn project_ids_that_would_move_or_break_the_path_are_refused() {
        for ok in [
            "0123456789abcdef0123456789abcdef",
            "my-project",
            "a.b",
            "...",
            "%2E",
        ] {
            assert_eq!(project_id_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            (".", "`.` or `..`"),
            ("..", "`.` or `..`"),
            ("a/b", "`/`"),
            ("a b", "printable ASCII"),
            ("p\u{1b}[2J", "printable ASCII"),
            ("projet-é", "printable ASCII"),
        ] {
            let problem = project_id_problem(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(problem.contains(why), "{bad:?}: {problem}");
        }
    }

    /// Why the check is needed: the `url` crate removes dot segments, also percent-encoded
    /// ones, so a project id of `..` would send the signed request to `/v1/csms/tasks`'s parent.
    #[test]
    fn url_normalisation_removes_dot_segments_even_percent_encoded() {
        let mut url = Url::parse("https://kms.example.com/").unwrap();
        for segment in ["..", "%2E%2E", "%2e."] {
            url.set_path(&format!("/v1/{segment}/csms/tasks"));
            assert_eq!(url.path(), "/csms/tasks", "{segment}");
        }
        url.set_path("/v1/%2E%2E%2F/csms/tasks");
        assert_eq!(url.path(), "/v1/%2E%2E%2F/csms/tasks");
    }
}
