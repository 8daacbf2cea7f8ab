//! [`Client`]: signed GETs with retries, time budgets and the classification of what came back,
//! for any URL. It knows no API operation: the project lookup (`iam`) and the listings
//! ([`super::pager`] and its endpoints) are built on `Client::get`.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::{host_header, project_id_problem, ClientConfig, Timeouts};
use super::credentials::{CredentialProvider, Credentials, Source};
use super::error::{excerpt, parse_error_body, Error, TlsTrouble, EXCERPT_CHARS};
use super::health::Health;
use super::proxy::ProxyEnv;
use super::redirect::Redirect;
use super::retry::{
    self, is_retryable_status, parse_retry_after, Failure, Interrupted, RetryPolicy,
};
use super::signer::{encode, sdk_date, SignedRequest, Signer, SigningAlgorithm};
use super::text;

/// Largest response body read, counted after decompression (so a gzip bomb stops here too); far
/// above a page of 1000 tasks, far below harm.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A configured CSMS client. Cheap to share (`&Client` across tasks); the HTTP connection pool
/// is reused by every request. `Debug` shows no secret.
pub struct Client {
    http: reqwest::Client,
    /// A client without a connection pool, built when first needed: for the one immediate
    /// retry of a request whose kept-alive connection the server had closed.
    fresh: OnceCell<reqwest::Client>,
    user_agent: String,
    insecure: bool,
    timeouts: Timeouts,
    health: Health,
    /// Asked before every request, so keys renewed during a long listing sign the next page.
    credentials: Arc<CredentialProvider>,
    algorithm: SigningAlgorithm,
    /// The CSMS base URL, under which the endpoints put `/v1/{project_id}/...`.
    pub(crate) endpoint: Url,
    /// IAM base URL and region, when the project id must be looked up ([`super::iam`]).
    pub(crate) iam: Option<(Url, String)>,
    pub(crate) project_id: OnceCell<String>,
    /// The time a call may take unless its caller gives its own.
    pub(crate) deadline: Duration,
    policy: RetryPolicy,
    /// The proxy variables reqwest follows, read when the client was built, for errors that
    /// name the proxy a request went through.
    proxies: ProxyEnv,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint.as_str())
            .field("iam", &self.iam.as_ref().map(|(u, r)| (u.as_str(), r)))
            .field("project_id", &self.project_id.get())
            .field("credentials", &self.credentials.source().to_string())
            .field("signing_algorithm", &self.algorithm)
            .field("deadline", &self.deadline)
            .field("timeouts", &self.timeouts)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A 2xx answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) url: String,
    pub(crate) body: Vec<u8>,
}

impl Client {
    /// Checks `cfg` and builds the HTTP client, signing with `cfg`'s keys. Sends no request.
    pub fn new(cfg: ClientConfig) -> Result<Client, Error> {
        if cfg.access_key.trim().is_empty() {
            return Err(Error::Config("access_key is empty".into()));
        }
        if cfg.secret_key.is_empty() {
            return Err(Error::Config("secret_key is empty".into()));
        }
        let keys = Credentials::new(
            &cfg.access_key,
            &cfg.secret_key,
            cfg.security_token.as_deref(),
        );
        check_keys(&keys)?;
        let credentials = Arc::new(CredentialProvider::fixed(Source::Block, keys));
        Client::with_credentials(cfg, credentials)
    }

