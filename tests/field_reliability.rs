//! Issue 13 through the real Terraform CLI: what a user sees when the service (or whatever
//! answers in its place) misbehaves. Hostile task fields and error bodies reach the terminal
//! inert; each misleading message of point 6 now says what happened; project ids cannot move
//! the request. Servers are the emulator or scripted servers on 127.0.0.1.

use crate::common;

use common::scripted_server::{Reply, ScriptedServer};
use common::terraform::{emulator_with, fold, workdir, Run, Workdir, AK, SK, TERRAFORM_BLOCK};
use csms_provider::emulator::{Faults, SecretTask};
use serde_json::json;

/// ESC (sequences that retitle the terminal or forge colours), CR and a forged line, BEL, NUL,
/// a bidi override and a zero-width space.
const HOSTILE: &str = "\u{1b}]0;owned\u{7}\u{1b}[31m\r\nError: forged\u{0}\u{202e}dekcah\u{200b}";

/// Panics when Terraform's output holds a byte a hostile service could have put there: ESC,
/// CR, BEL, NUL or a bidi override (the runs use `-no-color`, so Terraform itself writes no ESC).
#[track_caller]
fn assert_inert_output(run: &Run) {
    let out = run.output();
    for (c, name) in [
        ('\u{1b}', "ESC"),
        ('\r', "CR"),
        ('\u{7}', "BEL"),
        ('\u{0}', "NUL"),
        ('\u{202e}', "U+202E"),
        ('\u{200b}', "U+200B"),
    ] {
        assert!(!out.contains(c), "{name} reached the terminal:\n{out:?}");
    }
}

fn hostile_task(id: &str, time: i64) -> SecretTask {
    SecretTask {
        task_id: format!("{id}{HOSTILE}"),
        secret_name: Some("db-password".into()),
        rotation_func_urn: Some("urn:fss:cn-north-4:p:function:default:rotate".into()),
        task_status: Some("FAILED".into()),
        operate_type: Some(format!("MULTI_USER{HOSTILE}")),
        task_time: Some(time),
        attempt_nums: Some(1),
        task_error_code: Some(format!("E.1{HOSTILE}")),
        task_error_msg: Some(format!("rotation failed{HOSTILE}")),
    }
}

/// Point 1 and the `created_at` item of point 9: tasks whose every text field carries terminal
/// controls and invisible characters, shown in plan output and inside a postcondition's
/// message (the README's own use case), plus a task whose `task_time` no RFC 3339 timestamp
/// can express. Nothing raw reaches the terminal, and only `task_error_msg` keeps a newline;
/// one warning names the cleaned tasks and fields, another the out-of-range time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_task_fields_reach_the_terminal_inert_with_warnings() {
    let mut tasks = vec![hostile_task("t-1", 1_715_436_899_000)];
    tasks.push(SecretTask {
        task_id: "far-future".into(),
        secret_name: Some("api-key".into()),
        task_status: Some("SUCCESS".into()),
        task_time: Some(i64::MAX / 2),
        ..SecretTask::default()
    });
    let emu = emulator_with(tasks, Faults::default()).await;
    let dir = workdir(
        &emu,
        r#"
data "csms_rotation_tasks" "q" {
  lifecycle {
    postcondition {
      condition     = alltrue([for t in self.tasks : t.task_status == "SUCCESS"])
      error_message = join("; ", [for t in self.tasks : "${t.task_id}: ${coalesce(t.task_error_msg, "-")} (${t.operate_type})" if t.task_status != "SUCCESS"])
    }
  }
}
output "created_at" { value = [for t in data.csms_rotation_tasks.q.tasks : t.created_at] }
"#,
    );
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    assert_inert_output(&run);
    run.assert_error(&[
        "Resource postcondition failed",
        "rotation failed\u{fffd}]0;owned\u{fffd}\u{fffd}[31m\u{fffd}",
        "Unprintable characters replaced in task data",
        "fields: operate_type, task_error_code, task_error_msg, task_id",
        "Task time out of range",
        "1 task (\"far-future\"",
    ]);
    // Only the error message may keep its newline; the id and operate_type are one line, so
    // the one forged-looking line comes from task_error_msg, where the user reads a message,
    // and it is indented (issue 21, item 6): no line of service text sits where Terraform's
    // own headings do.
    let output = run.output();
    let lines: Vec<&str> = output
        .lines()
        .map(|l| l.strip_prefix("│ ").unwrap_or(l))
        .collect();
    assert!(
        !lines.iter().any(|l| l.starts_with("Error: forged")),
        "{output}"
    );
    let indented = lines
        .iter()
        .filter(|l| l.starts_with("  Error: forged"))
        .count();
    assert_eq!(indented, 1, "{output}");
}

