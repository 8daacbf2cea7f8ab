//! Time bounds (issue 13, points 5 and 8): per-request timeouts, the `timeouts { read }` block,
//! the shared "endpoint down" verdict, DEBUG lines for requests that wait, throttling waited out
//! within the read's deadline, and the immediate retry of a request whose kept-alive connection
//! the server had closed.
//!
//! The client-level tests prove each mechanism with short settings against servers on
//! 127.0.0.1; the Terraform tests run the real CLI with the provider's defaults.

use crate::common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::listing::list_all;
use common::terraform::{emulator_with, tasks_requests, workdir, Workdir, AK, PROVIDER, SK};
use csms_provider::csms::{Client, ClientConfig, Error, RetryPolicy, Timeouts};
use csms_provider::emulator::{self, Faults};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// A server whose answering is switched at run time.

/// How [`Endpoint`] treats requests.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Reads requests and never answers (holds the connection, at most 200 s).
    Silent,
    /// Answers every request with [`PAGE`] after `delay`, keeping the connection alive.
    Answer { delay: Duration },
    /// Answers with [`PAGE`] in pieces of 8 bytes, `gap` apart: a big page over a slow link.
    Trickle { gap: Duration },
    /// Answers the first request of each connection; reads the second and closes the
    /// connection without a byte of answer, as a server closing an idle keep-alive connection
    /// just as a request arrives does.
    CloseSecond,
}

/// One page with one task, no next marker: a whole listing in one request.
const PAGE: &str = r#"{"total":1,"tasks":[{"task_id":"t-1","secret_name":"s","task_status":"SUCCESS","task_time":1000}]}"#;

struct Endpoint {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Endpoint {
    async fn start(mode: Mode) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (m, c, r) = (mode.clone(), connections.clone(), requests.clone());
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, m.clone(), r.clone()));
            }
        });
        Endpoint {
            addr,
            mode,
            connections,
            requests,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut stream: tokio::net::TcpStream,
    mode: Arc<Mutex<Mode>>,
    requests: Arc<AtomicUsize>,
) {
    let mut buf = Vec::new();
    let mut on_this_connection = 0;
    loop {
        // Requests are GETs without a body: a request ends at its blank line.
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout(Duration::from_secs(200), stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => return,
            }
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        buf.drain(..end);
        requests.fetch_add(1, Ordering::SeqCst);
        on_this_connection += 1;
        let current = *mode.lock().unwrap();
        match current {
            Mode::Silent => continue,
            Mode::CloseSecond if on_this_connection >= 2 => return,
            Mode::CloseSecond => {}
            Mode::Answer { delay } => tokio::time::sleep(delay).await,
            Mode::Trickle { gap } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    PAGE.len()
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for piece in PAGE.as_bytes().chunks(8) {
                    tokio::time::sleep(gap).await;
                    if stream.write_all(piece).await.is_err() {
                        return;
                    }
                }
                continue;
            }
        }
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{PAGE}",
            PAGE.len()
        );
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A client of `url` with short waits: 300 ms for a response, backoff of at most 40 ms.
fn client(url: &str, max_retries: u32, timeouts: Timeouts) -> Client {
    Client::new(ClientConfig {
        endpoint: Some(url.into()),
        project_id: Some("p".into()),
        access_key: AK.into(),
        secret_key: SK.into(),
        deadline: Duration::from_secs(20),
        timeouts,
        retry: RetryPolicy {
            max_retries,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(40),
            retry_after_cap: Duration::from_secs(2),
        },
        ..ClientConfig::default()
    })
    .unwrap()
}

fn short() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(300),
        response: Duration::from_millis(300),
        body_idle: Duration::from_millis(300),
        still_waiting: Duration::from_millis(100),
        down_for: Duration::from_secs(60),
    }
}