    /// Like [`Client::new`], but signing each request with the keys `credentials` holds at that
    /// moment (renewed before they expire) instead of `cfg`'s own, which are ignored.
    pub fn with_credentials(
        cfg: ClientConfig,
        credentials: Arc<CredentialProvider>,
    ) -> Result<Client, Error> {
        let endpoint = cfg.csms_endpoint()?;
        let project_id = cfg
            .project_id
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        if let Some(problem) = project_id.and_then(project_id_problem) {
            return Err(Error::Config(format!("project_id {problem}")));
        }
        let iam = match (project_id, cfg.region()) {
            (Some(_), _) => None,
            (None, Some(region)) => Some((cfg.iam_base()?, region.to_string())),
            (None, None) => {
                return Err(Error::Config(
                    "project_id is not set and there is no region to look it up by".into(),
                ))
            }
        };
        let https = endpoint.scheme() == "https"
            || iam.as_ref().is_some_and(|(url, _)| url.scheme() == "https");
        if cfg.insecure && https {
            tracing::warn!("TLS certificate verification is disabled (insecure = true)");
        }
        match (&iam, project_id) {
            (Some((iam, region)), _) => tracing::info!(
                endpoint = %endpoint,
                project = "-",
                iam = %iam,
                region = %region,
                "CSMS endpoint in use; the project id will be looked up through IAM"
            ),
            (None, project) => tracing::info!(
                endpoint = %endpoint,
                project = project.unwrap_or_default(),
                "CSMS endpoint and project in use"
            ),
        }
        let http = http_client(&cfg.user_agent, cfg.insecure, &cfg.timeouts, true)?;
        Ok(Client {
            http,
            fresh: OnceCell::new(),
            user_agent: cfg.user_agent.clone(),
            insecure: cfg.insecure,
            timeouts: cfg.timeouts,
            health: Health::new(cfg.timeouts.down_for),
            credentials,
            algorithm: cfg.signing_algorithm,
            endpoint,
            iam,
            project_id: OnceCell::new_with(project_id.map(String::from)),
            deadline: cfg.deadline,
            policy: cfg.retry.clone(),
            proxies: ProxyEnv::from_env(|name| std::env::var(name).ok()),
        })
    }

    /// Where the keys that sign the requests came from (named in the hint of a 401 or 403).
    pub fn key_source(&self) -> &Source {
        self.credentials.source()
    }

    /// A signed GET with retries, within `budget`. While another request has found the
    /// endpoint down (see [`Health`]), it fails at once with that cause; when its own tries end
    /// without any answer, it passes that verdict on.
    pub(crate) async fn get(
        &self,
        request: &Get<'_>,
        budget: &Budget<'_>,
    ) -> Result<Answer, Error> {
        let target = self.target(request);
        let origin = target.url.origin().ascii_serialization();
        let unanswered = AtomicBool::new(false);
        let result = retry::run(
            &self.policy,
            budget.deadline,
            budget.cancel,
            |tries| {
                let (target, origin, unanswered) = (&target, &origin, &unanswered);
                async move {
                    if let Some(verdict) = self.health.verdict(origin) {
                        // The verdict is on record already; recording its error again would
                        // nest its "not sent" once more with every retry that met it.
                        unanswered.store(false, Ordering::Relaxed);
                        return Err(Failure::Fatal(verdict.error(&target.shown)));
                    }
                    let outcome = self.attempt(target, request, budget, tries + 1).await;
                    let silent = matches!(outcome, Err(Failure::Unreachable(_)));
                    unanswered.store(silent, Ordering::Relaxed);
                    outcome
                }
            },
            |why| match why {
                Interrupted::Cancelled => Error::Cancelled,
                Interrupted::Deadline => Error::DeadlineExceeded {
                    deadline: budget.timeout,
                    pages: budget.pages.load(Ordering::Relaxed),
                    requests: budget.requests.load(Ordering::Relaxed),
                    listing: None,
                },
            },
        )
        .await;
        match &result {
            Ok(_) => self.health.up(&origin),
            Err(e @ Error::Transport { .. }) if unanswered.load(Ordering::Relaxed) => {
                self.health.down(&origin, e)
            }
            Err(_) => {}
        }
        result
    }

