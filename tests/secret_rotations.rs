//! End to end, `data "csms_secret_rotations"`: the real Terraform CLI (1.15.5, and the older
//! releases of `compat.rs`) judges the emulator's demo secrets, one per verdict, as a user's
//! pipeline would; the emulator's counters prove what was (not) requested.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::scripted_server::{Reply, ScriptedServer};
use common::terraform::{
    demo_with_secrets, emulator_with_secrets, secrets_requests, tasks_requests, workdir, Release,
    Workdir, AK, PROVIDER, SK, TERRAFORM_1_10, TERRAFORM_1_6,
};
use csms_provider::emulator::{data, Config, DataSpec, Faults};
use serde_json::Value as Json;

const OUTPUTS: &str = r#"
output "verdicts" { value = { for s in data.csms_secret_rotations.q.secrets : s.name => s.verdict } }
output "by_name" { value = { for s in data.csms_secret_rotations.q.secrets : s.name => s } }
output "unhealthy" { value = data.csms_secret_rotations.q.unhealthy }
output "all_healthy" { value = data.csms_secret_rotations.q.all_healthy }
output "counts" { value = data.csms_secret_rotations.q.counts }
output "id" { value = data.csms_secret_rotations.q.id }
output "as_of" { value = data.csms_secret_rotations.q.as_of }
output "grace_period" { value = data.csms_secret_rotations.q.grace_period }
"#;

