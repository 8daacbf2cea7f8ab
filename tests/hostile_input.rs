//! Hostile input: seeded random (fuzz-style) tests of every decoder that reads bytes the
//! provider does not control. The ListSecretTask page decoder (as the client runs it, over
//! HTTP, and as a bare `serde_json` call), the error-body parser, `Retry-After`, and the
//! DynamicValue codec Terraform's requests go through. Each must return a value or an error:
//! no panic, no allocation the input's size does not justify (a msgpack header claiming 2^32
//! elements must not allocate them), and the properties each test names.
//!
//! Budget: `CSMS_FUZZ_CASES` cases per target (default 2000, a few seconds in CI); longer runs
//! set it higher, e.g. `CSMS_FUZZ_CASES=200000 cargo test --release --test hostile_input`.
//! `CSMS_FUZZ_SEED` replays a run; every failure message names the seed and the case.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use common::msgpack::encode as encode_msgpack;
use common::scripted_server::{Reply, ScriptedServer};
use csms_provider::csms::error::{excerpt, parse_error_body, EXCERPT_CHARS, FIELD_CHARS};
use csms_provider::csms::retry::parse_retry_after;
use csms_provider::csms::text::is_unsafe;
use csms_provider::csms::{
    Client, ClientConfig, Error, RetryPolicy, SecretTask, TaskPage, TaskQuery,
};
use csms_provider::plugin::codec::{decode, decode_json, decode_msgpack};
use csms_provider::plugin::proto::tfplugin6::DynamicValue;
use csms_provider::plugin::Value;
use serde_json::{json, Value as Json};

// ---------------------------------------------------------------------------------------------
// Allocation accounting: the bytes live on the current thread and their high-water mark, so a
// test can measure the peak of one call while other tests run on other threads.

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as isize));
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size as isize - layout.size() as isize);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most bytes it had allocated at any one time.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get) - base;
    (out, peak.max(0) as usize)
}

/// The most a decoder may hold for an input of `len` bytes: a constant for buffers (rmpv
/// preallocates up to 64 KiB for a string) plus a linear factor for the decoded tree (every
/// input byte can become a small node, e.g. msgpack `nil` in an array). Declared lengths do
/// not count: only bytes actually present do.
fn allocation_budget(len: usize) -> usize {
    1024 * 1024 + 160 * len
}

// ---------------------------------------------------------------------------------------------
// Budget and generators.