    /// The URL on the wire (each segment percent-encoded) and the decoded path the signature
    /// covers, as the SDKs sign it.
    fn target(&self, request: &Get<'_>) -> Target {
        let prefix = request.base.path().trim_end_matches('/');
        let mut wire_path = prefix.to_string();
        let mut signed_path = percent_decode(prefix);
        for s in request.segments {
            wire_path.push('/');
            wire_path.push_str(&encode(s));
            signed_path.push('/');
            signed_path.push_str(s);
        }
        let canonical_query = super::signer::canonical_query(request.query);
        let mut url = request.base.clone();
        url.set_path(&wire_path);
        url.set_query((!canonical_query.is_empty()).then_some(canonical_query.as_str()));
        Target {
            host: host_header(&url),
            shown: url.as_str().to_string(),
            url,
            signed_path,
        }
    }

    /// Try number `attempt` (1-based): sign, send, read the body within its cap, classify. A
    /// request that fails on a kept-alive connection the server had closed before answering is
    /// sent again at once on a new connection, within the same attempt: the service never saw
    /// it fail. Logs every outcome with its latency at DEBUG.
    async fn attempt(
        &self,
        target: &Target,
        request: &Get<'_>,
        budget: &Budget<'_>,
        attempt: u32,
    ) -> Result<Answer, Failure> {
        let keys = self.credentials.current().await.map_err(|e| {
            Failure::Fatal(Error::Request {
                url: target.shown.clone(),
                reason: format!("no valid credentials to sign it: {e}"),
            })
        })?;
        let headers = self
            .signed_headers(target, request, &keys)
            .map_err(Failure::Fatal)?;
        let started = Instant::now();
        budget.requests.fetch_add(1, Ordering::Relaxed);
        let sent = match self
            .send(&self.http, target, headers.clone(), attempt)
            .await
        {
            Err(Sent::Failed(e)) if closed_before_answer(&e) => {
                tracing::debug!(
                    attempt,
                    url = %target.shown,
                    error = %error_chain(&e),
                    "the connection was closed before any answer; sending again on a new connection"
                );
                budget.requests.fetch_add(1, Ordering::Relaxed);
                let fresh = self.fresh_http().await.map_err(Failure::Fatal)?;
                self.send(fresh, target, headers, attempt).await
            }
            other => other,
        };
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let mut failure = e.into_failure(&target.shown, self.timeouts.response);
                self.name_the_route(&mut failure, target).await;
                tracing::debug!(
                    attempt,
                    latency_ms = started.elapsed().as_millis() as u64,
                    url = %target.shown,
                    error = %failure_error(&failure),
                    "no answer"
                );
                return Err(failure);
            }
        };
        let status = response.status().as_u16();
        let head = Head::of(&target.shown, status, response.headers());
        let body = read_capped(response, &target.shown, status, self.timeouts.body_idle).await;
        tracing::debug!(
            attempt,
            status,
            latency_ms = started.elapsed().as_millis() as u64,
            bytes = body.as_ref().map_or(0, Vec::len) as u64,
            url = %target.shown,
            "answered"
        );
        classify(target, status, head, body?)
    }

    /// Says in a request's transport error which way it went when a proxy variable is set
    /// ([`ProxyEnv::explain`]).
    async fn name_the_route(&self, failure: &mut Failure, target: &Target) {
        if let Error::Transport { message, .. } = failure_error_mut(failure) {
            self.proxies
                .explain(&target.url, message, self.timeouts.connect)
                .await;
        }
    }

    /// Sends one request on `http` and waits for its response headers, at most
    /// `timeouts.response`, logging at DEBUG each `timeouts.still_waiting` that it still waits.
    async fn send(
        &self,
        http: &reqwest::Client,
        target: &Target,
        headers: HeaderMap,
        attempt: u32,
    ) -> Result<reqwest::Response, Sent> {
        let started = Instant::now();
        let give_up = started + self.timeouts.response;
        let every = self.timeouts.still_waiting;
        let mut note = started + every;
        let response = http.get(target.url.clone()).headers(headers).send();
        tokio::pin!(response);
        loop {
            tokio::select! {
                r = &mut response => return r.map_err(Sent::Failed),
                _ = tokio::time::sleep_until(give_up) => return Err(Sent::Silent),
                _ = tokio::time::sleep_until(note), if !every.is_zero() && note < give_up => {
                    tracing::debug!(
                        attempt,
                        waited_ms = started.elapsed().as_millis() as u64,
                        url = %target.shown,
                        "still waiting for a response"
                    );
                    note += every;
                }
            }
        }
    }

    async fn fresh_http(&self) -> Result<&reqwest::Client, Error> {
        self.fresh
            .get_or_try_init(|| async {
                http_client(&self.user_agent, self.insecure, &self.timeouts, false)
            })
            .await
    }

    /// The request's headers with the `Authorization` signature of `keys` over them.
    fn signed_headers(
        &self,
        target: &Target,
        request: &Get<'_>,
        keys: &Credentials,
    ) -> Result<HeaderMap, Error> {
        let mut headers: Vec<(&str, String)> = vec![
            ("Host", target.host.clone()),
            ("X-Sdk-Date", sdk_date()),
            ("Content-Type", "application/json".into()),
        ];
        if let Some(p) = request.project {
            headers.push(("X-Project-Id", p.to_string()));
        }
        if let Some(t) = &keys.security_token {
            headers.push(("X-Security-Token", t.clone()));
        }
        let owned: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect();
        let signer = Signer::with_algorithm(&keys.access_key, &keys.secret_key, self.algorithm);
        let authorization = signer.authorization(&SignedRequest {
            method: "GET",
            path: &target.signed_path,
            query: request.query,
            headers: &owned,
            body: b"",
        });
        headers.push(("Authorization", authorization));
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let mut value = HeaderValue::from_str(&value).map_err(|_| Error::Request {
                url: target.shown.clone(),
                reason: format!("the {name} header would carry characters HTTP does not allow"),
            })?;
            let secret = name == "Authorization" || name == "X-Security-Token";
            value.set_sensitive(secret);
            map.insert(HeaderName::from_static(lowercase(name)), value);
        }
        Ok(map)
    }
}

