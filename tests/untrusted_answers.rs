//! The client against servers on 127.0.0.1 that answer badly (issue 13, points 1, 4, 6, 7): text
//! from the service reaches the caller inert, bodies are decoded honestly, every error says what
//! happened (and is retried only when a retry can help), and project ids cannot move the request.

use crate::common::listing::list_all;
use crate::common::scripted_server;

use std::time::Duration;

use csms_provider::csms::credentials::{CredentialProvider, Credentials, Source};
use csms_provider::csms::{Client, ClientConfig, Error, ListingWarning, RetryPolicy};
use csms_provider::provider::diagnostics::{from_error, from_read_error, from_warning};
use scripted_server::{Reply, ScriptedServer};
use serde_json::json;

const PROJECT: &str = "0123456789abcdef0123456789abcdef";

/// The characters a hostile service or proxy uses on a terminal: ESC (sequences that retitle or
/// recolour), CR (overwrite a line), BEL, NUL, a C1 CSI, a bidi override and a zero-width space.
const HOSTILE: &str = "\u{1b}]0;owned\u{7}\r\u{0}\u{9b}2J\u{202e}\u{200b}";

fn is_terminal_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{200b}')
}

fn config(server: &ScriptedServer) -> ClientConfig {
    ClientConfig {
        endpoint: Some(server.url()),
        project_id: Some(PROJECT.into()),
        access_key: "AK".into(),
        secret_key: "SK".into(),
        deadline: Duration::from_secs(20),
        ..ClientConfig::default()
    }
}

fn client_of(cfg: ClientConfig) -> Client {
    Client::new(fast(cfg)).unwrap()
}

/// `cfg` with retries a test can wait out.
fn fast(cfg: ClientConfig) -> ClientConfig {
    ClientConfig {
        retry: RetryPolicy {
            max_retries: 3,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(10),
            retry_after_cap: Duration::from_millis(10),
        },
        ..cfg
    }
}

/// A server answering every request with `reply`.
async fn always(reply: Reply) -> ScriptedServer {
    ScriptedServer::start(move |_, _| reply.clone()).await
}

fn one_page(tasks: serde_json::Value) -> Reply {
    let total = tasks.as_array().map_or(0, Vec::len);
    Reply::json(200, json!({ "total": total, "tasks": tasks }))
}

// ---------------------------------------------------------------------------------------------
// Point 1: inert text.

