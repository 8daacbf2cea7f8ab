//! The emulator over real HTTP on 127.0.0.1: API semantics, error shapes, signatures, every
//! fault, and the `csms-emulator` binary's contract (first line, logging, SIGTERM).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use csms_provider::csms::signer::{canonical_query, SignedRequest, Signer};
use csms_provider::csms::task::{SecretTask, TaskPage};
use csms_provider::emulator::{generate, Config, Emulator, Faults};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common;
use common::emulator::Reply;

const AK: &str = "AKEMULATORTEST000001";
const SK: &str = "SKemulatorTestSecretKey0123456789abcdefg";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn start(tasks: Vec<SecretTask>, faults: Faults) -> Emulator {
    Emulator::start(Config {
        tasks,
        faults,
        ..Config::default()
    })
    .await
    .unwrap()
}

fn tasks_path(emu: &Emulator) -> String {
    format!("/v1/{}/csms/tasks", emu.project_id())
}

async fn get(c: &reqwest::Client, emu: &Emulator, path: &str, query: &[(&str, &str)]) -> Reply {
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    send(c, emu, path, &query, None).await
}

/// GET with the query sent as the SDK sends it; signed with `key` (AK/SK, X-Sdk-Date) if given.
async fn send(
    c: &reqwest::Client,
    emu: &Emulator,
    path: &str,
    query: &[(String, String)],
    key: Option<(&str, &str, &str)>,
) -> Reply {
    let qs = canonical_query(query);
    let url = format!(
        "{}{path}{}{qs}",
        emu.base_url(),
        if qs.is_empty() { "" } else { "?" }
    );
    let mut req = c.get(url);
    if let Some((ak, sk, date)) = key {
        let headers = vec![
            ("host".to_string(), emu.addr().to_string()),
            ("x-sdk-date".to_string(), date.to_string()),
        ];
        let auth = Signer::new(ak, sk).authorization(&SignedRequest {
            method: "GET",
            path,
            query,
            headers: &headers,
            body: b"",
        });
        req = req.header("X-Sdk-Date", date).header("Authorization", auth);
    }
    Reply::read(req.send().await.unwrap()).await
}

fn sdk_date(offset: time::Duration) -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    (time::OffsetDateTime::now_utc() + offset)
        .format(f)
        .unwrap()
}

/// Follows `next_marker` until it is absent (at most `max_pages`), returning every page.
async fn all_pages(
    c: &reqwest::Client,
    emu: &Emulator,
    limit: &str,
    max_pages: usize,
) -> Vec<TaskPage> {
    let mut pages = Vec::new();
    let mut marker: Option<String> = None;
    while pages.len() < max_pages {
        let mut q = vec![("limit", limit)];
        if let Some(m) = &marker {
            q.push(("marker", m));
        }
        let r = get(c, emu, &tasks_path(emu), &q).await;
        assert_eq!(r.status, 200);
        let page = r.page();
        marker = page.next_marker.clone();
        pages.push(page);
        if marker.is_none() {
            break;
        }
    }
    pages
}

/// Paging through everything with limit 50 returns the data set exactly, in stored order, over
/// one reused connection.
#[tokio::test]
async fn paging_through_everything_returns_the_data_set_exactly() {
    let data = generate(237, 3);
    let emu = start(data.clone(), Faults::default()).await;
    let c = client();
    let pages = all_pages(&c, &emu, "50", 20).await;
    assert_eq!(pages.len(), 5);
    assert!(pages.iter().all(|p| p.total == Some(237)));
    assert_eq!(pages[4].tasks.len(), 37);
    assert_eq!(
        pages[4].next_marker, None,
        "no next_marker on the last page"
    );
    let got: Vec<SecretTask> = pages.into_iter().flat_map(|p| p.tasks).collect();
    assert_eq!(got, data);
    let stats = emu.stats();
    assert_eq!(stats.requests, 5);
    assert_eq!(
        stats.connections, 1,
        "the client's keep-alive connection was reused"
    );
    assert_eq!(stats.by_path[&tasks_path(&emu)], 5);
    // The client still holds an idle keep-alive connection; shutdown must not wait on it.
    tokio::time::timeout(Duration::from_secs(3), emu.shutdown())
        .await
        .expect("shutdown does not wait for idle connections")
        .unwrap();
    drop(c);
}

