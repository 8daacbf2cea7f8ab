//! A tiny scripted HTTP/1.1 server on `127.0.0.1:0` for client tests: every request is recorded
//! (method, raw path, raw query, headers) and answered by a closure, which can also stall a
//! body half-way or drop the connection. Keep-alive is supported, so connection reuse works.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Raw (percent-encoded) path.
    pub path: String,
    /// Raw query string, without `?` (empty when none).
    pub query: String,
    pub headers: Vec<(String, String)>,
    /// The body (as announced by `Content-Length`; empty without one).
    pub body: Vec<u8>,
    /// Which connection (0-based, in accept order) carried it.
    pub connection: usize,
}

impl Recorded {
    /// First header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// Decoded query pairs, in wire order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        if self.query.is_empty() {
            return Vec::new();
        }
        self.query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (percent_decode(k), percent_decode(v)),
                None => (percent_decode(kv), String::new()),
            })
            .collect()
    }

    /// Decoded value of a query parameter.
    pub fn param(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Checks the request's signature by `signer`'s keys as the emulator (and the gateway) does;
    /// the error is the gateway's message.
    pub fn verify(&self, signer: &csms_provider::csms::Signer) -> Result<(), String> {
        let mut headers = hyper::HeaderMap::new();
        for (n, v) in &self.headers {
            headers.append(
                hyper::header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                hyper::header::HeaderValue::from_str(v).unwrap(),
            );
        }
        csms_provider::emulator::auth::verify(
            signer,
            &csms_provider::emulator::auth::Request {
                method: &self.method,
                path: &percent_decode(&self.path),
                query: &self.query_pairs(),
                headers: &headers,
                body: &self.body,
            },
            time::OffsetDateTime::now_utc(),
        )
        .map_err(|e| e.message)
    }
}

/// Decodes `%XX` escapes (no `+` as space: the signer never produces it).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How to answer a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete answer.
    Full {
        status: u16,
        content_type: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Announce `announced` body bytes, send `sent`, then stall for `stall` (bounded) and close.
    Stall {
        announced: usize,
        sent: Vec<u8>,
        stall: Duration,
    },
    /// Close the connection without answering.
    Drop,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Full {
            status,
            content_type: "application/json".into(),
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }

    pub fn raw(status: u16, content_type: &str, body: &[u8]) -> Reply {
        Reply::Full {
            status,
            content_type: content_type.into(),
            headers: Vec::new(),
            body: body.to_vec(),
        }
    }

    /// The same reply with one more header (full replies only).
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// The running server; stops accepting when dropped.
pub struct ScriptedServer {
    pub addr: SocketAddr,
    scheme: &'static str,
    /// The self-signed certificate of a TLS server, in PEM, for clients that should trust it.
    pub certificate_pem: Option<String>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl ScriptedServer {
    /// Starts a server answering request number `n` (0-based, over all connections) with
    /// `handler(&request, n)`.
    pub async fn start(
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> ScriptedServer {
        Self::start_inner(handler, None).await
    }

    /// The same over HTTPS, with a fresh self-signed certificate for `127.0.0.1`: clients only
    /// get through with certificate verification off, or by trusting `certificate_pem`.
    pub async fn start_tls(
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> ScriptedServer {
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let key = rustls_pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
        let mut server = Self::start_inner(
            handler,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await;
        server.certificate_pem = Some(ck.cert.pem());
        server
    }

    async fn start_inner(
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let reqs = requests.clone();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let accept = tokio::spawn(async move {
            let mut connection = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let (reqs, handler) = (reqs.clone(), handler.clone());
                match &tls {
                    None => {
                        tokio::spawn(serve(stream, connection, reqs, handler));
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            if let Ok(s) = acceptor.accept(stream).await {
                                serve(s, connection, reqs, handler).await;
                            }
                        });
                    }
                }
                connection += 1;
            }
        });
        ScriptedServer {
            addr,
            scheme,
            certificate_pem: None,
            requests,
            accept,
        }
    }

    /// `http://127.0.0.1:PORT` (or `https://`)
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

async fn serve(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    connection: usize,
    requests: Arc<Mutex<Vec<Recorded>>>,
    handler: Arc<Handler>,
) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if !read_more(&mut stream, &mut buf).await {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_string();
        let target = first.next().unwrap_or_default().to_string();
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (target.clone(), String::new()),
        };
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < length {
            if !read_more(&mut stream, &mut buf).await {
                return;
            }
        }
        let body: Vec<u8> = buf.drain(..length).collect();
        let rec = Recorded {
            method,
            path,
            query,
            headers,
            body,
            connection,
        };
        let n = {
            let mut all = requests.lock().unwrap();
            all.push(rec.clone());
            all.len() - 1
        };
        match handler(&rec, n) {
            Reply::Drop => return,
            Reply::Stall {
                announced,
                sent,
                stall,
            } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {announced}\r\n\r\n"
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&sent).await;
                let _ = stream.flush().await;
                tokio::time::sleep(stall).await;
                return;
            }
            Reply::Full {
                status,
                content_type,
                headers,
                body,
            } => {
                let mut out = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n",
                    reason(status),
                    body.len()
                );
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let mut bytes = out.into_bytes();
                bytes.extend_from_slice(&body);
                // A TLS stream holds what it could not send yet until it is flushed: without
                // this, a large body can sit in rustls's buffer while the client waits for it.
                if stream.write_all(&bytes).await.is_err() || stream.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Appends what the client sent next to `buf`; false when it closed, failed or went quiet.
async fn read_more(stream: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk)).await {
        Ok(Ok(n)) if n > 0 => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
        _ => false,
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
