//! Large accounts over real networks (issue 12), end to end with the real Terraform CLI against
//! the emulator: the `since` window, compressed pages, and the limits that keep a listing from
//! growing without bound.

use crate::common;

use std::collections::BTreeMap;

use common::terraform::{emulator_with, newest_first_ids, tasks_requests, workdir};
use csms_provider::emulator::{self, Faults, SecretTask};
use serde_json::Value as Json;

const OUTPUTS: &str = r#"
output "ids" { value = [for t in data.csms_rotation_tasks.q.tasks : t.task_id] }
output "total" { value = data.csms_rotation_tasks.q.total }
output "latest" { value = { for k, t in data.csms_rotation_tasks.q.latest : k => t.task_id } }
"#;

fn rfc3339(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The newest task of each secret over `tasks`, by secret name.
fn latest(tasks: &[SecretTask]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for id in newest_first_ids(tasks) {
        let task = tasks.iter().find(|t| t.task_id == id).unwrap();
        out.entry(task.secret_name.clone().unwrap()).or_insert(id);
    }
    out
}

/// `since` keeps exactly the tasks at or after it, newest first; `latest` still names every
/// secret (those whose newest task is older than the window with that old task); `total` stays
/// the service's count; every page is still read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_keeps_exactly_the_window_and_latest_covers_every_secret() {
    let mut data = emulator::generate(600, 21);
    // One secret rotated only long ago: outside any recent window, it must stay in `latest`.
    let oldest = data.iter().map(|t| t.task_time.unwrap()).min().unwrap();
    data.push(SecretTask {
        task_id: "stale-1".into(),
        secret_name: Some("forgotten-secret".into()),
        task_status: Some("SUCCESS".into()),
        task_time: Some(oldest - 86_400_000),
        ..SecretTask::default()
    });
    let mut times: Vec<i64> = data.iter().map(|t| t.task_time.unwrap()).collect();
    times.sort_unstable();
    let since = times[times.len() / 2];
    let emu = emulator_with(data.clone(), Faults::default()).await;
    let config = format!(
        "data \"csms_rotation_tasks\" \"q\" {{\n  page_size = 100\n  since = \"{}\"\n}}\n{OUTPUTS}",
        rfc3339(since)
    );
    let outputs: Json = workdir(&emu, &config).apply_outputs().await;

    let window: Vec<SecretTask> = data
        .iter()
        .filter(|t| t.task_time.unwrap() >= since)
        .cloned()
        .collect();
    let ids: Vec<String> = serde_json::from_value(outputs["ids"].clone()).unwrap();
    assert_eq!(ids, newest_first_ids(&window));
    assert!(ids.len() < data.len() && !ids.is_empty());
    let got: BTreeMap<String, String> = serde_json::from_value(outputs["latest"].clone()).unwrap();
    assert_eq!(got, latest(&data));
    assert_eq!(got["forgotten-secret"], "stale-1");
    assert_eq!(outputs["total"], data.len());
    assert_eq!(
        tasks_requests(&emu),
        7,
        "all 601 tasks read in pages of 100"
    );
}

/// An invalid `since` is refused at plan time on the attribute, before any request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_since_is_refused_without_a_request() {
    let emu = emulator_with(emulator::generate(50, 1), Faults::default()).await;
    let run = workdir(
        &emu,
        "data \"csms_rotation_tasks\" \"q\" {\n  since = \"last tuesday\"\n}\n",
    )
    .run(&["plan", "-input=false", "-no-color"])
    .await;
    run.assert_error(&[
        "Error: Invalid since",
        "since = \"last tuesday\"",
        "RFC 3339",
    ]);
    assert_eq!(emu.stats().requests, 0);
}

/// Every page is asked for with `Accept-Encoding: gzip` (the emulator compresses exactly when
/// asked, like the gateway), and the compressed pages decode to the exact data set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_travel_compressed_and_decode_to_the_exact_set() {
    let data = emulator::generate(2_500, 8);
    let emu = emulator_with(data.clone(), Faults::default()).await;
    let outputs = workdir(
        &emu,
        &format!("data \"csms_rotation_tasks\" \"q\" {{}}\n{OUTPUTS}"),
    )
    .apply_outputs()
    .await;
    let ids: Vec<String> = serde_json::from_value(outputs["ids"].clone()).unwrap();
    assert_eq!(ids, newest_first_ids(&data));
    let stats = emu.stats();
    let pages = tasks_requests(&emu);
    assert_eq!(pages, 3, "2,500 tasks in pages of 1000");
    assert_eq!(
        stats.gzipped_responses, pages,
        "every page was compressed, so every request asked for gzip: {stats:?}"
    );
}

/// A gzip bomb fails the plan with an error that names the decompressed-size limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_fails_the_plan_naming_the_limit() {
    use common::terraform::{AK, SK};
    use csms_provider::emulator::{Config, Emulator, Wire};
    let emu = Emulator::start(Config {
        credentials: Some((AK.into(), SK.into())),
        wire: Wire {
            gzip_bomb_mib: Some(128),
            ..Wire::default()
        },
        ..Config::default()
    })
    .await
    .unwrap();
    let run = workdir(&emu, "data \"csms_rotation_tasks\" \"q\" {}\n")
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&["larger than 67108864 bytes"]);
}
