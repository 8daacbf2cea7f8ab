//! End to end: the real Terraform CLI (1.15.5) runs the provider binary against the CSMS
//! emulator on 127.0.0.1, as a user's pipeline would. Each test has a fresh working directory
//! and a cleaned environment; the emulator's counters prove what was (not) requested.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::terraform::{
    emulator_with, newest_first_ids, tasks_requests, workdir, Workdir, AK, PROVIDER, SK,
};
use csms_provider::emulator::{self, Emulator, Faults, SecretTask};
use serde_json::Value as Json;

async fn demo_emulator() -> Emulator {
    emulator_with(
        emulator::demo(&emulator::DataSpec::default()),
        Faults::default(),
    )
    .await
}

const ALL_TASKS_OUTPUTS: &str = r#"
output "ids" { value = [for t in data.csms_rotation_tasks.q.tasks : t.task_id] }
output "total" { value = data.csms_rotation_tasks.q.total }
output "latest" { value = { for k, t in data.csms_rotation_tasks.q.latest : k => t.task_id } }
output "first" { value = try(data.csms_rotation_tasks.q.tasks[0], null) }
"#;

fn ids(outputs: &Json) -> Vec<String> {
    serde_json::from_value(outputs["ids"].clone()).expect("ids is a list of strings")
}