/// Issue 21, item 6: a `task_error_msg` of 20 MB reaches Terraform as its first 4 KiB and a
/// note that states the length the service sent; a short one is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_error_message_is_cut_stating_its_length() {
    let huge = 20 << 20;
    let tasks = vec![SecretTask {
        task_id: "t-huge".into(),
        task_status: Some("FAILED".into()),
        task_time: Some(1_715_436_899_000),
        task_error_msg: Some("m".repeat(huge)),
        ..SecretTask::default()
    }];
    let emu = emulator_with(tasks, Faults::default()).await;
    let outputs = workdir(
        &emu,
        r#"
data "csms_rotation_tasks" "q" {}
locals { message = data.csms_rotation_tasks.q.tasks[0].task_error_msg }
output "length" { value = length(local.message) }
output "tail" { value = substr(local.message, 4090, -1) }
"#,
    )
    .apply_outputs()
    .await;
    assert_eq!(
        outputs["tail"],
        format!("mmmmmm... [cut by the provider: the service sent {huge} bytes]")
    );
    assert_eq!(
        outputs["length"],
        4096 + "... [cut by the provider: the service sent 20971520 bytes]".len()
    );
}

/// Point 1 for error bodies: an error code, message and request id full of controls and bidi
/// characters are shown cleaned, still naming the status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_error_bodies_reach_the_terminal_inert() {
    let server = ScriptedServer::start(|_, _| {
        Reply::json(
            400,
            json!({"error_code": format!("CSMS.0401{HOSTILE}"), "error_msg": format!("bad{HOSTILE}")}),
        )
        .with_header("X-Request-Id", "rid-\u{202e}x")
    })
    .await;
    let dir = misbehaving(&[("bad_body", &server.url())]);
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    assert_inert_output(&run);
    run.assert_error(&["HTTP 400", "CSMS.0401", "bad"]);
}

/// A working directory with one aliased provider (keys from the environment, project `p`) and
/// one data source per `(name, endpoint)`.
fn misbehaving(servers: &[(&str, &str)]) -> Workdir {
    let mut config = TERRAFORM_BLOCK.to_string();
    for (name, url) in servers {
        config.push_str(&format!(
            "provider \"csms\" {{\n  alias = \"{name}\"\n  endpoint = \"{url}\"\n  project_id = \"p\"\n}}\n\
             data \"csms_rotation_tasks\" \"{name}\" {{\n  provider = csms.{name}\n}}\n"
        ));
    }
    Workdir::new(&[("main.tf", &config)])
        .env("HW_ACCESS_KEY", AK)
        .env("HW_SECRET_KEY", SK)
}