/// Refuses keys no header can carry, naming the argument, rather than failing every request
/// later with a message about a header the user never set: the access key travels inside the
/// Authorization header, the token in X-Security-Token.
pub fn check_keys(keys: &Credentials) -> Result<(), Error> {
    if !keys
        .access_key
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b',')
    {
        return Err(Error::Config(
            "access_key may only contain printable ASCII characters (no spaces or commas)".into(),
        ));
    }
    // `HeaderValue` would take non-ASCII bytes, but servers read such a header as absent or
    // mangled and the signature then fails with a misleading 401.
    if let Some(t) = &keys.security_token {
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Config(
                "security_token contains characters not allowed in an HTTP header \
                 (only printable ASCII)"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// What one call may spend, and what it spent: the deadline, the caller's cancellation, and the
/// requests sent and pages read so far (for the error that says the deadline passed).
pub(crate) struct Budget<'a> {
    pub(crate) deadline: Instant,
    /// The time the deadline allowed when the call started, as the error reports it.
    pub(crate) timeout: Duration,
    pub(crate) cancel: &'a CancellationToken,
    pub(crate) requests: AtomicU32,
    pub(crate) pages: AtomicU32,
}

impl<'a> Budget<'a> {
    pub(crate) fn new(deadline: Instant, cancel: &'a CancellationToken) -> Self {
        // Whole milliseconds: the deadline was "now + timeout" a moment ago.
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = Duration::from_millis((left.as_secs_f64() * 1000.0).round() as u64);
        Budget::reporting(deadline, timeout, cancel)
    }

    /// A budget whose deadline error names `timeout`, the one the caller was given.
    pub(crate) fn reporting(
        deadline: Instant,
        timeout: Duration,
        cancel: &'a CancellationToken,
    ) -> Self {
        Budget {
            deadline,
            timeout,
            cancel,
            requests: AtomicU32::new(0),
            pages: AtomicU32::new(0),
        }
    }
}

/// A signed GET of `base` + `/segments...`: `segments` are decoded, and percent-encoded on the
/// wire; `project` goes in `X-Project-Id` when the API is project-scoped.
pub(crate) struct Get<'a> {
    pub(crate) base: &'a Url,
    pub(crate) segments: &'a [&'a str],
    pub(crate) query: &'a [(String, String)],
    pub(crate) project: Option<&'a str>,
}