fn verdicts(outputs: &Json) -> BTreeMap<String, String> {
    serde_json::from_value(outputs["verdicts"].clone()).expect("verdicts is a map of strings")
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every rotating secret of the demo account is judged: HEALTHY, FAILED, OVERDUE and UNKNOWN
/// each appear, with the counts (zeros included), the reasons of the unhealthy ones and the
/// newest task as `csms_rotation_tasks` shows it. Secrets and tasks are each listed once.
async fn every_rotating_secret(dir: Workdir, emu: &csms_provider::emulator::Emulator) {
    let outputs = dir.apply_outputs().await;
    assert_eq!(
        verdicts(&outputs),
        map(&[
            ("ldap-bind-password", "OVERDUE"),
            ("legacy-api-key", "FAILED"),
            ("payments-api-key", "HEALTHY"),
            ("prod-db-password", "HEALTHY"),
            ("reporting_readonly", "UNKNOWN"),
            ("staging-db-password", "HEALTHY"),
        ])
    );
    assert_eq!(
        outputs["counts"],
        serde_json::json!({"HEALTHY": 3, "FAILED": 1, "OVERDUE": 1, "UNKNOWN": 1,
                           "NOT_ROTATING": 0, "MISSING": 0})
    );
    assert_eq!(outputs["all_healthy"], false);
    let unhealthy: BTreeMap<String, String> =
        serde_json::from_value(outputs["unhealthy"].clone()).unwrap();
    assert_eq!(
        unhealthy.keys().collect::<Vec<_>>(),
        ["ldap-bind-password", "legacy-api-key", "reporting_readonly"]
    );
    let legacy = &outputs["by_name"]["legacy-api-key"];
    let task = &legacy["latest_task"];
    assert_eq!(task["task_status"], "FAILED");
    let code = task["task_error_code"].as_str().unwrap();
    assert!(unhealthy["legacy-api-key"].contains(code), "{unhealthy:?}");
    // The message as the reason quotes it: without its closing full stop.
    let message = task["task_error_msg"]
        .as_str()
        .unwrap()
        .trim_end_matches('.');
    assert!(
        unhealthy["legacy-api-key"].contains(&format!("{code}: {message};")),
        "{unhealthy:?}"
    );
    assert!(legacy["last_success_at"].is_string() && legacy["due_at"].is_string());
    let ldap = &outputs["by_name"]["ldap-bind-password"];
    assert!(
        ldap["latest_task"].is_null(),
        "the overdue secret left no task"
    );
    assert!(ldap["overdue_seconds"].as_i64().unwrap() > 29 * 86_400);
    assert!(unhealthy["ldap-bind-password"].contains("no rotation task has succeeded"));
    assert!(unhealthy["reporting_readonly"].contains("\"1mo\""));
    let prod = &outputs["by_name"]["prod-db-password"];
    assert_eq!(
        (
            prod["overdue_seconds"].as_i64(),
            prod["secret_type"].as_str()
        ),
        (Some(0), Some("RDS-FG"))
    );
    assert_eq!(prod["rotation_period_seconds"], 7 * 86_400);
    assert_eq!(outputs["grace_period"], "1h");
    assert_eq!(outputs["id"], "secret_rotations?grace_period=1h");
    assert!(
        outputs["as_of"].as_str().unwrap().ends_with('Z'),
        "the read's time"
    );
    assert_eq!((secrets_requests(emu), tasks_requests(emu)), (1, 1));
}

/// `terraform apply` with the demo's rotating secrets, under `release` (`None`: 1.15.5).
async fn judges_every_rotating_secret(release: Option<Release>) {
    let emu = demo_with_secrets().await;
    let mut dir = workdir(
        &emu,
        &format!("data \"csms_secret_rotations\" \"q\" {{}}\n{OUTPUTS}"),
    );
    if let Some(release) = release {
        dir = release.adopt(dir).await;
    }
    every_rotating_secret(dir, &emu).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judges_every_rotating_secret_of_the_account() {
    judges_every_rotating_secret(None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judges_every_rotating_secret_under_terraform_1_6_6() {
    judges_every_rotating_secret(Some(TERRAFORM_1_6)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judges_every_rotating_secret_under_terraform_1_10_5() {
    judges_every_rotating_secret(Some(TERRAFORM_1_10)).await
}

/// Named secrets: a missing name is MISSING, a secret with rotation off or DISABLED is
/// NOT_ROTATING, each name's tasks are read with the `secret_name` filter (one request each);
/// `as_of` and `grace_period` as given, and a later instant makes a healthy secret OVERDUE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_secrets_with_missing_and_not_rotating() {
    let emu = demo_with_secrets().await;
    let config = format!(
        r#"data "csms_secret_rotations" "q" {{
  secret_names = ["prod-db-password", "does-not-exist", "smtp-relay-password", "ci-deploy-token"]
  as_of        = timeadd(plantimestamp(), "2400h")
  grace_period = "90m"
}}
{OUTPUTS}"#
    );
    let outputs = workdir(&emu, &config).apply_outputs().await;
    assert_eq!(
        verdicts(&outputs),
        map(&[
            ("ci-deploy-token", "NOT_ROTATING"),
            ("does-not-exist", "MISSING"),
            ("prod-db-password", "OVERDUE"),
            ("smtp-relay-password", "NOT_ROTATING"),
        ])
    );
    assert_eq!(outputs["counts"]["MISSING"], 1);
    assert_eq!(outputs["counts"]["HEALTHY"], 0);
    assert_eq!(outputs["grace_period"], "90m");
    let unhealthy = &outputs["unhealthy"];
    assert!(unhealthy["does-not-exist"]
        .as_str()
        .unwrap()
        .contains("No secret named"));
    assert!(unhealthy["ci-deploy-token"]
        .as_str()
        .unwrap()
        .contains("DISABLED"));
    assert!(unhealthy["smtp-relay-password"]
        .as_str()
        .unwrap()
        .contains("Automatic rotation is off"));
    assert_eq!((secrets_requests(&emu), tasks_requests(&emu)), (1, 4));
}

/// The postcondition users copy from the issue stops the plan on the demo account, naming each
/// unhealthy secret with its reason, and passes on a healthy one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postcondition_fails_on_unhealthy_and_passes_on_healthy() {
    let emu = demo_with_secrets().await;
    let block = |names: &str| {
        format!(
            r#"data "csms_secret_rotations" "all" {{
  {names}
  as_of = plantimestamp()
  lifecycle {{
    postcondition {{
      condition     = self.all_healthy
      error_message = "Secrets off their rotation schedule:\n${{join("\n", [for n, r in self.unhealthy : "${{n}}: ${{r}}"])}}"
    }}
  }}
}}
"#
        )
    };
    let run = workdir(&emu, &block(""))
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&[
        "Resource postcondition failed",
        "Secrets off their rotation schedule:",
        "legacy-api-key: The newest rotation",
        "ldap-bind-password: Rotation was due at",
        "reporting_readonly: The rotation_period \"1mo\"",
    ]);
    assert!(!common::terraform::fold(&run.output()).contains("prod-db-password:"));
    workdir(
        &emu,
        &block(r#"secret_names = ["prod-db-password", "staging-db-password"]"#),
    )
    .run(&["plan", "-input=false", "-no-color"])
    .await
    .assert_ok();
}

/// Bad inputs are refused at plan time on their attribute, all at once, and nothing is
/// requested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_refused_before_any_request() {
    let emu = demo_with_secrets().await;
    let config = r#"data "csms_secret_rotations" "bad" {
  as_of        = "yesterday"
  grace_period = "-1h"
  secret_names = ["prod-db-password", ""]
}
"#;
    workdir(&emu, config)
        .run(&["plan", "-input=false", "-no-color"])
        .await
        .assert_error(&[
            "Error: Invalid as_of",
            "Error: Invalid grace_period",
            "Error: Invalid secret_names",
        ]);
    assert_eq!(
        emu.stats().requests,
        0,
        "a request was sent for an invalid config"
    );
}

