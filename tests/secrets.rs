//! End to end, `data "csms_secrets"`: the real Terraform CLI (1.15.5, and the older releases of
//! `compat.rs`) lists every secret of the emulator, page after page from a service that answers
//! fewer secrets than asked, and filters them client-side.

use crate::common;

use common::terraform::{
    emulator_with_secrets, secrets_requests, workdir, Release, TERRAFORM_1_10, TERRAFORM_1_6,
};
use csms_provider::emulator::{data, Config, DataSpec, Secret};

const OUTPUTS: &str = r#"
output "names" { value = [for s in data.csms_secrets.q.secrets : s.name] }
output "first" { value = data.csms_secrets.q.secrets[0] }
output "id" { value = data.csms_secrets.q.id }
"#;

/// 120 generated secrets, at most 25 a page: every one, sorted by name, each field as stored and
/// the times read.
async fn lists_every_secret(release: Option<Release>) {
    let set = data::generate_account(120, 300, 8, &DataSpec::default());
    let emu = emulator_with_secrets(Config {
        secrets: set.secrets.clone(),
        tasks: set.tasks,
        secrets_per_page: Some(25),
        ..Config::default()
    })
    .await;
    let mut dir = workdir(
        &emu,
        &format!("data \"csms_secrets\" \"q\" {{}}\n{OUTPUTS}"),
    );
    if let Some(release) = release {
        dir = release.adopt(dir).await;
    }
    let outputs = dir.apply_outputs().await;
    let mut sorted: Vec<&Secret> = set.secrets.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = sorted.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(outputs["names"], serde_json::json!(names));
    let (first, want) = (&outputs["first"], sorted[0]);
    assert_eq!(first["id"], want.id.clone().unwrap().as_str());
    assert_eq!(
        first["kms_key_id"],
        want.kms_key_id.clone().unwrap().as_str()
    );
    assert_eq!(first["create_time"], want.create_time.unwrap());
    assert_eq!(first["auto_rotation"], want.auto_rotation.unwrap());
    assert_eq!(
        first["scheduled_delete_at"],
        serde_json::Value::Null,
        "0 is none"
    );
    let created = time::OffsetDateTime::parse(
        first["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(created.unix_timestamp() * 1000, want.create_time.unwrap());
    assert_eq!(outputs["id"], "secrets");
    // 120 secrets at 25 a page, although 1000 were asked for.
    assert_eq!(secrets_requests(&emu), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_every_secret_sorted_by_name() {
    lists_every_secret(None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_every_secret_under_terraform_1_6_6() {
    lists_every_secret(Some(TERRAFORM_1_6)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_every_secret_under_terraform_1_10_5() {
    lists_every_secret(Some(TERRAFORM_1_10)).await
}

/// The demo secrets filtered by state and type, with the seconds-valued times of one secret
/// read as seconds and its rotation period in seconds; a name that matches nothing warns on
/// `name`; a bad filter value is refused at plan time without a request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_times_in_seconds() {
    let emu = common::terraform::demo_with_secrets().await;
    let config = r#"
data "csms_secrets" "disabled" {
  state = "DISABLED"
}
data "csms_secrets" "staging" {
  name = "staging-db-password"
}
data "csms_secrets" "rds" {
  secret_type = "RDS-FG"
}
output "disabled" { value = [for s in data.csms_secrets.disabled.secrets : s.name] }
output "rds" { value = [for s in data.csms_secrets.rds.secrets : s.name] }
output "staging" { value = data.csms_secrets.staging.secrets[0] }
output "staging_id" { value = data.csms_secrets.staging.id }
"#;
    let outputs = workdir(&emu, config).apply_outputs().await;
    assert_eq!(outputs["disabled"], serde_json::json!(["ci-deploy-token"]));
    assert_eq!(outputs["rds"], serde_json::json!(["prod-db-password"]));
    let staging = &outputs["staging"];
    let seconds = staging["rotation_time"].as_i64().unwrap();
    assert!(seconds < 100_000_000_000, "stored in seconds: {seconds}");
    let rotated = time::OffsetDateTime::parse(
        staging["rotated_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(rotated.unix_timestamp(), seconds);
    assert_eq!(staging["rotation_period_seconds"], 7 * 86_400);
    assert_eq!(outputs["staging_id"], "secrets?name=staging-db-password");

    workdir(
        &emu,
        "data \"csms_secrets\" \"typo\" {\n  name = \"prod-db-pasword\"\n}\n",
    )
    .run(&["plan", "-input=false", "-no-color"])
    .await
    .assert_ok()
    .assert_contains(&["Warning: No secret matched", "\"prod-db-pasword\""]);

    let requests = emu.stats().requests;
    workdir(
        &emu,
        "data \"csms_secrets\" \"bad\" {\n  state = \"enabled\"\n}\n",
    )
    .run(&["plan", "-input=false", "-no-color"])
    .await
    .assert_error(&["Error: Invalid state", "state = \"enabled\""]);
    assert_eq!(emu.stats().requests, requests, "nothing requested");
}
