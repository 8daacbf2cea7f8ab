//! The official Python SDK (`huaweicloudsdkcore`/`huaweicloudsdkcsms` 3.1.219) as a test oracle.

use std::path::PathBuf;
use std::time::Duration;

/// `CSMS_TEST_PYTHON`, else the project venv's Python (made by `scripts/venv`). Without it the
/// test fails; SDK tests never skip.
pub fn python() -> PathBuf {
    super::terraform::required_tool(
        "CSMS_TEST_PYTHON",
        ".venv/bin/python",
        "Python with the Huawei Cloud SDK",
        "set CSMS_TEST_PYTHON or run scripts/venv",
    )
}

/// Runs the Python `script` with `args` (120 s at most) and parses its stdout as one JSON value.
pub async fn run_script(script: &str, args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sdk_script.py");
    std::fs::write(&path, script).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(python())
            .arg(&path)
            .args(args)
            .env_remove("PYTHONPATH")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the SDK script finishes within 120 s")
    .unwrap();
    assert!(
        out.status.success(),
        "SDK script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "SDK script output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
