//! Hardening, end to end: the real Terraform CLI (1.15.5) runs the provider binary against the
//! CSMS emulator, or against a scripted server when the emulator cannot misbehave the way a test
//! needs, and every fault ends in the exact task set or in a clear error naming the cause,
//! within a bounded time. Also: many reads in parallel, Ctrl-C during a slow read, secrets with
//! `TF_LOG=trace`, hostile configuration values, and the plugin channel (socket mode,
//! signals, callers without Terraform's certificate).
//!
//! `tests/terraform.rs` already covers 503/HTML 502/429 with Retry-After/truncated/reset faults,
//! sticky and looping markers, `total` lying upward, invalid configs and a wrong secret key;
//! this file covers the rest of issue 6. `SECURITY.md` maps each promise to its test here.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::plugin::{connect, Captured, ClientCert, Plugin};
use common::scripted_server::{Reply, ScriptedServer};
use common::terraform::{
    emulator_with, newest_first_ids, provider_dir, tasks_requests, terraform_bin, workdir, Run,
    Workdir, AK, PROVIDER, SK,
};
use csms_provider::emulator::{self, Config, Emulator, Faults};
use csms_provider::plugin::proto::go_plugin::{
    grpc_controller_client::GrpcControllerClient, Empty,
};
use csms_provider::plugin::proto::tfplugin6::{self as pb, provider_client::ProviderClient};
use serde_json::{json, Value as Json};

const TOKEN: &str = "hardening-SECURITY-TOKEN-must-never-appear-7a6b5c";

/// A working directory pointed at a scripted server (no signature checking, project `p`).
fn scripted_workdir(server: &ScriptedServer, config: &str) -> Workdir {
    Workdir::new(&[("main.tf", &format!("{PROVIDER}\n{config}"))]).emulator_env(
        &server.url(),
        "p",
        AK,
        SK,
    )
}

const IDS_OUTPUT: &str = r#"
output "ids" { value = [for t in data.csms_rotation_tasks.q.tasks : t.task_id] }
output "total" { value = data.csms_rotation_tasks.q.total }
"#;

fn ids(outputs: &Json) -> Vec<String> {
    serde_json::from_value(outputs["ids"].clone()).expect("ids is a list of strings")
}

fn plan_args() -> [&'static str; 3] {
    ["plan", "-input=false", "-no-color"]
}

/// Asserts the run took less than `limit`.
#[track_caller]
fn assert_within(start: Instant, limit: Duration, what: &str) {
    let took = start.elapsed();
    assert!(took < limit, "{what} took {took:?} (limit {limit:?})");
}

// ---------------------------------------------------------------------------------------------
// Faults not covered by tests/terraform.rs.

/// A 200 with an empty body (a gateway glitch) is retried like a 503: the exact task set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_200_bodies_are_retried_to_the_exact_result() {
    let data = emulator::generate(260, 61);
    let emu = emulator_with(
        data.clone(),
        Faults {
            empty_every: Some(2),
            ..Faults::default()
        },
    )
    .await;
    let dir = workdir(
        &emu,
        &format!("data \"csms_rotation_tasks\" \"q\" {{\n  page_size = 100\n}}\n{IDS_OUTPUT}"),
    );
    let start = Instant::now();
    let outputs = dir.apply_outputs().await;
    assert_within(start, Duration::from_secs(60), "apply with empty bodies");
    assert_eq!(ids(&outputs), newest_first_ids(&data));
    // 3 pages, every second answer empty: 5 requests at least.
    assert!(tasks_requests(&emu) >= 5, "{:?}", emu.stats());
}

/// An empty body on every answer ends in an error that says so, after the retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistently_empty_bodies_fail_naming_the_empty_body() {
    let server = ScriptedServer::start(|_, _| Reply::raw(200, "application/json", b"")).await;
    let dir = scripted_workdir(&server, "data \"csms_rotation_tasks\" \"q\" {}\n")
        .env("HW_MAX_RETRIES", "2");
    let start = Instant::now();
    let run = dir.run(&plan_args()).await;
    assert_within(start, Duration::from_secs(30), "plan");
    run.assert_error(&[
        "Unexpected response from the CSMS API",
        "the response body is empty",
    ]);
    assert_eq!(server.count(), 3, "one try and two retries");
}