/// A [`Get`] resolved once for all its tries.
struct Target {
    url: Url,
    /// The URL as errors show it.
    shown: String,
    host: String,
    signed_path: String,
}

/// Header names as `HeaderName::from_static` needs them (lower case).
fn lowercase(name: &str) -> &'static str {
    match name {
        "Host" => "host",
        "X-Sdk-Date" => "x-sdk-date",
        "Content-Type" => "content-type",
        "X-Project-Id" => "x-project-id",
        "X-Security-Token" => "x-security-token",
        _ => "authorization",
    }
}

/// The HTTP client of [`Client`]: `pooled` keeps connections alive between requests.
fn http_client(
    user_agent: &str,
    insecure: bool,
    timeouts: &Timeouts,
    pooled: bool,
) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(user_agent)
        // A signed request must not wander to another URL; a 3xx is reported as it is.
        .redirect(reqwest::redirect::Policy::none());
    builder = super::trust::verified(builder, insecure);
    if !pooled {
        builder = builder.pool_max_idle_per_host(0);
    }
    builder
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {}", error_chain(&e))))
}

/// How sending a request ended without response headers.
enum Sent {
    Failed(reqwest::Error),
    /// Nothing came back within `timeouts.response`.
    Silent,
}

impl Sent {
    fn into_failure(self, shown_url: &str, response_timeout: Duration) -> Failure {
        match self {
            Sent::Failed(e) => transport_failure(shown_url, &e),
            Sent::Silent => Failure::Unreachable(Error::Transport {
                url: shown_url.to_string(),
                message: format!(
                    "timed out: no response within {}s of sending the request",
                    response_timeout.as_secs_f64()
                ),
                timeout: true,
                retries: 0,
            }),
        }
    }
}

fn failure_error_mut(failure: &mut Failure) -> &mut Error {
    match failure {
        Failure::Retryable { error, .. }
        | Failure::Throttled { error, .. }
        | Failure::Unreachable(error)
        | Failure::Fatal(error) => error,
    }
}

fn failure_error(failure: &Failure) -> &Error {
    match failure {
        Failure::Retryable { error, .. }
        | Failure::Throttled { error, .. }
        | Failure::Unreachable(error)
        | Failure::Fatal(error) => error,
    }
}

/// A failure before any (readable) answer. A request that cannot be built, a certificate the
/// client refuses, or an answer that is not readable HTTP will not get better by trying again;
/// no connection at all is [`Failure::Unreachable`]; everything else (reset, timed out) may heal.
fn transport_failure(shown_url: &str, e: &reqwest::Error) -> Failure {
    if let Some(tls) = cause::<rustls::Error>(e) {
        return Failure::Fatal(Error::Tls {
            url: shown_url.to_string(),
            trouble: TlsTrouble::of(tls),
            detail: text::excerpt(super::error::tls_text(tls), EXCERPT_CHARS),
        });
    }
    if let Some(problem) = cause::<hyper::Error>(e).and_then(unreadable) {
        return Failure::Fatal(Error::Unreadable {
            url: shown_url.to_string(),
            problem,
            detail: text::excerpt(error_chain(e), EXCERPT_CHARS),
        });
    }
    let chain = error_chain(e);
    let impossible_name = cause::<rustls_pki_types::InvalidDnsNameError>(e).is_some();
    if e.is_connect() && (impossible_name || no_such_name(&chain)) {
        return Failure::Fatal(Error::UnknownHost {
            url: shown_url.to_string(),
            detail: text::excerpt(&chain, EXCERPT_CHARS),
        });
    }
    let error = Error::Transport {
        url: shown_url.to_string(),
        message: text::excerpt(chain, EXCERPT_CHARS),
        timeout: e.is_timeout(),
        retries: 0,
    };
    if e.is_builder() {
        Failure::Fatal(error)
    } else if e.is_connect() {
        Failure::Unreachable(error)
    } else {
        Failure::Retryable {
            error,
            retry_after: None,
        }
    }
}