/// Point 6, each message in one plan: a redirect names itself, its Location and that it is not
/// followed; 10 MB of headers and an invalid header are an unreadable answer, not "Cannot reach
/// the CSMS API", and are not retried; gzip that cannot be decompressed is named and not
/// retried; an untrusted certificate gets a hint about certificate trust, not HTTPS_PROXY; a 401
/// names where the keys came from and, for the gateway's signature code, the clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_misleading_message_now_says_what_happened() {
    let redirect = ScriptedServer::start(|_, _| {
        Reply::raw(301, "text/plain", b"").with_header("Location", "https://elsewhere.example/v1")
    })
    .await;
    let big_headers = ScriptedServer::start(|_, _| {
        Reply::raw(200, "application/json", b"{}").with_header("X-Padding", &"a".repeat(10 << 20))
    })
    .await;
    let bad_header = ScriptedServer::start(|_, _| {
        Reply::raw(200, "application/json", b"{}").with_header("Bad Header", "x")
    })
    .await;
    let gzip = ScriptedServer::start(|_, _| {
        Reply::raw(
            200,
            "application/json",
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
        )
        .with_header("Content-Encoding", "gzip")
    })
    .await;
    let untrusted = ScriptedServer::start_tls(|_, _| Reply::json(200, json!({"total": 0}))).await;
    let rejected = ScriptedServer::start(|_, _| {
        Reply::json(
            401,
            json!({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"}),
        )
    })
    .await;
    let dir = misbehaving(&[
        ("redirect", &redirect.url()),
        ("big_headers", &big_headers.url()),
        ("bad_header", &bad_header.url()),
        ("gzip", &gzip.url()),
        ("untrusted", &untrusted.url()),
        ("rejected", &rejected.url()),
    ]);
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    run.assert_error(&[
        "CSMS API answered with a redirect",
        "answered HTTP 301, a redirect to https://elsewhere.example/v1; redirects are not followed",
        "Unreadable answer from the CSMS API",
        "its headers are larger than the client accepts",
        "its status line or a header is not valid HTTP",
        "gzip-compressed (Content-Encoding: gzip) but cannot be decompressed",
        "TLS connection to the CSMS API refused",
        "not issued by an authority this machine trusts",
        "trust store",
        "from the environment (HW_ACCESS_KEY, HW_SECRET_KEY)",
        "this machine's clock",
    ]);
    let out = run.output();
    assert!(!out.contains("Cannot reach the CSMS API"), "{out}");
    assert!(!out.contains("HTTPS_PROXY"), "{out}");
    for (name, server) in [
        ("redirect", &redirect),
        ("big_headers", &big_headers),
        ("bad_header", &bad_header),
        ("gzip", &gzip),
        ("rejected", &rejected),
    ] {
        assert_eq!(server.count(), 1, "{name}: neither followed nor retried");
    }
    assert_eq!(untrusted.count(), 0);
}

/// Point 7, configured: `project_id = ".."` is refused on the attribute at plan time, before
/// any request (it would have moved the signed request to `/csms/tasks`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_project_id_of_dot_dot_is_refused_on_the_attribute() {
    let emu = emulator_with(Vec::new(), Faults::default()).await;
    let config = format!(
        "{TERRAFORM_BLOCK}provider \"csms\" {{\n  endpoint = \"{}\"\n  project_id = \"..\"\n}}\n\
         data \"csms_rotation_tasks\" \"q\" {{}}\n",
        emu.base_url()
    );
    let dir = Workdir::new(&[("main.tf", &config)])
        .env("HW_ACCESS_KEY", AK)
        .env("HW_SECRET_KEY", SK);
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    run.assert_error(&[
        "Invalid project_id",
        "`project_id` is `.` or `..`",
        "project_id = \"..\"",
    ]);
    assert_eq!(emu.stats().requests, 0, "nothing was sent");
}

/// Point 7 and the IAM half of point 6: a project id of `..` (or one with escapes) answered by
/// IAM is blamed on IAM, shown cleaned, and never used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_project_id_from_iam_is_blamed_on_iam_and_never_used() {
    let iam = ScriptedServer::start(|r, _| {
        let id = if r.param("name").as_deref() == Some("cn-north-4") {
            ".."
        } else {
            "p\u{1b}]0;x\u{7}"
        };
        Reply::json(200, json!({"projects": [{"id": id}]}))
    })
    .await;
    let csms = ScriptedServer::start(|_, _| Reply::json(200, json!({"total": 0}))).await;
    let mut config = TERRAFORM_BLOCK.to_string();
    for region in ["cn-north-4", "ap-southeast-1"] {
        config.push_str(&format!(
            "provider \"csms\" {{\n  alias = \"{region}\"\n  region = \"{region}\"\n  endpoint = \"{}\"\n  iam_endpoint = \"{}\"\n}}\n\
             data \"csms_rotation_tasks\" \"{region}\" {{\n  provider = csms.{region}\n}}\n",
            csms.url(),
            iam.url()
        ));
    }
    let dir = Workdir::new(&[("main.tf", &config)])
        .env("HW_ACCESS_KEY", AK)
        .env("HW_SECRET_KEY", SK);
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    assert_inert_output(&run);
    run.assert_error(&[
        "Cannot determine the project ID",
        "answered the project id \"..\"",
        "answered the project id \"p\u{fffd}]0;x\u{fffd}\"",
        "not the provider configuration",
    ]);
    assert_eq!(csms.count(), 0, "no request was sent with either id");
}