/// `total` lying low (the service under-reports by more than a page) must not cut the list
/// short: every page is still read, and the mismatch is a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn total_lying_low_still_reads_every_task_and_warns() {
    let data = emulator::generate(120, 62);
    let emu = emulator_with(
        data.clone(),
        Faults {
            total_delta: -25,
            ..Faults::default()
        },
    )
    .await;
    let dir = workdir(
        &emu,
        &format!("data \"csms_rotation_tasks\" \"q\" {{\n  page_size = 10\n}}\n{IDS_OUTPUT}"),
    );
    let run = dir.run(&plan_args()).await;
    run.assert_ok().assert_contains(&[
        "Warning: Task count differs from the reported total",
        "The service reported total=95 but 120 distinct tasks were listed",
    ]);
    let outputs = dir.apply_outputs().await;
    assert_eq!(ids(&outputs), newest_first_ids(&data));
    assert_eq!(outputs["total"], 95, "total is what the service reported");
}

/// Bodies of the wrong JSON types are refused with an error naming the body and the type
/// problem, without retrying (the service would answer the same), instead of a defaulted or
/// partial list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_json_types_fail_naming_the_body() {
    let cases: [(&str, Json, &str); 4] = [
        (
            "tasks is a string",
            json!({"total": 1, "tasks": "oops"}),
            "invalid type: string \"oops\", expected a sequence",
        ),
        (
            "task_time is a string",
            json!({"total": 1, "tasks": [{"task_id": "a", "task_time": "x"}]}),
            "invalid type: string \"x\", expected i64",
        ),
        (
            "total is a string",
            json!({"total": "many", "tasks": []}),
            "invalid type: string \"many\"",
        ),
        (
            "no tasks field",
            json!({"total": 3}),
            "missing field `tasks`",
        ),
    ];
    for (what, body, cause) in cases {
        let server = ScriptedServer::start(move |_, _| Reply::json(200, body.clone())).await;
        let dir = scripted_workdir(&server, "data \"csms_rotation_tasks\" \"q\" {}\n");
        let run = dir.run(&plan_args()).await;
        run.assert_error(&[
            "Unexpected response from the CSMS API",
            "not the documented JSON",
            cause,
        ]);
        assert_eq!(server.count(), 1, "{what}: a malformed body is not retried");
    }
}

/// 20,000 tasks (20 pages of 1000, the default page size) arrive exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_tasks_arrive_exactly() {
    let data = emulator::generate(20_000, 63);
    let emu = emulator_with(data.clone(), Faults::default()).await;
    let dir = workdir(
        &emu,
        &format!("data \"csms_rotation_tasks\" \"q\" {{}}\n{IDS_OUTPUT}"),
    );
    let start = Instant::now();
    let outputs = dir.apply_outputs().await;
    assert_within(start, Duration::from_secs(90), "apply of 20,000 tasks");
    assert_eq!(ids(&outputs), newest_first_ids(&data));
    assert_eq!(outputs["total"], 20_000);
    assert_eq!(tasks_requests(&emu), 20, "one read of 20 pages");
}

/// A body larger than the 64 MiB cap is cut off and refused with an error naming the cap; the
/// provider neither runs out of memory nor retries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_64_mib_is_refused_naming_the_cap() {
    let cap = csms_provider::csms::transport::MAX_BODY_BYTES;
    let server = ScriptedServer::start(move |_, _| {
        let mut body = br#"{"total":1,"tasks":[{"task_id":"a","task_error_msg":""#.to_vec();
        body.resize(cap + 1024, b'x');
        body.extend_from_slice(br#""}]}"#);
        Reply::raw(200, "application/json", &body)
    })
    .await;
    let dir = scripted_workdir(&server, "data \"csms_rotation_tasks\" \"q\" {}\n");
    let start = Instant::now();
    let run = dir.run(&plan_args()).await;
    assert_within(start, Duration::from_secs(60), "plan against a huge body");
    run.assert_error(&[
        "Unexpected response from the CSMS API",
        &format!("response body larger than {cap} bytes"),
    ]);
    assert_eq!(server.count(), 1, "not retried");
}