/// Every page is read and the result equals the emulator's data: same tasks, newest first,
/// `latest` the newest per secret, `total` as reported, fields mapped one to one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_every_page_and_matches_the_data_set() {
    let data = emulator::generate(237, 11);
    let emu = emulator_with(data.clone(), Faults::default()).await;
    let dir = workdir(
        &emu,
        &format!(
            "data \"csms_rotation_tasks\" \"q\" {{\n  page_size = 50\n}}\n{ALL_TASKS_OUTPUTS}"
        ),
    );
    let outputs = dir.apply_outputs().await;

    let expected_ids = newest_first_ids(&data);
    assert_eq!(ids(&outputs), expected_ids);
    let by_id: BTreeMap<&str, &SecretTask> = data.iter().map(|t| (t.task_id.as_str(), t)).collect();
    let expected: Vec<&SecretTask> = expected_ids.iter().map(|id| by_id[id.as_str()]).collect();
    assert_eq!(outputs["total"], 237);
    let mut latest = BTreeMap::new();
    for t in &expected {
        latest
            .entry(t.secret_name.clone().unwrap())
            .or_insert(t.task_id.clone());
    }
    assert_eq!(
        serde_json::from_value::<BTreeMap<String, String>>(outputs["latest"].clone()).unwrap(),
        latest
    );

    let first = &outputs["first"];
    let t = expected[0];
    assert_eq!(first["secret_name"], t.secret_name.clone().unwrap());
    assert_eq!(first["task_time"], t.task_time.unwrap());
    assert_eq!(
        first["rotation_func_urn"],
        t.rotation_func_urn.clone().unwrap()
    );
    assert_eq!(first["attempt_nums"], t.attempt_nums.unwrap());
    let created = time::OffsetDateTime::parse(
        first["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(created.unix_timestamp() * 1000, t.task_time.unwrap());
    // One read (apply plans, and a data source read at plan time is not read again): 5 pages of 50.
    assert_eq!(tasks_requests(&emu), 5);
}

/// Filters reach the API and the result is exactly the matching subset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_name_and_status_filter() {
    let data = emulator::generate(300, 5);
    let secret = data[0].secret_name.clone().unwrap();
    let emu = emulator_with(data.clone(), Faults::default()).await;
    let config = format!(
        "data \"csms_rotation_tasks\" \"q\" {{\n  secret_name = \"{secret}\"\n  status = \"FAILED\"\n}}\n{ALL_TASKS_OUTPUTS}"
    );
    let outputs = workdir(&emu, &config).apply_outputs().await;
    let matching: Vec<SecretTask> = data
        .iter()
        .filter(|t| {
            t.secret_name.as_deref() == Some(&secret) && t.task_status.as_deref() == Some("FAILED")
        })
        .cloned()
        .collect();
    assert!(
        !matching.is_empty(),
        "the data set has failed tasks of {secret}"
    );
    assert_eq!(ids(&outputs), newest_first_ids(&matching));
    assert!(
        outputs["first"]["task_error_code"].is_string(),
        "failed tasks carry an error code: {}",
        outputs["first"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_id_selects_one_task() {
    let data = emulator::generate(120, 8);
    let wanted = data[77].task_id.clone();
    let emu = emulator_with(data, Faults::default()).await;
    let config = format!(
        "data \"csms_rotation_tasks\" \"q\" {{\n  task_id = \"{wanted}\"\n}}\n{ALL_TASKS_OUTPUTS}"
    );
    let outputs = workdir(&emu, &config).apply_outputs().await;
    assert_eq!(ids(&outputs), [wanted]);
    assert_eq!(outputs["total"], 1);
}

/// A secret name that matches no task (here one with a period, which CreateSecret allows) is
/// sent to the service rather than refused, and the empty result warns on `secret_name`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_matching_nothing_warns() {
    let emu = demo_emulator().await;
    let config = "data \"csms_rotation_tasks\" \"q\" {\n  secret_name = \"db.password\"\n}\n\
                  output \"total\" { value = data.csms_rotation_tasks.q.total }\n";
    let dir = workdir(&emu, config);
    dir.run(&["plan", "-no-color"])
        .await
        .assert_ok()
        .assert_contains(&[
            "Warning: No rotation task matched",
            "secret_name = \"db.password\"",
            "never rotated",
        ]);
    assert_eq!(tasks_requests(&emu), 1);
}

/// A failed newest rotation fails `terraform plan` with the user's own message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postcondition_fails_the_plan() {
    let emu = demo_emulator().await;
    let dir = workdir(
        &emu,
        r#"
data "csms_rotation_tasks" "legacy" {
  secret_name = "legacy-api-key"
  lifecycle {
    postcondition {
      condition     = self.latest["legacy-api-key"].task_status == "SUCCESS"
      error_message = "The last rotation of legacy-api-key did not succeed."
    }
  }
}
"#,
    );
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    assert_eq!(run.code, 1, "{}", run.output());
    run.assert_contains(&[
        "Resource postcondition failed",
        "The last rotation of legacy-api-key did not succeed.",
    ]);
}

/// The same assertion in a `check` block warns and lets the plan succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_block_warns() {
    let emu = demo_emulator().await;
    let dir = workdir(&emu, &example("data-sources/csms_rotation_tasks/check.tf"));
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    run.assert_ok().assert_contains(&[
        "Warning: Check block assertion failed",
        "The newest rotation failed for: legacy-api-key.",
    ]);
}

fn example(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(path),
    )
    .expect("example exists")
}

/// The demo: with `enforce = false` the plan shows each rotating secret's verdict and warns; by
/// default the postcondition fails it, naming legacy-api-key (FAILED), ldap-bind-password
/// (OVERDUE) and reporting_readonly (UNKNOWN) and no healthy secret (what `./scripts/demo`
/// shows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_warns_then_fails() {
    let emu = common::terraform::demo_with_secrets().await;
    let work = Workdir::new(&[("main.tf", &example("demo/main.tf"))]).emulator_env(
        &emu.base_url(),
        emu.project_id(),
        AK,
        SK,
    );
    work.run(&["plan", "-input=false", "-no-color", "-var", "enforce=false"])
        .await
        .assert_ok()
        .assert_contains(&[
            "task_count = 19",
            "legacy-api-key = \"FAILED\"",
            "ldap-bind-password = \"OVERDUE\"",
            "prod-db-password = \"HEALTHY\"",
            "Warning: Check block assertion failed",
            "Off their rotation schedule: ldap-bind-password, legacy-api-key, reporting_readonly.",
        ]);
    let run = work.run(&["plan", "-input=false", "-no-color"]).await;
    run.assert_error(&[
        "Resource postcondition failed",
        "legacy-api-key FAILED: The newest rotation (task",
        "ldap-bind-password OVERDUE: Rotation was due at",
        "reporting_readonly UNKNOWN: The rotation_period \"1mo\"",
    ]);
    for healthy in [
        "prod-db-password",
        "staging-db-password",
        "payments-api-key",
    ] {
        assert!(
            !fold_contains(&run.output(), &format!("{healthy} HEALTHY")),
            "only unhealthy secrets are named:\n{}",
            run.output()
        );
    }
}

