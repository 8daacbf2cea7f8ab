//! Which HTTPS servers the provider believes, and when that is worked out.
//!
//! Every HTTP client of the provider (the CSMS client, its twin without a pool, the metadata and
//! IAM credential clients) verifies servers with the platform's verifier: on Linux the system
//! trust store through rustls-native-certs (honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`), on
//! macOS and Windows the operating system. Loading that store reads and decodes every file of
//! `/etc/ssl/certs` (about 2 ms of CPU per load, measured), and reqwest did it again for every
//! client it built, at ConfigureProvider. Most launches of a provider never verify a certificate
//! (the schema and validation launches, an apply of a saved plan, the metadata service, an
//! `http://` endpoint), so the verifier here is built on the first certificate there is to
//! verify, once per process, and shared by every client. What is trusted does not change, only
//! when the store is read; the environment it reads is the process's, fixed since start.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// The machine's trust store held no certificate authority (or could not be read), so no
/// server can be verified. Reported as an untrusted certificate, whose advice (add the CA to the
/// store, or point `SSL_CERT_FILE` at a bundle) is what fixes it.
#[derive(Debug, thiserror::Error)]
#[error("this machine's trust store gave no certificate authority to verify with: {0}")]
pub struct NoTrustStore(String);

/// `builder` set to verify servers with the shared, lazily loaded platform verifier, or, when
/// `insecure`, to accept any certificate (reqwest's own mode for it, which loads no store).
pub(crate) fn verified(builder: reqwest::ClientBuilder, insecure: bool) -> reqwest::ClientBuilder {
    if insecure {
        return builder.danger_accept_invalid_certs(true);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Platform { provider }))
        .with_no_client_auth();
    // What reqwest offers itself when built without HTTP/2.
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    builder.tls_backend_preconfigured(tls)
}

/// The platform verifier of this process, built when first asked for.
static PLATFORM: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>> =
    OnceLock::new();

/// A verifier that builds the platform's on first use (see the module doc).
#[derive(Debug)]
struct Platform {
    provider: Arc<CryptoProvider>,
}

impl Platform {
    fn get(&self) -> Result<&'static rustls_platform_verifier::Verifier, rustls::Error> {
        PLATFORM
            .get_or_init(|| {
                let started = Instant::now();
                let verifier = rustls_platform_verifier::Verifier::new(self.provider.clone())
                    .map_err(|e| {
                        let why = match e {
                            rustls::Error::General(why) => why,
                            e => e.to_string(),
                        };
                        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
                            Arc::new(NoTrustStore(why)),
                        )))
                    });
                tracing::debug!(
                    loaded = verifier.is_ok(),
                    elapsed_us = started.elapsed().as_micros() as u64,
                    "Loaded the platform's trust store to verify a server certificate"
                );
                verifier
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for Platform {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls13_signature(message, cert, dss)
    }

    /// Asked for every ClientHello, before any certificate arrives: answered without the store,
    /// as the platform verifier answers it (the crypto provider's schemes).
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
