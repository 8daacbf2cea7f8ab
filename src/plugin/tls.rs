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

use ::aws_lc_rs::rand::SystemRandom;
use ::aws_lc_rs::signature::{self as ecdsa, EcdsaKeyPair, KeyPair};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    aws_lc_rs, verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::{CertifiedKey, Signer, SigningKey, SingleCertAndKey};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureAlgorithm,
    SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate: {0}")]
    ClientCertPem(rustls_pki_types::pem::Error),
    #[error("cannot generate the server certificate: {0}")]
    Generate(#[from] ::aws_lc_rs::error::Unspecified),
    #[error("cannot configure TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The plugin's own certificate, generated at every start like go-plugin's.
///
/// The key pair goes to rustls as it was generated: serialized to PKCS#8 and parsed back (once
/// by a certificate library, once by rustls), it cost two more key validations, each about a
/// key generation's worth of CPU, in every launch (issue 22).
pub struct ServerIdentity {
    /// Sent to Terraform (base64 DER) in the handshake line; Terraform trusts only it.
    pub cert: CertificateDer<'static>,
    key: Arc<EcdsaKeyPair>,
}

impl ServerIdentity {
    /// A fresh self-signed P-256 certificate shaped like go-plugin's (see `go_plugin_cert`).
    /// Go's client verifies it as its own root and checks the name `localhost`.
    pub fn generate() -> Result<Self, TlsError> {
        let (cert, key) = go_plugin_cert()?;
        Ok(ServerIdentity {
            cert,
            key: Arc::new(key),
        })
    }
}

/// A fresh P-256 key pair and a self-signed certificate for `localhost` as go-plugin makes its
/// certificates (Go's `x509.CreateCertificate` of its template): subject and issuer
/// `O=HashiCorp, CN=localhost`, CA, key usages digital signature, key encipherment and
/// certificate signing, client and server auth, the name `localhost`, valid from 30 s ago for
/// 30 years. Terraform's own client certificate is the same with P-521 (the tests make theirs
/// so).
///
/// Written as DER here rather than by a certificate library: the shape never changes, and the
/// library re-parsed the key it had just generated (see [`ServerIdentity`]) and weighed on the
/// binary.
fn go_plugin_cert(
) -> Result<(CertificateDer<'static>, EcdsaKeyPair), ::aws_lc_rs::error::Unspecified> {
    let key = EcdsaKeyPair::generate(&ecdsa::ECDSA_P256_SHA256_ASN1_SIGNING)?;
    let mut serial = [0u8; 16];
    ::aws_lc_rs::rand::fill(&mut serial)?;
    // Positive and without a leading zero byte: a minimal DER INTEGER as it stands.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    // ecdsa-with-SHA256
    let signature_algorithm = der::seq(&[&der::tlv(
        der::OID,
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
    )]);
    let name = der::seq(&[
        &der::rdn(&[0x55, 0x04, 0x0a], "HashiCorp"),
        &der::rdn(&[0x55, 0x04, 0x03], "localhost"),
    ]);
    let now = time::OffsetDateTime::now_utc();
    let validity = der::seq(&[
        &der::time(now - time::Duration::seconds(30)),
        &der::time(now + time::Duration::days(30 * 365)),
    ]);
    let public_key = der::seq(&[
        &der::seq(&[
            // id-ecPublicKey
            &der::tlv(der::OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
            // prime256v1
            &der::tlv(der::OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        ]),
        &der::bit_string(key.public_key().as_ref()),
    ]);
    let extensions = der::seq(&[
        // keyUsage, critical: digitalSignature, keyEncipherment, keyCertSign.
        &der::extension(&[0x55, 0x1d, 0x0f], true, &[0x03, 0x02, 0x02, 0xa4]),
        // extKeyUsage: clientAuth, serverAuth.
        &der::extension(
            &[0x55, 0x1d, 0x25],
            false,
            &der::seq(&[
                &der::tlv(der::OID, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02]),
                &der::tlv(der::OID, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01]),
            ]),
        ),
        // basicConstraints, critical: CA, no path length limit.
        &der::extension(&[0x55, 0x1d, 0x13], true, &der::seq(&[&[0x01, 0x01, 0xff]])),
        // subjectAltName: dNSName localhost.
        &der::extension(
            &[0x55, 0x1d, 0x11],
            false,
            &der::seq(&[&der::tlv(0x82, b"localhost")]),
        ),
    ]);
    let tbs = der::seq(&[
        &[0xa0, 0x03, 0x02, 0x01, 0x02], // version 3
        &der::tlv(der::INTEGER, &serial),
        &signature_algorithm,
        &name,
        &validity,
        &name,
        &public_key,
        &der::tlv(0xa3, &extensions),
    ]);
    let signature = key.sign(&SystemRandom::new(), &tbs)?;
    let cert = der::seq(&[
        &tbs,
        &signature_algorithm,
        &der::bit_string(signature.as_ref()),
    ]);
    Ok((CertificateDer::from(cert), key))
}

/// The few DER encodings a certificate needs.
mod der {
    pub const INTEGER: u8 = 0x02;
    pub const OID: u8 = 0x06;

    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    pub fn seq(items: &[&[u8]]) -> Vec<u8> {
        tlv(0x30, &items.concat())
    }

    pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
        tlv(0x03, &[&[0u8][..], bytes].concat())
    }

    /// One attribute of a name, a UTF8String.
    pub fn rdn(oid: &[u8], value: &str) -> Vec<u8> {
        tlv(0x31, &seq(&[&tlv(OID, oid), &tlv(0x0c, value.as_bytes())]))
    }

    pub fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
        let critical: &[u8] = if critical { &[0x01, 0x01, 0xff] } else { &[] };
        seq(&[&tlv(OID, oid), critical, &tlv(0x04, value)])
    }

    /// UTCTime through 2049, GeneralizedTime from 2050, as RFC 5280 requires.
    pub fn time(at: time::OffsetDateTime) -> Vec<u8> {
        use time::macros::format_description;
        let (tag, format) = if at.year() < 2050 {
            (
                0x17,
                format_description!("[year repr:last_two][month][day][hour][minute][second]Z"),
            )
        } else {
            (
                0x18,
                format_description!("[year][month][day][hour][minute][second]Z"),
            )
        };
        let text = at.format(format).expect("a certificate's time formats");
        tlv(tag, text.as_bytes())
    }
}