/// A burst of 429s without `Retry-After` (four in a row, then the page) is waited out with
/// backoff: the exact task set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_429_without_retry_after_is_waited_out() {
    let server = ScriptedServer::start(|_, n| {
        if n < 4 {
            Reply::json(
                429,
                json!({"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached"}),
            )
        } else {
            Reply::json(
                200,
                json!({"total": 2, "tasks": [
                    {"task_id": "t-old", "secret_name": "s", "task_time": 1_000},
                    {"task_id": "t-new", "secret_name": "s", "task_time": 2_000},
                ]}),
            )
        }
    })
    .await;
    let dir = scripted_workdir(
        &server,
        &format!("data \"csms_rotation_tasks\" \"q\" {{}}\n{IDS_OUTPUT}"),
    );
    let start = Instant::now();
    let outputs = dir.apply_outputs().await;
    assert_within(start, Duration::from_secs(45), "apply through a 429 burst");
    assert_eq!(ids(&outputs), ["t-new", "t-old"]);
    assert_eq!(server.count(), 5, "four 429s, then the page");
}

/// Throttling on every other request (no `Retry-After`) through the emulator: exact result.
/// Throttling that never ends: an error naming HTTP 429, the gateway's code and the retries,
/// within a bounded time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_without_retry_after_is_retried_or_named() {
    let data = emulator::generate(150, 64);
    let emu = emulator_with(
        data.clone(),
        Faults {
            fail_every: Some((2, 429)),
            ..Faults::default()
        },
    )
    .await;
    let dir = workdir(
        &emu,
        &format!("data \"csms_rotation_tasks\" \"q\" {{\n  page_size = 50\n}}\n{IDS_OUTPUT}"),
    );
    assert_eq!(ids(&dir.apply_outputs().await), newest_first_ids(&data));

    let emu = emulator_with(
        data,
        Faults {
            fail_every: Some((1, 429)),
            ..Faults::default()
        },
    )
    .await;
    let dir = workdir(&emu, "data \"csms_rotation_tasks\" \"q\" {}\n").env("HW_MAX_RETRIES", "2");
    let start = Instant::now();
    let run = dir.run(&plan_args()).await;
    assert_within(
        start,
        Duration::from_secs(30),
        "plan against endless throttling",
    );
    run.assert_error(&["HTTP 429", "APIGW.0308", "retried 2 times"]);
    assert_eq!(tasks_requests(&emu), 3);
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