/// The raw JSON uses the API's field names and omits absent optional fields.
#[tokio::test]
async fn responses_use_the_api_field_names() {
    let emu = start(generate(20, 1), Faults::default()).await;
    let r = get(&client(), &emu, &tasks_path(&emu), &[("limit", "5")]).await;
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let j = r.json();
    assert_eq!(j["total"], 20);
    assert_eq!(j["tasks"].as_array().unwrap().len(), 5);
    assert_eq!(j["next_marker"], j["tasks"][4]["task_id"]);
    let t = &j["tasks"][0];
    for field in [
        "task_id",
        "secret_name",
        "rotation_func_urn",
        "task_status",
        "operate_type",
        "task_time",
        "attempt_nums",
    ] {
        assert!(!t[field].is_null(), "{field} in {t}");
    }
    assert!(t["task_time"].is_i64());
}

/// Filters and task_id queries answer what the data set holds.
#[tokio::test]
async fn filters_and_task_id_match_the_data_set() {
    let data = generate(120, 5);
    let emu = start(data.clone(), Faults::default()).await;
    let c = client();
    let name = data[0].secret_name.clone().unwrap();
    let r = get(
        &c,
        &emu,
        &tasks_path(&emu),
        &[
            ("secret_name", &name),
            ("status", "FAILED"),
            ("limit", "1000"),
        ],
    )
    .await;
    let want: Vec<_> = data
        .iter()
        .filter(|t| {
            t.secret_name.as_deref() == Some(&name) && t.task_status.as_deref() == Some("FAILED")
        })
        .cloned()
        .collect();
    let page = r.page();
    assert_eq!(page.tasks, want);
    assert_eq!(page.total, Some(want.len() as i64));
    let r = get(
        &c,
        &emu,
        &tasks_path(&emu),
        &[("task_id", &data[77].task_id)],
    )
    .await;
    assert_eq!(r.page().tasks, vec![data[77].clone()]);
}

/// Every client error is a JSON body with error_code, error_msg and the request id of the
/// X-Request-Id header.
#[tokio::test]
async fn errors_have_csms_shaped_bodies_and_request_ids() {
    let emu = Emulator::start(Config {
        tasks: generate(10, 1),
        max_limit: 100,
        ..Config::default()
    })
    .await
    .unwrap();
    let c = client();
    let p = tasks_path(&emu);
    assert!(get(&c, &emu, &p, &[("status", "RUNNING")])
        .await
        .assert_error(400, "CSMS.0002")
        .contains("status"));
    get(&c, &emu, &p, &[("task_id", "x"), ("secret_name", "a")])
        .await
        .assert_error(400, "CSMS.0003");
    assert!(get(&c, &emu, &p, &[("limit", "101")])
        .await
        .assert_error(400, "CSMS.0002")
        .contains("limit"));
    get(&c, &emu, &p, &[("limit", "0")])
        .await
        .assert_error(400, "CSMS.0002");
    get(&c, &emu, &p, &[("limit", "ten")])
        .await
        .assert_error(400, "CSMS.0002");
    assert!(get(&c, &emu, &p, &[("marker", "nope")])
        .await
        .assert_error(400, "CSMS.0002")
        .contains("marker"));
    let wrong = get(
        &c,
        &emu,
        "/v1/ffffffffffffffffffffffffffffffff/csms/tasks",
        &[],
    )
    .await;
    assert!(wrong.assert_error(404, "CSMS.0005").contains("project"));
    get(&c, &emu, "/v2/whatever", &[])
        .await
        .assert_error(404, "APIGW.0101");
    let ok = get(&c, &emu, &p, &[("limit", "100")]).await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.request_id().len(),
        32,
        "successes carry X-Request-Id too"
    );
    assert_ne!(ok.request_id(), wrong.request_id());
}

/// The IAM lookup maps the configured region to the project and any other region to nothing.
#[tokio::test]
async fn iam_lookup_returns_the_project_of_the_region() {
    let emu = Emulator::start(Config {
        project_id: "p0000000000000000000000000000001".into(),
        region: "ap-southeast-1".into(),
        ..Config::default()
    })
    .await
    .unwrap();
    let c = client();
    let r = get(&c, &emu, "/v3/projects", &[("name", "ap-southeast-1")]).await;
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["projects"][0]["id"], "p0000000000000000000000000000001");
    assert_eq!(j["projects"][0]["name"], "ap-southeast-1");
    let r = get(&c, &emu, "/v3/projects", &[("name", "cn-north-4")]).await;
    assert_eq!(r.json()["projects"], serde_json::json!([]));
}

