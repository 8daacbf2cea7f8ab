//! The CSMS client against a scripted HTTP server on 127.0.0.1: paging rules, retries, error
//! mapping, cancellation, the IAM project lookup, and signatures as the server sees them.

use crate::common::listing::list;
use crate::common::scripted_server;

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use csms_provider::csms::error::TlsTrouble;
use csms_provider::csms::signer::{canonical_query, SignedRequest};
use csms_provider::csms::tasks::TASKS;
use csms_provider::csms::{
    Client, ClientConfig, Error, Listing, ListingWarning, RetryPolicy, Signer, TaskQuery, Tasks,
};
use csms_provider::provider::diagnostics::from_error;
use scripted_server::{percent_decode, Recorded, Reply, ScriptedServer};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const AK: &str = "AKTESTEXAMPLE0000001";
const SK: &str = "SKtestExampleSecretKey0123456789abcdefgh";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const TASKS_PATH: &str = "/v1/0123456789abcdef0123456789abcdef/csms/tasks";

/// Short waits so retry tests stay fast; `Retry-After` is still honoured up to 5 s.
fn fast_policy(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(40),
        retry_after_cap: Duration::from_secs(5),
    }
}

fn config(server: &ScriptedServer) -> ClientConfig {
    ClientConfig {
        region: Some("cn-north-4".into()),
        endpoint: Some(server.url()),
        project_id: Some(PROJECT.into()),
        access_key: AK.into(),
        secret_key: SK.into(),
        deadline: Duration::from_secs(20),
        ..ClientConfig::default()
    }
}

fn client_with(cfg: ClientConfig, max_retries: u32) -> Client {
    Client::new(ClientConfig {
        retry: fast_policy(max_retries),
        ..cfg
    })
    .unwrap()
}

fn client(server: &ScriptedServer) -> Client {
    client_with(config(server), 3)
}

fn task(id: &str) -> serde_json::Value {
    json!({
        "task_id": id,
        "secret_name": "prod-db-password",
        "rotation_func_urn": "urn:fss:cn-north-4:p:function:default:rot:latest",
        "task_status": "SUCCESS",
        "operate_type": "MULTI_USER",
        "task_time": 1715436899000i64,
        "attempt_nums": 1
    })
}

fn page(ids: &[&str], next: Option<&str>, total: Option<i64>) -> Reply {
    let mut body = json!({ "tasks": ids.iter().map(|i| task(i)).collect::<Vec<_>>() });
    if let Some(t) = total {
        body["total"] = json!(t);
    }
    if let Some(n) = next {
        body["next_marker"] = json!(n);
    }
    Reply::json(200, body)
}

/// A well-behaved service holding `n` tasks `t000..`: pages by `limit` after `marker`, with
/// `next_marker` = last id of the page (also on the last page, as the API allows).
fn honest(n: usize) -> impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static {
    let ids: Vec<String> = (0..n).map(|i| format!("t{i:03}")).collect();
    move |r, _| {
        let limit: usize = r.param("limit").and_then(|l| l.parse().ok()).unwrap_or(50);
        let start = match r.param("marker") {
            Some(m) => ids
                .iter()
                .position(|i| *i == m)
                .map_or(ids.len(), |p| p + 1),
            None => 0,
        };
        let chunk: Vec<&str> = ids[start..(start + limit).min(ids.len())]
            .iter()
            .map(String::as_str)
            .collect();
        page(&chunk, chunk.last().copied(), Some(n as i64))
    }
}

fn ids(l: &Listing<Tasks>) -> Vec<&str> {
    l.items.tasks.iter().map(|t| t.task_id.as_str()).collect()
}