/// Twenty data sources in one config, read in parallel by Terraform against a slow (50 ms per
/// answer) service that fails every fifth request with a 503: every result is exactly its
/// query's tasks, the retries of one read do not disturb the others, and the provider reuses
/// its connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_reads_with_latency_and_retries_are_all_exact() {
    let data = emulator::generate(600, 65);
    let mut secrets: Vec<String> = data.iter().filter_map(|t| t.secret_name.clone()).collect();
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() >= 10, "{secrets:?}");
    let queries: Vec<(String, &str)> = secrets[..10]
        .iter()
        .flat_map(|s| [(s.clone(), "SUCCESS"), (s.clone(), "FAILED")])
        .collect();
    assert_eq!(queries.len(), 20);

    let emu = emulator_with(
        data.clone(),
        Faults {
            latency: Duration::from_millis(50),
            fail_every: Some((5, 503)),
            ..Faults::default()
        },
    )
    .await;
    let mut config = String::new();
    for (i, (secret, status)) in queries.iter().enumerate() {
        config.push_str(&format!(
            "data \"csms_rotation_tasks\" \"q{i}\" {{\n  secret_name = \"{secret}\"\n  status = \"{status}\"\n  page_size = 5\n}}\n\
             output \"ids{i}\" {{ value = [for t in data.csms_rotation_tasks.q{i}.tasks : t.task_id] }}\n"
        ));
    }
    let dir = workdir(&emu, &config);
    let start = Instant::now();
    let run = dir
        .run(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .await;
    assert_within(start, Duration::from_secs(90), "apply of 20 data sources");
    run.assert_ok();
    assert_eq!(
        run.output().matches("Warning:").count(),
        1,
        "only the dev-overrides warning: {}",
        run.output()
    );
    let out = dir.run(&["output", "-json"]).await;
    out.assert_ok();
    let outputs: Json = serde_json::from_str(&out.stdout).unwrap();
    for (i, (secret, status)) in queries.iter().enumerate() {
        let expected = newest_first_ids(data.iter().filter(|t| {
            t.secret_name.as_deref() == Some(secret) && t.task_status.as_deref() == Some(status)
        }));
        let got: Vec<String> = serde_json::from_value(outputs[format!("ids{i}")]["value"].clone())
            .unwrap_or_else(|e| panic!("ids{i}: {e}"));
        assert_eq!(got, expected, "data source q{i} ({secret}, {status})");
    }
    let stats = emu.stats();
    let requests = tasks_requests(&emu);
    let pages: u64 = queries
        .iter()
        .map(|(s, st)| {
            let n = data
                .iter()
                .filter(|t| {
                    t.secret_name.as_deref() == Some(s) && t.task_status.as_deref() == Some(st)
                })
                .count() as u64;
            n.div_ceil(5).max(1)
        })
        .sum();
    assert!(
        requests > pages,
        "some requests failed and were retried: {stats:?}"
    );
    eprintln!(
        "20 parallel reads: {pages} pages, {requests} requests, {} connections, {:?}",
        stats.connections,
        start.elapsed()
    );
    assert!(
        stats.connections * 4 <= requests,
        "connections are reused: {} connections for {requests} requests",
        stats.connections
    );
}

// ---------------------------------------------------------------------------------------------
// Cancellation.

/// `terraform` started by hand (not through `Workdir::run`), so the test can signal it.
fn spawn_terraform(dir: &Workdir, env: &[(&str, String)], args: &[&str]) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(terraform_bin());
    cmd.args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("TF_CLI_CONFIG_FILE", dir.path().join(".terraformrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().expect("terraform starts")
}

/// Pids of live processes running the provider binary whose parent is `parent`.
fn provider_children(parent: u32) -> Vec<u32> {
    let provider = provider_dir().join("terraform-provider-csms");
    let provider = std::fs::canonicalize(&provider).unwrap_or(provider);
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Some((ppid, state)) = stat(pid) else {
            continue;
        };
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        if ppid == parent && state != 'Z' && exe.as_deref() == Some(provider.as_path()) {
            pids.push(pid);
        }
    }
    pids
}

/// `(parent pid, state)` of a process, from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(u32, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

/// Whether `pid` is still a live (not zombie) process.
fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(_, state)| state != 'Z')
}

/// Whether process `pid` (any process, not only a child) exits within `within`: its pidfd
/// becomes readable when it does, so this waits for the exit itself, not for a poll to see it.
async fn exits_within(pid: u32, within: Duration) -> bool {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        // ESRCH: already gone (and reaped).
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    }
    // SAFETY: the descriptor was just opened and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: the OwnedFd keeps the descriptor open, the same one, for the AsyncFd's life.
    let fd = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
    }
    .expect("register the pidfd");
    tokio::time::timeout(within, fd.readable()).await.is_ok()
}

fn signal(pid: u32, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {sig} {pid}");
}