/// With credentials, only requests signed with them, dated within 15 minutes, get through;
/// the IAM lookup is checked the same way.
#[tokio::test]
async fn signatures_are_verified_when_credentials_are_set() {
    let emu = Emulator::start(Config {
        credentials: Some((AK.into(), SK.into())),
        tasks: generate(30, 2),
        ..Config::default()
    })
    .await
    .unwrap();
    let c = client();
    let p = tasks_path(&emu);
    let q = vec![
        ("secret_name".to_string(), "prod-db-password".to_string()),
        ("limit".to_string(), "10".to_string()),
    ];
    // Reserved and non-ASCII characters survive encoding, decoding and signing.
    let odd = vec![("task_id".to_string(), "t/é *~+=&x".to_string())];
    let now = sdk_date(time::Duration::ZERO);
    assert_eq!(
        send(&c, &emu, &p, &odd, Some((AK, SK, &now))).await.status,
        200
    );
    assert_eq!(
        send(&c, &emu, &p, &q, Some((AK, SK, &now))).await.status,
        200
    );
    let iam = [("name".to_string(), "cn-north-4".to_string())];
    assert_eq!(
        send(&c, &emu, "/v3/projects", &iam, Some((AK, SK, &now)))
            .await
            .status,
        200
    );
    send(&c, &emu, "/v3/projects", &iam, None)
        .await
        .assert_error(401, "APIGW.0301");

    let msg = send(&c, &emu, &p, &q, None)
        .await
        .assert_error(401, "APIGW.0301");
    assert!(msg.contains("Authorization"), "{msg}");
    let msg = send(&c, &emu, &p, &q, Some((AK, "wrong", &now)))
        .await
        .assert_error(401, "APIGW.0301");
    assert!(msg.contains("verify aksk signature fail"), "{msg}");
    let msg = send(&c, &emu, &p, &q, Some(("AKOTHER", SK, &now)))
        .await
        .assert_error(401, "APIGW.0301");
    assert!(msg.contains("ak not exist"), "{msg}");
    let old = sdk_date(time::Duration::minutes(-20));
    let msg = send(&c, &emu, &p, &q, Some((AK, SK, &old)))
        .await
        .assert_error(401, "APIGW.0301");
    assert!(msg.contains("clock skew"), "{msg}");
    let near = sdk_date(time::Duration::minutes(-10));
    assert_eq!(
        send(&c, &emu, &p, &q, Some((AK, SK, &near))).await.status,
        200
    );
}

/// `fail_every` answers every nth tasks request with the status and a JSON (or HTML) error.
#[tokio::test]
async fn fault_fail_every_nth_request() {
    let emu = start(
        generate(10, 1),
        Faults {
            fail_every: Some((2, 503)),
            ..Faults::default()
        },
    )
    .await;
    let c = client();
    let p = tasks_path(&emu);
    let statuses: Vec<u16> = statuses(&c, &emu, &p, 4).await;
    assert_eq!(statuses, [200, 503, 200, 503]);
    get(&c, &emu, &p, &[]).await; // 5th
    get(&c, &emu, &p, &[]).await.assert_error(503, "APIGW.0201");

    let emu = start(
        generate(10, 1),
        Faults {
            fail_every: Some((1, 502)),
            html_errors: true,
            ..Faults::default()
        },
    )
    .await;
    let r = get(&c, &emu, &tasks_path(&emu), &[]).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.headers["content-type"], "text/html");
    assert!(String::from_utf8_lossy(&r.body).contains("<h1>502 Bad Gateway</h1>"));
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
}

async fn statuses(c: &reqwest::Client, emu: &Emulator, p: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(get(c, emu, p, &[]).await.status);
    }
    out
}

/// `throttle_every` answers 429 APIGW.0308 with Retry-After.
#[tokio::test]
async fn fault_throttle_with_retry_after() {
    let emu = start(
        generate(10, 1),
        Faults {
            throttle_every: Some(3),
            retry_after_secs: 7,
            ..Faults::default()
        },
    )
    .await;
    let c = client();
    let p = tasks_path(&emu);
    assert_eq!(statuses(&c, &emu, &p, 2).await, [200, 200]);
    let r = get(&c, &emu, &p, &[]).await;
    r.assert_error(429, "APIGW.0308");
    assert_eq!(r.headers["retry-after"], "7");
}