/// Recomputes the signature of a recorded request from what went over the wire.
fn verify_signature(r: &Recorded, sk: &str) {
    let auth = r.header("Authorization").expect("Authorization header");
    let rest = auth.strip_prefix("SDK-HMAC-SHA256 ").expect("algorithm");
    let mut access = "";
    let mut signed_headers = "";
    let mut signature = "";
    for part in rest.split(", ") {
        match part.split_once('=') {
            Some(("Access", v)) => access = v,
            Some(("SignedHeaders", v)) => signed_headers = v,
            Some(("Signature", v)) => signature = v,
            _ => panic!("unexpected Authorization part {part:?}"),
        }
    }
    assert_eq!(access, AK);
    let headers: Vec<(String, String)> = signed_headers
        .split(';')
        .map(|n| {
            (
                n.to_string(),
                r.header(n)
                    .unwrap_or_else(|| panic!("signed header {n} missing"))
                    .to_string(),
            )
        })
        .collect();
    let query = r.query_pairs();
    assert_eq!(
        r.query,
        canonical_query(&query),
        "wire query must be canonical"
    );
    let path = percent_decode(&r.path);
    let (sh, sig) = Signer::new(AK, sk).signature(&SignedRequest {
        method: &r.method,
        path: &path,
        query: &query,
        headers: &headers,
        body: b"",
    });
    assert_eq!(sh, signed_headers);
    assert_eq!(
        sig, signature,
        "signature of {} {}?{}",
        r.method, r.path, r.query
    );
}

