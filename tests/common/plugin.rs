//! Starts the provider binary exactly as Terraform does (magic cookie, protocol versions, a
//! fresh P-521 client certificate like go-plugin's) and connects to it over the Unix socket (or
//! TCP) with mutual TLS, through the generated gRPC client.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use csms_provider::plugin::proto::tfplugin6::provider_client::ProviderClient;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{aws_lc_rs, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::{Channel, Endpoint};

/// Terraform's magic cookie.
pub const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// Every wait in these tests is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The binary under test: `CSMS_PROVIDER_BIN` (e.g. the release build in CI) or cargo's.
pub fn provider_bin() -> String {
    std::env::var("CSMS_PROVIDER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_terraform-provider-csms").to_string())
}

/// A command for the binary with the user's settings that would change its behaviour removed.
pub fn clean_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(provider_bin());
    cmd.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("TF_")
            || name.starts_with("HW_")
            || name.starts_with("PLUGIN_")
            || name.starts_with("CSMS_")
        {
            cmd.env_remove(name);
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// A client certificate as go-plugin makes it for Terraform: self-signed ECDSA P-521 CA,
/// `localhost`, client and server auth.
pub struct ClientCert {
    pub der: CertificateDer<'static>,
    pub pem: String,
    key: PrivatePkcs8KeyDer<'static>,
}

impl ClientCert {
    pub fn generate() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "HashiCorp");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::seconds(30);
        params.not_after = now + time::Duration::days(30 * 365);
        let cert = params.self_signed(&key).unwrap();
        ClientCert {
            der: cert.der().clone(),
            pem: cert.pem(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key().into()
    }
}

/// The parsed handshake line: `1|6|unix|/path|grpc|<cert>`.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub core_version: u32,
    pub protocol_version: u32,
    pub network: String,
    pub address: String,
    pub protocol: String,
    /// None when the server runs without TLS.
    pub server_cert: Option<CertificateDer<'static>>,
}

impl Handshake {
    pub fn parse(line: &str) -> Handshake {
        let fields: Vec<&str> = line.trim_end().split('|').collect();
        assert_eq!(fields.len(), 6, "handshake line {line:?}");
        let cert = (!fields[5].is_empty()).then(|| {
            let der = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(fields[5])
                .expect("server certificate in base64 without padding");
            CertificateDer::from(der)
        });
        Handshake {
            core_version: fields[0].parse().unwrap(),
            protocol_version: fields[1].parse().unwrap(),
            network: fields[2].to_string(),
            address: fields[3].to_string(),
            protocol: fields[4].to_string(),
            server_cert: cert,
        }
    }
}

/// Collects a child's stream (stderr) in the background, for assertions and failure messages,
/// and lets a test wait for what the child writes: a log line is an event to wait for.
#[derive(Clone)]
pub struct Captured(tokio::sync::watch::Receiver<String>);

impl Captured {
    pub fn spawn(mut stream: impl AsyncRead + Unpin + Send + 'static) -> Captured {
        let (sink, captured) = tokio::sync::watch::channel(String::new());
        // The sender drops at end of stream, which is what `all` waits for.
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.send_modify(|text| text.push_str(&String::from_utf8_lossy(&buf[..n])));
            }
        });
        Captured(captured)
    }

    pub fn text(&self) -> String {
        self.0.borrow().clone()
    }

    /// Waits (at most [`TIMEOUT`]) until the text so far satisfies `what`; panics with the
    /// text when the stream ends or the time runs out first.
    pub async fn wait_for(&self, what: &str, seen: impl Fn(&str) -> bool) {
        let mut receiver = self.0.clone();
        let seen = async { receiver.wait_for(|text| seen(text)).await.map(drop) };
        match tokio::time::timeout(TIMEOUT, seen).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => panic!("the stream ended before {what}:\n{}", self.text()),
            Err(_) => panic!("no {what} within {TIMEOUT:?}:\n{}", self.text()),
        }
    }

    /// Everything, once the stream has ended (at most [`TIMEOUT`]).
    pub async fn all(&self) -> String {
        let mut receiver = self.0.clone();
        let ended =
            tokio::time::timeout(TIMEOUT, async { while receiver.changed().await.is_ok() {} })
                .await;
        assert!(ended.is_ok(), "the stream did not end:\n{}", self.text());
        self.text()
    }
}

/// A running plugin process, started like Terraform starts it.
pub struct Plugin {
    pub child: Child,
    pub handshake: Handshake,
    pub client_cert: ClientCert,
    pub stderr: Captured,
    /// What the plugin wrote on stdout after the handshake line: nothing, once it has exited.
    stdout_rest: Option<tokio::task::JoinHandle<String>>,
}