/// Whether a connection failure is the resolver's answer that the name does not exist (a name
/// that cannot be one, such as a label over 63 characters, is refused before any lookup and is
/// found by its type instead), as the system's `getaddrinfo` words it (glibc's EAI_NONAME and EAI_NODATA, the BSDs' and macOS'
/// EAI_NONAME; musl says "Name does not resolve"). A resolver that cannot be reached ("Temporary
/// failure in name resolution") is not this: that may heal, and is retried.
fn no_such_name(chain: &str) -> bool {
    const NO_SUCH_NAME: [&str; 4] = [
        "Name or service not known",
        "No address associated with hostname",
        "nodename nor servname provided, or not known",
        "Name does not resolve",
    ];
    chain.contains("dns error") && NO_SUCH_NAME.iter().any(|m| chain.contains(m))
}

/// A failure while reading the body. A gzip body that arrived whole but cannot be decompressed
/// is the server's (or a proxy's) fault and final; a connection that broke mid-body (hyper's
/// error in the chain) may heal and is a transport failure.
fn body_failure(shown_url: &str, status: u16, e: &reqwest::Error) -> Failure {
    if !e.is_decode() || cause::<hyper::Error>(e).is_some() {
        return transport_failure(shown_url, e);
    }
    let chain = error_chain(e);
    let why = chain.rsplit(": ").next().unwrap_or_default();
    Failure::Fatal(Error::Decode {
        url: shown_url.to_string(),
        status,
        message: format!(
            "the body is gzip-compressed (Content-Encoding: gzip) but cannot be decompressed ({})",
            text::excerpt(why, EXCERPT_CHARS)
        ),
        excerpt: String::new(),
    })
}

/// What is wrong with an answer hyper could not parse; `None` for failures that are not about
/// the answer's form (a closed connection, a timeout).
fn unreadable(e: &hyper::Error) -> Option<&'static str> {
    if e.is_parse_too_large() {
        Some("its headers are larger than the client accepts")
    } else if e.is_parse_status() {
        Some("its status line is not valid HTTP")
    } else if e.is_parse() {
        Some("its status line or a header is not valid HTTP")
    } else {
        None
    }
}

/// Whether the connection closed under a request before any byte of an answer: hyper's
/// "connection closed before message completed" (`is_incomplete_message`), or a reset or broken
/// pipe while the request was written or its answer awaited. On a kept-alive connection that is
/// the server having closed it while idle, a race no client can avoid. reqwest does not say
/// whether the connection was reused, so a new one that fails this way gets the one resend too;
/// the resend's own failure counts as usual. A connection that never connected is not this case.
fn closed_before_answer(e: &reqwest::Error) -> bool {
    if e.is_connect() || e.is_timeout() || e.is_body() || e.is_decode() {
        return false;
    }
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    cause::<hyper::Error>(e).is_some_and(hyper::Error::is_incomplete_message)
        || cause::<std::io::Error>(e)
            .is_some_and(|io| matches!(io.kind(), ConnectionReset | BrokenPipe | ConnectionAborted))
}