fn fold_contains(haystack: &str, needle: &str) -> bool {
    common::terraform::fold(haystack).contains(&common::terraform::fold(needle))
}

/// Each bad data source block is refused at plan time, pointing at its attribute, and no
/// request reaches the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_configs_are_refused_before_any_request() {
    let emu = demo_emulator().await;
    let cases = [
        ("status = \"failed\"", "status", "Invalid status"),
        ("page_size = 0", "page_size", "Invalid page_size"),
        ("page_size = 5000", "page_size", "Invalid page_size"),
        (
            "secret_name = \"no spaces allowed\"",
            "secret_name",
            "Invalid secret_name",
        ),
        (
            "task_id = \"t-1\"\n  status = \"FAILED\"",
            "task_id",
            "Conflicting arguments",
        ),
    ];
    // One plan carries every case: Terraform validates each block and reports them all.
    let config: String = cases
        .iter()
        .enumerate()
        .map(|(i, (body, _, _))| {
            format!("data \"csms_rotation_tasks\" \"bad{i}\" {{\n  {body}\n}}\n")
        })
        .collect();
    let run = workdir(&emu, &config)
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    for (i, (body, attribute, summary)) in cases.iter().enumerate() {
        // Terraform quotes the offending line under the diagnostic, with the block it is in.
        let line = body
            .lines()
            .find(|l| l.trim_start().starts_with(attribute))
            .unwrap()
            .trim();
        run.assert_error(&[
            &format!("Error: {summary}"),
            &format!("data.csms_rotation_tasks.bad{i}"),
            line,
        ]);
    }
    assert_eq!(
        run.output().matches("Error: ").count(),
        cases.len(),
        "one error per case:\n{}",
        run.output()
    );
    assert_eq!(
        emu.stats().requests,
        0,
        "no request may be sent for an invalid config"
    );
}

/// A missing credential names the argument and the environment variable that can set it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secret_key_is_explained() {
    let emu = demo_emulator().await;
    let dir = Workdir::new(&[(
        "main.tf",
        &format!("{PROVIDER}\ndata \"csms_rotation_tasks\" \"q\" {{}}\n"),
    )])
    .env("HW_CSMS_ENDPOINT", emu.base_url())
    .env("HW_PROJECT_ID", emu.project_id())
    .env("HW_ACCESS_KEY", AK);
    dir.run(&["plan", "-input=false", "-no-color"])
        .await
        .assert_error(&["Missing secret_key", "HW_SECRET_KEY"]);
    assert_eq!(emu.stats().requests, 0);
}

/// A wrong secret key surfaces the gateway's code, message and request id, with a hint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_key_shows_the_gateway_error() {
    let emu = demo_emulator().await;
    let dir = Workdir::new(&[(
        "main.tf",
        &format!("{PROVIDER}\ndata \"csms_rotation_tasks\" \"q\" {{}}\n"),
    )])
    .emulator_env(&emu.base_url(), emu.project_id(), AK, "not-the-secret-key");
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    run.assert_error(&[
        "HTTP 401",
        "APIGW.0301",
        "Request ID",
        "access key and secret key",
    ]);
    assert!(
        !run.output().contains("not-the-secret-key"),
        "the secret key leaked:\n{}",
        run.output()
    );
}

