//! The gRPC server: the tfplugin6 Provider service on top of a [`Provider`], go-plugin's
//! controller, stdio and broker services, gRPC health, and the serve loop that ties them to the
//! listener, TLS and process signals.
//!
//! Lifecycle: Terraform starts the process, calls a handful of RPCs, then `Shutdown`; the server
//! then stops accepting, lets the Shutdown response (and any other call in flight) finish, and
//! returns so that `main` exits 0. `StopProvider` (Ctrl-C in Terraform) only cancels reads and
//! a configuration in flight; SIGTERM, and the parent's death, shut down like Shutdown and
//! cancel them too.
//! Terraform's Ctrl-C also reaches this process as SIGINT, which go-plugin servers ignore; so do
//! we (outside debug mode), and wait for StopProvider and Shutdown instead.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::{Request, Response, Status};
use tracing::{debug, info, trace, warn};

use super::proto::go_plugin::{
    grpc_broker_server::{GrpcBroker, GrpcBrokerServer},
    grpc_controller_server::{GrpcController, GrpcControllerServer},
    grpc_stdio_server::{GrpcStdio, GrpcStdioServer},
    ConnInfo, Empty, StdioData,
};
use super::proto::health::{
    health_check_response::ServingStatus,
    health_server::{Health, HealthServer},
    HealthCheckRequest, HealthCheckResponse,
};
use super::proto::tfplugin6::{self as pb, provider_server::ProviderServer};
use super::{codec, convert, debug as reattach, handshake, tls};
use super::{DataSource, Diagnostic, Provider, ReadRequest, Schema};

/// How long a connection may take to complete its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// After Shutdown, how long calls still in flight may take before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Largest request accepted; configs are small, but go-plugin hosts allow large messages.
const MAX_REQUEST_BYTES: usize = 64 << 20;

/// Why serving failed; rendered once, on stderr, by [`super::serve`].
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Handshake(#[from] handshake::HandshakeError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot write the handshake line on stdout: {0}")]
    Stdout(io::Error),
    #[error("cannot watch process signals: {0}")]
    Signals(io::Error),
    #[error("the gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
}