fn transport_message(e: &Error) -> &str {
    match e {
        Error::Transport { message, .. } => message,
        other => panic!("not a transport error: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The client, with short settings.

/// A server that never answers costs each try `timeouts.response`, not more: three tries, then
/// the error says what happened. The next read fails at once with the same cause, sending
/// nothing; once the verdict has expired, a read goes through again.
#[tokio::test]
async fn a_silent_endpoint_times_out_per_try_and_later_reads_fail_fast_with_its_cause() {
    let server = Endpoint::start(Mode::Silent).await;
    let c = client(
        &server.url(),
        2,
        Timeouts {
            down_for: Duration::from_secs(2),
            ..short()
        },
    );
    let first = list_all(&c).await.unwrap_err();
    let message = transport_message(&first).to_string();
    assert!(message.contains("no response within 0.3s"), "{first}");
    assert!(
        matches!(
            first,
            Error::Transport {
                timeout: true,
                retries: 2,
                ..
            }
        ),
        "{first:?}"
    );
    assert_eq!(server.requests(), 3, "one request per try");

    let second = list_all(&c).await.unwrap_err();
    let fast = transport_message(&second);
    assert!(fast.starts_with(&message), "same cause: {second}");
    assert!(
        fast.contains("not sent: another request to this endpoint"),
        "{second}"
    );
    assert_eq!(server.requests(), 3, "the verdict sends nothing");

    // The server recovers; reads fail fast until the verdict expires, then one gets through.
    server.set(Mode::Answer {
        delay: Duration::ZERO,
    });
    let mut outcome = list_all(&c).await;
    for _ in 0..100 {
        if outcome.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        outcome = list_all(&c).await;
    }
    assert_eq!(
        outcome
            .expect("a read after the verdict expired")
            .items
            .tasks
            .len(),
        1
    );
}

/// Refused connections make the verdict too: the next read fails at once, without a retry,
/// naming the refusal.
#[tokio::test]
async fn a_refused_endpoint_fails_later_reads_fast() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let c = client(&refused_url, 1, short());
    let first = list_all(&c).await.unwrap_err();
    assert!(
        transport_message(&first).contains("cannot connect"),
        "{first}"
    );
    let second = list_all(&c).await.unwrap_err();
    assert!(
        transport_message(&second).contains("not sent: another request to this endpoint"),
        "{second}"
    );
    assert!(
        matches!(second, Error::Transport { retries: 0, .. }),
        "{second:?}"
    );
}

/// A body that keeps coming is read however long it takes in all (here 1.4 s, four times the
/// response timeout); a body that stops for longer than `body_idle` fails, saying so.
#[tokio::test]
async fn a_slow_body_is_read_while_it_keeps_coming_and_a_stalled_one_fails() {
    let server = Endpoint::start(Mode::Trickle {
        gap: Duration::from_millis(100),
    })
    .await;
    let c = client(&server.url(), 0, short());
    let listing = list_all(&c).await.expect("a slow page is read whole");
    assert_eq!(listing.items.tasks.len(), 1);

    server.set(Mode::Trickle {
        gap: Duration::from_millis(900),
    });
    let e = list_all(&c).await.unwrap_err();
    assert!(matches!(e, Error::Transport { timeout: true, .. }), "{e:?}");
    assert!(
        transport_message(&e).contains(
            "the response body stopped arriving (HTTP 200, 0 bytes read, nothing more for 0.3s)"
        ),
        "{e}"
    );
}

/// A kept-alive connection that the server closes as the next request arrives costs no try:
/// with no retries allowed, the second listing still succeeds, on a new connection.
#[tokio::test]
async fn a_closed_keep_alive_connection_is_retried_at_once_without_counting() {
    let server = Endpoint::start(Mode::CloseSecond).await;
    let c = client(&server.url(), 0, short());
    assert_eq!(list_all(&c).await.unwrap().requests, 1);
    let second = list_all(&c).await.expect("retried on a new connection");
    assert_eq!(second.items.tasks.len(), 1);
    assert_eq!(
        second.requests, 2,
        "the request that met the closed connection, and its resend"
    );
    assert_eq!((server.connections(), server.requests()), (2, 3));
}

// ---------------------------------------------------------------------------------------------
// Real Terraform, the provider's defaults.

fn data_sources(n: usize, body: &str) -> String {
    (0..n)
        .map(|i| {
            format!(
                "data \"csms_rotation_tasks\" \"d{i}\" {{\n  secret_name = \"s{i}\"\n{body}}}\n"
            )
        })
        .collect()
}

/// The provider's lines of Terraform's log in `run`'s stderr.
/// The first of `lines` that contains every one of `needles`.
#[track_caller]
fn line_with<'a>(lines: &[&'a str], needles: &[&str]) -> &'a str {
    lines
        .iter()
        .find(|l| needles.iter().all(|n| l.contains(n)))
        .unwrap_or_else(|| panic!("no provider line with {needles:?}:\n{}", lines.join("\n")))
}

