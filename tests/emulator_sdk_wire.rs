//! Fidelity of the emulator's SM3 signature check and gzip with the official Python SDK
//! (`huaweicloudsdkcsms` 3.1.219): the SDK signs with `HttpConfig(signing_algorithm=HMAC_SM3)`,
//! and its HTTP client (`requests`) asks for gzip and decodes it, as against the real gateway.
//!
//! Python comes from `CSMS_TEST_PYTHON`, default `<crate>/.venv/bin/python` (made by
//! `scripts/venv`). Without it the test fails; it never skips (`common::sdk`).

use crate::common;

use csms_provider::csms::task::SecretTask;
use csms_provider::emulator::{generate, Config, Emulator, Wire};
use serde_json::Value;

const AK: &str = "AKSDKWIRE00000000001";
const SK: &str = "SKsdkWireSecretKey0123456789abcdefghijkl";

/// A full marker loop (limit 100) signed with the algorithm named by argv, then one request
/// signed with a wrong secret key, which must be refused. A response handler records, for each
/// page, what `requests` sent and received around the signature: `Accept-Encoding`, the signed
/// header list, `Content-Encoding`.
const SCRIPT: &str = r#"import json, sys
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_handler import HttpHandler
from huaweicloudsdkcsms.v1 import CsmsClient, ListSecretTaskRequest

endpoint, ak, sk, project, algorithm = sys.argv[1:6]
wire = []

def record(response, **kwargs):
    auth = response.request.headers["Authorization"]
    wire.append({"accept_encoding": response.request.headers.get("Accept-Encoding"),
                 "signed_headers": auth.split("SignedHeaders=")[1].split(",")[0],
                 "prefix": auth.split(" ")[0],
                 "content_encoding": response.headers.get("Content-Encoding")})

def client(secret_key):
    config = HttpConfig.get_default_config()
    config.signing_algorithm = SigningAlgorithm[algorithm]
    config.timeout = (5, 20)
    return (CsmsClient.new_builder()
            .with_http_config(config)
            .with_credentials(BasicCredentials(ak, secret_key, project))
            .with_endpoint(endpoint)
            .with_http_handler(HttpHandler().add_response_handler(record))
            .build())

c = client(sk)
collected, marker = [], None
for _ in range(100):
    req = ListSecretTaskRequest(limit=100) if marker is None else ListSecretTaskRequest(limit=100, marker=marker)
    resp = c.list_secret_task(req)
    collected += [t.to_dict() for t in (resp.tasks or [])]
    if not resp.next_marker or not resp.tasks:
        break
    marker = resp.next_marker
out = {"tasks": collected, "wire": wire[:]}
try:
    client(sk + "x").list_secret_task(ListSecretTaskRequest(limit=5))
    out["wrong_sk"] = None
except exceptions.ClientRequestException as e:
    out["wrong_sk"] = {"status": e.status_code, "error_code": e.error_code}
print(json.dumps(out))
"#;

/// What the SDK listed, what its HTTP client did per page, and the bytes the emulator sent.
struct Session {
    tasks: Vec<SecretTask>,
    wire: Vec<Value>,
    bytes_sent: u64,
}

/// Runs the SDK session against a signature-checking emulator with `wire`.
async fn sdk_lists(data: &[SecretTask], algorithm: &str, wire: Wire) -> Session {
    let emu = Emulator::start(Config {
        credentials: Some((AK.into(), SK.into())),
        tasks: data.to_vec(),
        wire,
        ..Config::default()
    })
    .await
    .unwrap();
    let out = common::sdk::run_script(
        SCRIPT,
        &[&emu.base_url(), AK, SK, emu.project_id(), algorithm],
    )
    .await;
    assert_eq!(
        out["wrong_sk"],
        serde_json::json!({"status": 401, "error_code": "APIGW.0301"}),
        "{algorithm}: a wrong key is refused, so signatures were checked"
    );
    let session = Session {
        tasks: serde_json::from_value(out["tasks"].clone()).unwrap(),
        wire: out["wire"].as_array().unwrap().clone(),
        bytes_sent: emu.stats().bytes_sent,
    };
    emu.shutdown().await.unwrap();
    session
}

/// The SDK lists all 950 tasks exactly with SM3 signatures checked, compressed and not; with
/// gzip (the default, because the SDK asks) the wire carries under a third of the bytes. The SDK
/// asks for gzip on every page and does not sign `Accept-Encoding` (its signed headers are fixed
/// before `requests` adds it), so neither may a client that wants the same signatures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_lists_with_sm3_signatures_and_gzip() {
    let data = generate(950, 23);
    let gzipped = sdk_lists(&data, "HMAC_SM3", Wire::default()).await;
    assert_eq!(gzipped.tasks, data);
    assert_eq!(gzipped.wire.len(), 10, "10 pages");
    for page in &gzipped.wire {
        assert_eq!(page["prefix"], "SDK-HMAC-SM3");
        assert!(
            page["accept_encoding"].as_str().unwrap().contains("gzip"),
            "{page}"
        );
        assert_eq!(page["content_encoding"], "gzip", "{page}");
        assert_eq!(
            page["signed_headers"],
            "content-type;host;user-agent;x-project-id;x-sdk-date"
        );
    }

    let plain = Wire {
        gzip: false,
        ..Wire::default()
    };
    let uncompressed = sdk_lists(&data, "HMAC_SM3", plain).await;
    assert_eq!(uncompressed.tasks, data);
    assert!(uncompressed
        .wire
        .iter()
        .all(|p| p["content_encoding"].is_null()));
    assert!(
        gzipped.bytes_sent * 3 < uncompressed.bytes_sent,
        "{} bytes with gzip vs {} without",
        gzipped.bytes_sent,
        uncompressed.bytes_sent
    );

    // The default algorithm still works next to SM3, compressed.
    let sha256 = sdk_lists(&data, "HMAC_SHA256", Wire::default()).await;
    assert_eq!(sha256.tasks, data);
    assert!(sha256.wire.iter().all(|p| p["prefix"] == "SDK-HMAC-SHA256"));
}
