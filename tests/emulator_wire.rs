//! The emulator's wire over raw HTTP/1.1 on 127.0.0.1 (a hand-written client, so nothing decodes
//! or hides bytes): gzip only when asked and decoding to the same JSON, the switch that turns it
//! off, the gzip faults, the byte counter, and bandwidth pacing.

use std::io::Read;
use std::time::{Duration, Instant};

use csms_provider::emulator::wire::chunk_size;
use csms_provider::emulator::{generate, Config, Emulator, Faults, Wire};
use flate2::read::GzDecoder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response as it came off the socket.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Every byte received: status line, headers and body.
    wire_bytes: usize,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn gunzip(&self) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(&self.body[..])
            .read_to_end(&mut out)
            .expect("a valid gzip body");
        out
    }
}

/// `GET target` on a new connection with `Connection: close`, reading until the server closes.
async fn get(emu: &Emulator, target: &str, headers: &[(&str, &str)]) -> Raw {
    let mut stream = TcpStream::connect(emu.addr()).await.unwrap();
    let mut request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        emu.addr()
    );
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut bytes))
        .await
        .expect("the response ends within 60 s")
        .unwrap();
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8(bytes[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_string(), v.trim().to_string())
        })
        .collect();
    Raw {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
        wire_bytes: bytes.len(),
    }
}

async fn start(tasks: usize, faults: Faults, wire: Wire) -> Emulator {
    Emulator::start(Config {
        tasks: generate(tasks, 5),
        faults,
        wire,
        ..Config::default()
    })
    .await
    .unwrap()
}

fn page(emu: &Emulator, limit: usize) -> String {
    format!("/v1/{}/csms/tasks?limit={limit}", emu.project_id())
}

/// Compressed only when `Accept-Encoding` allows gzip, and then the same JSON, byte for byte,
/// in far fewer bytes; errors too; `Vary` tells caches.
#[tokio::test]
async fn gzip_only_when_asked_and_it_decodes_to_the_same_json() {
    let emu = start(500, Faults::default(), Wire::default()).await;
    let target = page(&emu, 500);
    let plain = get(&emu, &target, &[]).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    let json: serde_json::Value = serde_json::from_slice(&plain.body).unwrap();
    assert_eq!(json["tasks"].as_array().unwrap().len(), 500);

    for refused in ["identity", "gzip;q=0, identity", "br, deflate"] {
        let r = get(&emu, &target, &[("Accept-Encoding", refused)]).await;
        assert_eq!(r.header("content-encoding"), None, "{refused}");
        assert_eq!(r.body, plain.body, "{refused}");
    }
    // As Python's requests and Go's net/http ask.
    for asked in ["gzip, deflate, br, zstd", "gzip"] {
        let r = get(&emu, &target, &[("Accept-Encoding", asked)]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), Some("gzip"), "{asked}");
        let declared: usize = r.header("content-length").unwrap().parse().unwrap();
        assert_eq!(declared, r.body.len());
        assert!(
            r.body.len() * 4 < plain.body.len(),
            "{} compressed vs {} plain",
            r.body.len(),
            plain.body.len()
        );
        assert_eq!(r.gunzip(), plain.body, "{asked}");
    }

    let missing = format!("/v1/{}/csms/nothing", emu.project_id());
    let error = get(&emu, &missing, &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(error.status, 404);
    assert_eq!(error.header("content-encoding"), Some("gzip"));
    let body: serde_json::Value = serde_json::from_slice(&error.gunzip()).unwrap();
    assert_eq!(body["error_code"], "APIGW.0101", "{body}");
    emu.shutdown().await.unwrap();
}