/// Serves `provider` until Shutdown (or, in debug mode, Ctrl-C).
pub async fn run<P: Provider>(
    provider: P,
    debug_mode: bool,
    provider_address: String,
) -> Result<(), ServeError> {
    let var = |name: &str| std::env::var(name).ok();
    if !debug_mode {
        handshake::check_cookie(var)?;
        handshake::negotiate_protocol(var)?;
    }
    let type_name = provider.type_name();
    // Debug mode serves without TLS: there is no host to exchange certificates with.
    let tls = match var("PLUGIN_CLIENT_CERT").filter(|pem| !pem.is_empty() && !debug_mode) {
        Some(pem) => {
            let identity = tls::ServerIdentity::generate()?;
            let cert = identity.cert.clone();
            Some((tls::server_config(identity, &pem)?, cert))
        }
        None => None,
    };
    if tls.is_none() && !debug_mode {
        warn!("PLUGIN_CLIENT_CERT is not set: serving without TLS");
    }
    let (listener, address, _socket_path) =
        handshake::listen(handshake::transport(type_name, var), var)?;

    let shutdown = CancellationToken::new();
    watch_signals(debug_mode, shutdown.clone())?;
    if !debug_mode {
        super::parent::watch(shutdown.clone());
    }
    let stop = Arc::new(StopSignal::default());
    // Shutting down (SIGTERM, Terraform gone) ends what is in flight, a configuration included,
    // instead of waiting out the grace period for calls nobody will read.
    tokio::spawn({
        let (shutdown, stop) = (shutdown.clone(), stop.clone());
        async move {
            shutdown.cancelled().await;
            stop.stop();
        }
    });
    let (conn_tx, conn_rx) = mpsc::channel(16);
    let acceptor = tls
        .as_ref()
        .map(|(config, _)| tokio_rustls::TlsAcceptor::from(config.clone()));
    tokio::spawn(accept_loop(listener, acceptor, conn_tx));

    let router = tonic::transport::Server::builder()
        .add_service(
            ProviderServer::new(ProviderService::new(provider, stop.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(GrpcControllerServer::new(Controller {
            shutdown: shutdown.clone(),
            stop: stop.clone(),
            debug: debug_mode,
        }))
        .add_service(GrpcStdioServer::new(Streams(shutdown.clone())))
        .add_service(GrpcBrokerServer::new(Streams(shutdown.clone())))
        .add_service(HealthServer::new(HealthService));

    let announcement = if debug_mode {
        reattach::reattach_banner(&provider_address, &address)
    } else {
        handshake::handshake_line(&address, tls.as_ref().map(|(_, cert)| cert))
    };
    print_and_flush(&announcement).map_err(ServeError::Stdout)?;
    info!(
        network = address.network,
        address = address.address,
        tls = tls.is_some(),
        debug_mode,
        "Serving Terraform plugin protocol 6"
    );

    let serve = router.serve_with_incoming_shutdown(
        ReceiverStream::new(conn_rx),
        shutdown.clone().cancelled_owned(),
    );
    tokio::pin!(serve);
    tokio::select! {
        result = &mut serve => result?,
        () = async { shutdown.cancelled().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            warn!("Calls still in flight {SHUTDOWN_GRACE:?} after Shutdown; exiting anyway");
        }
    }
    // Reads still running after Shutdown have nobody left to answer to.
    stop.stop();
    info!("Plugin server stopped");
    Ok(())
}

fn print_and_flush(text: &str) -> io::Result<()> {
    use std::io::Write;
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// SIGTERM (and, in debug mode, Ctrl-C) shuts down; outside debug mode SIGINT is ignored like
/// go-plugin does, because Terraform follows it with StopProvider and Shutdown.
fn watch_signals(debug: bool, shutdown: CancellationToken) -> Result<(), ServeError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = interrupt.recv() => {
                        if debug {
                            info!("Interrupted; stopping the debug server");
                            break;
                        }
                        debug!("Ignoring SIGINT; Terraform sends StopProvider and Shutdown");
                    }
                    _ = terminate.recv() => {
                        info!("Terminated; shutting down");
                        break;
                    }
                }
            }
            shutdown.cancel();
        });
    }
    #[cfg(not(unix))]
    if debug {
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                shutdown.cancel();
            }
        });
    }
    Ok(())
}

/// Accepts connections, completes TLS when configured, and hands them to tonic. A TLS handshake
/// runs in its own task so that a slow or hostile client cannot hold up the others.
async fn accept_loop(
    listener: handshake::Listener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    connections: mpsc::Sender<io::Result<Connection>>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok(stream) => stream,
            Err(err) => {
                // Out of file descriptors and the like: wait rather than spin.
                warn!(error = %err, "Accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(acceptor) = acceptor.clone() else {
            if connections.send(Ok(Connection(stream))).await.is_err() {
                return;
            }
            continue;
        };
        let connections = connections.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls_stream)) => {
                    trace!("TLS handshake completed");
                    let _ = connections.send(Ok(Connection(Box::new(tls_stream)))).await;
                }
                Ok(Err(err)) => warn!(error = %err, "Refused a connection: TLS handshake failed"),
                Err(_) => warn!("Refused a connection: TLS handshake timed out"),
            }
        });
    }
}

/// An accepted (and, with TLS, authenticated) connection, in the shape tonic serves.
struct Connection(Box<dyn handshake::Io>);

