//! Fidelity: the official Python SDK (`huaweicloudsdkcsms` 3.1.219) as the client of the
//! emulator, with signature checking on. The SDK signs every request itself, parses every
//! response into its own models and maps errors to its own exceptions, so a pass means the
//! emulator speaks the API as the SDK expects it.
//!
//! Python comes from `CSMS_TEST_PYTHON`, default `<crate>/.venv/bin/python` (made by
//! `scripts/venv`). Without it the test fails; it never skips.

use std::path::PathBuf;
use std::time::Duration;

use csms_provider::csms::task::SecretTask;
use csms_provider::emulator::{generate, Config, Emulator};
use serde_json::Value;

const AK: &str = "AKSDKFIDELITY0000001";
const SK: &str = "SKsdkFidelitySecretKey0123456789abcdefgh";

/// One SDK session: a full marker loop with limit 50, a filtered query (secret_name + FAILED),
/// a task_id query, an invalid status, and a client with a wrong secret key.
const SCRIPT: &str = r#"import json, sys
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcsms.v1 import CsmsClient, ListSecretTaskRequest

endpoint, ak, sk, project, secret_name = sys.argv[1:6]

def client(secret_key):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    config.timeout = (5, 20)
    return (CsmsClient.new_builder()
            .with_http_config(config)
            .with_credentials(BasicCredentials(ak, secret_key, project))
            .with_endpoint(endpoint)
            .build())

def tasks(resp):
    return [t.to_dict() for t in (resp.tasks or [])]

def error(e):
    return {"status": e.status_code, "error_code": e.error_code,
            "error_msg": e.error_msg, "request_id": e.request_id,
            "exception": type(e).__name__}

out = {}
c = client(sk)

# Full marker loop, as a user of the SDK writes it.
collected, totals, markers, marker = [], [], [], None
for _ in range(100):
    req = ListSecretTaskRequest(limit=50) if marker is None else ListSecretTaskRequest(limit=50, marker=marker)
    resp = c.list_secret_task(req)
    collected += tasks(resp)
    totals.append(resp.total)
    markers.append(resp.next_marker)
    if not resp.next_marker or not resp.tasks:
        break
    marker = resp.next_marker
out["loop"] = {"tasks": collected, "totals": totals, "markers": markers}

resp = c.list_secret_task(ListSecretTaskRequest(secret_name=secret_name, status="FAILED", limit=1000))
out["filtered"] = {"tasks": tasks(resp), "total": resp.total, "next_marker": resp.next_marker}

task_id = collected[100]["task_id"] if len(collected) > 100 else collected[0]["task_id"]
resp = c.list_secret_task(ListSecretTaskRequest(task_id=task_id))
out["by_id"] = {"task_id": task_id, "tasks": tasks(resp), "total": resp.total}

for name, call in [
    ("bad_status", lambda: c.list_secret_task(ListSecretTaskRequest(status="RUNNING"))),
    ("wrong_sk", lambda: client(sk + "x").list_secret_task(ListSecretTaskRequest(limit=5))),
]:
    try:
        call()
        out[name] = {"exception": None}
    except exceptions.ClientRequestException as e:
        out[name] = error(e)

print(json.dumps(out))
"#;

fn python() -> PathBuf {
    let python = std::env::var_os("CSMS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        python.exists(),
        "Python with huaweicloudsdkcsms not found at {} (set CSMS_TEST_PYTHON or run scripts/venv)",
        python.display()
    );
    python
}

async fn run_sdk(emu: &Emulator, secret_name: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("sdk_client.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(python())
            .arg(&script)
            .args([&emu.base_url(), AK, SK, emu.project_id(), secret_name])
            .env_remove("PYTHONPATH")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the SDK script finishes within 120s")
    .unwrap();
    assert!(
        out.status.success(),
        "SDK script failed (run scripts/venv if huaweicloudsdkcsms is missing):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "SDK script output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn tasks(v: &Value) -> Vec<SecretTask> {
    serde_json::from_value(v.clone()).unwrap()
}

/// The SDK pages through 237 tasks with limit 50, filters, looks a task up by id, and surfaces
/// 400 and 401 errors as its `ClientRequestException` with our codes and request ids; every
/// request is signature-checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_lists_tasks_from_the_emulator_with_signatures_checked() {
    let data = generate(237, 11);
    let emu = Emulator::start(Config {
        credentials: Some((AK.into(), SK.into())),
        tasks: data.clone(),
        ..Config::default()
    })
    .await
    .unwrap();
    let secret = data[0].secret_name.clone().unwrap();
    let out = run_sdk(&emu, &secret).await;

    // Full marker loop: exactly the data set, in stored order, over 5 pages.
    let lp = &out["loop"];
    assert_eq!(tasks(&lp["tasks"]), data);
    assert_eq!(lp["totals"], serde_json::json!([237, 237, 237, 237, 237]));
    let markers = lp["markers"].as_array().unwrap();
    assert_eq!(markers.len(), 5);
    assert_eq!(markers[0], data[49].task_id.as_str());
    assert!(markers[4].is_null(), "no next_marker on the last page");

    // secret_name + status.
    let want: Vec<SecretTask> = data
        .iter()
        .filter(|t| {
            t.secret_name.as_deref() == Some(&secret) && t.task_status.as_deref() == Some("FAILED")
        })
        .cloned()
        .collect();
    assert!(
        !want.is_empty(),
        "the data set has failed tasks of {secret}"
    );
    assert_eq!(tasks(&out["filtered"]["tasks"]), want);
    assert_eq!(out["filtered"]["total"], want.len());

    // task_id.
    let id = out["by_id"]["task_id"].as_str().unwrap();
    let one: Vec<SecretTask> = data.iter().filter(|t| t.task_id == id).cloned().collect();
    assert_eq!(tasks(&out["by_id"]["tasks"]), one);
    assert_eq!(out["by_id"]["total"], 1);

    // Errors surface as the SDK's exceptions, with code and request id.
    let bad = &out["bad_status"];
    assert_eq!(bad["exception"], "ClientRequestException");
    assert_eq!(
        (bad["status"].as_u64(), bad["error_code"].as_str()),
        (Some(400), Some("CSMS.0002"))
    );
    assert_eq!(bad["request_id"].as_str().map(str::len), Some(32));
    let wrong = &out["wrong_sk"];
    assert_eq!(wrong["exception"], "ClientRequestException");
    assert_eq!(
        (wrong["status"].as_u64(), wrong["error_code"].as_str()),
        (Some(401), Some("APIGW.0301"))
    );
    assert!(wrong["error_msg"].as_str().unwrap().contains("signature"));

    // 5 pages + filtered + by id + bad status + wrong key; all signed by the SDK.
    assert_eq!(emu.stats().requests, 9);
    emu.shutdown().await.unwrap();
}