/// The server's key as rustls signs with it: ECDSA P-256 with SHA-256, the only scheme the key
/// supports (every TLS 1.2 and 1.3 client offers it, Go's among them).
#[derive(Debug, Clone)]
struct ServerKey(Arc<EcdsaKeyPair>);

impl SigningKey for ServerKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
            .then(|| Box::new(self.clone()) as Box<dyn Signer>)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ECDSA
    }
}

impl Signer for ServerKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        self.0
            .sign(&SystemRandom::new(), message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| rustls::Error::General("ECDSA signing failed".into()))
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ECDSA_NISTP256_SHA256
    }
}

/// The rustls server configuration: our identity, the pinned client certificate, ALPN `h2`.
pub fn server_config(
    identity: ServerIdentity,
    client_cert_pem: &str,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = PinnedClientCert::from_pem(client_cert_pem, &provider)?;
    let key = CertifiedKey::new(vec![identity.cert], Arc::new(ServerKey(identity.key)));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(key)));
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

    use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    use super::*;

    /// A self-signed P-521 client certificate like Terraform's (the verifier pins its bytes;
    /// its exact shape is the protocol tests' business).
    fn p521_cert() -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
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
    fn certificate_times_are_utc_time_through_2049_then_generalized_time() {
        use time::macros::datetime;
        assert_eq!(
            der::time(datetime!(2049-12-31 23:59:59 UTC)),
            [&[0x17, 13][..], b"491231235959Z"].concat()
        );
        assert_eq!(
            der::time(datetime!(2050-01-01 00:00:00 UTC)),
            [&[0x18, 15][..], b"20500101000000Z"].concat()
        );
    }

    #[test]
    fn a_client_cert_that_is_not_pem_is_a_clear_error() {
        let provider = aws_lc_rs::default_provider();
        let err = PinnedClientCert::from_pem("not a certificate", &provider).unwrap_err();
        assert!(err.to_string().contains("PLUGIN_CLIENT_CERT"));
    }
}
