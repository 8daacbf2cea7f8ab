//! Fidelity of ListSecrets: the official Python SDK (`huaweicloudsdkcsms` 3.1.219) pages through
//! the emulator's secrets with `ListSecretsRequest`, signing every request itself and parsing
//! every page into its own models, against a service that answers fewer secrets than asked.

use crate::emulator_sdk::PRELUDE;
use common::sdk::run_script;
use csms_provider::emulator::{data, Config, DataSpec, Emulator, Secret};
use serde_json::Value;

use crate::common;

const AK: &str = "AKSDKSECRETS00000001";
const SK: &str = "SKsdkSecretsSecretKey0123456789abcdefghi";

/// After [`PRELUDE`]: a marker loop as an SDK user writes it (stop on an empty `next_marker`),
/// a limit the service refuses, a marker naming no secret, and a client with a wrong secret key.
const SCRIPT: &str = r#"
from huaweicloudsdkcsms.v1 import ListSecretsRequest

endpoint, ak, sk, project = sys.argv[1:5]
c = csms(endpoint, BasicCredentials(ak, sk, project))
secrets, counts, markers, marker = [], [], [], None
for _ in range(100):
    req = ListSecretsRequest(limit="50") if marker is None else ListSecretsRequest(limit="50", marker=marker)
    resp = c.list_secrets(req)
    secrets += [s.to_dict() for s in (resp.secrets or [])]
    counts.append(resp.page_info.current_count)
    markers.append(resp.page_info.next_marker)
    if not resp.page_info.next_marker:
        break
    marker = resp.page_info.next_marker
out = {"secrets": secrets, "counts": counts, "markers": markers}
out["bad_limit"] = error(lambda: c.list_secrets(ListSecretsRequest(limit="0")))
out["bad_marker"] = error(lambda: c.list_secrets(ListSecretsRequest(marker="no-such-secret")))
wrong = csms(endpoint, BasicCredentials(ak, sk + "x", project))
out["wrong_sk"] = error(lambda: wrong.list_secrets(ListSecretsRequest()))
print(json.dumps(out))
"#;

/// 95 generated secrets, at most 20 a page although the SDK asks for 50: the SDK reads every
/// field of every secret as the emulator stores them, in 5 pages whose markers are the names of
/// each page's last secret; errors are its `ClientRequestException` with our codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_pages_through_secrets_with_signatures_checked() {
    let set = data::generate_account(95, 400, 5, &DataSpec::default());
    let emu = Emulator::start(Config {
        credentials: Some((AK.into(), SK.into())),
        secrets: set.secrets.clone(),
        tasks: set.tasks,
        secrets_per_page: Some(20),
        ..Config::default()
    })
    .await
    .unwrap();
    let script = format!("{PRELUDE}{SCRIPT}");
    let out = run_script(&script, &[&emu.base_url(), AK, SK, emu.project_id()]).await;

    let read: Vec<Secret> = serde_json::from_value(out["secrets"].clone()).unwrap();
    assert_eq!(
        read, set.secrets,
        "every field of every secret, in stored order"
    );
    assert_eq!(out["counts"], serde_json::json!([20, 20, 20, 20, 15]));
    let markers = out["markers"].as_array().unwrap();
    for (i, m) in markers[..4].iter().enumerate() {
        assert_eq!(m, set.secrets[i * 20 + 19].name.as_str(), "page {i}");
    }
    assert!(markers[4].is_null(), "no next_marker on the last page");
    let times = read.iter().filter_map(|s| s.create_time).count();
    assert_eq!(times, 95, "times arrive as the SDK's integers");

    for (case, code) in [
        ("bad_limit", "CSMS.0002"),
        ("bad_marker", "CSMS.0002"),
        ("wrong_sk", "APIGW.0301"),
    ] {
        let e: &Value = &out[case];
        assert_eq!(e["error_code"], code, "{case}: {e}");
    }
    assert_eq!(out["wrong_sk"]["status"], 401);
    assert_eq!(out["bad_limit"]["status"], 400);
    let stats = emu.stats();
    let path = format!("/v1/{}/secrets", emu.project_id());
    assert_eq!(stats.by_path[&path], 8, "5 pages and 3 refusals");
    emu.shutdown().await.unwrap();
}