/// `gzip: false` (`--no-gzip`) never compresses; `gzip_unasked` compresses even unasked.
#[tokio::test]
async fn gzip_switch_and_the_unasked_fault() {
    let off = start(
        50,
        Faults::default(),
        Wire {
            gzip: false,
            ..Wire::default()
        },
    )
    .await;
    let r = get(&off, &page(&off, 50), &[("Accept-Encoding", "gzip")]).await;
    assert_eq!((r.status, r.header("content-encoding")), (200, None));
    assert_eq!(r.header("vary"), None);
    serde_json::from_slice::<serde_json::Value>(&r.body).unwrap();
    let plain = r.body;

    let unasked = Wire {
        gzip_unasked: true,
        ..Wire::default()
    };
    let emu = start(50, Faults::default(), unasked).await;
    for headers in [&[][..], &[("Accept-Encoding", "identity")]] {
        let r = get(&emu, &page(&emu, 50), headers).await;
        assert_eq!(r.header("content-encoding"), Some("gzip"), "{headers:?}");
        // Same seed, same hour: the same data set as `off`'s.
        assert_eq!(r.gunzip(), plain);
    }
    off.shutdown().await.unwrap();
    emu.shutdown().await.unwrap();
}

/// The bomb: a few KiB on the wire, sent compressed even unasked, 16 MiB of valid JSON inside.
#[tokio::test]
async fn gzip_bomb_is_small_on_the_wire_and_huge_inside() {
    let bomb = Wire {
        gzip_bomb_mib: Some(16),
        ..Wire::default()
    };
    let emu = start(50, Faults::default(), bomb).await;
    for _ in 0..2 {
        let r = get(&emu, &page(&emu, 50), &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        assert!(
            r.body.len() < 32 << 10,
            "{} bytes on the wire",
            r.body.len()
        );
        let json = r.gunzip();
        assert_eq!(json.len(), 16 << 20);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["total"], 0);
    }
    emu.shutdown().await.unwrap();
}

/// A cut body (the truncate fault) is cut after compression: the declared length is the
/// compressed one, and half of it arrives.
#[tokio::test]
async fn truncation_cuts_the_compressed_body() {
    let faults = Faults {
        truncate_every: Some(1),
        ..Faults::default()
    };
    let emu = start(200, faults, Wire::default()).await;
    let r = get(&emu, &page(&emu, 200), &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let declared: usize = r.header("content-length").unwrap().parse().unwrap();
    assert_eq!(r.body.len(), declared / 2);
    let mut out = Vec::new();
    assert!(GzDecoder::new(&r.body[..]).read_to_end(&mut out).is_err());
    emu.shutdown().await.unwrap();
}

/// `Stats::bytes_sent` is exactly what clients received, headers included.
#[tokio::test]
async fn bytes_sent_counts_every_byte_on_the_wire() {
    let emu = start(300, Faults::default(), Wire::default()).await;
    let mut received = 0;
    for headers in [&[][..], &[("Accept-Encoding", "gzip")]] {
        received += get(&emu, &page(&emu, 300), headers).await.wire_bytes;
    }
    received += get(&emu, "/nowhere", &[]).await.wire_bytes;
    assert_eq!(emu.stats().bytes_sent, received as u64);
    emu.shutdown().await.unwrap();
}

/// At 2,000 kbit/s (250,000 bytes/s) a page of ~330 KB takes at least its size over the rate,
/// less the one chunk that goes at once. Only the lower bound is asserted.
#[tokio::test]
async fn bandwidth_pacing_holds_the_rate() {
    const KBPS: u32 = 2_000;
    let paced = Wire {
        bandwidth_kbps: Some(KBPS),
        ..Wire::default()
    };
    let emu = start(1000, Faults::default(), paced).await;
    let started = Instant::now();
    let r = get(&emu, &page(&emu, 1000), &[]).await;
    let elapsed = started.elapsed();
    assert_eq!(r.status, 200);
    assert!(r.wire_bytes > 200_000, "{} bytes", r.wire_bytes);
    assert_eq!(emu.stats().bytes_sent, r.wire_bytes as u64);

    let bytes_per_sec = f64::from(KBPS) * 1000.0 / 8.0;
    let floor = (r.wire_bytes - chunk_size(bytes_per_sec)) as f64 / bytes_per_sec;
    assert!(
        elapsed.as_secs_f64() >= floor,
        "{} bytes in {elapsed:?}, faster than {KBPS} kbit/s allows ({floor:.3} s)",
        r.wire_bytes
    );
    emu.shutdown().await.unwrap();
}