/// The error of type `T` behind a transport failure, found by type along the error's causes.
/// The connector nests errors in `io::Error`s, whose `source()` skips the wrapped error, so
/// those are unwrapped by hand.
fn cause<T: std::error::Error + 'static>(e: &reqwest::Error) -> Option<&T> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(found) = c.downcast_ref::<T>() {
            return Some(found);
        }
        cause = match c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    None
}

/// The body, refused past [`MAX_BODY_BYTES`] (a hostile or broken server must not exhaust
/// memory), and given up on when no byte of it came for `idle`.
async fn read_capped(
    mut response: reqwest::Response,
    shown_url: &str,
    status: u16,
    idle: Duration,
) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    loop {
        let next = match tokio::time::timeout(idle, response.chunk()).await {
            Ok(next) => next.map_err(|e| body_failure(shown_url, status, &e))?,
            Err(_) => {
                return Err(Failure::Retryable {
                    error: Error::Transport {
                        url: shown_url.to_string(),
                        message: format!(
                        "timed out: the response body stopped arriving (HTTP {status}, {} bytes \
                             read, nothing more for {}s)",
                        body.len(),
                        idle.as_secs_f64()
                    ),
                        timeout: true,
                        retries: 0,
                    },
                    retry_after: None,
                })
            }
        };
        let Some(chunk) = next else { break };
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Failure::Fatal(Error::Decode {
                url: shown_url.to_string(),
                status,
                message: format!(
                    "response body larger than {MAX_BODY_BYTES} bytes ({} MiB) once decompressed, \
                     the limit that keeps a broken or hostile server from exhausting memory",
                    MAX_BODY_BYTES >> 20
                ),
                excerpt: excerpt(&body),
            }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What the client reads from an answer's headers besides the status.
struct Head {
    request_id: Option<String>,
    retry_after: Option<Duration>,
    /// A 3xx answer with its `Location`: a redirect is reported, never followed.
    redirect: Option<Redirect>,
    /// `Content-Encoding` left after reqwest decoded gzip (the only encoding the client asks
    /// for) and other than `identity`, cleaned.
    encoding: Option<String>,
}

impl Head {
    fn of(url: &str, status: u16, headers: &HeaderMap) -> Head {
        let quoted = |name: &str| {
            headers
                .get(name)
                .map(|v| text::excerpt(String::from_utf8_lossy(v.as_bytes()), EXCERPT_CHARS))
                .filter(|v| !v.is_empty())
        };
        Head {
            request_id: header_str(headers, "x-request-id"),
            retry_after: header_str(headers, "retry-after")
                .and_then(|v| parse_retry_after(&v, std::time::SystemTime::now())),
            redirect: Redirect::of(url, status, headers),
            encoding: quoted("content-encoding").filter(|e| !e.eq_ignore_ascii_case("identity")),
        }
    }
}

/// A 2xx with a body is an answer; an empty 2xx and the retryable statuses are tried again; a
/// redirect, a body in an encoding nobody asked for and every other status are final.
fn classify(target: &Target, status: u16, head: Head, body: Vec<u8>) -> Result<Answer, Failure> {
    if let Some(redirect) = head.redirect {
        return Err(Failure::Fatal(Error::Redirect(redirect)));
    }
    if let Some(encoding) = head.encoding {
        return Err(Failure::Fatal(Error::Decode {
            url: target.shown.clone(),
            status,
            message: format!(
                "the body is compressed with an encoding the request did not accept \
                 (Content-Encoding: {encoding}; the client accepts gzip only); a proxy or gateway \
                 may be rewriting answers"
            ),
            excerpt: String::new(),
        }));
    }
    if (200..300).contains(&status) {
        // No JSON document is empty: a 2xx without a body is a gateway or connection glitch,
        // and the GET is idempotent, so it is retried like a 503 (and named as what it is if it
        // persists).
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(Failure::Retryable {
                error: Error::Decode {
                    url: target.shown.clone(),
                    status,
                    message: "the response body is empty".into(),
                    excerpt: String::new(),
                },
                retry_after: None,
            });
        }
        return Ok(Answer {
            status,
            url: target.shown.clone(),
            body,
        });
    }
    let error = Error::Service(parse_error_body(status, head.request_id.as_deref(), &body));
    match (status, head.retry_after) {
        // `Retry-After: 0` (or a date in the past) names no wait: a normal backoff step.
        (429, Some(retry_after)) if !retry_after.is_zero() => {
            Err(Failure::Throttled { error, retry_after })
        }
        (_, retry_after) if is_retryable_status(status) => {
            Err(Failure::Retryable { error, retry_after })
        }
        _ => Err(Failure::Fatal(error)),
    }
}

/// Decodes a 2xx body as `T`, or a [`Error::Decode`] with a short excerpt.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T, Error> {
    serde_json::from_slice(&answer.body)
        .map_err(|e| Error::not_json(&answer.url, answer.status, &e, &answer.body))
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The error and its causes, `: `-joined, without the URL (shown separately) and without
/// repeating a cause already contained in the previous one.
fn error_chain(e: &reqwest::Error) -> String {
    let head = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else if e.is_body() || e.is_decode() {
        "error reading the response body".to_string()
    } else {
        "error sending the request".to_string()
    };
    let mut parts = vec![head];
    super::error::add_causes(e, &mut parts);
    parts.join(": ")
}

/// Decodes `%XX` escapes (invalid ones kept as is); for the signed form of a path prefix.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decode_prefix() {
        assert_eq!(percent_decode("/a%20b/%E2%82%AC/x%2"), "/a b/€/x%2");
        assert_eq!(percent_decode("/plain"), "/plain");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    /// The chains reqwest gives for a name that does not exist (final) and for a resolver
    /// that cannot be reached (retried).
    #[test]
    fn only_a_name_that_does_not_exist_is_an_unknown_host() {
        let gone = "cannot connect: client error (Connect): dns error: failed to lookup address \
                    information: Name or service not known";
        assert!(no_such_name(gone));
        let down = "cannot connect: client error (Connect): dns error: failed to lookup address \
                    information: Temporary failure in name resolution";
        assert!(!no_such_name(down));
        assert!(!no_such_name(
            "cannot connect: tcp connect error: Connection refused"
        ));
    }

    fn cfg() -> ClientConfig {
        ClientConfig {
            region: Some("cn-north-4".into()),
            access_key: "AK".into(),
            secret_key: "SK-VERY-SECRET".into(),
            security_token: Some("TOKEN-VERY-SECRET".into()),
            ..ClientConfig::default()
        }
    }

    #[test]
    fn new_checks_credentials_and_project_source() {
        assert!(Client::new(cfg()).is_ok());
        let e = Client::new(ClientConfig {
            secret_key: String::new(),
            ..cfg()
        })
        .unwrap_err();
        assert!(e.to_string().contains("secret_key"), "{e}");
        let e = Client::new(ClientConfig {
            region: None,
            endpoint: Some("http://127.0.0.1:1".into()),
            ..cfg()
        })
        .unwrap_err();
        assert!(e.to_string().contains("project_id"), "{e}");
        assert!(Client::new(ClientConfig {
            region: None,
            endpoint: Some("http://127.0.0.1:1".into()),
            project_id: Some("p".into()),
            ..cfg()
        })
        .is_ok());
    }

    #[test]
    fn client_is_shareable() {
        fn is_send_sync<T: Send + Sync>(_: &T) {}
        is_send_sync(&Client::new(cfg()).unwrap());
    }

    #[test]
    fn debug_of_client_has_no_secret() {
        let c = Client::new(cfg()).unwrap();
        let d = format!("{c:?}");
        assert!(
            !d.contains("SK-VERY-SECRET") && !d.contains("TOKEN-VERY-SECRET"),
            "{d}"
        );
        assert!(d.contains("kms.cn-north-4.myhuaweicloud.com"), "{d}");
    }
}