/// Ctrl-C (SIGINT to Terraform) during a slow multi-page read: Terraform stops the read through
/// StopProvider, exits promptly with its interrupt message, no request follows, and no provider
/// process outlives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_a_slow_read_promptly_without_orphans() {
    let emu = emulator_with(
        emulator::generate(400, 66),
        Faults {
            latency: Duration::from_millis(500),
            ..Faults::default()
        },
    )
    .await;
    // 40 pages of 10 at 0.5 s each: a 20 s read if nothing stops it.
    let dir = workdir(
        &emu,
        "data \"csms_rotation_tasks\" \"q\" {\n  page_size = 10\n}\n",
    );
    let env = [
        ("HW_CSMS_ENDPOINT", emu.base_url()),
        ("HW_PROJECT_ID", emu.project_id().to_string()),
        ("HW_ACCESS_KEY", AK.to_string()),
        ("HW_SECRET_KEY", SK.to_string()),
        ("TF_LOG_PROVIDER", "DEBUG".to_string()),
    ];
    let mut child = spawn_terraform(&dir, &env, &plan_args());
    let tf_pid = child.id().expect("terraform pid");
    let stdout = Captured::spawn(child.stdout.take().expect("stdout piped"));
    let stderr = Captured::spawn(child.stderr.take().expect("stderr piped"));

    // Wait until the read is under way: the provider logged two pages read.
    stderr
        .wait_for("two pages read", |log| {
            log.matches("read a page of rotation tasks").count() >= 2
        })
        .await;
    let providers = provider_children(tf_pid);
    assert!(
        !providers.is_empty(),
        "no provider process under terraform {tf_pid}"
    );

    let interrupted = Instant::now();
    signal(tf_pid, "-INT");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("terraform exits within 10 s of SIGINT")
        .expect("terraform status");
    let took = interrupted.elapsed();
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.all().await,
        stderr: stderr.all().await,
    };
    eprintln!("terraform exited {took:?} after SIGINT with {}", run.code);
    // Terraform's interrupt message, its StopProvider, and the provider's answer to it.
    run.assert_error(&[
        "Interrupt received",
        "Stopping operation",
        "Error: Read cancelled",
    ]);
    assert!(took < Duration::from_secs(10), "{took:?}");

    // The read stopped: no page is requested any more.
    let requests = tasks_requests(&emu);
    assert!(
        requests < 40,
        "the read ran to the end: {requests} requests"
    );

    // No provider process outlives Terraform.
    let mut orphans = Vec::new();
    for pid in providers {
        if !exits_within(pid, Duration::from_secs(5)).await {
            signal(pid, "-KILL");
            orphans.push(pid);
        }
    }
    assert!(
        orphans.is_empty(),
        "orphan provider processes: {orphans:?}\n{}",
        run.output()
    );
    // With every provider process gone, nothing is left that could send a request.
    assert_eq!(
        tasks_requests(&emu),
        requests,
        "requests after Terraform exited"
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets.

/// With `TF_LOG=trace` (Terraform's and the provider's most verbose logs), a successful and a
/// failing read: neither the secret key nor the security token nor any Authorization header
/// value appears in any log line or diagnostic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_never_show_secret_key_token_or_authorization() {
    let emu = emulator_with(emulator::generate(30, 67), Faults::default()).await;
    let config = "data \"csms_rotation_tasks\" \"q\" {\n  page_size = 7\n}\n";
    let trace = [
        ("TF_LOG", "trace"),
        ("TF_LOG_PROVIDER_CSMS", "trace"),
        ("HW_SECURITY_TOKEN", TOKEN),
    ];
    let good = workdir(&emu, config).run_with(&plan_args(), &trace).await;
    good.assert_ok();
    let bad = Workdir::new(&[("main.tf", &format!("{PROVIDER}\n{config}"))])
        .emulator_env(
            &emu.base_url(),
            emu.project_id(),
            AK,
            &format!("{SK}-wrong"),
        )
        .run_with(&plan_args(), &trace)
        .await;
    bad.assert_error(&["HTTP 401", "APIGW.0301"]);
    for (what, run) in [("successful", &good), ("failing", &bad)] {
        let output = run.output();
        assert!(
            output.contains("provider.terraform-provider-csms") && output.contains("[TRACE]"),
            "{what}: no provider trace lines"
        );
        for (secret, name) in [(SK, "secret key"), (TOKEN, "security token")] {
            if let Some(line) = output.lines().find(|l| l.contains(secret)) {
                panic!("{what} run: the {name} leaked: {line}");
            }
        }
        for marker in ["SDK-HMAC-SHA256", "Signature="] {
            assert!(
                !output.contains(marker),
                "{what} run: an Authorization header was logged:\n{}",
                output.lines().find(|l| l.contains(marker)).unwrap()
            );
        }
    }
}