fn pointed_at(url: &str, config: &str) -> Workdir {
    Workdir::new(&[("main.tf", &format!("{PROVIDER}\n{config}"))]).emulator_env(url, "p", AK, SK)
}

/// The issue's bound: against an endpoint that accepts connections and never answers, a plan
/// with five data sources fails in under 150 seconds with the defaults (10 s per try, six
/// tries, backoff), naming the cause; DEBUG shows the requests waiting meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_endpoint_with_five_data_sources_fails_the_plan_in_under_150_seconds() {
    let server = Endpoint::start(Mode::Silent).await;
    let dir = pointed_at(&server.url(), &data_sources(5, ""));
    let start = Instant::now();
    let run = dir
        .run_within(
            &["plan", "-input=false", "-no-color"],
            &[("TF_LOG_PROVIDER", "DEBUG")],
            Duration::from_secs(200),
        )
        .await;
    let took = start.elapsed();
    assert!(took < Duration::from_secs(150), "the plan took {took:?}");
    run.assert_error(&[
        "Cannot reach the CSMS API",
        "timed out: no response within 10s of sending the request",
    ]);
    let provider_lines = run.provider_log_lines();
    let waiting = line_with(&provider_lines, &["still waiting for a response"]);
    assert!(
        waiting.contains("attempt=1") && waiting.contains("waited_ms="),
        "{waiting}"
    );
    let sixth = line_with(&provider_lines, &["no answer", "attempt=6"]);
    assert!(
        sixth.contains("no answer") && sixth.contains("latency_ms="),
        "{sixth}"
    );
    assert!(server.requests() >= 6, "{} requests", server.requests());
}

/// With reads one at a time, the first read's verdict makes the others fail at once through
/// the same provider process, with the first one's cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_endpoint_fails_the_later_reads_of_a_plan_at_once() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = pointed_at(&url, &data_sources(3, ""));
    let run = dir
        .run(&["plan", "-input=false", "-no-color", "-parallelism=1"])
        .await;
    run.assert_error(&["Cannot reach the CSMS API", "cannot connect"]);
    let fast = common::terraform::fold(&run.output())
        .matches("not sent: another request to this endpoint")
        .count();
    assert_eq!(fast, 2, "{}", run.output());
}

/// Issue 21, item 4: reads running in parallel against a refused endpoint, some in the middle of
/// their retries when another's verdict arrives: each diagnostic says "not sent" at most once,
/// never once per retry that met the verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_reads_that_meet_the_verdict_say_not_sent_once() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = pointed_at(&url, &data_sources(10, ""))
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&["Cannot reach the CSMS API", "cannot connect"]);
    let output = common::terraform::fold(&run.output());
    let diagnostics: Vec<&str> = output.split("Error: ").skip(1).collect();
    assert_eq!(diagnostics.len(), 10, "{output}");
    for d in &diagnostics {
        assert!(d.matches("not sent").count() <= 1, "{d}");
    }
}

/// Issue 21, item 4: the hint of a read that timed out names `since` only where it is not set
/// yet; a block that sets it is told of the filters alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_since_hint_is_given_only_where_since_is_not_set() {
    let server = Endpoint::start(Mode::Silent).await;
    let timeout = "  timeouts {\n    read = \"2s\"\n  }\n";
    for (since, hinted) in [("", true), ("  since = \"2026-01-01T00:00:00Z\"\n", false)] {
        let run = pointed_at(
            &server.url(),
            &data_sources(1, &format!("{since}{timeout}")),
        )
        .run(&["plan", "-input=false", "-no-color"])
        .await;
        run.assert_error(&[
            "Reading rotation tasks timed out",
            "`secret_name` or `status` filter",
        ]);
        let output = common::terraform::fold(&run.output());
        assert_eq!(
            output.contains("`since` keeps"),
            hinted,
            "since {since:?}:\n{output}"
        );
    }
}