/// Point 9's log items: the endpoint and project in use at INFO once per configuration, and
/// DEBUG page lines that print `2` and `-`, not `Some(2)` and `None`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_name_the_endpoint_and_project_and_print_plain_values() {
    let tasks: Vec<SecretTask> = (0..2)
        .map(|i| SecretTask {
            task_id: format!("t-{i}"),
            secret_name: Some("db".into()),
            ..SecretTask::default()
        })
        .collect();
    let emu = emulator_with(tasks, Faults::default()).await;
    let dir = workdir(&emu, "data \"csms_rotation_tasks\" \"q\" {}\n");
    let run = dir.plan_with_debug_log().await;
    run.assert_ok();
    let lines = run.provider_log_lines();
    let in_use: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("[INFO]") && l.contains("CSMS endpoint and project in use"))
        .collect();
    assert_eq!(in_use.len(), 1, "{}", run.stderr);
    assert!(
        in_use[0].contains(&emu.base_url()) && in_use[0].contains(emu.project_id()),
        "{}",
        in_use[0]
    );
    let page = lines
        .iter()
        .find(|l| l.contains("read a page of rotation tasks"))
        .unwrap_or_else(|| panic!("no page line:\n{}", run.stderr));
    assert!(
        page.contains("total=2") && page.contains("marker=-"),
        "{page}"
    );
    assert!(!page.contains("Some(") && !page.contains("None"), "{page}");
    assert!(!run.output().contains(SK), "secret key in the log");
}

/// Issue 21, item 4: a redirect is described alike whichever endpoint answers it: the ECS
/// metadata service, IAM's agency exchange and CSMS say "a redirect to <Location>; redirects
/// are not followed" (not "refused" or a bare status), and the URL that starts the CSMS
/// detail is not capitalised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_and_agency_redirects_are_described_as_redirects() {
    let server = ScriptedServer::start(|_, _| {
        Reply::json(302, json!({})).with_header("Location", "http://elsewhere.example/x")
    })
    .await;
    let url = server.url();
    let config = format!(
        r#"{TERRAFORM_BLOCK}
provider "csms" {{
  alias      = "metadata"
  region     = "cn-north-4"
  project_id = "p"
}}
data "csms_rotation_tasks" "metadata" {{
  provider = csms.metadata
}}
provider "csms" {{
  alias        = "agency"
  region       = "cn-north-4"
  project_id   = "p"
  access_key   = "{AK}"
  secret_key   = "{SK}"
  iam_endpoint = "{url}"
  assume_role {{
    agency_name = "audit"
    domain_name = "other-account"
  }}
}}
data "csms_rotation_tasks" "agency" {{
  provider = csms.agency
}}
provider "csms" {{
  alias      = "csms"
  region     = "cn-north-4"
  project_id = "p"
  access_key = "{AK}"
  secret_key = "{SK}"
  endpoint   = "{url}"
}}
data "csms_rotation_tasks" "csms" {{
  provider = csms.csms
}}
"#
    );
    let run = Workdir::new(&[("main.tf", &config)])
        .env("HW_METADATA_ENDPOINT", &url)
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&[
        &format!(
            "the ECS metadata service at {url}/meta-data/latest/api/token answered HTTP 302, a \
             redirect to http://elsewhere.example/x; redirects are not followed"
        ),
        &format!(
            "Assuming agency \"audit\": IAM at {url}/v3.0/OS-CREDENTIAL/securitytokens answered \
             HTTP 302, a redirect to http://elsewhere.example/x; redirects are not followed"
        ),
        &format!(
            "{url}/v1/p/csms/tasks?limit=1000 answered HTTP 302, a redirect to \
             http://elsewhere.example/x; redirects are not followed"
        ),
    ]);
    // A sentence that starts with a URL keeps it as written.
    assert!(!run.output().contains("Http://"), "{}", run.output());
}

/// Issue 21, item 3: `Retry-After` at its edges. A wait longer than the read's time fails at
/// once saying what the service asked for and that `timeouts { read }` bounds it (raising
/// `max_retries` cannot help, so it is not advised); a date in the past is a normal backoff
/// step counted against `max_retries`, not 50 immediate retries, and then the advice is
/// `max_retries`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_edges_fail_or_back_off_naming_the_limit_reached() {
    let throttled = |retry_after: &'static str| {
        move |_: &_, _| {
            Reply::json(
                429,
                json!({"error_code": "APIGW.0308", "error_msg": "throttled"}),
            )
            .with_header("Retry-After", retry_after)
        }
    };
    let years = ScriptedServer::start(throttled("1000000000")).await;
    let past = ScriptedServer::start(throttled("Tue, 02 Jan 2024 03:04:05 GMT")).await;
    let run = misbehaving(&[("years", &years.url()), ("past", &past.url())])
        .env("HW_MAX_RETRIES", "2")
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&[
        "The service asked to wait 1000000000s, about 31 years (Retry-After) before another try, \
         longer than the",
        "left of the read, which `timeouts { read }` bounds (default 5m)",
        "The request was retried 2 times. The service is throttling requests and every retry \
         `max_retries` allows was spent. Raise `max_retries`",
    ]);
    assert_eq!(
        years.count(),
        1,
        "a wait past the deadline is not tried again"
    );
    assert_eq!(
        past.count(),
        3,
        "a past date is a backoff step counted by max_retries"
    );
    let output = fold(&run.output());
    let years_detail = &output[output.find("about 31 years").unwrap()..];
    let years_detail = &years_detail[..years_detail.find("Error:").unwrap_or(years_detail.len())];
    assert!(!years_detail.contains("max_retries"), "{years_detail}");
}