/// `insecure = true` is said out loud, a warning on the attribute on every plan, where it
/// matters: an https endpoint. Against a plain-http emulator it changes nothing and says nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_warns_for_https_endpoints_only() {
    let tls = ScriptedServer::start_tls(|_, _| Reply::json(200, json!({"total": 0}))).await;
    let emu = emulator_with(emulator::generate(5, 68), Faults::default()).await;
    let insecure = |endpoint: &str| {
        Workdir::new(&[(
            "main.tf",
            &format!(
                "{}\ndata \"csms_rotation_tasks\" \"q\" {{}}\n",
                PROVIDER.replace(
                    "region = \"cn-north-4\"",
                    "region = \"cn-north-4\"\n  insecure = true"
                )
            ),
        )])
        .emulator_env(endpoint, emu.project_id(), AK, SK)
    };
    insecure(&tls.url())
        .run(&plan_args())
        .await
        .assert_ok()
        .assert_contains(&["Warning: TLS verification is off", "insecure = true"]);
    let run = insecure(&emu.base_url()).run(&plan_args()).await;
    run.assert_ok();
    assert!(
        !run.output().contains("TLS verification is off"),
        "{}",
        run.output()
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile configuration values.

/// A secret key of 10,000 characters with unicode, and a task id with unicode and reserved
/// characters, are signed correctly: the emulator checks every signature and answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_and_long_values_are_signed_correctly() {
    let long_sk = format!("sk-ü-東京-😀-{}", "k".repeat(10_000));
    let data = emulator::generate(40, 69);
    let emu = Emulator::start(Config {
        credentials: Some((AK.into(), long_sk.clone())),
        tasks: data.clone(),
        ..Config::default()
    })
    .await
    .unwrap();
    let base = |config: &str| {
        Workdir::new(&[("main.tf", &format!("{PROVIDER}\n{config}"))]).emulator_env(
            &emu.base_url(),
            emu.project_id(),
            AK,
            &long_sk,
        )
    };
    let outputs = base(&format!(
        "data \"csms_rotation_tasks\" \"q\" {{}}\n{IDS_OUTPUT}"
    ))
    .env("HW_SECURITY_TOKEN", "t".repeat(4096))
    .apply_outputs()
    .await;
    assert_eq!(ids(&outputs), newest_first_ids(&data));

    let odd_id = "tâsk ü/東京?😀&x=1+%20#";
    let outputs = base(&format!(
        "data \"csms_rotation_tasks\" \"q\" {{\n  task_id = \"{odd_id}\"\n}}\n{IDS_OUTPUT}"
    ))
    .apply_outputs()
    .await;
    assert_eq!(
        ids(&outputs),
        Vec::<String>::new(),
        "no such task, but signed right"
    );
    assert_eq!(outputs["total"], 0);
}

/// Values that cannot be sent (control characters, non-ASCII in a header) are refused before
/// any request, with an error naming the argument and never echoing a secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsendable_values_are_refused_naming_the_argument() {
    let emu = emulator_with(emulator::generate(5, 70), Faults::default()).await;
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "secret_key",
            "\"bell\\u0007-sk\"",
            &["secret_key", "control characters"],
        ),
        (
            "access_key",
            "\"AK\\nInjected: header\"",
            &["access_key", "control characters"],
        ),
        (
            "access_key",
            "\"ÄK-ünïcode\"",
            &["access_key", "printable ASCII"],
        ),
        (
            "project_id",
            "\"prøject-東京\"",
            &["project_id", "printable ASCII"],
        ),
        (
            "security_token",
            "\"tøken-😀\"",
            &["security_token", "not allowed in an HTTP header"],
        ),
    ];
    for (attribute, hcl, needles) in cases {
        let provider = PROVIDER.replace(
            "region = \"cn-north-4\"",
            &format!("region = \"cn-north-4\"\n  {attribute} = {hcl}"),
        );
        let dir = Workdir::new(&[(
            "main.tf",
            &format!("{provider}\ndata \"csms_rotation_tasks\" \"q\" {{}}\n"),
        )])
        .emulator_env(&emu.base_url(), emu.project_id(), AK, SK);
        let run = dir.run(&plan_args()).await;
        run.assert_error(needles);
        assert!(!run.output().contains(SK), "{attribute}: secret key echoed");
    }
    // task_id longer than the API allows is refused at plan time, naming the attribute.
    let dir = workdir(
        &emu,
        &format!(
            "data \"csms_rotation_tasks\" \"q\" {{\n  task_id = \"{}\"\n}}\n",
            "t".repeat(129)
        ),
    );
    dir.run(&plan_args())
        .await
        .assert_error(&["Invalid task_id", "1 to 128 characters"]);
    assert_eq!(emu.stats().requests, 0, "no request for a refused value");
}

