//! What happens to responses between the handler and the socket, as on a real network: gzip when
//! the client accepts it (API gateways compress), bandwidth pacing (a WAN link), and a count of
//! the bytes sent; plus the two gzip faults that clients' decompression limits are tested with.

use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use hyper::header::{
    HeaderMap, HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, VARY,
};
use hyper::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::http::{bytes_of, full, ResBody};

/// How responses travel: compression and pacing (part of [`Config`](super::Config)).
#[derive(Debug, Clone)]
pub struct Wire {
    /// Compress non-empty responses with gzip when the request's `Accept-Encoding` allows it,
    /// as the API gateway does (and then `Vary: Accept-Encoding`). Default on.
    pub gzip: bool,
    /// Fault: compress every non-empty response, even when the request did not ask for gzip or
    /// refused it.
    pub gzip_unasked: bool,
    /// Fault: every ListSecretTask page that would succeed is replaced by a gzip bomb, sent with
    /// `Content-Encoding: gzip` whatever the request accepts: about a thousandth of this many MiB
    /// on the wire, this many MiB of valid JSON (`{"tasks":[` + spaces + `],"total":0}`) once
    /// decompressed, so only a limit on decompressed bytes stops a client. Throttling and
    /// `fail_every` still answer first; the cut and empty faults do not apply.
    pub gzip_bomb_mib: Option<u32>,
    /// Pace every connection's writes at this many kilobits (1000 bits) per second, in chunks of
    /// about 5 ms. `None`: as fast as the socket takes them.
    pub bandwidth_kbps: Option<u32>,
}

impl Default for Wire {
    /// gzip when asked; no faults; no pacing.
    fn default() -> Self {
        Wire {
            gzip: true,
            gzip_unasked: false,
            gzip_bomb_mib: None,
            bandwidth_kbps: None,
        }
    }
}

/// Per-server state of the wire: the byte counter and the bomb, compressed once.
#[derive(Default)]
pub(crate) struct WireState {
    pub(crate) bytes_sent: Arc<AtomicU64>,
    /// Responses sent gzip-compressed (the bomb included).
    pub(crate) gzipped: AtomicU64,
    bomb: tokio::sync::OnceCell<Bytes>,
}

/// Whether `Accept-Encoding` allows gzip: `gzip` (or `x-gzip`) with a non-zero q, or else `*`
/// with a non-zero q (RFC 9110 §12.5.3). No header: no.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    let (mut gzip, mut any) = (None, None);
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut params = item.split(';');
            let coding = params.next().unwrap_or_default().trim();
            let q = params
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q > 0.0);
            } else if coding == "*" {
                any = Some(q > 0.0);
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// `response` as it goes on the wire for a request with `request_headers`: compressed with gzip
/// when [`Wire`] says so. A response that already has a `Content-Encoding` passes unchanged.
pub(crate) async fn encode(
    response: Response<ResBody>,
    request_headers: &HeaderMap,
    wire: &Wire,
    state: &WireState,
) -> Response<ResBody> {
    if response.headers().contains_key(CONTENT_ENCODING) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    if wire.gzip {
        parts
            .headers
            .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    let compress = wire.gzip_unasked || (wire.gzip && accepts_gzip(request_headers));
    if !compress {
        return Response::from_parts(parts, body);
    }
    // Every body the handlers make is in memory already, so collecting does not wait.
    let body = bytes_of(body).await;
    if body.is_empty() {
        return Response::from_parts(parts, full(body));
    }
    parts
        .headers
        .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    // hyper sets the compressed length from the body; a handler's own would now be wrong.
    parts.headers.remove(CONTENT_LENGTH);
    state
        .gzipped
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Response::from_parts(parts, full(gzip(&body).into()))
}

/// The body of the gzip bomb of [`Wire::gzip_bomb_mib`], to be sent with
/// `Content-Encoding: gzip`. It is compressed on first use, off the async threads, and kept.
pub(crate) async fn bomb(state: &WireState, mib: u32) -> Bytes {
    state
        .bomb
        .get_or_init(|| async move {
            tokio::task::spawn_blocking(move || Bytes::from(bomb_body(mib)))
                .await
                .expect("compressing the bomb does not panic")
        })
        .await
        .clone()
}

fn bomb_body(mib: u32) -> Vec<u8> {
    const HEAD: &[u8] = br#"{"tasks":["#;
    const TAIL: &[u8] = br#"],"total":0}"#;
    let spaces = vec![b' '; 1 << 20];
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    let mut write = || -> io::Result<Vec<u8>> {
        gz.write_all(HEAD)?;
        let mut left = (u64::from(mib) << 20).saturating_sub((HEAD.len() + TAIL.len()) as u64);
        while left > 0 {
            let n = left.min(spaces.len() as u64) as usize;
            gz.write_all(&spaces[..n])?;
            left -= n as u64;
        }
        gz.write_all(TAIL)?;
        gz.try_finish()?;
        Ok(std::mem::take(gz.get_mut()))
    };
    write().expect("writing to memory does not fail")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::with_capacity(data.len() / 4), Compression::default());
    gz.write_all(data)
        .and_then(|()| gz.finish())
        .expect("writing to memory does not fail")
}

/// A connection's byte stream, counted into [`WireState::bytes_sent`] and paced by
/// [`Wire::bandwidth_kbps`] on the way out. Reads pass through.
pub(crate) struct Metered<S> {
    inner: S,
    sent: Arc<AtomicU64>,
    pacer: Option<Pacer>,
}

impl<S> Metered<S> {
    /// Must be called on the runtime (pacing uses its timer).
    pub(crate) fn new(inner: S, state: &WireState, wire: &Wire) -> Self {
        Metered {
            inner,
            sent: state.bytes_sent.clone(),
            pacer: wire.bandwidth_kbps.map(Pacer::new),
        }
    }

    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let allowed = match &mut this.pacer {
            Some(pacer) => ready!(pacer.poll_ready(cx)).min(buf.len()),
            None => buf.len(),
        };
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..allowed]))?;
        if let Some(pacer) = &mut this.pacer {
            pacer.sent(written);
        }
        this.sent.fetch_add(written as u64, Ordering::Relaxed);
        Poll::Ready(Ok(written))
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Lets bytes out at a fixed rate: each write waits until the bytes before it are due, so the
/// `N` bytes of a new connection take at least `(N - chunk) / rate` (the first chunk goes at
/// once). A writer that fell behind (a timer or a thread that woke late) catches up by up to
/// [`CATCH_UP`], so the average holds the rate on a busy machine; the same bound limits the burst
/// after an idle pause.
struct Pacer {
    bytes_per_sec: f64,
    chunk: usize,
    /// When the bytes written so far are all due at the rate; `None` before the first write.
    due: Option<Instant>,
    sleep: Pin<Box<Sleep>>,
}