impl tonic::transport::server::Connected for Connection {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

/// StopProvider's effect: the token every read gets. Stopping cancels reads in flight and any
/// read that starts later in the same Terraform command; in debug mode the next command (after
/// Shutdown) gets a fresh token.
#[derive(Default)]
struct StopSignal(Mutex<CancellationToken>);

impl StopSignal {
    fn token(&self) -> CancellationToken {
        self.lock().clone()
    }
    fn stop(&self) {
        self.lock().cancel();
    }
    fn reset(&self) {
        let mut token = self.lock();
        if token.is_cancelled() {
            *token = CancellationToken::new();
        }
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, CancellationToken> {
        // The guarded token stays valid even if a holder panicked.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The tfplugin6 Provider service.
///
/// Schemas are built when a call needs them, not at start-up: Terraform asks for them once per
/// command (GetProviderSchema, in the first of its 3 or 4 launches), and a launch reads only the
/// data sources of its plan.
struct ProviderService<P> {
    provider: P,
    /// The data sources by type name, in the order GetMetadata and the unknown-type diagnostic
    /// list them.
    data_sources: BTreeMap<&'static str, Indexed>,
    stop: Arc<StopSignal>,
}

/// A data source and, once a read has needed it, its schema (then kept for the next reads).
struct Indexed {
    source: Arc<dyn DataSource>,
    schema: OnceLock<Schema>,
}

impl Indexed {
    fn schema(&self) -> &Schema {
        self.schema.get_or_init(|| self.source.schema())
    }
}

impl<P: Provider> ProviderService<P> {
    fn new(provider: P, stop: Arc<StopSignal>) -> Self {
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|source| {
                let indexed = Indexed {
                    source,
                    schema: OnceLock::new(),
                };
                (indexed.source.type_name(), indexed)
            })
            .collect();
        ProviderService {
            provider,
            data_sources,
            stop,
        }
    }

    /// The data source named `type_name`, or the diagnostic that says there is none.
    fn data_source(&self, type_name: &str) -> Result<&Indexed, Diagnostic> {
        self.data_sources.get(type_name).ok_or_else(|| {
            let served: Vec<&str> = self.data_sources.keys().copied().collect();
            Diagnostic::error(
                "Unknown data source",
                format!(
                    "This provider has no data source named {type_name:?}; it serves {}.",
                    served.join(", ")
                ),
            )
        })
    }
}

/// Schema is served with `get_provider_schema_optional`, so Terraform asks for it once per
/// command and caches it instead of asking each of its 3 or 4 provider processes.
fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        get_provider_schema_optional: true,
        ..Default::default()
    }
}

fn undecodable(err: &codec::DecodeError) -> Diagnostic {
    Diagnostic::error(
        "Cannot decode the configuration",
        format!(
            "The provider could not decode the value Terraform sent ({err}). This is a bug in \
             Terraform or the provider; please report it."
        ),
    )
}

/// Logs the end of an RPC: its name, duration and diagnostic counts (never values).
fn served(rpc: &'static str, started: Instant, diags: &[Diagnostic]) {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    debug!(
        rpc,
        elapsed_ms = started.elapsed().as_millis() as u64,
        errors,
        warnings = diags.len() - errors,
        "Served request"
    );
}

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        let started = Instant::now();
        let data_sources: Vec<_> = self
            .data_sources
            .keys()
            .map(|name| pb::get_metadata::DataSourceMetadata {
                type_name: name.to_string(),
            })
            .collect();
        served("GetMetadata", started, &[]);
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            data_sources,
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        let started = Instant::now();
        let data_source_schemas = self
            .data_sources
            .iter()
            .map(|(name, indexed)| (name.to_string(), convert::schema(indexed.schema())))
            .collect();
        let provider = convert::schema(&self.provider.schema());
        served("GetProviderSchema", started, &[]);
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(provider),
            data_source_schemas,
            server_capabilities: Some(capabilities()),
            ..Default::default()
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        served("GetResourceIdentitySchemas", Instant::now(), &[]);
        Ok(Response::new(Default::default()))
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        served("GetFunctions", Instant::now(), &[]);
        Ok(Response::new(Default::default()))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let started = Instant::now();
        let diags = match codec::decode(request.get_ref().config.as_ref()) {
            Ok(config) => self.provider.validate(&config),
            Err(err) => vec![undecodable(&err)],
        };
        served("ValidateProviderConfig", started, &diags);
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let diags = match codec::decode(request.config.as_ref()) {
            Ok(config) => {
                self.provider
                    .configure(&config, &request.terraform_version, self.stop.token())
                    .await
            }
            Err(err) => vec![undecodable(&err)],
        };
        served("ConfigureProvider", started, &diags);
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let diags = match self.data_source(&request.type_name) {
            Err(unknown) => vec![unknown],
            Ok(indexed) => match codec::decode(request.config.as_ref()) {
                Ok(config) => indexed.source.validate(&config),
                Err(err) => vec![undecodable(&err)],
            },
        };
        served("ValidateDataResourceConfig", started, &diags);
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let started = Instant::now();
        let request = request.into_inner();
        debug!(
            rpc = "ReadDataSource",
            type_name = request.type_name,
            "Received request"
        );
        let (state, diags) = match self.read(&request).await {
            Ok(read) => (Some(read.state), read.warnings),
            Err(failed) => (None, failed.into_diagnostics()),
        };
        served("ReadDataSource", started, &diags);
        Ok(Response::new(pb::read_data_source::Response {
            state: state.map(|state| pb::DynamicValue {
                msgpack: state.into_bytes(),
                json: Vec::new(),
            }),
            diagnostics: convert::diagnostics(&diags),
            deferred: None,
        }))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        info!("StopProvider received: cancelling reads in flight");
        self.stop.stop();
        Ok(Response::new(pb::stop_provider::Response::default()))
    }
}

