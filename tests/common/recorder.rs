//! A recording proxy between real Terraform and the provider, to capture the bytes Terraform
//! itself sends. Terraform reattaches to the proxy (`TF_REATTACH_PROVIDERS`, as to a provider in
//! debug mode, in plain text on a Unix socket); the proxy forwards every call to a provider
//! process started as Terraform starts it (mutual TLS) and keeps the request messages of the
//! tfplugin6 service. go-plugin's own services are forwarded untouched (the broker's stream is
//! bidirectional and never ends, so it cannot be buffered).

use std::convert::Infallible;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use tonic::body::Body;
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::transport::Channel;
use tower::ServiceExt;

/// `(method, request message)` of every tfplugin6 call, in arrival order.
type Calls = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A service name, as a type, so one proxy type can serve under several names.
trait Name: Send + Sync + 'static {
    const NAME: &'static str;
    /// Whether calls to this service are recorded (their request bodies buffered).
    const RECORDED: bool;
}

macro_rules! names {
    ($($ty:ident = $name:literal, $recorded:literal;)*) => {$(
        struct $ty;
        impl Name for $ty {
            const NAME: &'static str = $name;
            const RECORDED: bool = $recorded;
        }
    )*};
}

names! {
    Provider6 = "tfplugin6.Provider", true;
    Controller = "plugin.GRPCController", false;
    Stdio = "plugin.GRPCStdio", false;
    Broker = "plugin.GRPCBroker", false;
}

struct Proxy<N> {
    upstream: Channel,
    calls: Calls,
    name: PhantomData<fn() -> N>,
}

impl<N> Clone for Proxy<N> {
    fn clone(&self) -> Self {
        Proxy {
            upstream: self.upstream.clone(),
            calls: self.calls.clone(),
            name: PhantomData,
        }
    }
}

impl<N: Name> NamedService for Proxy<N> {
    const NAME: &'static str = N::NAME;
}

impl<N: Name> tower::Service<http::Request<Body>> for Proxy<N> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let (upstream, calls) = (self.upstream.clone(), self.calls.clone());
        Box::pin(async move {
            let request = if N::RECORDED {
                let (parts, body) = request.into_parts();
                let bytes = match body.collect().await {
                    Ok(collected) => collected.to_bytes(),
                    Err(e) => return Ok(tonic::Status::internal(e.to_string()).into_http()),
                };
                // One unary message: a compression flag, a 4-byte length, the message.
                let method = parts
                    .uri
                    .path()
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string();
                calls
                    .lock()
                    .unwrap()
                    .push((method, bytes.get(5..).unwrap_or_default().to_vec()));
                http::Request::from_parts(parts, Body::new(Full::new(bytes)))
            } else {
                request
            };
            Ok(match upstream.oneshot(request).await {
                Ok(response) => response,
                Err(e) => tonic::Status::unavailable(e.to_string()).into_http(),
            })
        })
    }
}

/// A running proxy; it stops when dropped.
pub struct Recorder {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    calls: Calls,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Recorder {
    /// Listens on a fresh Unix socket and forwards to `upstream`.
    pub fn start(upstream: Channel) -> Recorder {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("recorder.sock");
        let listener = tokio::net::UnixListener::bind(&socket).expect("bind the proxy socket");
        let calls = Calls::default();
        fn proxy<N: Name>(upstream: &Channel, calls: &Calls) -> Proxy<N> {
            Proxy {
                upstream: upstream.clone(),
                calls: calls.clone(),
                name: PhantomData,
            }
        }
        let router = tonic::transport::Server::builder()
            .add_service(proxy::<Provider6>(&upstream, &calls))
            .add_service(proxy::<Controller>(&upstream, &calls))
            .add_service(proxy::<Stdio>(&upstream, &calls))
            .add_service(proxy::<Broker>(&upstream, &calls));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(router.serve_with_incoming_shutdown(
            tokio_stream::wrappers::UnixListenerStream::new(listener),
            async {
                let _ = stopped.await;
            },
        ));
        Recorder {
            _dir: dir,
            socket,
            calls,
            _stop: stop,
        }
    }

    /// The `TF_REATTACH_PROVIDERS` value that points Terraform at this proxy, for the
    /// provider process `pid` (which Terraform then leaves running: `Test`).
    pub fn reattach(&self, pid: u32) -> String {
        serde_json::json!({
            "registry.terraform.io/example/csms": {
                "Protocol": "grpc",
                "ProtocolVersion": 6,
                "Pid": pid,
                "Test": true,
                "Addr": {"Network": "unix", "String": self.socket},
            }
        })
        .to_string()
    }

    /// The request messages of tfplugin6 method `method`, in arrival order.
    pub fn requests(&self, method: &str) -> Vec<Vec<u8>> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, bytes)| bytes.clone())
            .collect()
    }
}
