//! Fidelity: the official Python SDK (`huaweicloudsdkcsms` 3.1.219) as the client of the
//! emulator, with signature checking on. The SDK signs every request itself, parses every
//! response into its own models and maps errors to its own exceptions, so a pass means the
//! emulator speaks the API as the SDK expects it.
//!
//! The same goes for the credential paths: temporary keys with their security token, the SDK's
//! own ECS metadata reader, and the IAM SDK's assume-role exchange (`huaweicloudsdkiam`).
//!
//! Python comes from `CSMS_TEST_PYTHON`, default `<crate>/.venv/bin/python` (made by
//! `scripts/venv`). Without it the test fails; it never skips.

use std::time::Duration;

use common::emulator::TEAM_B;
use common::sdk::run_script;
use csms_provider::csms::task::SecretTask;
use csms_provider::emulator::{
    generate, Config, Emulator, InstanceAgency, Metadata, MetadataTokens, DEFAULT_DOMAIN_NAME,
};
use serde_json::Value;

use crate::common;

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

async fn run_sdk(emu: &Emulator, secret_name: &str) -> Value {
    run_script(
        SCRIPT,
        &[&emu.base_url(), AK, SK, emu.project_id(), secret_name],
    )
    .await
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

/// Shared by the credential scripts and `emulator_sdk_secrets`: an HTTP config, a CSMS client,
/// and errors as JSON.
pub const PRELUDE: &str = r#"import json, sys
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcsms.v1 import CsmsClient, ListSecretTaskRequest

def config():
    c = HttpConfig.get_default_config()
    c.timeout = (5, 20)
    return c

def csms(endpoint, credentials, region=None):
    b = CsmsClient.new_builder().with_http_config(config()).with_credentials(credentials)
    if region:
        from huaweicloudsdkcore.region.region import Region
        return b.with_region(Region(region, endpoint)).build()
    return b.with_endpoint(endpoint).build()

def listing(client):
    return [t.to_dict() for t in (client.list_secret_task(ListSecretTaskRequest(limit=1000)).tasks or [])]

def error(call):
    try:
        call()
        return {"exception": None}
    except exceptions.ClientRequestException as e:
        return {"status": e.status_code, "error_code": e.error_code, "error_msg": e.error_msg}
"#;

/// Temporary credentials as users pass them to the SDK: AK/SK plus security token.
const TEMPORARY: &str = r#"
endpoint, ak, sk, token, project = sys.argv[1:6]
out = {"tasks": listing(csms(endpoint, BasicCredentials(ak, sk, project).with_security_token(token)))}
out["wrong_token"] = error(lambda: listing(csms(endpoint, BasicCredentials(ak, sk, project).with_security_token(token + "x"))))
out["no_token"] = error(lambda: listing(csms(endpoint, BasicCredentials(ak, sk, project))))
print(json.dumps(out))
"#;

/// The SDK's own ECS metadata reader (its endpoint patched to the emulator), then the IAM
/// project lookup and the listing with the keys it read: the "ECS agency" path, no key given.
const METADATA: &str = r#"
from huaweicloudsdkcore.auth.internal import MetadataAccessor
endpoint = sys.argv[1]
MetadataAccessor._METADATA_ENDPOINT = endpoint
creds = BasicCredentials().with_iam_endpoint(endpoint)
tasks = listing(csms(endpoint, creds, region="cn-north-4"))
print(json.dumps({"tasks": tasks, "project_id": creds.project_id, "ak": creds.ak,
                  "has_token": bool(creds.security_token)}))
"#;

/// The IAM SDK's CreateTemporaryAccessKeyByAgency (assume-role) with the central account's
/// keys, then the listing of the other account's project with the keys it returned; and a
/// refused agency.
const ASSUME_ROLE: &str = r#"
from huaweicloudsdkiam.v3 import (IamClient, CreateTemporaryAccessKeyByAgencyRequest,
    CreateTemporaryAccessKeyByAgencyRequestBody, AgencyAuth, AgencyAuthIdentity, IdentityAssumerole)
endpoint, ak, sk, domain_id, agency, trusting, project = sys.argv[1:8]
iam = (IamClient.new_builder().with_http_config(config())
       .with_credentials(GlobalCredentials(ak, sk, domain_id)).with_endpoint(endpoint).build())
def assume(name):
    role = IdentityAssumerole(agency_name=name, domain_name=trusting, duration_seconds=3600)
    body = CreateTemporaryAccessKeyByAgencyRequestBody(
        auth=AgencyAuth(identity=AgencyAuthIdentity(methods=["assume_role"], assume_role=role)))
    return iam.create_temporary_access_key_by_agency(CreateTemporaryAccessKeyByAgencyRequest(body=body))
c = assume(agency).credential
creds = BasicCredentials(c.access, c.secret, project).with_security_token(c.securitytoken)
print(json.dumps({"expires_at": c.expires_at, "tasks": listing(csms(endpoint, creds)),
                  "refused": error(lambda: assume(agency + "-unknown"))}))
"#;

const AK_B: &str = "AKSDKTEAMB0000000001";
const SK_B: &str = "SKsdkTeamBSecretKey0123456789abcdefghijk";
const PROJECT_B: &str = "bbbb0000bbbb0000bbbb0000bbbb0000";

/// A signed emulator with a second account `team-b` (its own keys and project in
/// cn-north-4) and agency `audit` of team-b trusting the default account.
fn two_accounts(metadata: Metadata) -> (Config, Vec<SecretTask>, Vec<SecretTask>) {
    let (a, b) = (generate(40, 21), generate(25, 22));
    let (team_b, audit) = common::emulator::team_b(Some((AK_B, SK_B)), PROJECT_B, b.clone());
    let config = Config {
        credentials: Some((AK.into(), SK.into())),
        tasks: a.clone(),
        accounts: vec![team_b],
        agencies: vec![audit],
        metadata,
        ..Config::default()
    };
    (config, a, b)
}

/// The SDK lists with temporary credentials (AK/SK + `X-Security-Token`, which it signs), and
/// gets the gateway's 401 `APIGW.0301` with a wrong token or none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_lists_with_temporary_credentials() {
    let (config, a, _) = two_accounts(Metadata::default());
    let emu = Emulator::start(config).await.unwrap();
    let key = emu
        .issue_temporary_key(DEFAULT_DOMAIN_NAME, Duration::from_secs(3600))
        .unwrap();
    let script = format!("{PRELUDE}{TEMPORARY}");
    let args = [
        emu.base_url(),
        key.access.clone(),
        key.secret.clone(),
        key.security_token.clone(),
        emu.project_id().to_string(),
    ];
    let out = run_script(&script, &args.each_ref().map(String::as_str)).await;
    assert_eq!(tasks(&out["tasks"]), a);
    for refused in ["wrong_token", "no_token"] {
        let e = &out[refused];
        assert_eq!(e["status"], 401, "{refused}: {e}");
        assert_eq!(e["error_code"], "APIGW.0301", "{refused}: {e}");
    }
    let stats = emu.stats().credentials;
    assert_eq!(stats.temporary_key_requests, 1);
    assert_eq!(stats.temporary_key_rejections, 2);
    emu.shutdown().await.unwrap();
}