/// Issue 21, item 4: a sentence is written once: an empty page that names a next marker while
/// `total` says more remain says "no partial list is returned" once, not in the error and
/// again in its advice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paging_fault_says_each_sentence_once() {
    let server = ScriptedServer::start(|_, _| {
        Reply::json(200, json!({"total": 5, "tasks": [], "next_marker": "m-1"}))
    })
    .await;
    let run = misbehaving(&[("empty", &server.url())])
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&[
        "Inconsistent pages from the CSMS API",
        "page 1 was empty but named a next_marker while total=5 says 5 more tasks remain",
    ]);
    let output = fold(&run.output()).to_lowercase();
    assert_eq!(
        output.matches("no partial list is returned").count(),
        1,
        "{output}"
    );
}

/// Issue 21, item 5: a proxy that refuses the tunnel is named (without its user and password),
/// with the status it answered and the variable it came from, instead of "tunnel error:
/// unsuccessful", for CSMS and for IAM's agency exchange alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_proxy_tunnel_names_the_proxy_its_answer_and_the_variable() {
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = proxy.local_addr().unwrap();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let recorded = asked.clone();
    let serving = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut stream, _)) = proxy.accept().await {
            let mut head = Vec::new();
            let mut chunk = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk).await {
                    Ok(n) if n > 0 => head.extend_from_slice(&chunk[..n]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head);
            recorded
                .lock()
                .unwrap()
                .push(head.lines().next().unwrap_or_default().to_string());
            let _ = stream
                .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let config = format!(
        r#"{TERRAFORM_BLOCK}
provider "csms" {{
  region      = "cn-north-4"
  project_id  = "p"
  max_retries = 0
}}
data "csms_rotation_tasks" "q" {{}}
provider "csms" {{
  alias      = "agency"
  region     = "cn-north-4"
  project_id = "p"
  assume_role {{
    agency_name = "audit"
    domain_name = "other-account"
  }}
}}
data "csms_rotation_tasks" "agency" {{
  provider = csms.agency
}}
"#
    );
    let run = Workdir::new(&[("main.tf", &config)])
        .env("HW_ACCESS_KEY", AK)
        .env("HW_SECRET_KEY", SK)
        .env(
            "HTTPS_PROXY",
            format!("http://proxy-user:proxy-secret@{address}"),
        )
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    serving.abort();
    run.assert_error(&[
        "Cannot reach the CSMS API",
        &format!(
            "the proxy http://{address} (from HTTPS_PROXY) refused the tunnel to \
             kms.cn-north-4.myhuaweicloud.com: it answered HTTP 403 Forbidden"
        ),
        &format!(
            "securitytokens failed: the proxy http://{address} (from HTTPS_PROXY) refused the \
             tunnel to iam.cn-north-4.myhuaweicloud.com: it answered HTTP 403 Forbidden"
        ),
    ]);
    assert!(!run.output().contains("proxy-secret"), "{}", run.output());
    assert!(
        asked.lock().unwrap().iter().all(|l| [
            "CONNECT kms.cn-north-4.myhuaweicloud.com:443 HTTP/1.1",
            "CONNECT iam.cn-north-4.myhuaweicloud.com:443 HTTP/1.1"
        ]
        .contains(&l.as_str())),
        "{:?}",
        asked.lock().unwrap()
    );
}

/// A refused page size is a warning on the plan and one WARN line in the provider's log (it was
/// logged twice: when refused and with the listing's warnings).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_page_size_warns_once() {
    let emu = csms_provider::emulator::Emulator::start(csms_provider::emulator::Config {
        credentials: Some((AK.into(), SK.into())),
        max_limit: 100,
        ..csms_provider::emulator::Config::default()
    })
    .await
    .expect("emulator starts");
    let dir = workdir(&emu, "data \"csms_rotation_tasks\" \"q\" {}\n");
    let run = dir.plan_with_debug_log().await;
    run.assert_ok().assert_contains(&["Page size reduced"]);
    let refused: Vec<&str> = run
        .provider_log_lines()
        .into_iter()
        .filter(|l| l.contains("[WARN]") && l.contains("refused limit=1000"))
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
}