#[tokio::test]
async fn multi_page_listing_follows_markers_with_limit_on_every_page() {
    let server = ScriptedServer::start(honest(7)).await;
    let query = TaskQuery {
        secret_name: Some("prod-db-password".into()),
        status: Some("SUCCESS".into()),
        page_size: Some(3),
        ..TaskQuery::default()
    };
    let l = list(&client(&server), query).await.unwrap();
    assert_eq!(
        ids(&l),
        ["t000", "t001", "t002", "t003", "t004", "t005", "t006"]
    );
    assert_eq!((l.pages, l.requests, l.total), (3, 3, Some(7)));
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let reqs = server.requests();
    let queries: Vec<&str> = reqs.iter().map(|r| r.query.as_str()).collect();
    assert_eq!(
        queries,
        [
            "limit=3&secret_name=prod-db-password&status=SUCCESS",
            "limit=3&marker=t002&secret_name=prod-db-password&status=SUCCESS",
            "limit=3&marker=t005&secret_name=prod-db-password&status=SUCCESS",
        ]
    );
    assert!(reqs
        .iter()
        .all(|r| r.method == "GET" && r.path == TASKS_PATH));
    // One kept-alive connection carries every page.
    assert!(
        reqs.iter().all(|r| r.connection == 0),
        "connections: {:?}",
        reqs.iter().map(|r| r.connection).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn unset_page_size_asks_for_1000_per_page() {
    let server = ScriptedServer::start(honest(2500)).await;
    let l = list(&client(&server), TaskQuery::default()).await.unwrap();
    assert_eq!(l.items.tasks.len(), 2500);
    assert_eq!((l.pages, l.requests), (3, 3));
    assert!(server
        .requests()
        .iter()
        .all(|r| r.param("limit").as_deref() == Some("1000")));
}

#[tokio::test]
async fn task_id_query_sends_only_task_id() {
    let server = ScriptedServer::start(|_, _| page(&["t-42"], Some("t-42"), Some(1))).await;
    let l = list(
        &client(&server),
        TaskQuery {
            task_id: Some("t-42".into()),
            ..TaskQuery::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ids(&l), ["t-42"]);
    assert_eq!(server.requests()[0].query, "task_id=t-42");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn sticky_marker_is_a_paging_error() {
    let server = ScriptedServer::start(|r, _| {
        let id = format!("t{}", r.param("marker").map_or(0, |_| 1));
        page(&[&id], Some("A"), None)
    })
    .await;
    let e = list(&client(&server), TaskQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Paging(_)), "{e}");
    assert!(e.to_string().contains("marker did not advance"), "{e}");
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn looping_marker_a_b_a_is_a_paging_error() {
    let server = ScriptedServer::start(|r, _| match r.param("marker").as_deref() {
        None => page(&["a"], Some("A"), None),
        Some("A") => page(&["b"], Some("B"), None),
        Some(_) => page(&["c"], Some("A"), None),
    })
    .await;
    let e = list(&client(&server), TaskQuery::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("marker did not advance"), "{e}");
    assert!(e.to_string().contains("\"A\""), "{e}");
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn overlapping_pages_repeat_the_boundary_task_which_is_dropped() {
    let server = ScriptedServer::start(|r, _| match r.param("marker").as_deref() {
        None => page(&["a", "b", "c"], Some("c"), Some(6)),
        Some("c") => page(&["c", "d", "e"], Some("e"), Some(6)),
        Some(_) => page(&["e", "f"], Some("f"), Some(6)),
    })
    .await;
    let l = list(&client(&server), TaskQuery::default()).await.unwrap();
    assert_eq!(ids(&l), ["a", "b", "c", "d", "e", "f"]);
    assert_eq!(l.requests, 3);
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert_eq!(
        l.warnings,
        [ListingWarning::DuplicatesDropped {
            kind: &TASKS,
            count: 2
        }]
    );
}

#[tokio::test]
async fn empty_result_is_one_request_and_no_warning() {
    let server =
        ScriptedServer::start(|_, _| Reply::json(200, json!({"total": 0, "tasks": []}))).await;
    let l = list(&client(&server), TaskQuery::default()).await.unwrap();
    assert!(l.items.tasks.is_empty());
    assert_eq!((l.total, l.pages, l.requests), (Some(0), 1, 1));
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
}

#[tokio::test]
async fn total_mismatch_is_a_warning() {
    let server = ScriptedServer::start(|r, _| match r.param("marker") {
        None => page(&["a", "b", "c"], Some("c"), Some(10)),
        Some(_) => page(&[], None, Some(10)),
    })
    .await;
    let l = list(&client(&server), TaskQuery::default()).await.unwrap();
    assert_eq!(l.items.tasks.len(), 3);
    assert_eq!(l.requests, 2);
    assert_eq!(
        l.warnings,
        [ListingWarning::TotalMismatch {
            kind: &TASKS,
            reported: 10,
            listed: 3
        }]
    );
}

#[tokio::test]
async fn page_cap_stops_a_server_that_invents_markers() {
    // Every page repeats the same task with a fresh marker: no progress, and markers never loop.
    let server =
        ScriptedServer::start(|_, n| page(&["same"], Some(&format!("m{n}")), Some(2))).await;
    let e = list(&client(&server), TaskQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Paging(_)), "{e}");
    assert!(
        e.to_string().contains("page cap reached: read 12 pages"),
        "{e}"
    );
    assert_eq!(server.count(), 12, "cap = total + 10");
}

#[tokio::test]
async fn limit_1000_rejected_with_400_falls_back_to_50_with_a_warning() {
    let honest = honest(120);
    let server = ScriptedServer::start(move |r, n| {
        if r.param("limit").as_deref() == Some("1000") {
            Reply::json(
                400,
                json!({"error_code": "CSMS.0005", "error_msg": "limit too large"}),
            )
        } else {
            honest(r, n)
        }
    })
    .await;
    let l = list(&client(&server), TaskQuery::default()).await.unwrap();
    assert_eq!(l.items.tasks.len(), 120);
    assert_eq!((l.pages, l.requests), (3, 4));
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    let ListingWarning::PageSizeRefused {
        refused,
        used,
        error,
        ..
    } = &l.warnings[0]
    else {
        panic!("{:?}", l.warnings)
    };
    assert_eq!((*refused, *used), (1000, 50));
    assert_eq!(error.code.as_deref(), Some("CSMS.0005"));
    let limits: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.param("limit").unwrap())
        .collect();
    assert_eq!(limits, ["1000", "50", "50", "50"]);
}

#[tokio::test]
async fn explicit_page_size_rejected_with_400_is_an_error_without_fallback() {
    let server = ScriptedServer::start(|_, _| {
        Reply::json(
            400,
            json!({"error_code": "CSMS.0005", "error_msg": "limit too large"}),
        )
    })
    .await;
    let e = list(
        &client(&server),
        TaskQuery {
            page_size: Some(1000),
            ..TaskQuery::default()
        },
    )
    .await
    .unwrap_err();
    let s = e.service().expect("service error");
    assert_eq!(
        (s.status, s.code.as_deref(), s.retries),
        (400, Some("CSMS.0005"), 0)
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let honest = honest(3);
    let server = ScriptedServer::start(move |r, n| {
        if n < 2 {
            Reply::json(503, json!({"error_code": "CSMS.0503", "error_msg": "busy"}))
        } else {
            honest(r, n)
        }
    })
    .await;
    let l = list(&client(&server), TaskQuery::default()).await.unwrap();
    assert_eq!(l.items.tasks.len(), 3);
    assert_eq!((l.pages, l.requests), (1, 3));
    assert_eq!(server.count(), 3);
    // Each retry is signed afresh and still verifies.
    for r in server.requests() {
        verify_signature(&r, SK);
    }
}

#[tokio::test]
async fn throttled_429_honours_retry_after() {
    let honest = honest(2);
    let server = ScriptedServer::start(move |r, n| {
        if n == 0 {
            Reply::json(
                429,
                json!({"error_code": "APIGW.0308", "error_msg": "throttled"}),
            )
            .with_header("Retry-After", "1")
        } else {
            honest(r, n)
        }
    })
    .await;
    let start = Instant::now();
    let l = list(&client(&server), TaskQuery::default()).await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(l.requests, 2);
    // The backoff alone is at most 40 ms here; only Retry-After explains a 1 s wait.
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn retries_exhausted_keep_status_code_message_request_id_and_count() {
    let server = ScriptedServer::start(|_, _| {
        Reply::json(
            503,
            json!({"error_code": "CSMS.0503", "error_msg": "service busy", "request_id": "body-rid"}),
        )
        .with_header("X-Request-Id", "hdr-rid")
    })
    .await;
    let e = list(&client_with(config(&server), 2), TaskQuery::default())
        .await
        .unwrap_err();
    let s = e.service().expect("service error");
    assert_eq!(s.status, 503);
    assert_eq!(s.code.as_deref(), Some("CSMS.0503"));
    assert_eq!(s.message.as_deref(), Some("service busy"));
    assert_eq!(s.request_id.as_deref(), Some("hdr-rid"));
    assert_eq!(s.retries, 2);
    assert_eq!(server.count(), 3);
    assert_eq!(
        e.to_string(),
        "HTTP 503 CSMS.0503: service busy (request id hdr-rid) after 2 retries"
    );
}

#[tokio::test]
async fn non_retryable_401_returns_at_once_with_body_request_id() {
    let server = ScriptedServer::start(|_, _| {
        Reply::json(
            401,
            json!({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information", "request_id": "rid-1"}),
        )
    })
    .await;
    let e = list(&client(&server), TaskQuery::default())
        .await
        .unwrap_err();
    let s = e.service().unwrap();
    assert_eq!(
        (
            s.status,
            s.code.as_deref(),
            s.request_id.as_deref(),
            s.retries
        ),
        (401, Some("APIGW.0301"), Some("rid-1"), 0)
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn non_json_502_page_becomes_a_short_message() {
    let html = format!(
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>{}</body></html>",
        "<!-- padding -->".repeat(100)
    );
    let server =
        ScriptedServer::start(move |_, _| Reply::raw(502, "text/html", html.as_bytes())).await;
    let e = list(&client_with(config(&server), 1), TaskQuery::default())
        .await
        .unwrap_err();
    let s = e.service().unwrap();
    assert_eq!((s.status, s.code.as_deref(), s.retries), (502, None, 1));
    let m = s.message.as_deref().unwrap();
    assert!(m.starts_with("502 Bad Gateway 502 Bad Gateway"), "{m}");
    assert!(m.len() <= 210 && !m.contains('<'), "{m}");
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn success_body_that_is_not_json_is_a_decode_error() {
    let server =
        ScriptedServer::start(|_, _| Reply::raw(200, "text/html", b"<html>login page</html>"))
            .await;
    let e = list(&client(&server), TaskQuery::default())
        .await
        .unwrap_err();
    match &e {
        Error::Decode {
            status, excerpt, ..
        } => {
            assert_eq!(*status, 200);
            assert_eq!(excerpt, "login page");
        }
        other => panic!("expected Decode, got {other}"),
    }
    assert_eq!(server.count(), 1, "decode errors are not retried");
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let honest = honest(4);
    let server =
        ScriptedServer::start(move |r, n| if n < 2 { Reply::Drop } else { honest(r, n) }).await;
    let l = list(&client(&server), TaskQuery::default()).await.unwrap();
    assert_eq!((l.items.tasks.len(), l.requests), (4, 3));
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_the_retries() {
    // Bind then drop a listener so that nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = ClientConfig {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        project_id: Some(PROJECT.into()),
        access_key: AK.into(),
        secret_key: SK.into(),
        ..ClientConfig::default()
    };
    let e = list(&client_with(cfg, 2), TaskQuery::default())
        .await
        .unwrap_err();
    match &e {
        Error::Transport { retries, url, .. } => {
            assert_eq!(*retries, 2);
            assert!(url.contains(&format!("127.0.0.1:{port}")), "{url}");
        }
        other => panic!("expected Transport, got {other}"),
    }
    assert!(e.to_string().contains("after 2 retries"), "{e}");
}

#[tokio::test]
async fn cancellation_mid_read_stops_the_listing() {
    // The server says when the request has arrived; the test cancels then, while the listing
    // waits on a body that stalls.
    let arrived = Arc::new(tokio::sync::Notify::new());
    let signal = arrived.clone();
    let server = ScriptedServer::start(move |_, _| {
        signal.notify_one();
        Reply::Stall {
            announced: 10_000,
            sent: br#"{"total": 1, "tasks": [{"task_id": "#.to_vec(),
            stall: Duration::from_secs(20),
        }
    })
    .await;
    let client = client(&server);
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        arrived.notified().await;
        c2.cancel();
    });
    let e = tokio::time::timeout(
        Duration::from_secs(10),
        client.list_tasks(&TaskQuery::default(), &cancel),
    )
    .await
    .expect("cancel must end the listing")
    .unwrap_err();
    assert!(matches!(e, Error::Cancelled), "{e}");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn already_cancelled_sends_nothing() {
    let server = ScriptedServer::start(honest(1)).await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    let e = client(&server)
        .list_tasks(&TaskQuery::default(), &cancel)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Cancelled), "{e}");
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn overall_deadline_ends_a_stalled_read() {
    let server = ScriptedServer::start(|_, _| Reply::Stall {
        announced: 10_000,
        sent: b"{".to_vec(),
        stall: Duration::from_secs(20),
    })
    .await;
    let cfg = ClientConfig {
        deadline: Duration::from_millis(400),
        ..config(&server)
    };
    let start = Instant::now();
    let e = list(&client_with(cfg, 3), TaskQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::DeadlineExceeded {
                requests: 1,
                pages: 0,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn signature_and_headers_verify_as_the_server_sees_them() {
    let server = ScriptedServer::start(honest(1)).await;
    let query = TaskQuery {
        secret_name: Some("name with space/é*~".into()),
        ..TaskQuery::default()
    };
    list(&client(&server), query).await.unwrap();
    let r = &server.requests()[0];
    verify_signature(r, SK);
    assert_eq!(r.header_count("host"), 1);
    assert_eq!(r.header("host"), Some(server.addr.to_string().as_str()));
    assert_eq!(r.header("x-project-id"), Some(PROJECT));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r
        .header("user-agent")
        .unwrap()
        .starts_with("terraform-provider-csms/"));
    assert_eq!(r.header("x-security-token"), None);
    assert_eq!(
        r.query,
        "limit=1000&secret_name=name%20with%20space%2F%C3%A9%2A~"
    );
    let auth = r.header("authorization").unwrap();
    assert!(
        auth.contains("SignedHeaders=content-type;host;x-project-id;x-sdk-date,"),
        "{auth}"
    );
    // A wrong secret key does not reproduce the signature.
    let wrong = std::panic::catch_unwind(|| verify_signature(r, "another-secret"));
    assert!(wrong.is_err());
}

#[tokio::test]
async fn security_token_is_sent_and_signed() {
    let server = ScriptedServer::start(honest(1)).await;
    let cfg = ClientConfig {
        security_token: Some("tok+en/with=chars".into()),
        ..config(&server)
    };
    list(&client_with(cfg, 0), TaskQuery::default())
        .await
        .unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.header("x-security-token"), Some("tok+en/with=chars"));
    assert!(r
        .header("authorization")
        .unwrap()
        .contains("SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token,"));
    verify_signature(r, SK);
}

#[tokio::test]
async fn endpoint_path_prefix_is_kept_and_signed() {
    let server = ScriptedServer::start(honest(1)).await;
    let cfg = ClientConfig {
        endpoint: Some(format!("{}/gateway/kms/", server.url())),
        ..config(&server)
    };
    list(&client_with(cfg, 0), TaskQuery::default())
        .await
        .unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.path, format!("/gateway/kms{TASKS_PATH}"));
    verify_signature(r, SK);
}

/// An IAM server listing `ids` as the projects named after the region.
async fn iam_server(ids: &'static [&'static str]) -> ScriptedServer {
    ScriptedServer::start(move |r, _| {
        assert_eq!(r.path, "/v3/projects");
        let projects: Vec<_> = ids
            .iter()
            .map(|id| json!({"id": id, "name": r.param("name")}))
            .collect();
        Reply::json(200, json!({ "projects": projects }))
    })
    .await
}

fn lookup_config(csms: &ScriptedServer, iam: &ScriptedServer) -> ClientConfig {
    ClientConfig {
        project_id: None,
        iam_endpoint: Some(iam.url()),
        security_token: Some("sts-token".into()),
        ..config(csms)
    }
}

#[tokio::test]
async fn iam_lookup_of_one_project_is_signed_cached_and_used_in_the_path() {
    let iam = iam_server(&["p-from-iam"]).await;
    let seen_paths = Arc::new(Mutex::new(Vec::new()));
    let paths = seen_paths.clone();
    let csms = ScriptedServer::start(move |r, _| {
        paths.lock().unwrap().push(r.path.clone());
        page(&["a"], None, Some(1))
    })
    .await;
    let client = client_with(lookup_config(&csms, &iam), 0);
    assert_eq!(client.project_id().await.unwrap(), "p-from-iam");
    list(&client, TaskQuery::default()).await.unwrap();
    list(&client, TaskQuery::default()).await.unwrap();
    assert_eq!(iam.count(), 1, "the project id is cached");
    let r = &iam.requests()[0];
    assert_eq!(r.query, "name=cn-north-4");
    assert_eq!(r.header("x-project-id"), None);
    assert_eq!(r.header("x-security-token"), Some("sts-token"));
    verify_signature(r, SK);
    assert_eq!(
        *seen_paths.lock().unwrap(),
        ["/v1/p-from-iam/csms/tasks", "/v1/p-from-iam/csms/tasks"]
    );
    assert_eq!(
        csms.requests()[0].header("x-project-id"),
        Some("p-from-iam")
    );
}

#[tokio::test]
async fn iam_lookup_with_no_project_is_a_clear_error() {
    let iam = iam_server(&[]).await;
    let csms = ScriptedServer::start(honest(1)).await;
    let e = list(
        &client_with(lookup_config(&csms, &iam), 0),
        TaskQuery::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::ProjectLookup { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("no project named \"cn-north-4\""), "{text}");
    assert!(text.contains("HW_PROJECT_ID"), "{text}");
    assert_eq!(csms.count(), 0, "no listing without a project");
}

#[tokio::test]
async fn iam_lookup_with_two_projects_names_both() {
    let iam = iam_server(&["p1", "p2"]).await;
    let csms = ScriptedServer::start(honest(1)).await;
    let e = client_with(lookup_config(&csms, &iam), 0)
        .project_id()
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("2 projects") && text.contains(r#""p1", "p2""#),
        "{text}"
    );
    assert_eq!(csms.count(), 0);
}

#[tokio::test]
async fn iam_lookup_rejected_keeps_the_service_error_as_source() {
    let iam = ScriptedServer::start(|_, _| {
        Reply::json(
            401,
            json!({"error_code": "APIGW.0301", "error_msg": "bad key"}),
        )
        .with_header("X-Request-Id", "iam-rid")
    })
    .await;
    let csms = ScriptedServer::start(honest(1)).await;
    let client = client_with(lookup_config(&csms, &iam), 0);
    let e = client.project_id().await.unwrap_err();
    assert!(matches!(e, Error::ProjectLookup { .. }), "{e}");
    let s = e.service().expect("the IAM answer is kept");
    assert_eq!(
        (s.status, s.code.as_deref(), s.request_id.as_deref()),
        (401, Some("APIGW.0301"), Some("iam-rid"))
    );
    // A failed lookup is not cached: the next call asks again.
    let _ = client.project_id().await;
    assert_eq!(iam.count(), 2);
}

#[tokio::test]
async fn errors_and_debug_never_show_secrets() {
    let server = ScriptedServer::start(|_, _| {
        Reply::json(
            403,
            json!({"error_code": "APIGW.0302", "error_msg": "forbidden"}),
        )
    })
    .await;
    let cfg = ClientConfig {
        security_token: Some("TOKEN-SHOULD-NOT-LEAK".into()),
        ..config(&server)
    };
    let client = client_with(cfg.clone(), 0);
    let e = list(&client, TaskQuery::default()).await.unwrap_err();
    let auth = server.requests()[0]
        .header("authorization")
        .unwrap()
        .to_string();
    for text in [
        format!("{e}"),
        format!("{e:?}"),
        format!("{client:?}"),
        format!("{cfg:?}"),
    ] {
        assert!(!text.contains(SK), "{text}");
        assert!(!text.contains("TOKEN-SHOULD-NOT-LEAK"), "{text}");
        assert!(!text.contains(&auth), "{text}");
    }
}

#[tokio::test]
async fn https_endpoint_with_insecure_accepts_a_self_signed_certificate() {
    let server = ScriptedServer::start_tls(honest(3)).await;
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let cfg = ClientConfig {
        insecure: true,
        ..config(&server)
    };
    let l = list(&client_with(cfg, 0), TaskQuery::default())
        .await
        .unwrap();
    assert_eq!(l.items.tasks.len(), 3);
    verify_signature(&server.requests()[0], SK);
}

#[tokio::test]
async fn https_self_signed_certificate_is_refused_without_insecure_and_not_retried() {
    let server = ScriptedServer::start_tls(honest(3)).await;
    let e = list(&client_with(config(&server), 3), TaskQuery::default())
        .await
        .unwrap_err();
    match &e {
        Error::Tls {
            trouble, detail, ..
        } => {
            assert_eq!(*trouble, TlsTrouble::Untrusted, "{detail}");
            assert!(
                detail.contains("UnknownIssuer") || detail.contains("issuer"),
                "{detail}"
            );
        }
        other => panic!("expected Tls, got {other}"),
    }
    assert_eq!(server.count(), 0);
    let d = from_error(&e);
    assert!(
        d.detail.contains("trust store") && d.detail.contains("SSL_CERT_FILE"),
        "{}",
        d.detail
    );
    assert!(!d.detail.contains("HTTPS_PROXY"), "{}", d.detail);
}

#[tokio::test]
async fn redirects_are_reported_not_followed() {
    let server = ScriptedServer::start(|_, _| {
        Reply::raw(301, "text/plain", b"").with_header("Location", "http://127.0.0.1:1/elsewhere")
    })
    .await;
    let e = list(&client(&server), TaskQuery::default())
        .await
        .unwrap_err();
    match &e {
        Error::Redirect(r) => assert_eq!(
            (r.status, r.location.as_deref()),
            (301, Some("http://127.0.0.1:1/elsewhere"))
        ),
        other => panic!("expected Redirect, got {other}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("a redirect to http://127.0.0.1:1/elsewhere")
            && text.contains("redirects are not followed"),
        "{text}"
    );
    assert_eq!(server.count(), 1, "neither followed nor retried");
}

/// Measurement as much as a test: 100,000 tasks at 1000 per page from a local server.
#[tokio::test]
async fn lists_100k_tasks_in_100_pages() {
    let server = ScriptedServer::start(honest(100_000)).await;
    let start = Instant::now();
    let l = list(&client(&server), TaskQuery::default()).await.unwrap();
    eprintln!(
        "listed {} tasks in {} pages, {} requests, {:?}",
        l.items.tasks.len(),
        l.pages,
        l.requests,
        start.elapsed()
    );
    assert_eq!(l.items.tasks.len(), 100_000);
    // The 100th page is full and names a next marker, so one more request (answered with an
    // empty page) makes sure a `total` that lies low cannot cut the list short.
    assert_eq!((l.pages, l.requests), (101, 101));
    assert_eq!(l.items.tasks[99_999].task_id, "t99999");
}
