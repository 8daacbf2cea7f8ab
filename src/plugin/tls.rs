//! Mutual TLS as go-plugin's AutoMTLS does it, so that only the Terraform process that started
//! the plugin can call it.
//!
//! Terraform passes its client certificate in `PLUGIN_CLIENT_CERT` (self-signed ECDSA P-521
//! with `IsCA=true`) and learns the plugin's certificate from the handshake line. The plugin
//! answers with a fresh self-signed certificate and requires the client to present exactly the
//! certificate it was given, byte for byte, with a valid handshake signature.
//!
//! Two details make this work with Go's TLS client: the crypto provider is aws-lc-rs (ring
//! cannot verify P-521, and a Go client then silently sends no certificate), and the verifier is
//! our own (webpki refuses a CA certificate used as a leaf). The server also advertises ALPN
//! `h2` itself, or Go's gRPC client refuses the connection.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    aws_lc_rs, verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate: {0}")]
    ClientCertPem(rustls_pki_types::pem::Error),
    #[error("cannot generate the server certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot configure TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The plugin's own certificate, generated at every start like go-plugin's.
pub struct ServerIdentity {
    /// Sent to Terraform (base64 DER) in the handshake line; Terraform trusts only it.
    pub cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl ServerIdentity {
    /// A fresh self-signed P-256 certificate shaped like go-plugin's (see [`go_plugin_cert`]).
    /// Go's client verifies it as its own root and checks the name `localhost`.
    pub fn generate() -> Result<Self, TlsError> {
        let (cert, key) = go_plugin_cert(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        Ok(ServerIdentity {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        })
    }
}

/// A self-signed certificate for `localhost` as go-plugin makes both of its certificates: CA,
/// server and client auth, valid from 30 s ago for 30 years. Terraform's own client
/// certificate is the same with P-521, which is how the protocol tests make theirs.
pub fn go_plugin_cert(
    alg: &'static rcgen::SignatureAlgorithm,
) -> Result<(rcgen::Certificate, rcgen::KeyPair), rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let key = KeyPair::generate_for(alg)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
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
    let cert = params.self_signed(&key)?;
    Ok((cert, key))
}

/// The rustls server configuration: our identity, the pinned client certificate, ALPN `h2`.
pub fn server_config(
    identity: ServerIdentity,
    client_cert_pem: &str,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = PinnedClientCert::from_pem(client_cert_pem, &provider)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![identity.cert], identity.key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts exactly one client certificate (the DER bytes of `PLUGIN_CLIENT_CERT`) and checks
/// that the client holds its private key (the handshake signature).
#[derive(Debug)]
pub struct PinnedClientCert {
    der: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    pub fn from_pem(
        pem: &str,
        provider: &rustls::crypto::CryptoProvider,
    ) -> Result<Self, TlsError> {
        let der =
            CertificateDer::from_pem_slice(pem.as_bytes()).map_err(TlsError::ClientCertPem)?;
        Ok(PinnedClientCert {
            der,
            algorithms: provider.signature_verification_algorithms,
        })
    }
}

/// A short fingerprint (SHA-256, first 8 bytes) to tell certificates apart in logs.
fn fingerprint(der: &[u8]) -> String {
    let digest = ::aws_lc_rs::digest::digest(&::aws_lc_rs::digest::SHA256, der);
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ClientCertVerifier for PinnedClientCert {
    /// No hints: Go's client then offers its certificate whatever its issuer.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_ref() {
            tracing::debug!(
                fingerprint = fingerprint(end_entity),
                "Accepted the client certificate from PLUGIN_CLIENT_CERT"
            );
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::warn!(
                fingerprint = fingerprint(end_entity),
                "Refused a client certificate that is not the one in PLUGIN_CLIENT_CERT"
            );
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::ServerName;
    use rustls::ClientConfig;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A client certificate like Terraform's: self-signed P-521 CA.
    fn p521_cert() -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
        let (cert, key) = go_plugin_cert(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let key_der = PrivatePkcs8KeyDer::from(key.serialize_der()).into();
        (cert.der().clone(), key_der, cert.pem())
    }

    /// The test client trusts any server: these tests are about the server's side.
    #[derive(Debug)]
    struct AnyServer(WebPkiSupportedAlgorithms);

    impl ServerCertVerifier for AnyServer {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(m, c, d, &self.0)
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(m, c, d, &self.0)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_schemes()
        }
    }

    /// Runs one handshake in memory; `client_cert` None means the client offers no certificate.
    async fn handshake(
        server_pem: &str,
        client_cert: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
        tls12: bool,
    ) -> Result<(), String> {
        let server = server_config(ServerIdentity::generate().unwrap(), server_pem).unwrap();
        let provider = Arc::new(aws_lc_rs::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if tls12 {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13]
        };
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServer(
                provider.signature_verification_algorithms,
            )));
        let mut client = match client_cert {
            Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
            None => builder.with_no_client_auth(),
        };
        client.alpn_protocols = vec![b"h2".to_vec()];
        let (a, b) = tokio::io::duplex(64 * 1024);
        let acceptor = tokio_rustls::TlsAcceptor::from(server);
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let server_side = tokio::spawn(async move {
            let mut s = acceptor.accept(a).await.map_err(|e| e.to_string())?;
            assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
            s.write_all(b"ok").await.map_err(|e| e.to_string())?;
            s.flush().await.map_err(|e| e.to_string())
        });
        let name = ServerName::try_from("localhost").unwrap();
        let client_side = async {
            let mut c = connector
                .connect(name, b)
                .await
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 2];
            c.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        };
        let (client_result, server_result) = tokio::join!(client_side, server_side);
        server_result.unwrap()?;
        client_result
    }

    #[tokio::test]
    async fn accepts_exactly_the_pinned_p521_certificate_over_tls13_and_tls12() {
        let (cert, key, pem) = p521_cert();
        handshake(&pem, Some((cert.clone(), key.clone_key())), false)
            .await
            .expect("TLS 1.3");
        handshake(&pem, Some((cert, key)), true)
            .await
            .expect("TLS 1.2");
    }

    #[tokio::test]
    async fn refuses_another_certificate_and_no_certificate() {
        let (_, _, pinned_pem) = p521_cert();
        let (other, other_key, _) = p521_cert();
        let err = handshake(&pinned_pem, Some((other, other_key)), false)
            .await
            .unwrap_err();
        assert!(err.contains("ApplicationVerificationFailure"), "{err}");
        let err = handshake(&pinned_pem, None, false).await.unwrap_err();
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }

    #[test]
    fn a_client_cert_that_is_not_pem_is_a_clear_error() {
        let provider = aws_lc_rs::default_provider();
        let err = PinnedClientCert::from_pem("not a certificate", &provider).unwrap_err();
        assert!(err.to_string().contains("PLUGIN_CLIENT_CERT"));
    }
}