/// A secret listing that cannot complete (its marker never advances) fails the read instead of
/// judging part of the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_secret_listing_fails_the_read() {
    let set = data::generate_account(60, 120, 3, &DataSpec::default());
    let emu = emulator_with_secrets(Config {
        secrets: set.secrets,
        tasks: set.tasks,
        secrets_per_page: Some(10),
        faults: Faults {
            sticky_marker: true,
            ..Faults::default()
        },
        ..Config::default()
    })
    .await;
    let run = workdir(&emu, "data \"csms_secret_rotations\" \"q\" {}\n")
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&["the marker did not advance", "secrets"]);
    assert!(secrets_requests(&emu) >= 2, "it paged before it stopped");
}

/// A task listing that outlasts the read's timeout (2 s here; the secrets are listed at once,
/// the task page stalls) fails the read with advice in this data source's terms: narrow it
/// with `secret_names`, never with `since`, `secret_name`, `status` or `page_size`, which are
/// `csms_rotation_tasks`' attributes and do not exist here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_task_listing_times_out_with_this_data_sources_advice() {
    let server = ScriptedServer::start(|request, _| {
        if request.path.ends_with("/secrets") {
            Reply::json(200, serde_json::json!({"secrets": []}))
        } else {
            Reply::Stall {
                announced: 100,
                sent: b"{\"tasks\": [".to_vec(),
                stall: Duration::from_secs(20),
            }
        }
    })
    .await;
    let config = format!(
        "{PROVIDER}\ndata \"csms_secret_rotations\" \"q\" {{\n  timeouts {{\n    read = \"2s\"\n  }}\n}}\n"
    );
    let run = Workdir::new(&[("main.tf", &config)])
        .emulator_env(&server.url(), "p", AK, SK)
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&[
        "Reading rotation tasks timed out",
        // The timeout as configured, not what was left of it when the task listing began.
        "Deadline of 2s exceeded after 1 requests (0 pages read)",
        "`timeouts { read = \"...\" }` (default 5m)",
        "Narrow the data source: `secret_names` reads only the tasks of the secrets it names.",
    ]);
    let output = common::terraform::fold(&run.output());
    for foreign in ["`since`", "`secret_name`", "`status`", "`page_size`"] {
        assert!(
            !output.contains(foreign),
            "names {foreign}:\n{}",
            run.output()
        );
    }
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.iter().any(|p| p.ends_with("/csms/tasks")),
        "the tasks were requested: {paths:?}"
    );
}

/// Service text is inert: a secret whose `rotation_period` carries a terminal escape and whose
/// failed task's message forges a line reaches Terraform cleaned, with the warning that says so;
/// the unreadable period gives that secret UNKNOWN with its reason, never a failed read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_service_text_is_inert() {
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let rotating = |name: &str, period: &str| csms_provider::emulator::Secret {
        name: name.into(),
        state: Some("ENABLED".into()),
        auto_rotation: Some(true),
        rotation_period: Some(period.into()),
        create_time: Some(now_ms - 86_400_000),
        ..Default::default()
    };
    let failed = csms_provider::emulator::SecretTask {
        task_id: "t-1".into(),
        secret_name: Some("db".into()),
        task_status: Some("FAILED".into()),
        task_time: Some(now_ms - 3_600_000),
        task_error_code: Some("FSS.0500".into()),
        task_error_msg: Some("timed out\r\nError: all secrets healthy".into()),
        ..Default::default()
    };
    let emu = emulator_with_secrets(Config {
        secrets: vec![rotating("db", "7d"), rotating("odd", "30d\u{1b}[2J")],
        tasks: vec![failed],
        ..Config::default()
    })
    .await;
    let dir = workdir(
        &emu,
        &format!("data \"csms_secret_rotations\" \"q\" {{}}\n{OUTPUTS}"),
    );
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    run.assert_ok().assert_contains(&[
        "Warning: Unprintable characters replaced in secret data",
        "Warning: Unprintable characters replaced in task data",
    ]);
    assert!(!run.output().contains('\u{1b}'), "{}", run.output());
    let outputs = dir.apply_outputs().await;
    assert_eq!(
        verdicts(&outputs),
        map(&[("db", "FAILED"), ("odd", "UNKNOWN")])
    );
    let reasons = &outputs["unhealthy"];
    let db = reasons["db"].as_str().unwrap();
    assert!(
        db.contains("timed out\u{fffd} Error: all secrets healthy"),
        "{db}"
    );
    assert!(!db.contains('\n') && !db.contains('\r'), "one line: {db:?}");
    let odd = reasons["odd"].as_str().unwrap();
    assert!(odd.contains("30d\u{fffd}[2J"), "{odd}");
}