fn cases() -> usize {
    std::env::var("CSMS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn seed() -> u64 {
    std::env::var("CSMS_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EC_0001)
}

/// Runs `body(rng, case)` for every case with a reproducible per-case generator and reports the
/// budget spent on stderr (`cargo test -- --nocapture` shows it).
fn fuzz(target: &str, mut body: impl FnMut(&mut fastrand::Rng, usize)) {
    let (n, seed) = (cases(), seed());
    let start = Instant::now();
    for case in 0..n {
        let mut rng = fastrand::Rng::with_seed(seed ^ (case as u64).wrapping_mul(0x9E37_79B9));
        body(&mut rng, case);
    }
    eprintln!("{target}: {n} cases (seed {seed}) in {:?}", start.elapsed());
}

const NASTY_CHARS: &[char] = &[
    '\0', '\u{7}', '\u{1b}', '\n', '\r', '\t', '"', '\\', '<', '>', '&', '%', ' ', '\u{a0}',
    '\u{200b}', '\u{202e}', 'é', '中', '😀', '\u{fffd}', '\u{7f}', '\u{85}',
];

fn nasty_string(rng: &mut fastrand::Rng, max: usize) -> String {
    let len = rng.usize(0..=max);
    (0..len)
        .map(|_| match rng.u8(..3) {
            0 => NASTY_CHARS[rng.usize(..NASTY_CHARS.len())],
            _ => rng.alphanumeric(),
        })
        .collect()
}

/// Any JSON value, nesting at most `depth` levels.
fn any_json(rng: &mut fastrand::Rng, depth: u32) -> Json {
    match rng.u8(..if depth == 0 { 6 } else { 8 }) {
        0 => Json::Null,
        1 => json!(rng.bool()),
        2 => json!(rng.i64(..)),
        3 => json!(rng.f64() * 1e300 * if rng.bool() { 1.0 } else { -1.0 }),
        4 => json!(rng.u64(..)),
        5 => json!(nasty_string(rng, 24)),
        6 => Json::Array(
            (0..rng.usize(0..5))
                .map(|_| any_json(rng, depth - 1))
                .collect(),
        ),
        _ => Json::Object(
            (0..rng.usize(0..5))
                .map(|_| (nasty_string(rng, 8), any_json(rng, depth - 1)))
                .collect(),
        ),
    }
}

fn task_json(rng: &mut fastrand::Rng) -> Json {
    let mut t = json!({
        "task_id": format!("t-{}", rng.u32(..)),
        "secret_name": nasty_string(rng, 16),
        "rotation_func_urn": "urn:fss:cn-north-4:p:function:default:rotate",
        "task_status": if rng.bool() { "SUCCESS" } else { "FAILED" },
        "operate_type": "MULTI_USER",
        "task_time": rng.i64(0..2_000_000_000_000),
        "attempt_nums": rng.i64(0..5),
        "task_error_code": null,
        "task_error_msg": nasty_string(rng, 40),
    });
    // Some fields absent, some unknown ones added: both must be tolerated.
    let obj = t.as_object_mut().unwrap();
    for key in ["secret_name", "task_time", "attempt_nums", "task_error_msg"] {
        if rng.u8(..4) == 0 {
            obj.remove(key);
        }
    }
    if rng.bool() {
        obj.insert(format!("x_{}", rng.u16(..)), any_json(rng, 2));
    }
    t
}

fn page_json(rng: &mut fastrand::Rng) -> Json {
    let tasks: Vec<Json> = (0..rng.usize(0..6)).map(|_| task_json(rng)).collect();
    json!({ "total": rng.i64(0..1000), "tasks": tasks, "next_marker": format!("t-{}", rng.u32(..)) })
}

/// Replaces the value of a random field (top level or inside a task) with a random JSON value
/// of any type, e.g. `"tasks": "oops"` or `"task_time": "x"`.
fn with_wrong_type(rng: &mut fastrand::Rng, mut page: Json) -> Json {
    let wrong = any_json(rng, 2);
    let tasks_len = page["tasks"].as_array().map_or(0, Vec::len);
    if tasks_len > 0 && rng.bool() {
        let task = &mut page["tasks"][rng.usize(..tasks_len)];
        let keys: Vec<String> = task.as_object().unwrap().keys().cloned().collect();
        task[&keys[rng.usize(..keys.len())]] = wrong;
    } else {
        let key = ["total", "tasks", "next_marker"][rng.usize(..3)];
        page[key] = wrong;
    }
    page
}

const TOKENS: &[&[u8]] = &[
    b"null",
    b"\"x\"",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b"1e999",
    b"-",
    b"\\u0000",
    b"\\ud800",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"\"",
    b"\xff\xfe",
    b"0.5",
    b"true",
    b"\"tasks\":",
    b"\"total\":",
];

/// Byte-level mutations of `bytes`: flips, truncation, insertion of JSON tokens, duplication.
fn mutate(rng: &mut fastrand::Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.usize(1..=4) {
        let len = bytes.len();
        match rng.u8(..5) {
            0 if len > 0 => bytes[rng.usize(..len)] ^= 1 << rng.u8(..8),
            1 if len > 0 => bytes.truncate(rng.usize(..len)),
            2 => {
                let at = rng.usize(..=len);
                let token = TOKENS[rng.usize(..TOKENS.len())];
                bytes.splice(at..at, token.iter().copied());
            }
            3 if len > 0 => {
                let a = rng.usize(..len);
                let b = rng.usize(a..=len.min(a + 64));
                let chunk = bytes[a..b].to_vec();
                let at = rng.usize(..=bytes.len());
                bytes.splice(at..at, chunk);
            }
            _ => {
                let at = rng.usize(..=len);
                bytes.insert(at, rng.u8(..));
            }
        }
    }
    bytes
}

fn random_bytes(rng: &mut fastrand::Rng, max: usize) -> Vec<u8> {
    (0..rng.usize(0..=max)).map(|_| rng.u8(..)).collect()
}

// ---------------------------------------------------------------------------------------------
// The ListSecretTask page decoder.

fn decode_page(bytes: &[u8]) -> Result<TaskPage, serde_json::Error> {
    serde_json::from_slice::<TaskPage>(bytes)
}

/// Checks what must hold of any decode: bounded allocation, and a decoded page re-encodes to
/// a page that decodes to the same value.
#[track_caller]
fn check_page_decode(bytes: &[u8], what: &str) -> Option<TaskPage> {
    let (result, peak) = peak_of(|| decode_page(bytes));
    assert!(
        peak <= allocation_budget(bytes.len()),
        "{what}: decoding {} bytes allocated {peak} bytes",
        bytes.len()
    );
    let page = result.ok()?;
    let again = decode_page(&serde_json::to_vec(&page).unwrap()).unwrap();
    assert_eq!(again, page, "{what}: re-encoding changed the page");
    Some(page)
}

/// Valid pages with absent and unknown fields decode to exactly their tasks; a wrong type in any
/// documented field is an error (never a silently defaulted value); mutated bytes and random
/// bytes never panic and never allocate beyond their size.
#[test]
fn page_decoder_survives_hostile_bodies() {
    let mut wrong_types = 0;
    fuzz("page decoder", |rng, case| {
        let page = page_json(rng);
        let bytes = serde_json::to_vec(&page).unwrap();
        let decoded = check_page_decode(&bytes, &format!("valid page, case {case}"))
            .unwrap_or_else(|| panic!("case {case}: a valid page was refused: {page}"));
        let want: Vec<&str> = page["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["task_id"].as_str().unwrap())
            .collect();
        let got: Vec<&str> = decoded.tasks.iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(got, want, "case {case}");

        let broken = with_wrong_type(rng, page.clone());
        let result = check_page_decode(
            &serde_json::to_vec(&broken).unwrap(),
            &format!("wrong type, case {case}"),
        );
        if let Some(decoded) = result {
            // Accepted only when the substitute has a type the field allows.
            let reencoded = serde_json::to_value(&decoded).unwrap();
            for key in ["total", "next_marker"] {
                let sent = &broken[key];
                assert!(
                    sent.is_null() || reencoded[key] == *sent,
                    "case {case}: {key} {sent} was decoded as {}",
                    reencoded[key]
                );
            }
        } else {
            wrong_types += 1;
        }

        check_page_decode(&mutate(rng, bytes), &format!("mutated, case {case}"));
        check_page_decode(&random_bytes(rng, 256), &format!("random, case {case}"));
    });
    assert!(
        wrong_types > cases() / 2,
        "most wrong types must be refused, only {wrong_types} were"
    );
}

/// Inputs chosen to hurt: deep nesting (no stack overflow), huge numbers, the shapes a broken
/// gateway sends. Each is a decode error; none allocates beyond its size.
#[test]
fn page_decoder_refuses_crafted_bodies() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_tasks = format!(r#"{{"tasks":[{}]}}"#, "{\"a\":".repeat(50_000));
    let long_string = format!(r#"{{"tasks":[{{"task_id":"{}"}}]}}"#, "x".repeat(1 << 20));
    let crafted: Vec<(&str, Vec<u8>)> = vec![
        (
            "tasks is a string",
            br#"{"total":1,"tasks":"oops"}"#.to_vec(),
        ),
        (
            "task_time is a string",
            br#"{"tasks":[{"task_id":"a","task_time":"x"}]}"#.to_vec(),
        ),
        (
            "total beyond i64",
            br#"{"total":18446744073709551616,"tasks":[]}"#.to_vec(),
        ),
        (
            "total is a float",
            br#"{"total":1e400,"tasks":[]}"#.to_vec(),
        ),
        (
            "task_id missing",
            br#"{"tasks":[{"secret_name":"a"}]}"#.to_vec(),
        ),
        (
            "task_id is a number",
            br#"{"tasks":[{"task_id":7}]}"#.to_vec(),
        ),
        (
            "lone surrogate",
            br#"{"tasks":[{"task_id":"\ud800"}]}"#.to_vec(),
        ),
        (
            "invalid UTF-8",
            b"{\"tasks\":[{\"task_id\":\"\xff\"}]}".to_vec(),
        ),
        ("top-level array", b"[]".to_vec()),
        ("empty object", b"{}".to_vec()),
        (
            "no tasks field",
            br#"{"total":3,"next_marker":"m"}"#.to_vec(),
        ),
        ("null", b"null".to_vec()),
        ("empty body", Vec::new()),
        ("trailing garbage", br#"{"tasks":[]} {"#.to_vec()),
        ("deep arrays", deep.into_bytes()),
        ("deep objects", deep_tasks.into_bytes()),
    ];
    for (what, bytes) in &crafted {
        assert!(
            check_page_decode(bytes, what).is_none(),
            "{what} was accepted"
        );
    }
    let page = check_page_decode(long_string.as_bytes(), "long task id").unwrap();
    assert_eq!(page.tasks[0].task_id.len(), 1 << 20);
}

/// The real client, over HTTP, on mutated and wrong-typed pages from a local server: every
/// listing ends within its deadline in the exact tasks, or in an error that names the body as
/// the problem (`Error::Decode`) or the paging (`Error::Paging`); never a panic or a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ends_every_hostile_listing_with_tasks_or_a_named_error() {
    let budget = (cases() / 20).max(50);
    let seed = seed();
    let bodies: Vec<(Vec<u8>, Option<Vec<String>>)> = (0..budget)
        .map(|case| {
            let mut rng = fastrand::Rng::with_seed(seed ^ case as u64);
            let page = page_json(&mut rng);
            let mut page = page.as_object().unwrap().clone();
            page.remove("next_marker"); // one page: the expected set is this page's
            let page = Json::Object(page);
            let ids: Vec<String> = page["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["task_id"].as_str().unwrap().to_string())
                .collect();
            let ids = distinct(ids);
            match rng.u8(..3) {
                0 => (serde_json::to_vec(&page).unwrap(), Some(ids)),
                1 => (
                    serde_json::to_vec(&with_wrong_type(&mut rng, page)).unwrap(),
                    None,
                ),
                _ => (mutate(&mut rng, serde_json::to_vec(&page).unwrap()), None),
            }
        })
        .collect();
    let served = std::sync::Arc::new(bodies.clone());
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (s, n) = (served.clone(), next.clone());
    let server = ScriptedServer::start(move |_, _| {
        let i = n.load(std::sync::atomic::Ordering::SeqCst);
        Reply::raw(200, "application/json", &s[i].0)
    })
    .await;
    let client = Client::new(ClientConfig {
        endpoint: Some(server.url()),
        project_id: Some("p".into()),
        access_key: "AK".into(),
        secret_key: "SK".into(),
        deadline: Duration::from_secs(5),
        retry: RetryPolicy {
            max_retries: 1,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(1),
            retry_after_cap: Duration::from_millis(1),
        },
        ..ClientConfig::default()
    })
    .unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let (mut exact, mut errors) = (0, 0);
    let start = Instant::now();
    for (i, (body, expected)) in bodies.iter().enumerate() {
        next.store(i, std::sync::atomic::Ordering::SeqCst);
        let result = tokio::time::timeout(
            Duration::from_secs(10),
            client.list_tasks(&TaskQuery::default(), &cancel),
        )
        .await
        .unwrap_or_else(|_| panic!("case {i}: the listing hung"));
        match (result, expected) {
            (Ok(listing), Some(ids)) => {
                let got = task_ids(&listing);
                assert_eq!(&got, ids, "case {i}");
                assert_inert(&listing, body, i);
                exact += 1;
            }
            (Ok(listing), None) => {
                // A mutation that still decodes: the result must be what the body says.
                let page: TaskPage = serde_json::from_slice(body).unwrap_or_else(|e| {
                    panic!("case {i}: client accepted a body serde refuses ({e})")
                });
                let want = distinct(page.tasks.iter().map(|t| t.task_id.clone()).collect());
                let got = task_ids(&listing);
                assert!(
                    got == want || !listing.warnings.is_empty(),
                    "case {i}: partial list without a warning"
                );
            }
            (Err(Error::Decode { message, .. }), _) => {
                assert!(
                    message.contains("not the documented JSON") || message.contains("empty"),
                    "{message}"
                );
                errors += 1;
            }
            (Err(Error::Paging(_)), None) => errors += 1,
            (Err(e), _) => panic!("case {i}: unexpected error {e}"),
        }
    }
    eprintln!(
        "client over HTTP: {budget} listings ({exact} exact, {errors} named errors) in {:?}",
        start.elapsed()
    );
    assert!(exact > 0 && errors > 0, "{exact} exact, {errors} errors");
}

/// No text field of any task holds a character [`is_unsafe`] refuses (nor a newline, except the
/// error message), and the listing warns about replaced text exactly when the body (`raw`, first
/// occurrence of each task) had some.
fn assert_inert(
    listing: &csms_provider::csms::Listing<csms_provider::csms::Tasks>,
    raw: &[u8],
    case: usize,
) {
    const TEXT_FIELDS: [&str; 7] = [
        "task_id",
        "secret_name",
        "rotation_func_urn",
        "task_status",
        "operate_type",
        "task_error_code",
        "task_error_msg",
    ];
    let raw: Json = serde_json::from_slice(raw).unwrap();
    let mut seen = std::collections::HashSet::new();
    let had_unsafe = raw["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| seen.insert(t["task_id"].as_str().unwrap().to_string()))
        .any(|t| {
            // Only the error message may keep newlines; every other field is one line.
            let refused = |f: &str, c: char| is_unsafe(c) || (c == '\n' && f != "task_error_msg");
            TEXT_FIELDS.iter().any(|f| {
                t[f].as_str()
                    .is_some_and(|s| s.chars().any(|c| refused(f, c)))
            })
        });
    for t in &listing.items.tasks {
        for text in t.text_fields().into_iter().flatten() {
            assert!(!text.chars().any(is_unsafe), "case {case}: {text:?}");
        }
        assert!(
            !t.task_id.contains('\n')
                && !t.secret_name.as_deref().unwrap_or_default().contains('\n')
        );
    }
    let warned = listing.warnings.iter().any(|w| {
        matches!(
            w,
            csms_provider::csms::ListingWarning::ServiceTextReplaced(_)
        )
    });
    assert_eq!(warned, had_unsafe, "case {case}: {:?}", listing.warnings);
}

/// The ids of the tasks a listing kept, in its order.
fn task_ids(listing: &csms_provider::csms::Listing<csms_provider::csms::Tasks>) -> Vec<String> {
    listing
        .items
        .tasks
        .iter()
        .map(|t| t.task_id.clone())
        .collect()
}

fn distinct(ids: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter().filter(|i| seen.insert(i.clone())).collect()
}

// ---------------------------------------------------------------------------------------------
// Error bodies and Retry-After.

/// Whatever the error body (JSON of any shape, HTML, binary), the fields shown to the user hold
/// no control characters (no terminal escapes, no forged diagnostic lines) and are bounded.
#[test]
fn error_body_parser_output_is_printable_and_bounded() {
    fuzz("error-body parser", |rng, case| {
        let body: Vec<u8> = match rng.u8(..4) {
            0 => {
                let mut obj = serde_json::Map::new();
                for key in ["error_code", "error_msg", "request_id", "code", "message"] {
                    if rng.bool() {
                        let value = if rng.u8(..4) == 0 {
                            any_json(rng, 2)
                        } else {
                            json!(nasty_string(rng, 3000))
                        };
                        obj.insert(key.into(), value);
                    }
                }
                let v = if rng.bool() {
                    json!({ "error": obj })
                } else {
                    Json::Object(obj)
                };
                serde_json::to_vec(&v).unwrap()
            }
            1 => format!("<html><title>{}</title></html>", nasty_string(rng, 500)).into_bytes(),
            2 => {
                let json = serde_json::to_vec(&any_json(rng, 3)).unwrap();
                mutate(rng, json)
            }
            _ => random_bytes(rng, 2048),
        };
        let header_id = rng.bool().then(|| nasty_string(rng, 2000));
        let status = rng.u16(..);
        let (e, peak) = peak_of(|| parse_error_body(status, header_id.as_deref(), &body));
        assert!(
            peak <= allocation_budget(body.len()),
            "case {case}: {peak} bytes"
        );
        assert_eq!(e.status, status);
        for (name, field) in [
            ("code", &e.code),
            ("message", &e.message),
            ("request_id", &e.request_id),
        ] {
            if let Some(text) = field {
                assert!(
                    !text.chars().any(|c| c.is_control() || is_unsafe(c)),
                    "case {case}: {name} has a control or invisible character: {text:?}"
                );
                assert!(
                    text.chars().count() <= FIELD_CHARS.max(EXCERPT_CHARS) + 3,
                    "case {case}: {name} is {} characters",
                    text.chars().count()
                );
                assert!(!text.is_empty(), "case {case}: empty {name}");
            }
        }
        // What the provider renders must be printable too.
        let shown = Error::Service(e).to_string();
        assert!(
            !shown.chars().any(|c| c.is_control() || is_unsafe(c)),
            "case {case}: {shown:?}"
        );

        let ex = excerpt(&body);
        assert!(ex.chars().count() <= EXCERPT_CHARS + 3, "case {case}");
        assert!(
            !ex.chars().any(|c| c.is_control() || is_unsafe(c)),
            "case {case}: {ex:?}"
        );

        let header = nasty_string(rng, 40);
        let _ = parse_retry_after(&header, std::time::SystemTime::now());
    });
    for value in [
        "1e308",
        "inf",
        "NaN",
        "-1",
        "18446744073709551616",
        "1.5",
        "Wed, 21 Oct 2015 07:28:00 GMT",
    ] {
        let _ = parse_retry_after(value, std::time::SystemTime::now());
    }
}

// ---------------------------------------------------------------------------------------------
// The DynamicValue codec.

fn any_value(rng: &mut fastrand::Rng, depth: u32) -> Value {
    match rng.u8(..if depth == 0 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Unknown,
        2 => Value::Bool(rng.bool()),
        3 => Value::Number(match rng.u8(..4) {
            0 => rng.i64(..) as f64,
            1 => rng.f64() * 1e300,
            2 => -(rng.u32(..) as f64),
            _ => f64::from(rng.u16(..)) + 0.5,
        }),
        4 | 5 => Value::String(nasty_string(rng, 30)),
        6 => Value::List(
            (0..rng.usize(0..5))
                .map(|_| any_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.usize(0..5))
                .map(|_| (nasty_string(rng, 8), any_value(rng, depth - 1)))
                .collect(),
        ),
    }
}

#[track_caller]
fn check_msgpack(bytes: &[u8], what: &str) -> Option<Value> {
    let (result, peak) = peak_of(|| decode_msgpack(bytes));
    assert!(
        peak <= allocation_budget(bytes.len()),
        "{what}: decoding {} bytes allocated {peak} bytes",
        bytes.len()
    );
    result.ok()
}

/// Every value round-trips; mutated and random msgpack never panics and never allocates beyond
/// its size; JSON DynamicValues likewise.
#[test]
fn dynamic_value_decoder_survives_hostile_msgpack() {
    let mut refused = 0;
    fuzz("DynamicValue decoder", |rng, case| {
        let value = any_value(rng, 4);
        let bytes = encode_msgpack(&value);
        let decoded = check_msgpack(&bytes, &format!("valid, case {case}"))
            .unwrap_or_else(|| panic!("case {case}: {value:?} did not round-trip"));
        assert_eq!(decoded, value, "case {case}");
        let via_request = decode(Some(&DynamicValue {
            msgpack: bytes.clone(),
            json: Vec::new(),
        }))
        .unwrap();
        assert_eq!(via_request, value, "case {case}");

        if check_msgpack(&mutate(rng, bytes), &format!("mutated, case {case}")).is_none() {
            refused += 1;
        }
        check_msgpack(&random_bytes(rng, 256), &format!("random, case {case}"));

        let json = serde_json::to_vec(&any_json(rng, 3)).unwrap();
        let json_bytes = mutate(rng, json);
        let (_, peak) = peak_of(|| decode_json(&json_bytes));
        assert!(
            peak <= allocation_budget(json_bytes.len()),
            "case {case}: JSON {peak} bytes"
        );
    });
    assert!(
        refused > 0,
        "mutations were never refused: the check is vacuous"
    );
}

/// Length headers that promise far more than the input holds are refused without allocating
/// what they promise; nesting deeper than Terraform ever sends is refused without a stack
/// overflow.
#[test]
fn dynamic_value_decoder_refuses_lying_lengths_and_deep_nesting() {
    let mut crafted: Vec<(&str, Vec<u8>)> = vec![
        (
            "array32 of 2^32-1 elements",
            vec![0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0],
        ),
        (
            "map32 of 2^32-1 entries",
            vec![0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, b'a', 0xc0],
        ),
        (
            "str32 of 4 GiB",
            vec![0xdb, 0xff, 0xff, 0xff, 0xff, b'a', b'b'],
        ),
        ("bin32 of 4 GiB", vec![0xc6, 0xff, 0xff, 0xff, 0xff, 0]),
        (
            "ext32 of 4 GiB",
            vec![0xc9, 0xff, 0xff, 0xff, 0xff, 0, 1, 2],
        ),
        ("array16 of 65535 then EOF", vec![0xdc, 0xff, 0xff]),
        ("fixmap with integer key", vec![0x81, 0x01, 0xc0]),
        ("invalid UTF-8 string", vec![0xa2, 0xff, 0xfe]),
        ("trailing bytes", vec![0xc0, 0xc0]),
        ("empty input", Vec::new()),
        ("deep arrays", vec![0x91; 1_000_000]),
        ("deep maps", [0x81, 0xa1, b'k'].repeat(100_000)),
    ];
    // A million-element array of arrays of 4 GiB strings, each one cut short.
    let mut nested = vec![0xdd, 0x00, 0x0f, 0x42, 0x40];
    nested.extend([0xdb, 0xff, 0xff, 0xff, 0xff, b'x']);
    crafted.push(("array of huge strings", nested));
    for (what, bytes) in &crafted {
        assert!(check_msgpack(bytes, what).is_none(), "{what} was accepted");
    }
    for json in [&b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["[..], b"1e999"] {
        assert!(decode_json(json).is_err());
    }
    assert!(decode(None).is_err());
    assert!(decode(Some(&DynamicValue::default())).is_err());
    // 1 MiB of nil in one array (a quarter of gRPC's default message cap): linear, not worse.
    let mut flat = vec![0xdd, 0x00, 0x10, 0x00, 0x00];
    flat.extend(std::iter::repeat_n(0xc0, 1 << 20));
    let decoded = check_msgpack(&flat, "1 MiB array of nil").unwrap();
    assert!(matches!(&decoded, Value::List(items) if items.len() == 1 << 20));
}

/// What the emulator writes on the wire (its own spelling of the documented names) decodes in
/// the client to the same tasks: a drift between the two shapes fails here.
#[test]
fn emulator_pages_decode_as_client_pages() {
    let tasks: Vec<SecretTask> = csms_provider::emulator::generate(300, 7);
    let page = TaskPage {
        total: Some(300),
        tasks: tasks.clone(),
        next_marker: None,
    };
    let body = csms_provider::emulator::tasks::page_body(&page);
    let decoded = check_page_decode(&body, "emulator page").unwrap();
    assert_eq!(decoded.tasks, tasks);
}

/// A server started by `start` on its own thread and runtime, so that only the client's
/// allocations count on the test's thread; dropping the guard stops it.
struct Elsewhere {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Elsewhere {
    fn start<S: 'static>(
        start: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = (String, S)>>>
            + Send
            + 'static,
    ) -> Elsewhere {
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let (url, server) = start().await;
                url_tx.send(url).unwrap();
                let _ = stopped.await;
                drop(server);
            });
        });
        let url = url_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        Elsewhere {
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Elsewhere {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        let _ = self.thread.take().map(std::thread::JoinHandle::join);
    }
}

/// Lists from `url` on a current-thread runtime inside [`peak_of`], with the provider's own
/// store of kept tasks: the result and the peak of the allocations.
fn measured_listing(url: &str, project: &str) -> (Result<usize, Error>, usize) {
    use csms_provider::plugin::DataSource;
    use csms_provider::provider::rotation_tasks::{Kept, RotationTasks};
    let schema = RotationTasks::new(Default::default()).schema();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    peak_of(|| {
        rt.block_on(async {
            let client = Client::new(ClientConfig {
                endpoint: Some(url.to_string()),
                project_id: Some(project.to_string()),
                access_key: "AK".into(),
                secret_key: "SK".into(),
                deadline: Duration::from_secs(120),
                retry: RetryPolicy {
                    max_retries: 0,
                    ..RetryPolicy::default()
                },
                ..ClientConfig::default()
            })
            .unwrap();
            let kept = Kept::new(&schema).unwrap();
            client
                .list_tasks_into(
                    &TaskQuery::default(),
                    Duration::from_secs(120),
                    &Default::default(),
                    kept,
                )
                .await
                .map(|l| l.listed)
        })
    })
}

/// A gzip bomb (256 MiB of valid JSON in a few hundred KB) is refused at the body cap, which
/// counts decompressed bytes, with an error that names the cap; the client's allocations stay
/// bounded by the cap, not by what the bomb would decompress to.
#[test]
fn a_gzip_bomb_stops_at_the_decompressed_body_cap() {
    use csms_provider::csms::transport::MAX_BODY_BYTES;
    use csms_provider::emulator::{Config, Emulator, Wire};
    let server = Elsewhere::start(|| {
        Box::pin(async {
            let emu = Emulator::start(Config {
                wire: Wire {
                    gzip_bomb_mib: Some(256),
                    ..Wire::default()
                },
                ..Config::default()
            })
            .await
            .unwrap();
            (format!("{}#{}", emu.base_url(), emu.project_id()), emu)
        })
    });
    let (url, project) = server.url.split_once('#').unwrap();
    let (result, peak) = measured_listing(url, project);
    let text = result.unwrap_err().to_string();
    assert!(
        text.contains(&MAX_BODY_BYTES.to_string()),
        "the error names the cap: {text}"
    );
    assert!(
        peak < 3 * MAX_BODY_BYTES,
        "client allocated {peak} bytes for a 256 MiB bomb (cap {MAX_BODY_BYTES})"
    );
}

/// A service that invents valid pages for ever stops at the cap on tasks kept, and the memory
/// of the read (pages, de-duplication, the encoded tasks) stays within what that cap implies.
#[test]
fn endless_pages_stop_at_the_task_cap_in_bounded_memory() {
    use csms_provider::csms::pager::MAX_KEPT_ITEMS;
    let server = Elsewhere::start(|| {
        Box::pin(async {
            let server = ScriptedServer::start(|_, n| {
                let tasks: Vec<Json> = (n * 1000..(n + 1) * 1000)
                    .map(|i| {
                        json!({"task_id": format!("invented-{i:09}"), "secret_name": "endless",
                               "task_status": "SUCCESS", "task_time": 1_700_000_000_000i64 + i as i64})
                    })
                    .collect();
                let next = format!("invented-{:09}", (n + 1) * 1000 - 1);
                Reply::json(200, json!({"tasks": tasks, "next_marker": next}))
            })
            .await;
            (server.url(), server)
        })
    });
    let (result, peak) = measured_listing(&server.url, "p");
    let e = result.unwrap_err();
    assert!(
        matches!(e, Error::TooManyItems { cap, kept: true, .. } if cap == MAX_KEPT_ITEMS),
        "{e}"
    );
    // About 200 bytes of encoded task and 60 of index per task kept here; 1 KB would be a leak.
    assert!(
        peak < MAX_KEPT_ITEMS * 1024,
        "the read allocated {} MiB for {MAX_KEPT_ITEMS} tasks",
        peak >> 20
    );
}