/// The SDK's metadata reader, pointed at the emulator, reads the instance agency's keys (with
/// a session token where the service supports one, without where the PUT answers 404 or 405),
/// looks the project up through IAM with them and lists that account's tasks. The SDK reads
/// `expires_at` as the emulator writes it: an hour-long key serves both requests, a key with
/// less than the SDK's 40-minute margin left is fetched again before each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_reads_metadata_keys_and_lists_with_them() {
    let short = Some(Duration::from_secs(600));
    for (tokens, lifetime, issued_tokens, issued_keys) in [
        (MetadataTokens::Required, None, 1, 1),
        (MetadataTokens::Unsupported(404), None, 0, 1),
        (MetadataTokens::Unsupported(405), None, 0, 1),
        (MetadataTokens::Required, short, 1, 2),
    ] {
        let (mut config, _, b) = two_accounts(Metadata {
            tokens,
            agency: InstanceAgency::Domain(TEAM_B.into()),
            ..Metadata::default()
        });
        config.temporary_key_lifetime = lifetime;
        let emu = Emulator::start(config).await.unwrap();
        let script = format!("{PRELUDE}{METADATA}");
        let out = run_script(&script, &[&emu.base_url()]).await;
        assert_eq!(tasks(&out["tasks"]), b, "{tokens:?}");
        assert_eq!(out["project_id"], PROJECT_B, "{tokens:?}");
        assert_eq!(out["has_token"], true);
        let stats = emu.stats();
        let c = &stats.credentials;
        assert_eq!(
            (c.metadata_tokens, c.metadata_keys),
            (issued_tokens, issued_keys),
            "{tokens:?} {lifetime:?}"
        );
        // The project lookup and the listing, both with the metadata key and its token.
        assert_eq!(c.temporary_key_requests, 2, "{tokens:?}");
        assert_eq!(c.by_account.get(TEAM_B), Some(&2), "{tokens:?}");
        assert_eq!(
            stats.by_path["/meta-data/latest/api/token"], 1,
            "{tokens:?}"
        );
        emu.shutdown().await.unwrap();
    }
}

/// The official IAM SDK (`huaweicloudsdkiam`) assumes the agency against the emulator, and the
/// CSMS SDK lists the trusting account's project with the keys it got; a refused agency is the
/// SDK's `ClientRequestException` 403 with IAM's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_iam_sdk_assumes_an_agency_and_lists_the_other_account() {
    let (config, _, b) = two_accounts(Metadata::default());
    let emu = Emulator::start(config).await.unwrap();
    let script = format!("{PRELUDE}{ASSUME_ROLE}");
    let url = emu.base_url();
    let domain_id = csms_provider::emulator::DEFAULT_DOMAIN_ID;
    let args = [&url, AK, SK, domain_id, "audit", TEAM_B, PROJECT_B];
    let out = run_script(&script, &args).await;
    assert_eq!(tasks(&out["tasks"]), b);
    assert!(out["expires_at"].as_str().unwrap().ends_with('Z'));
    let refused = &out["refused"];
    assert_eq!(refused["status"], 403, "{refused}");
    assert_eq!(refused["error_code"], 403, "IAM's numeric code: {refused}");
    assert!(refused["error_msg"].as_str().unwrap().contains("no agency"));
    let c = emu.stats().credentials;
    assert_eq!((c.assumed_keys, c.assume_role_refusals), (1, 1));
    assert_eq!(c.by_account.get(TEAM_B), Some(&1), "the listing as team-b");
    emu.shutdown().await.unwrap();
}
