//! The HTTP side: accept loop, connection accounting, the route table and signature checks.
//! Endpoints live in their own modules and never import this one.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::accounts::Project;
use super::error::{self, ApiError};
use super::http::{self, bytes_of, error_response, parse_query, request_id, Cut, ResBody};
use super::state::Shared;
use super::wire::{self, Metered};
use super::{auth, metadata, projects, secrets, sts, tasks};

/// How long open connections may take to finish after shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

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
        response = http::cut(response).await;
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
        ["", "v1", project, "secrets"] if is_get => Endpoint::Secrets(project),
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
    let own_project = |project: &str| match shared.directory.project(project) {
        Some((owner, p)) if owner == caller.account => Ok(p),
        Some(_) => Err(foreign_project(project)),
        None => Err(unknown_project(project)),
    };
    match endpoint {
        Endpoint::Projects => projects::serve(account, &query),
        Endpoint::AssumeRole => sts::assume_role(shared, caller, body),
        Endpoint::Tasks(project) => match own_project(project) {
            Ok(Project { tasks, .. }) => {
                tasks::serve(shared, reset, tasks, &query, request_id).await
            }
            Err(e) => error_response(&e, request_id),
        },
        Endpoint::Secrets(project) => match own_project(project) {
            Ok(Project { secrets, .. }) => {
                secrets::serve(shared, reset, secrets, &query, request_id).await
            }
            Err(e) => error_response(&e, request_id),
        },
    }
}

/// The route table's answer: which endpoint a method and path name.
enum Endpoint<'a> {
    Tasks(&'a str),
    Secrets(&'a str),
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

fn unknown_project(project: &str) -> ApiError {
    ApiError::new(
        404,
        error::RESOURCE_NOT_FOUND,
        format!(
            "The resource does not exist: project {project} is not served here \
             (check project_id and region)"
        ),
    )
}