impl Pacer {
    fn new(kbps: u32) -> Pacer {
        let bytes_per_sec = f64::from(kbps.max(1)) * 1000.0 / 8.0;
        Pacer {
            bytes_per_sec,
            chunk: chunk_size(bytes_per_sec),
            due: None,
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    /// Ready with how many bytes may be written now, once the earlier ones are due.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<usize> {
        if let Some(due) = self.due.filter(|due| *due > Instant::now()) {
            self.sleep.as_mut().reset(due);
            ready!(self.sleep.as_mut().poll(cx));
        }
        Poll::Ready(self.chunk)
    }

    fn sent(&mut self, n: usize) {
        let now = Instant::now();
        let earliest = now.checked_sub(CATCH_UP).unwrap_or(now);
        let from = self.due.map_or(now, |due| due.max(earliest));
        self.due = Some(from + Duration::from_secs_f64(n as f64 / self.bytes_per_sec));
    }
}

/// How far behind schedule a paced writer may catch up (send without waiting).
const CATCH_UP: Duration = Duration::from_millis(25);

/// About 5 ms worth of bytes per write: small enough to look like a stream, large enough that
/// the timer (1 ms resolution) is not the limit. Between 256 bytes and 64 KiB.
pub fn chunk_size(bytes_per_sec: f64) -> usize {
    ((bytes_per_sec / 200.0) as usize).clamp(256, 64 << 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn accept(values: &[&str]) -> bool {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        accepts_gzip(&h)
    }

    #[test]
    fn accept_encoding_rules() {
        for yes in [
            &["gzip"][..],
            &["gzip, deflate, br, zstd"],
            &["deflate", "GZip;q=0.5"],
            &["x-gzip"],
            &["*"],
            &["br;q=1, *;q=0.1"],
            &["gzip;Q=1.0"],
        ] {
            assert!(accept(yes), "{yes:?}");
        }
        for no in [
            &[][..],
            &["identity"],
            &["deflate, br"],
            &["gzip;q=0"],
            &["gzip;q=0.000, *"],
            &["*;q=0"],
            &["gzip;q=bogus"],
        ] {
            assert!(!accept(no), "{no:?}");
        }
    }

    #[test]
    fn the_bomb_is_small_on_the_wire_and_huge_valid_json_inside() {
        let bomb = bomb_body(8);
        assert!(
            bomb.len() < (8 << 20) / 500,
            "{} bytes compressed",
            bomb.len()
        );
        let mut json = Vec::new();
        GzDecoder::new(&bomb[..]).read_to_end(&mut json).unwrap();
        assert_eq!(json.len(), 8 << 20);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v, serde_json::json!({"tasks": [], "total": 0}));
    }

    #[test]
    fn chunks_are_about_5ms_and_bounded() {
        assert_eq!(chunk_size(2_500_000.0), 12_500);
        assert_eq!(chunk_size(1000.0), 256);
        assert_eq!(chunk_size(1e9), 64 << 10);
    }
}