#[tokio::test]
async fn hostile_task_fields_arrive_cleaned_with_one_warning_naming_tasks_and_fields() {
    let tasks: Vec<_> = (0..7)
        .map(|i| {
            json!({
                "task_id": format!("t-{i}{HOSTILE}"),
                "secret_name": "db",
                "task_status": "FAILED",
                "operate_type": format!("MULTI{HOSTILE}"),
                "task_error_code": "E.1",
                "task_error_msg": format!("line one\nError: forged{HOSTILE}"),
                "task_time": 1_715_436_899_000i64,
            })
        })
        .chain([json!({"task_id": "clean", "secret_name": "api", "task_error_msg": "fine\ttab"})])
        .collect();
    let server = always(one_page(json!(tasks))).await;
    let listing = list_all(&client_of(config(&server))).await.unwrap();
    assert_eq!(listing.items.tasks.len(), 8);
    for t in &listing.items.tasks {
        for field in [
            Some(&t.task_id),
            t.operate_type.as_ref(),
            t.task_error_msg.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            assert!(!field.chars().any(is_terminal_control), "{field:?}");
        }
    }
    assert_eq!(
        listing.items.tasks[0].task_error_msg.as_deref(),
        Some("line one\n  Error: forged\u{fffd}]0;owned\u{fffd}\u{fffd}\u{fffd}\u{fffd}2J\u{fffd}\u{fffd}"),
        "newlines stay (the lines after the first indented), each unsafe character becomes U+FFFD"
    );
    assert_eq!(
        listing.items.tasks[7].task_error_msg.as_deref(),
        Some("fine\ttab")
    );
    let replaced: Vec<_> = listing
        .warnings
        .iter()
        .filter_map(|w| match w {
            ListingWarning::ServiceTextReplaced(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(replaced.len(), 1, "one warning: {:?}", listing.warnings);
    assert_eq!(replaced[0].count, 7);
    let d = from_warning(&listing.warnings[0], &[]);
    assert!(!d.is_error());
    for part in [
        "7 tasks",
        "\"t-0\u{fffd}]0;owned",
        "and 2 more",
        "fields: operate_type, task_error_msg, task_id",
    ] {
        assert!(
            d.detail.contains(part),
            "{part:?} missing from {}",
            d.detail
        );
    }
    assert!(!d.detail.chars().any(is_terminal_control), "{}", d.detail);
}

#[tokio::test]
async fn error_bodies_and_request_ids_lose_bidi_and_zero_width_characters() {
    let server = always(
        Reply::json(
            400,
            json!({"error_code": format!("CSMS.0401{HOSTILE}"), "error_msg": format!("no\u{202e}gnorw {HOSTILE}")}),
        )
        .with_header("X-Request-Id", "rid-1"),
    )
    .await;
    let e = list_all(&client_of(config(&server))).await.unwrap_err();
    let d = from_error(&e);
    for text in [e.to_string(), d.summary.clone(), d.detail.clone()] {
        assert!(!text.chars().any(is_terminal_control), "{text:?}");
    }
    assert!(d.detail.contains("no\u{fffd}gnorw"), "{}", d.detail);
}

#[tokio::test]
async fn a_task_time_out_of_range_warns_instead_of_a_silent_null() {
    let server = always(one_page(json!([
        {"task_id": "far", "task_time": 9_223_372_036_854_775_807i64},
        {"task_id": "ok", "task_time": 1_715_436_899_000i64},
    ])))
    .await;
    let listing = list_all(&client_of(config(&server))).await.unwrap();
    let w = listing
        .warnings
        .iter()
        .find(|w| matches!(w, ListingWarning::TimeOutOfRange { .. }))
        .unwrap_or_else(|| panic!("no warning: {:?}", listing.warnings));
    let d = from_warning(w, &[]);
    assert_eq!(d.summary, "Task time out of range");
    assert!(
        d.detail.contains("1 task (\"far\"") && d.detail.contains("created_at is null"),
        "{}",
        d.detail
    );
}

// ---------------------------------------------------------------------------------------------
// Point 4: honest decoding.

#[tokio::test]
async fn tasks_sent_as_arrays_are_an_error_not_tasks_read_by_position() {
    let server = always(one_page(json!([[
        "t-1",
        "db",
        "urn",
        "SUCCESS",
        "MULTI_USER",
        1_715_436_899_000i64,
        1
    ]])))
    .await;
    let e = list_all(&client_of(config(&server))).await.unwrap_err();
    match &e {
        Error::Decode { message, .. } => assert!(
            message.contains("a task as a JSON object") && message.contains("never by position"),
            "{message}"
        ),
        other => panic!("expected Decode, got {other}"),
    }
    assert_eq!(
        server.count(),
        1,
        "a body of the wrong shape is not retried"
    );
}

#[tokio::test]
async fn a_20_mb_value_where_a_number_belongs_gives_a_short_message() {
    let huge = "9".repeat(20 << 20);
    let body = format!(r#"{{"total":1,"tasks":[{{"task_id":"t","task_time":"{huge}"}}]}}"#);
    let server = always(Reply::raw(200, "application/json", body.as_bytes())).await;
    let e = list_all(&client_of(config(&server))).await.unwrap_err();
    let d = from_error(&e);
    eprintln!("a 20 MiB body gives a {}-byte diagnostic", d.detail.len());
    assert!(
        matches!(&e, Error::Decode { message, .. } if message.contains("invalid type: string")
            && message.contains("at line 1 column")),
        "{e}"
    );
    assert!(
        d.detail.len() < 1500,
        "the diagnostic is {} bytes: {}",
        d.detail.len(),
        &d.detail[..300]
    );
}

// ---------------------------------------------------------------------------------------------
// Point 6: truthful errors.

#[tokio::test]
async fn ten_megabytes_of_headers_is_an_unreadable_answer_not_an_outage_and_not_retried() {
    let server = always(
        Reply::raw(200, "application/json", b"{}").with_header("X-Padding", &"a".repeat(10 << 20)),
    )
    .await;
    let e = list_all(&client_of(config(&server))).await.unwrap_err();
    match &e {
        Error::Unreadable { problem, .. } => assert!(problem.contains("headers are larger"), "{e}"),
        other => panic!("expected Unreadable, got {other}"),
    }
    let d = from_error(&e);
    assert_eq!(d.summary, "Unreadable answer from the CSMS API");
    assert!(!d.summary.contains("Cannot reach"), "{}", d.summary);
    assert!(d.detail.contains("was not retried"), "{}", d.detail);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn an_invalid_header_is_an_unreadable_answer_not_an_outage() {
    let server =
        always(Reply::raw(200, "application/json", b"{}").with_header("Bad Header", "x")).await;
    let e = list_all(&client_of(config(&server))).await.unwrap_err();
    assert!(
        matches!(&e, Error::Unreadable { problem, .. } if problem.contains("not valid HTTP")),
        "{e}"
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn an_encoding_nobody_asked_for_is_named_as_such() {
    let server = always(
        Reply::raw(200, "application/json", b"\x0b\x02\x80{}\x03")
            .with_header("Content-Encoding", "br"),
    )
    .await;
    let e = list_all(&client_of(config(&server))).await.unwrap_err();
    assert!(
        matches!(&e, Error::Decode { message, .. }
            if message.contains("Content-Encoding: br") && message.contains("did not accept")),
        "{e}"
    );
    assert_eq!(server.count(), 1);
    assert_eq!(server.requests()[0].header("accept-encoding"), Some("gzip"));
}

#[tokio::test]
async fn gzip_that_cannot_be_decompressed_is_named_and_not_retried() {
    for body in [
        &b"not gzip at all"[..],
        &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
    ] {
        let server = always(
            Reply::raw(200, "application/json", body).with_header("Content-Encoding", "gzip"),
        )
        .await;
        let e = list_all(&client_of(config(&server))).await.unwrap_err();
        assert!(
            matches!(&e, Error::Decode { message, .. }
                if message.contains("gzip-compressed") && message.contains("cannot be decompressed")),
            "{e}"
        );
        assert_eq!(server.count(), 1, "{e}");
        assert!(!from_error(&e).summary.contains("Cannot reach"));
    }
}

/// The diagnostic detail of a read refused with `status` and `code`, keys from `source`.
async fn refusal_hint(status: u16, code: &str, source: Source) -> String {
    let body = json!({"error_code": code, "error_msg": "refused"});
    let server = always(Reply::json(status, body)).await;
    let cfg = config(&server);
    let keys = Credentials::new(&cfg.access_key, &cfg.secret_key, None);
    let credentials = std::sync::Arc::new(CredentialProvider::fixed(source, keys));
    let client = Client::with_credentials(fast(cfg), credentials).unwrap();
    let e = list_all(&client).await.unwrap_err();
    assert_eq!(server.count(), 1, "a {status} is not retried");
    from_read_error(&e, Some(client.key_source()), &[]).detail
}

#[tokio::test]
async fn a_401_names_where_the_key_came_from_and_the_clock_only_for_time_codes() {
    let d = refusal_hint(401, "APIGW.0301", Source::Environment).await;
    assert!(
        d.contains("from the environment (HW_ACCESS_KEY, HW_SECRET_KEY)") && d.contains("clock"),
        "{d}"
    );
    let d = refusal_hint(403, "CSMS.0403", Source::Block).await;
    assert!(
        d.contains("from the provider block (access_key, secret_key)")
            && d.contains("csms:task:list"),
        "{d}"
    );
    assert!(!d.contains("clock"), "{d}");
}

// ---------------------------------------------------------------------------------------------
// Point 7 and the IAM half of point 6: project ids.

async fn iam_answering(body: serde_json::Value) -> ScriptedServer {
    always(Reply::json(200, body)).await
}

fn lookup_config(csms: &ScriptedServer, iam: &ScriptedServer) -> ClientConfig {
    ClientConfig {
        region: Some("cn-north-4".into()),
        project_id: None,
        iam_endpoint: Some(iam.url()),
        ..config(csms)
    }
}

#[tokio::test]
async fn a_project_id_of_dot_dot_from_iam_never_moves_the_request_and_is_blamed_on_iam() {
    for id in ["..", ".", "a/b", "p\u{1b}]0;x\u{7}"] {
        let iam = iam_answering(json!({"projects": [{"id": id}]})).await;
        let csms = always(one_page(json!([]))).await;
        let e = list_all(&client_of(lookup_config(&csms, &iam)))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::ProjectLookup { .. }), "{id:?}: {e}");
        let d = from_error(&e);
        assert!(
            d.detail.contains("IAM (") && d.detail.contains("not the provider configuration"),
            "{id:?}: {}",
            d.detail
        );
        assert!(!d.detail.chars().any(is_terminal_control), "{:?}", d.detail);
        assert_eq!(csms.count(), 0, "{id:?}: nothing may be sent with it");
    }
}

#[tokio::test]
async fn a_configured_project_id_of_dot_dot_is_refused_before_any_request() {
    let csms = always(one_page(json!([]))).await;
    for id in ["..", ".", "a/b"] {
        let e = Client::new(ClientConfig {
            project_id: Some(id.into()),
            ..config(&csms)
        })
        .unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.starts_with("project_id ")),
            "{id:?}: {e}"
        );
    }
    assert_eq!(csms.count(), 0);
}

#[tokio::test]
async fn a_project_id_with_reserved_characters_is_one_encoded_path_segment() {
    let csms = always(one_page(json!([]))).await;
    let client = client_of(ClientConfig {
        project_id: Some("p%2E?#x".into()),
        ..config(&csms)
    });
    list_all(&client).await.unwrap();
    assert_eq!(csms.requests()[0].path, "/v1/p%252E%3F%23x/csms/tasks");
}

#[tokio::test]
async fn a_malformed_iam_answer_is_blamed_on_iam() {
    let iam = iam_answering(json!({"projects": "not a list"})).await;
    let csms = always(one_page(json!([]))).await;
    let e = list_all(&client_of(lookup_config(&csms, &iam)))
        .await
        .unwrap_err();
    let d = from_error(&e);
    assert_eq!(d.summary, "Unexpected answer from IAM");
    assert!(
        d.detail.contains("not the documented project list")
            && d.detail.contains("not the provider configuration"),
        "{}",
        d.detail
    );
    assert_eq!(csms.count(), 0);
}