impl<P: Provider> ProviderService<P> {
    async fn read(&self, request: &pb::read_data_source::Request) -> super::ReadResult {
        let indexed = self.data_source(&request.type_name)?;
        let config = codec::decode(request.config.as_ref()).map_err(|err| undecodable(&err))?;
        indexed
            .source
            .read(ReadRequest {
                config,
                schema: indexed.schema(),
                cancel: self.stop.token(),
            })
            .await
    }
}

/// go-plugin's controller: Shutdown ends the process (graceful exit 0), except in debug mode
/// where the server outlives each Terraform command.
struct Controller {
    shutdown: CancellationToken,
    stop: Arc<StopSignal>,
    debug: bool,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
        if self.debug {
            info!("Shutdown received; debug mode keeps serving until Ctrl-C");
            self.stop.reset();
        } else {
            info!("Shutdown received");
            self.shutdown.cancel();
        }
        Ok(Response::new(Empty {}))
    }
}

/// go-plugin's stdio and broker streams. This plugin logs straight to stderr and brokers
/// nothing, so both streams stay open and empty until the server shuts down; ending them then
/// lets the graceful shutdown complete.
struct Streams(CancellationToken);

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A stream that yields nothing and ends when `token` is cancelled.
struct UntilCancelled<T>(
    Pin<Box<WaitForCancellationFutureOwned>>,
    PhantomData<fn() -> T>,
);

impl<T> Stream for UntilCancelled<T> {
    type Item = Result<T, Status>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll(cx).map(|()| None)
    }
}

fn until_cancelled<T: Send + 'static>(token: &CancellationToken) -> BoxStream<T> {
    Box::pin(UntilCancelled(
        Box::pin(token.clone().cancelled_owned()),
        PhantomData,
    ))
}

#[tonic::async_trait]
impl GrpcStdio for Streams {
    async fn stream_stdio(&self, _: Request<()>) -> Result<Response<BoxStream<StdioData>>, Status> {
        trace!("StreamStdio opened");
        Ok(Response::new(until_cancelled(&self.0)))
    }
}

#[tonic::async_trait]
impl GrpcBroker for Streams {
    async fn start_stream(
        &self,
        _: Request<tonic::Streaming<ConnInfo>>,
    ) -> Result<Response<BoxStream<ConnInfo>>, Status> {
        trace!("Broker stream opened");
        Ok(Response::new(until_cancelled(&self.0)))
    }
}

/// gRPC health: go-plugin clients check service `plugin`.
struct HealthService;

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        match request.get_ref().service.as_str() {
            "" | "plugin" => Ok(Response::new(HealthCheckResponse {
                status: ServingStatus::Serving.into(),
            })),
            other => Err(Status::not_found(format!("unknown service {other:?}"))),
        }
    }
}
