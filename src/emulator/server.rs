//! The HTTP side: accept loop, connection accounting, routing, signature checks and faults.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::accounts::{Directory, Entry};
use super::counters::Counters;
use super::error::{self, ApiError};
use super::keys::KeyStore;
use super::listing::{self, ListOptions};
use super::wire::{self, Metered, WireState};
use super::{auth, metadata, sts, Config, Stats};
use crate::csms::task::SecretTask;

pub(crate) type ResBody = BoxBody<Bytes, io::Error>;

/// How long open connections may take to finish after shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a cut body waits after its first half, so the half reaches the client first.
const CUT_PAUSE: Duration = Duration::from_millis(50);
const JSON: &str = "application/json;charset=UTF-8";

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) directory: Directory,
    pub(crate) keys: KeyStore,
    pub(crate) metadata_tokens: metadata::Tokens,
    pub(crate) counters: Counters,
    connections: AtomicU64,
    requests: AtomicU64,
    task_requests: AtomicU64,
    by_path: Mutex<BTreeMap<String, u64>>,
    wire: WireState,
}

impl Shared {
    pub(crate) fn new(config: Config) -> io::Result<Self> {
        Ok(Shared {
            directory: Directory::new(&config)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
            keys: KeyStore::default(),
            metadata_tokens: metadata::Tokens::default(),
            counters: Counters::default(),
            config,
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            task_requests: AtomicU64::new(0),
            by_path: Mutex::new(BTreeMap::new()),
            wire: WireState::default(),
        })
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            connections: self.connections.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            by_path: self.by_path.lock().unwrap().clone(),
            credentials: self.counters.snapshot(),
            bytes_sent: self.wire.bytes_sent.load(Ordering::Relaxed),
            gzipped_responses: self.wire.gzipped.load(Ordering::Relaxed),
        }
    }
}

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let (drain_tx, drain_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    shared.connections.fetch_add(1, Ordering::Relaxed);
                    conns.spawn(connection(stream, shared.clone(), drain_rx.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = drain_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        conns.abort_all();
    }
    Ok(())
}

async fn connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut drain: tokio::sync::watch::Receiver<bool>,
) {
    let reset = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(Conn {
        stream: Metered::new(stream, &shared.wire, &shared.config.wire),
        reset: reset.clone(),
    });
    let service = hyper::service::service_fn(move |req| {
        let (shared, reset) = (shared.clone(), reset.clone());
        async move { Ok::<_, Infallible>(handle(&shared, &reset, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = drain.wait_for(|d| *d) => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// A TCP connection that is reset (RST instead of FIN) on drop when a fault asked for it.
struct Conn {
    stream: Metered<TcpStream>,
    reset: Arc<AtomicBool>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            let _ = self.stream.get_ref().set_zero_linger();
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

async fn handle(shared: &Shared, reset: &AtomicBool, req: Request<Incoming>) -> Response<ResBody> {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let raw_path = req.uri().path().to_string();
    *shared
        .by_path
        .lock()
        .unwrap()
        .entry(raw_path.clone())
        .or_default() += 1;
    let request_id = request_id();
    let method = req.method().clone();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| raw_path.clone(), |pq| pq.to_string());

    let (parts, body) = req.into_parts();
    // GETs carry no body, but a signature covers whatever was sent.
    let body = bytes_of(body).await;
    let mut response = route(shared, reset, &parts, &body, &request_id).await;
    response = wire::encode(response, &parts.headers, &shared.config.wire, &shared.wire).await;
    if response.extensions_mut().remove::<Cut>().is_some() {
        response = cut(response).await;
    }
    response.headers_mut().insert(
        "x-request-id",
        HeaderValue::from_str(&request_id).expect("hex is a valid header value"),
    );
    // One line per request; never the Authorization header.
    tracing::info!("{method} {target} {}", response.status().as_u16());
    response
}

async fn route(
    shared: &Shared,
    reset: &AtomicBool,
    parts: &hyper::http::request::Parts,
    body: &[u8],
    request_id: &str,
) -> Response<ResBody> {
    let path = percent_encoding::percent_decode_str(parts.uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let query = parse_query(parts.uri.query().unwrap_or(""));
    let segments: Vec<&str> = path.split('/').collect();
    let is_get = parts.method == Method::GET;
    let metadata_on = shared.config.metadata.enabled;
    let endpoint = match segments.as_slice() {
        ["", "v1", project, "csms", "tasks"] if is_get => Endpoint::Tasks(project),
        ["", "v3", "projects"] if is_get => Endpoint::Projects,
        ["", "v3.0", "OS-CREDENTIAL", "securitytokens"] if parts.method == Method::POST => {
            Endpoint::AssumeRole
        }
        ["", "meta-data", "latest", "api", "token"]
            if metadata_on && parts.method == Method::PUT =>
        {
            return metadata::put_token(shared, &parts.headers)
        }
        ["", "openstack", "latest", "securitykey"] if metadata_on && is_get => {
            return metadata::security_key(shared, &parts.headers)
        }
        _ => {
            return error_response(
                &ApiError::new(
                    404,
                    error::API_NOT_FOUND,
                    "The API does not exist or has not been published in the environment",
                ),
                request_id,
            )
        }
    };
    let caller = shared.keys.authenticate(
        &shared.directory,
        &shared.counters,
        &auth::Request {
            method: parts.method.as_str(),
            path: &path,
            query: &query,
            headers: &parts.headers,
            body,
        },
        time::OffsetDateTime::now_utc(),
    );
    let caller = match caller {
        Ok(c) => c,
        Err(e) => return error_response(&e, request_id),
    };
    let account = shared.directory.account(caller.account);
    shared.counters.count_account(&account.domain_name);
    match endpoint {
        Endpoint::Projects => projects(account, &query),
        Endpoint::AssumeRole => sts::assume_role(shared, caller, body),
        Endpoint::Tasks(project) => match shared.directory.project(project) {
            Some((owner, p)) if owner == caller.account => {
                tasks(shared, reset, &p.tasks, &query, request_id).await
            }
            Some(_) => error_response(&foreign_project(project), request_id),
            None => {
                let e = ApiError::new(
                    404,
                    error::RESOURCE_NOT_FOUND,
                    format!(
                        "The resource does not exist: project {project} is not served here \
                         (check project_id and region)"
                    ),
                );
                error_response(&e, request_id)
            }
        },
    }
}

enum Endpoint<'a> {
    Tasks(&'a str),
    Projects,
    AssumeRole,
}

/// Another account's project: the gateway refuses the caller's key for it.
fn foreign_project(project: &str) -> ApiError {
    ApiError::new(
        403,
        error::NOT_AUTHORIZED,
        format!(
            "The IAM user is not authorized to access the API: project {project} belongs to \
             another account (check the credentials, the agency and project_id)"
        ),
    )
}

/// `GET /v3/projects?name=...`: the caller's account's projects named `name` (the region), all
/// of them when `name` is absent.
fn projects(account: &Entry, query: &[(String, String)]) -> Response<ResBody> {
    let name = query.iter().find(|(k, _)| k == "name").map(|(_, v)| v);
    let projects: Vec<_> = account
        .projects
        .iter()
        .filter(|p| name.is_none_or(|n| *n == p.region))
        .map(|p| {
            serde_json::json!({
                "id": p.project_id,
                "name": p.region,
                "domain_id": account.domain_id,
                "parent_id": account.domain_id,
                "is_domain": false,
                "enabled": true,
                "description": "",
                "links": { "self": format!("/v3/projects/{}", p.project_id) },
            })
        })
        .collect();
    let body = serde_json::json!({
        "projects": projects,
        "links": { "self": "/v3/projects", "next": null, "previous": null },
    });
    json_response(StatusCode::OK, body.to_string().into())
}

async fn tasks(
    shared: &Shared,
    reset: &AtomicBool,
    data: &[SecretTask],
    query: &[(String, String)],
    request_id: &str,
) -> Response<ResBody> {
    let faults = &shared.config.faults;
    let n = shared.task_requests.fetch_add(1, Ordering::Relaxed) + 1;
    let hits = |every: Option<u32>| every.is_some_and(|e| e > 0 && n.is_multiple_of(u64::from(e)));
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let throttled_by_chance = faults
        .throttle_percent
        .is_some_and(|p| fastrand::u8(0..100) < p);
    if hits(faults.throttle_every) || throttled_by_chance {
        let mut r = error_response(&ApiError::injected(429), request_id);
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(faults.retry_after_secs));
        return r;
    }
    if let Some((every, status)) = faults.fail_every {
        if hits(Some(every)) {
            return if faults.html_errors {
                html_error(status)
            } else {
                error_response(&ApiError::injected(status), request_id)
            };
        }
    }
    let opts = ListOptions {
        max_limit: shared.config.max_limit,
        last_page_marker: shared.config.last_page_marker,
    };
    let mut listing = match listing::list(data, query, opts) {
        Ok(l) => l,
        Err(e) => return error_response(&e, request_id),
    };
    if faults.sticky_marker {
        if let Some(m) = &listing.marker {
            listing.page.next_marker = Some(m.clone());
        }
    } else if faults.looping_marker && listing.marker.is_some() {
        let second_page = listing.marker == listing.first_page_end;
        if !second_page || listing.is_last {
            listing.page.next_marker = listing.first_page_end.clone();
        }
    }
    if let Some(total) = &mut listing.page.total {
        *total = (*total + faults.total_delta).max(0);
    }
    if let Some(mib) = shared.config.wire.gzip_bomb_mib {
        let mut r = json_response(StatusCode::OK, wire::bomb(&shared.wire, mib).await);
        shared.wire.gzipped.fetch_add(1, Ordering::Relaxed);
        r.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return r;
    }
    let json = Bytes::from(super::listing::page_body(&listing.page));
    if hits(faults.reset_every) {
        reset.store(true, Ordering::Relaxed);
        return cut_response(json);
    }
    if hits(faults.truncate_every) {
        return cut_response(json);
    }
    if hits(faults.empty_every) {
        return json_response(StatusCode::OK, Bytes::new());
    }
    json_response(StatusCode::OK, json)
}

/// All of `body`; empty when it fails to arrive.
pub(crate) async fn bytes_of<B: Body>(body: B) -> Bytes {
    body.collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

/// A body that is all in memory.
pub(crate) fn full(body: Bytes) -> ResBody {
    Full::new(body).map_err(|never| match never {}).boxed()
}

pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response<ResBody> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    r
}

fn error_response(e: &ApiError, request_id: &str) -> Response<ResBody> {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, e.body(request_id).to_string().into())
}

/// An nginx-style HTML error page.
fn html_error(status: u16) -> Response<ResBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let line = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let page = format!(
        "<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n\
         <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut r = Response::new(full(Bytes::from(page)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

/// Marks a response to be cut by [`cut`] once it is encoded for the wire.
#[derive(Clone, Copy)]
struct Cut;

/// 200 with `json`, to be cut short on the wire (see [`cut`]).
fn cut_response(json: Bytes) -> Response<ResBody> {
    let mut r = json_response(StatusCode::OK, json);
    r.extensions_mut().insert(Cut);
    r
}

/// `response` declaring the full length of its (possibly compressed) body but sending only the
/// first half; the body then fails, which makes hyper close the connection.
async fn cut(response: Response<ResBody>) -> Response<ResBody> {
    let (parts, body) = response.into_parts();
    let body = bytes_of(body).await;
    let cut = CutBody {
        head: Some(body.slice(..body.len() / 2)),
        pause: Box::pin(tokio::time::sleep(CUT_PAUSE)),
        declared: body.len() as u64,
    };
    Response::from_parts(parts, cut.boxed())
}

struct CutBody {
    head: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
    declared: u64,
}

impl Body for CutBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        ready!(self.pause.as_mut().poll(cx));
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "emulator fault: body cut short",
        ))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.declared)
    }
}

/// 32 lower-case hex digits, like the service's request ids.
fn request_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// Query pairs, percent-decoded, `+` as space (form encoding, as the gateway's parser does).
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://q/?{raw}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("secret_name=s%2F%C3%A9%2A~%2B%3D%26x&task_id=t-1&a+b=c+d&flag&bad=%zz%4"),
            vec![
                ("secret_name".to_string(), "s/é*~+=&x".to_string()),
                ("task_id".into(), "t-1".into()),
                ("a b".into(), "c d".into()),
                ("flag".into(), "".into()),
                ("bad".into(), "%zz%4".into()),
            ]
        );
    }
}