// ---------------------------------------------------------------------------------------------
// The plugin channel.

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The Unix socket is a file of its own in `PLUGIN_UNIX_SOCKET_DIR`, 0600 (only this user may
/// connect); SIGINT (which Ctrl-C also sends to the provider) is ignored so that Terraform can
/// stop reads itself; SIGTERM exits and removes the socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_is_private_and_removed_on_sigterm() {
    use std::os::unix::fs::FileTypeExt;
    let parent = tempfile::tempdir().unwrap();
    let parent_path = parent.path().to_string_lossy().into_owned();
    let mut plugin = Plugin::start(&[
        ("PLUGIN_UNIX_SOCKET_DIR", &parent_path),
        ("TF_LOG_PROVIDER", "DEBUG"),
    ])
    .await;
    assert_eq!(plugin.handshake.network, "unix");
    let socket = PathBuf::from(&plugin.handshake.address);
    assert_eq!(
        socket.parent().unwrap(),
        parent.path(),
        "socket in PLUGIN_UNIX_SOCKET_DIR"
    );
    assert!(std::fs::symlink_metadata(&socket)
        .unwrap()
        .file_type()
        .is_socket());
    assert_eq!(mode(&socket), 0o600, "socket mode");
    let entries: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        entries,
        std::slice::from_ref(&socket),
        "only the socket in PLUGIN_UNIX_SOCKET_DIR"
    );

    let pid = plugin.child.id().unwrap();
    signal(pid, "-INT");
    // The provider says when it has handled the signal.
    plugin
        .stderr
        .wait_for("SIGINT handled", |log| log.contains("Ignoring SIGINT"))
        .await;
    assert!(alive(pid), "SIGINT must not stop the provider");
    plugin
        .provider()
        .await
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("still serving after SIGINT");

    signal(pid, "-TERM");
    let code = plugin.exit_code().await;
    assert!(code.is_some(), "exited by itself on SIGTERM, not killed");
    assert_eq!(
        std::fs::read_dir(parent.path()).unwrap().count(),
        0,
        "socket left behind after SIGTERM"
    );
}

/// A local process without Terraform's client certificate (no TLS at all, TLS without a
/// certificate, or another P-521 certificate) can call no RPC: not the provider's, not
/// Shutdown. The provider keeps serving Terraform afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_rpc_answers_a_caller_without_terraforms_certificate() {
    let mut plugin = Plugin::start(&[]).await;
    let mut plaintext = plugin.handshake.clone();
    plaintext.server_cert = None;
    let other = ClientCert::generate();
    let attempts = [
        ("plain text", connect(&plaintext, None).await),
        ("no certificate", connect(&plugin.handshake, None).await),
        (
            "another certificate",
            connect(&plugin.handshake, Some(&other)).await,
        ),
    ];
    for (who, channel) in attempts {
        // A refusal at connect time passes only if the server was reached and said no: a
        // connection that never got there (wrong socket, nothing listening) proves nothing.
        let channel = match channel {
            Ok(channel) => channel,
            Err(e) => {
                assert!(
                    !never_reached(&e),
                    "{who}: the connection never reached the plugin: {e:?}"
                );
                continue;
            }
        };
        let mut provider = ProviderClient::new(channel.clone());
        let mut calls = Vec::new();
        calls.push((
            "GetProviderSchema",
            provider
                .get_provider_schema(pb::get_provider_schema::Request {})
                .await
                .is_ok(),
        ));
        calls.push((
            "ConfigureProvider",
            provider
                .configure_provider(pb::configure_provider::Request::default())
                .await
                .is_ok(),
        ));
        calls.push((
            "ReadDataSource",
            provider
                .read_data_source(pb::read_data_source::Request {
                    type_name: "csms_rotation_tasks".into(),
                    ..Default::default()
                })
                .await
                .is_ok(),
        ));
        calls.push((
            "StopProvider",
            provider
                .stop_provider(pb::stop_provider::Request {})
                .await
                .is_ok(),
        ));
        calls.push((
            "Shutdown",
            GrpcControllerClient::new(channel)
                .shutdown(Empty {})
                .await
                .is_ok(),
        ));
        for (rpc, answered) in calls {
            assert!(!answered, "{rpc} answered a caller with {who}");
        }
    }
    assert!(
        plugin.child.try_wait().unwrap().is_none(),
        "the provider exited: {}",
        plugin.stderr.text()
    );
    // Terraform (the holder of the certificate) is still served, then shuts it down cleanly.
    let schema = plugin
        .provider()
        .await
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("Terraform is still served")
        .into_inner();
    assert!(schema
        .data_source_schemas
        .contains_key("csms_rotation_tasks"));
    GrpcControllerClient::new(plugin.channel().await)
        .shutdown(Empty {})
        .await
        .expect("Shutdown from Terraform");
    assert_eq!(plugin.exit_code().await, Some(0));
}