/// Transient faults are retried and the result is still exactly the data set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_are_retried_to_the_exact_result() {
    let data = emulator::generate(260, 3);
    let fault_sets = [
        Faults {
            fail_every: Some((3, 503)),
            ..Faults::default()
        },
        Faults {
            fail_every: Some((2, 502)),
            html_errors: true,
            ..Faults::default()
        },
        Faults {
            throttle_every: Some(2),
            retry_after_secs: 1,
            ..Faults::default()
        },
        Faults {
            truncate_every: Some(3),
            ..Faults::default()
        },
        Faults {
            reset_every: Some(3),
            ..Faults::default()
        },
    ];
    for faults in fault_sets {
        let emu = emulator_with(data.clone(), faults.clone()).await;
        let dir = workdir(
            &emu,
            &format!(
                "data \"csms_rotation_tasks\" \"q\" {{\n  page_size = 100\n}}\n{ALL_TASKS_OUTPUTS}"
            ),
        );
        // Apply plans first, so one run reads the data source once.
        let outputs = dir.apply_outputs().await;
        assert_eq!(ids(&outputs), newest_first_ids(&data), "{faults:?}");
        // One read of 3 pages; every fault set forces at least one retry.
        assert!(
            tasks_requests(&emu) >= 4,
            "faults forced retries: {faults:?} {:?}",
            emu.stats()
        );
    }
}

/// A marker that does not advance, or loops, is a server fault: the plan fails saying so
/// instead of hanging or returning a partial list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_markers_fail_clearly() {
    for faults in [
        Faults {
            sticky_marker: true,
            ..Faults::default()
        },
        Faults {
            looping_marker: true,
            ..Faults::default()
        },
    ] {
        let emu = emulator_with(emulator::generate(500, 9), faults.clone()).await;
        let dir = workdir(
            &emu,
            "data \"csms_rotation_tasks\" \"q\" {\n  page_size = 50\n}\n",
        );
        let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
        run.assert_error(&["marker"]);
        assert!(
            tasks_requests(&emu) < 20,
            "stopped early: {faults:?} {:?}",
            emu.stats()
        );
    }
}

/// A service whose `total` disagrees with the tasks it returned gets a warning, not silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_total_warns() {
    let emu = emulator_with(
        emulator::generate(120, 4),
        Faults {
            total_delta: 7,
            ..Faults::default()
        },
    )
    .await;
    let dir = workdir(&emu, "data \"csms_rotation_tasks\" \"q\" {}\n");
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    run.assert_ok().assert_contains(&[
        "Warning: Task count differs from the reported total",
        "total=127 but 120 distinct tasks",
    ]);
}