impl Plugin {
    /// Starts the binary with Terraform's environment plus `extra` variables.
    pub async fn start(extra: &[(&str, &str)]) -> Plugin {
        let client_cert = ClientCert::generate();
        let mut cmd = clean_command(&[]);
        cmd.env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("PLUGIN_CLIENT_CERT", &client_cert.pem);
        for (name, value) in extra {
            cmd.env(name, value);
        }
        let mut child = cmd.spawn().expect("start the provider binary");
        let stderr = Captured::spawn(child.stderr.take().unwrap());
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        tokio::time::timeout(TIMEOUT, stdout.read_line(&mut line))
            .await
            .expect("handshake line in time")
            .expect("read stdout");
        assert!(
            !line.is_empty(),
            "no handshake line; stderr:\n{}",
            stderr.text()
        );
        // Like go-plugin, keep draining stdout; `exit_code` asserts nothing else appeared.
        let stdout_rest = tokio::spawn(async move {
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest).await;
            rest
        });
        Plugin {
            child,
            handshake: Handshake::parse(&line),
            client_cert,
            stderr,
            stdout_rest: Some(stdout_rest),
        }
    }

    /// A channel authenticated with the certificate Terraform would use.
    pub async fn channel(&self) -> Channel {
        connect(&self.handshake, Some(&self.client_cert))
            .await
            .unwrap_or_else(|e| panic!("connect: {e}; stderr:\n{}", self.stderr.text()))
    }

    pub async fn provider(&self) -> ProviderClient<Channel> {
        ProviderClient::new(self.channel().await)
    }

    /// Waits for the process to exit, asserts that it wrote nothing on stdout after the
    /// handshake line (Terraform would read it as protocol), and returns its exit code.
    pub async fn exit_code(&mut self) -> Option<i32> {
        let status = tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("plugin did not exit; stderr:\n{}", self.stderr.text()))
            .unwrap();
        if let Some(rest) = self.stdout_rest.take() {
            let rest = tokio::time::timeout(TIMEOUT, rest)
                .await
                .expect("stdout closes when the plugin exits")
                .expect("stdout drain");
            assert!(rest.is_empty(), "stdout after the handshake: {rest:?}");
        }
        status.code()
    }
}

/// Trusts exactly the server certificate from the handshake line, as go-plugin's client does
/// (it makes that certificate its only root); checks the handshake signatures.
#[derive(Debug)]
struct PinnedServer(CertificateDer<'static>);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = aws_lc_rs::default_provider().signature_verification_algorithms;
        verify_tls12_signature(m, c, d, &algs)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = aws_lc_rs::default_provider().signature_verification_algorithms;
        verify_tls13_signature(m, c, d, &algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Connects to the server the handshake names, with mTLS when the server sent a certificate
/// (presenting `client_cert`, or nothing when None) and in plain text otherwise. The connection
/// is made eagerly, so a refused TLS handshake shows up here or on the first call.
pub async fn connect(
    handshake: &Handshake,
    client_cert: Option<&ClientCert>,
) -> Result<Channel, tonic::transport::Error> {
    let tls = handshake.server_cert.as_ref().map(|server_cert| {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedServer(server_cert.clone())));
        let mut config = match client_cert {
            Some(cert) => builder
                .with_client_auth_cert(vec![cert.der.clone()], cert.key())
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        tokio_rustls::TlsConnector::from(Arc::new(config))
    });
    let network = handshake.network.clone();
    let address = handshake.address.clone();
    let connector = tower::service_fn(move |_: tonic::codegen::http::Uri| {
        let (tls, network, address) = (tls.clone(), network.clone(), address.clone());
        async move {
            let stream: Box<dyn Io> = match network.as_str() {
                "unix" => Box::new(tokio::net::UnixStream::connect(&address).await?),
                "tcp" => Box::new(tokio::net::TcpStream::connect(&address).await?),
                other => panic!("unexpected network {other}"),
            };
            let stream: Box<dyn Io> = match tls {
                Some(tls) => {
                    let name = ServerName::try_from("localhost").unwrap();
                    Box::new(tls.connect(name, stream).await?)
                }
                None => stream,
            };
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }
    });
    Endpoint::from_static("http://localhost")
        .connect_timeout(TIMEOUT)
        .connect_with_connector(connector)
        .await
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}

/// An object with every attribute of `block`: those in `set`, null for the others, as
/// Terraform sends configuration.
pub fn config_for(
    block: &csms_provider::plugin::proto::tfplugin6::schema::Block,
    set: &[(&str, csms_provider::plugin::Value)],
) -> csms_provider::plugin::Value {
    csms_provider::plugin::Value::object(block.attributes.iter().map(|a| {
        let value = set
            .iter()
            .find(|(name, _)| *name == a.name)
            .map_or(csms_provider::plugin::Value::Null, |(_, v)| v.clone());
        (a.name.clone(), value)
    }))
}