/// `timeouts { read = "5s" }` bounds the read: against a silent endpoint the plan fails with
/// the 5 s deadline, not after the per-try timeouts. A bad value is refused on
/// `timeouts.read` before any request; a good one is echoed in the state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_read_is_honoured_validated_and_echoed() {
    let server = Endpoint::start(Mode::Silent).await;
    let dir = pointed_at(
        &server.url(),
        &data_sources(1, "  timeouts {\n    read = \"5s\"\n  }\n"),
    );
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    run.assert_error(&[
        "Reading rotation tasks timed out",
        "Deadline of 5s exceeded after 1 requests",
        "`timeouts { read = \"...\" }` (default 5m)",
    ]);

    let bad = pointed_at(
        &server.url(),
        &data_sources(1, "  timeouts {\n    read = \"5 minutes\"\n  }\n"),
    );
    let before = server.requests();
    bad.run(&["plan", "-input=false", "-no-color"])
        .await
        .assert_error(&[
            "Invalid timeouts.read",
            "\"5 minutes\"",
            "which is not a duration",
        ]);
    assert_eq!(server.requests(), before, "nothing sent for a bad block");

    let emu = emulator_with(emulator::generate(5, 3), Faults::default()).await;
    let echoed = workdir(
        &emu,
        "data \"csms_rotation_tasks\" \"q\" {\n  timeouts {\n    read = \"1m30s\"\n  }\n}\n\
         output \"read\" { value = data.csms_rotation_tasks.q.timeouts.read }\n\
         output \"n\" { value = length(data.csms_rotation_tasks.q.tasks) }\n",
    );
    // DEBUG logs every answer with its status, latency and attempt number.
    let logged = echoed.plan_with_debug_log().await;
    logged.assert_ok();
    let answered = line_with(&logged.provider_log_lines(), &["answered"]);
    for field in ["attempt=1", "status=200", "latency_ms=", "bytes="] {
        assert!(answered.contains(field), "{field}: {answered}");
    }
    assert!(!logged.output().contains(SK), "secret key in the log");
    let outputs = echoed.apply_outputs().await;
    assert_eq!(outputs["read"], "1m30s");
    assert_eq!(outputs["n"], 5);
}

/// The issue's throttling bound: 50 data sources against a service that throttles 30% of the
/// requests at random (`Retry-After: 1`) give the exact tasks in 20 plans of 20. Four plans run
/// at a time, so the test stays near a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_data_sources_at_30_percent_throttling_are_exact_in_20_of_20_plans() {
    let data = emulator::generate(30, 13);
    let emu = emulator_with(
        data.clone(),
        Faults {
            throttle_percent: Some(30),
            retry_after_secs: 1,
            ..Faults::default()
        },
    )
    .await;
    let expected = common::terraform::newest_first_ids(&data).join(",");
    let config = format!(
        "data \"csms_rotation_tasks\" \"q\" {{\n  count = 50\n  lifecycle {{\n    postcondition {{\n      \
         condition     = join(\",\", [for t in self.tasks : t.task_id]) == \"{expected}\" && self.total == {}\n      \
         error_message = \"inexact\"\n    }}\n  }}\n}}\n",
        data.len()
    );
    let dirs: Vec<Arc<Workdir>> = (0..4).map(|_| Arc::new(workdir(&emu, &config))).collect();
    let mut exact = 0;
    for _round in 0..5 {
        let plans: Vec<_> = dirs
            .iter()
            .map(|d| {
                let d = d.clone();
                tokio::spawn(async move { d.run(&["plan", "-input=false", "-no-color"]).await })
            })
            .collect();
        for plan in plans {
            plan.await.expect("the plan task ends").assert_ok();
            exact += 1;
        }
    }
    assert_eq!(exact, 20);
    // 1000 reads of one page each; at 30% throttling about 430 more requests were needed.
    let requests = tasks_requests(&emu);
    assert!(
        requests > 1150,
        "{requests} requests: was anything throttled?"
    );
}