/// `providers schema -json` shows a description on every attribute and nested field of the
/// provider and every data source, at any depth, nested attributes as Terraform expects them,
/// and the secrets as sensitive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_json_describes_every_attribute() {
    let dir = Workdir::new(&[("main.tf", PROVIDER)]);
    let run = dir.run(&["providers", "schema", "-json"]).await;
    run.assert_ok();
    let schema: Json = serde_json::from_str(&run.stdout).expect("schema JSON");
    let provider = &schema["provider_schemas"]["registry.terraform.io/example/csms"];
    let attrs = provider["provider"]["block"]["attributes"]
        .as_object()
        .expect("provider attributes");
    let assume_role = &provider["provider"]["block"]["block_types"]["assume_role"];
    assert_eq!(
        (&assume_role["nesting_mode"], &assume_role["max_items"]),
        (&Json::from("list"), &Json::from(1))
    );
    assert_eq!(attrs["secret_key"]["sensitive"], true);
    assert_eq!(attrs["security_token"]["sensitive"], true);
    let ds = &provider["data_source_schemas"]["csms_rotation_tasks"]["block"];
    /// Counts `attrs` and their nested fields, at any depth, asserting each has a description.
    fn described(scope: &str, attrs: &serde_json::Map<String, Json>) -> usize {
        attrs
            .iter()
            .map(|(name, attr)| {
                assert!(
                    attr["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{scope} attribute {name} lacks a description"
                );
                1 + attr.get("nested_type").map_or(0, |nested| {
                    described(
                        &format!("{scope} {name}"),
                        nested["attributes"].as_object().unwrap(),
                    )
                })
            })
            .sum()
    }
    let data_sources = provider["data_source_schemas"].as_object().unwrap();
    let described = described("provider", attrs)
        + data_sources
            .iter()
            .map(|(name, ds)| described(name, ds["block"]["attributes"].as_object().unwrap()))
            .sum::<usize>();
    assert_eq!(
        ds["attributes"]["tasks"]["nested_type"]["nesting_mode"],
        "list"
    );
    assert_eq!(
        ds["attributes"]["latest"]["nested_type"]["nesting_mode"],
        "map"
    );
    // Terraform shows every attribute and nested field the provider declares (blocks are listed
    // apart, under `block_types`).
    fn count(attributes: &[csms_provider::plugin::Attribute]) -> usize {
        attributes
            .iter()
            .filter(|a| !matches!(a.ty, csms_provider::plugin::AttrType::Block(..)))
            .map(|a| {
                1 + match &a.ty {
                    csms_provider::plugin::AttrType::Nested(_, nested) => count(nested),
                    _ => 0,
                }
            })
            .sum()
    }
    use csms_provider::plugin::Provider;
    let provider = csms_provider::provider::CsmsProvider::default();
    let declared = count(&provider.schema().attributes)
        + provider
            .data_sources()
            .iter()
            .map(|d| count(&d.schema().attributes))
            .sum::<usize>();
    assert_eq!(described, declared);
}

/// `TF_LOG_PROVIDER=DEBUG` shows the provider's own lines at their level, and neither the
/// secret key nor the Authorization header appears anywhere in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_log_shows_provider_lines_without_secrets() {
    let emu = demo_emulator().await;
    let dir = workdir(
        &emu,
        "data \"csms_rotation_tasks\" \"q\" {\n  page_size = 5\n}\n",
    );
    let run = dir.plan_with_debug_log().await;
    run.assert_ok();
    let provider_lines = run.provider_log_lines();
    assert!(
        provider_lines.iter().any(|l| l.contains("[DEBUG]")),
        "no provider DEBUG line:\n{}",
        run.stderr
    );
    assert!(
        provider_lines
            .iter()
            .any(|l| l.contains("[INFO]") && l.contains("configuring provider")),
        "{}",
        run.stderr
    );
    assert!(!run.output().contains(SK), "secret key in the log");
    assert!(
        !run.output().contains("SDK-HMAC-SHA256 Access"),
        "Authorization header in the log"
    );
}

/// `terraform validate` needs no credentials and no service: a good config validates, a bad one
/// is refused on its attribute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_works_offline_and_names_the_attribute() {
    let good = Workdir::new(&[(
        "main.tf",
        &format!("{PROVIDER}\ndata \"csms_rotation_tasks\" \"q\" {{\n  status = \"FAILED\"\n}}\n"),
    )]);
    good.run(&["validate", "-no-color"])
        .await
        .assert_ok()
        .assert_contains(&["Success! The configuration is valid"]);
    let bad = Workdir::new(&[(
        "main.tf",
        &format!("{PROVIDER}\ndata \"csms_rotation_tasks\" \"q\" {{\n  page_size = 2000\n}}\n"),
    )]);
    bad.run(&["validate", "-no-color"]).await.assert_error(&[
        "Error: Invalid page_size",
        "page_size = 2000",
        "from 1 to 1000",
    ]);
}