/// `throttle_percent` throttles a share of the requests at random, each 429 with Retry-After:
/// 300 requests at 30% give 90 on average; 45..=135 is five standard deviations either side.
#[tokio::test]
async fn fault_throttle_percent_throttles_a_share_at_random() {
    let emu = start(
        generate(10, 1),
        Faults {
            throttle_percent: Some(30),
            retry_after_secs: 1,
            ..Faults::default()
        },
    )
    .await;
    let (c, p) = (client(), tasks_path(&emu));
    let mut throttled = 0;
    for _ in 0..300 {
        let r = get(&c, &emu, &p, &[]).await;
        if r.status == 429 {
            r.assert_error(429, "APIGW.0308");
            assert_eq!(r.headers["retry-after"], "1");
            throttled += 1;
        } else {
            assert_eq!(r.status, 200, "{}", r.head());
        }
    }
    assert!((45..=135).contains(&throttled), "{throttled} of 300");
    let all = start(
        generate(10, 1),
        Faults {
            throttle_percent: Some(100),
            retry_after_secs: 1,
            ..Faults::default()
        },
    )
    .await;
    let p = tasks_path(&all);
    assert_eq!(statuses(&c, &all, &p, 5).await, [429; 5]);
}

/// `latency` delays every tasks response.
#[tokio::test]
async fn fault_latency_delays_responses() {
    let emu = start(
        generate(10, 1),
        Faults {
            latency: Duration::from_millis(300),
            ..Faults::default()
        },
    )
    .await;
    let started = Instant::now();
    assert_eq!(
        get(&client(), &emu, &tasks_path(&emu), &[]).await.status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// A sticky marker never advances: page 2 says to fetch page 2 again.
#[tokio::test]
async fn fault_sticky_marker_never_advances() {
    let emu = start(
        generate(100, 1),
        Faults {
            sticky_marker: true,
            ..Faults::default()
        },
    )
    .await;
    let pages = all_pages(&client(), &emu, "10", 4).await;
    assert_eq!(pages.len(), 4, "a naive client never stops");
    assert_eq!(pages[1].next_marker, pages[0].next_marker);
    assert_eq!(pages[3].tasks, pages[1].tasks);
}

/// A looping marker sends the client back to an earlier page: 1, 2, 3, 2, 3, ...
#[tokio::test]
async fn fault_looping_marker_points_back() {
    let emu = start(
        generate(100, 1),
        Faults {
            looping_marker: true,
            ..Faults::default()
        },
    )
    .await;
    let pages = all_pages(&client(), &emu, "10", 6).await;
    assert_eq!(pages.len(), 6);
    assert_eq!(pages[2].next_marker, pages[0].next_marker);
    assert_eq!(pages[3].tasks, pages[1].tasks);
    assert_eq!(pages[4].tasks, pages[2].tasks);
    let ids: HashSet<_> = pages
        .iter()
        .flat_map(|p| &p.tasks)
        .map(|t| &t.task_id)
        .collect();
    assert_eq!(ids.len(), 30, "only three distinct pages");
}

/// `total_delta` makes `total` lie; `last_page_marker` sends next_marker on the last page.
#[tokio::test]
async fn fault_total_lie_and_last_page_marker() {
    let emu = Emulator::start(Config {
        tasks: generate(15, 1),
        last_page_marker: true,
        faults: Faults {
            total_delta: -4,
            ..Faults::default()
        },
        ..Config::default()
    })
    .await
    .unwrap();
    let c = client();
    let p = tasks_path(&emu);
    let page = get(&c, &emu, &p, &[("limit", "100")]).await.page();
    assert_eq!(page.total, Some(11));
    assert_eq!(page.tasks.len(), 15);
    assert_eq!(
        page.next_marker.as_deref(),
        Some(page.tasks[14].task_id.as_str())
    );
    let after = get(&c, &emu, &p, &[("marker", &page.tasks[14].task_id)])
        .await
        .page();
    assert!(after.tasks.is_empty());
    assert_eq!(after.next_marker, None);
}

/// `empty_every` answers 200 with an empty body.
#[tokio::test]
async fn fault_empty_body() {
    let emu = start(
        generate(10, 1),
        Faults {
            empty_every: Some(1),
            ..Faults::default()
        },
    )
    .await;
    let r = get(&client(), &emu, &tasks_path(&emu), &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.headers["content-length"], "0");
}

/// Sends one raw HTTP/1.1 request and reads until the server closes the connection.
async fn raw_get(emu: &Emulator, path: &str) -> std::io::Result<Vec<u8>> {
    let mut s = tokio::net::TcpStream::connect(emu.addr()).await?;
    s.write_all(
        format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            emu.addr()
        )
        .as_bytes(),
    )
    .await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")?;
    Ok(out)
}

/// `truncate_every` sends half the declared body, then closes the connection cleanly.
#[tokio::test]
async fn fault_truncated_body_then_close() {
    let emu = start(
        generate(40, 1),
        Faults {
            truncate_every: Some(1),
            ..Faults::default()
        },
    )
    .await;
    let raw = raw_get(&emu, &tasks_path(&emu))
        .await
        .expect("a clean close, not a reset");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"));
    let declared: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(body.len(), declared / 2);
    assert!(body.starts_with("{\"total\":40"));
    // A normal client sees an incomplete body.
    let emu2 = start(
        generate(40, 1),
        Faults {
            truncate_every: Some(1),
            ..Faults::default()
        },
    )
    .await;
    let r = client()
        .get(format!("{}{}", emu2.base_url(), tasks_path(&emu2)))
        .send()
        .await
        .unwrap();
    assert!(r.bytes().await.is_err());
}

/// `reset_every` sends half the body, then resets the connection.
#[tokio::test]
async fn fault_connection_reset_mid_body() {
    let emu = start(
        generate(40, 1),
        Faults {
            reset_every: Some(2),
            ..Faults::default()
        },
    )
    .await;
    let p = tasks_path(&emu);
    assert!(raw_get(&emu, &p).await.is_ok(), "request 1 is fine");
    let e = raw_get(&emu, &p).await.expect_err("request 2 is reset");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
}

/// The binary prints the listening line first, serves, logs a line per request without the
/// Authorization header, and exits 0 on SIGTERM.
#[cfg(unix)]
#[tokio::test]
async fn binary_prints_listening_line_and_stops_on_sigterm() {
    let (mut child, addr) = common::emulator::spawn_binary([
        "--generate",
        "12",
        "--access-key",
        AK,
        "--secret-key",
        SK,
    ])
    .await;
    assert!(
        addr.ip().is_loopback(),
        "listens on 127.0.0.1 by default: {addr}"
    );
    let port = addr.port();
    let r = client()
        .get(format!(
            "http://127.0.0.1:{port}/v1/{}/csms/tasks?limit=5",
            csms_provider::emulator::DEFAULT_PROJECT_ID
        ))
        .header(
            "Authorization",
            "SDK-HMAC-SHA256 Access=AKX, SignedHeaders=host;x-sdk-date, Signature=secretsig",
        )
        .header("X-Sdk-Date", sdk_date(time::Duration::ZERO))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let pid = child.id().unwrap() as i32;
    assert_eq!(send_sigterm(pid), 0);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10s of SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    assert!(
        err.contains("GET /v1/") && err.contains("limit=5 401"),
        "{err}"
    );
    assert!(
        !err.contains("secretsig") && !err.contains("SDK-HMAC"),
        "{err}"
    );
}

/// Sends SIGTERM through the `kill` command (no libc dependency); returns its exit code.
#[cfg(unix)]
fn send_sigterm(pid: i32) -> i32 {
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .code()
        .unwrap()
}

/// `--help` prints usage and exits 0; a bad flag exits 2 with a message.
#[test]
fn binary_help_and_bad_flags() {
    let bin = env!("CARGO_BIN_EXE_csms-emulator");
    let out = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--fail-every"));
    let out = std::process::Command::new(bin)
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument"));
}

/// The listing faults apply to ListSecrets as to ListSecretTask, each endpoint counting its own
/// requests: the sticky marker repeats a secret name, every third secrets request fails, and
/// a tasks request in between is the first of its own count.
#[tokio::test]
async fn faults_apply_to_secrets_counted_per_endpoint() {
    let set = csms_provider::emulator::data::generate_account(
        30,
        60,
        2,
        &csms_provider::emulator::DataSpec::default(),
    );
    let emu = Emulator::start(Config {
        tasks: set.tasks,
        secrets: set.secrets.clone(),
        faults: Faults {
            fail_every: Some((3, 503)),
            sticky_marker: true,
            ..Faults::default()
        },
        ..Config::default()
    })
    .await
    .unwrap();
    let c = client();
    let p = format!("/v1/{}/secrets", emu.project_id());
    let page =
        |r: Reply| serde_json::from_slice::<csms_provider::csms::SecretPage>(&r.body).unwrap();
    let first = page(get(&c, &emu, &p, &[("limit", "10")]).await);
    assert_eq!(first.secrets, set.secrets[..10]);
    let marker = first.next_marker().unwrap().to_string();
    assert_eq!(marker, set.secrets[9].name);
    let second = page(get(&c, &emu, &p, &[("limit", "10"), ("marker", &marker)]).await);
    assert_eq!(second.secrets, set.secrets[10..20]);
    assert_eq!(second.next_marker(), Some(marker.as_str()), "sticky");
    assert_eq!(get(&c, &emu, &tasks_path(&emu), &[]).await.status, 200);
    get(&c, &emu, &p, &[]).await.assert_error(503, "APIGW.0201");
}