/// Whether a failed connect failed before reaching any server (no socket, nothing listening).
fn never_reached(e: &tonic::transport::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{AddrNotAvailable, ConnectionRefused, NotFound};
            if matches!(io.kind(), NotFound | ConnectionRefused | AddrNotAvailable) {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Dishonest listings (issue 13): each is an error, never a complete-looking list.

/// A page of `n` fresh tasks numbered from `first`, naming the next marker.
fn invented_page(first: usize, n: usize) -> serde_json::Value {
    let tasks: Vec<serde_json::Value> = (first..first + n)
        .map(|i| {
            serde_json::json!({
                "task_id": format!("invented-{i:09}"),
                "secret_name": "endless",
                "task_status": "SUCCESS",
                "task_time": 1_700_000_000_000i64 + i as i64,
            })
        })
        .collect();
    serde_json::json!({
        "tasks": tasks,
        "next_marker": format!("invented-{:09}", first + n - 1),
    })
}

/// A service that invents valid pages for ever (no `total`) fails the plan at the cap on the
/// tasks kept, naming the ways to narrow the listing, instead of growing until the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_valid_pages_fail_at_the_task_cap() {
    let server =
        ScriptedServer::start(|_, n| Reply::json(200, invented_page(n * 1000, 1000))).await;
    let dir = scripted_workdir(&server, "data \"csms_rotation_tasks\" \"q\" {}\n");
    let start = Instant::now();
    let run = dir.run(&plan_args()).await;
    assert_within(
        start,
        Duration::from_secs(120),
        "plan against endless pages",
    );
    run.assert_error(&[
        "Too many rotation tasks",
        "250000",
        "since",
        "secret_name",
        "status",
    ]);
    assert_eq!(
        server.count(),
        251,
        "stopped at the first page past the cap"
    );
}

/// An empty first page that claims a million tasks and names a next marker is not a complete
/// empty list (with it, `alltrue([for t in self.tasks : ...])` would pass): the plan fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_page_claiming_more_tasks_fails_the_plan() {
    let server = ScriptedServer::start(|_, _| {
        Reply::json(
            200,
            serde_json::json!({"total": 1_000_000, "tasks": [], "next_marker": "m-1"}),
        )
    })
    .await;
    let config = "data \"csms_rotation_tasks\" \"q\" {\n  lifecycle {\n    postcondition {\n      \
                  condition     = alltrue([for t in self.tasks : t.task_status == \"SUCCESS\"])\n      \
                  error_message = \"a rotation failed\"\n    }\n  }\n}\n";
    let run = scripted_workdir(&server, config).run(&plan_args()).await;
    run.assert_error(&[
        "Inconsistent pages from the CSMS API",
        "was empty but named a next_marker",
        "1000000 more tasks remain",
    ]);
    assert_eq!(server.count(), 1);
}
