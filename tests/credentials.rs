//! The credential chain against real HTTP servers on 127.0.0.1 standing in for the ECS metadata
//! service and IAM: session tokens and services without them, an unreachable service, assumed
//! agencies (signatures checked by the emulator's verifier and by the official Python SDK),
//! IAM's refusal, and keys renewed before they expire.

use crate::common::scripted_server;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use csms_provider::csms::credentials::{
    resolve, AgencyDomain, AgencyError, AgencySettings, ChainInputs, CredentialError,
    MetadataError, MetadataSettings, RefreshSettings, Resolved, SharedFileSettings, Source,
    StaticKeys,
};
use csms_provider::csms::Signer;
use scripted_server::{Recorded, Reply, ScriptedServer};
use serde_json::{json, Value};
use time::OffsetDateTime;

const TOKEN_PATH: &str = "/meta-data/latest/api/token";
const KEY_PATH: &str = "/openstack/latest/securitykey";
const AGENCY_PATH: &str = "/v3.0/OS-CREDENTIAL/securitytokens";

const BASE_AK: &str = "AKBASEEXAMPLE0000001";
const BASE_SK: &str = "SKbaseExampleSecretKey0123456789abcdefgh";
const BASE_TOKEN: &str = "base-security-token+/=";

/// `{"credential": ...}` as both services send it, expiring `lifetime` from now (negative for
/// keys already expired).
fn credential(ak: &str, lifetime: time::Duration) -> Value {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    let expires = (OffsetDateTime::now_utc() + lifetime)
        .format(&format)
        .unwrap();
    json!({"credential": {"access": ak, "secret": format!("secret-of-{ak}"),
           "securitytoken": format!("token-of-{ak}"), "expires_at": expires}})
}

fn hour() -> time::Duration {
    time::Duration::hours(1)
}

/// Inputs that find nothing before the metadata service at `metadata`.
fn inputs(metadata: &str) -> ChainInputs {
    ChainInputs {
        metadata: MetadataSettings {
            endpoint: metadata.to_string(),
            timeout: Duration::from_secs(3),
        },
        ..ChainInputs::default()
    }
}

/// [`inputs`] that renew keys expiring within 10 minutes at every request.
fn renewing(metadata: &str) -> ChainInputs {
    ChainInputs {
        refresh: RefreshSettings {
            margin: Duration::from_secs(600),
            retry_interval: Duration::ZERO,
        },
        ..inputs(metadata)
    }
}

/// A metadata service: the token endpoint answers `token_reply`, the key endpoint the
/// documents of `keys` in turn (the last one again and again), or 401 when a token was handed
/// out and the request does not carry it.
async fn metadata_server(token_reply: Reply, keys: Vec<Reply>) -> ScriptedServer {
    let served = AtomicUsize::new(0);
    ScriptedServer::start(move |r, _| match (r.method.as_str(), r.path.as_str()) {
        ("PUT", TOKEN_PATH) => token_reply.clone(),
        ("GET", KEY_PATH) => {
            let expected = match &token_reply {
                Reply::Full {
                    status: 200, body, ..
                } => Some(String::from_utf8_lossy(body).into_owned()),
                _ => None,
            };
            if r.header("X-Metadata-Token").map(String::from) != expected {
                return Reply::json(401, json!({"error": "bad or missing X-Metadata-Token"}));
            }
            let i = served.fetch_add(1, Ordering::SeqCst).min(keys.len() - 1);
            keys[i].clone()
        }
        _ => Reply::json(404, json!({"error": "not found"})),
    })
    .await
}

fn token(value: &str) -> Reply {
    Reply::raw(200, "text/plain", value.as_bytes())
}

fn count(server: &ScriptedServer, method: &str, path: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .count()
}

#[tokio::test]
async fn metadata_keys_with_a_session_token() {
    let server = metadata_server(
        token("session-tok-1"),
        vec![Reply::json(200, credential("AK-ECS", hour()))],
    )
    .await;
    let r = resolve(inputs(&server.url())).await.unwrap();
    assert_eq!(
        r.credentials.source(),
        &Source::EcsMetadata {
            endpoint: server.url(),
            via_profile: None
        }
    );
    let c = r.credentials.current().await.unwrap();
    assert_eq!(c.access_key, "AK-ECS");
    assert_eq!(c.secret_key, "secret-of-AK-ECS");
    assert_eq!(c.security_token.as_deref(), Some("token-of-AK-ECS"));
    assert!(c.expires_at.unwrap() > OffsetDateTime::now_utc());
    let requests = server.requests();
    assert_eq!(requests[0].method, "PUT", "the token is asked for first");
    assert_eq!(
        requests[0].header("X-Metadata-Token-Ttl-Seconds"),
        Some("21600")
    );
    assert_eq!(
        requests[1].header("X-Metadata-Token"),
        Some("session-tok-1")
    );
}

#[tokio::test]
async fn metadata_keys_without_token_support() {
    for status in [404, 405] {
        let server = metadata_server(
            Reply::json(status, json!({"error": "no such thing"})),
            vec![Reply::json(200, credential("AK-OLD-ECS", hour()))],
        )
        .await;
        let r = resolve(inputs(&server.url())).await.unwrap();
        assert_eq!(
            r.credentials.current().await.unwrap().access_key,
            "AK-OLD-ECS"
        );
        let get = &server.requests()[1];
        assert_eq!((get.method.as_str(), get.path.as_str()), ("GET", KEY_PATH));
        assert_eq!(get.header("X-Metadata-Token"), None, "after {status}");
    }
}

/// Whether the metadata service timed out, for an error that must be "no credentials, as the
/// metadata service was unreachable".
fn unreachable_timed_out(e: &CredentialError) -> bool {
    let CredentialError::NoCredentials(none) = e else {
        panic!("{e:?}")
    };
    match &none.metadata {
        MetadataError::Unreachable { timeout, .. } => *timeout,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn no_keys_and_no_metadata_service_is_one_error_naming_every_source() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let home = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let e = resolve(ChainInputs {
        shared_file: SharedFileSettings {
            home: Some(home.path().into()),
            ..SharedFileSettings::default()
        },
        ..inputs(&closed)
    })
    .await
    .unwrap_err();
    eprintln!(
        "no credentials anywhere: failed after {:?}",
        started.elapsed()
    );
    assert!(
        !unreachable_timed_out(&e),
        "connections are refused at once"
    );
    let m = e.to_string();
    eprintln!("{m}");
    for part in [
        "the provider block: access_key and secret_key are not set",
        "HW_ACCESS_KEY and HW_SECRET_KEY are not set",
        &home
            .path()
            .join(".hcloud/config.json")
            .display()
            .to_string(),
        &format!("the ECS metadata service at {closed}"),
        "was not reachable",
        "HW_METADATA_ENDPOINT",
    ] {
        assert!(m.contains(part), "{part:?} missing from: {m}");
    }
}

#[tokio::test]
async fn a_silent_metadata_service_times_out() {
    // Accepts connections and never answers; holds them for at most 30 s.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok(Ok((s, _))) =
            tokio::time::timeout(Duration::from_secs(30), listener.accept()).await
        {
            held.push(s);
        }
    });
    let e = resolve(ChainInputs {
        metadata: MetadataSettings {
            endpoint: url,
            timeout: Duration::from_millis(200),
        },
        ..ChainInputs::default()
    })
    .await
    .unwrap_err();
    holder.abort();
    assert!(unreachable_timed_out(&e));
    assert!(e.to_string().contains("timed out"), "{e}");
}

#[tokio::test]
async fn an_instance_without_an_agency_says_so() {
    let server = metadata_server(
        token("tok"),
        vec![Reply::raw(
            401,
            "text/plain",
            b"Please configure Cloud Service Agency first\x1b[31m",
        )],
    )
    .await;
    let e = resolve(inputs(&server.url())).await.unwrap_err();
    let CredentialError::NoCredentials(none) = &e else {
        panic!("{e:?}")
    };
    let MetadataError::Status { error, .. } = &none.metadata else {
        panic!("{:?}", none.metadata)
    };
    assert_eq!(error.status, 401);
    let m = e.to_string();
    assert!(
        m.contains("Please configure Cloud Service Agency first"),
        "{m}"
    );
    assert!(!m.contains('\x1b'), "{m}");
}

/// A KooCLI home directory with `profiles` and `current`.
fn koocli_home(current: &str, profiles: Value) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".hcloud")).unwrap();
    std::fs::write(
        home.path().join(".hcloud/config.json"),
        json!({"current": current, "profiles": profiles}).to_string(),
    )
    .unwrap();
    home
}

#[tokio::test]
async fn an_ecs_agency_profile_reads_the_metadata_service() {
    let server = metadata_server(
        token("t"),
        vec![Reply::json(200, credential("AK-ECS", hour()))],
    )
    .await;
    let home = koocli_home(
        "ecs",
        json!([{"name": "ecs", "mode": "ecsAgency", "region": "cn-north-4"}]),
    );
    let r = resolve(ChainInputs {
        shared_file: SharedFileSettings {
            profile: Some("ecs".into()),
            home: Some(home.path().into()),
            ..SharedFileSettings::default()
        },
        ..inputs(&server.url())
    })
    .await
    .unwrap();
    assert_eq!(
        r.credentials.source(),
        &Source::EcsMetadata {
            endpoint: server.url(),
            via_profile: Some("ecs".into())
        }
    );
    assert_eq!(r.credentials.current().await.unwrap().access_key, "AK-ECS");
    assert_eq!(r.region.as_deref(), Some("cn-north-4"));
}

/// IAM's assume-role API: the request must carry a valid signature by the base keys (checked by
/// the emulator's gateway verifier); it then answers the documents of `replies` in turn.
async fn iam_server(base_sk: &'static str, replies: Vec<Reply>) -> ScriptedServer {
    let served = AtomicUsize::new(0);
    ScriptedServer::start(move |r, _| {
        if (r.method.as_str(), r.path.as_str()) != ("POST", AGENCY_PATH) {
            return Reply::json(404, json!({"error": {"code": 404, "message": "no route"}}));
        }
        let ak = auth_field(r, "Access").unwrap_or_default();
        if let Err(e) = r.verify(&Signer::new(&ak, base_sk)) {
            return Reply::json(401, json!({"error": {"code": 401, "message": e}}));
        }
        let i = served.fetch_add(1, Ordering::SeqCst).min(replies.len() - 1);
        replies[i].clone()
    })
    .await
}

fn auth_field(r: &Recorded, name: &str) -> Option<String> {
    let auth = r.header("Authorization")?;
    auth.split([' ', ','])
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .map(String::from)
}

fn agency(duration: Option<u64>) -> AgencySettings {
    AgencySettings::new(
        "audit-agency",
        AgencyDomain::Name("security-account".into()),
        duration,
    )
    .unwrap()
}

/// Temporary keys in the environment, assuming the audit agency through `iam`.
fn assuming(iam: &ScriptedServer, duration: Option<u64>) -> ChainInputs {
    ChainInputs {
        environment: StaticKeys {
            access_key: Some(BASE_AK.into()),
            secret_key: Some(BASE_SK.into()),
            security_token: Some(BASE_TOKEN.into()),
        },
        agency: Some(agency(duration)),
        iam_endpoint: Some(iam.url()),
        ..ChainInputs::default()
    }
}

#[tokio::test]
async fn an_agency_is_assumed_with_signed_temporary_base_keys() {
    let iam = iam_server(
        BASE_SK,
        vec![Reply::json(201, credential("AK-AGENCY", hour()))],
    )
    .await;
    let r = resolve(assuming(&iam, Some(7200))).await.unwrap();
    assert_eq!(
        r.credentials.source(),
        &Source::Agency {
            agency_name: "audit-agency".into(),
            domain: AgencyDomain::Name("security-account".into()),
            base: Box::new(Source::Environment),
        }
    );
    let c = r.credentials.current().await.unwrap();
    assert_eq!(c.access_key, "AK-AGENCY");
    assert_eq!(c.security_token.as_deref(), Some("token-of-AK-AGENCY"));

    let post = &iam.requests()[0];
    assert_eq!(post.header("X-Security-Token"), Some(BASE_TOKEN));
    assert_eq!(
        post.header("Content-Type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(auth_field(post, "Access").as_deref(), Some(BASE_AK));
    assert_eq!(
        auth_field(post, "SignedHeaders").as_deref(),
        Some("content-type;host;x-sdk-date;x-security-token")
    );
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(
        body,
        json!({"auth": {"identity": {"methods": ["assume_role"], "assume_role": {
            "agency_name": "audit-agency", "domain_name": "security-account",
            "duration_seconds": 7200}}}})
    );
    // The verifier is not a rubber stamp: another secret key fails the same request.
    assert!(post
        .verify(&Signer::new(BASE_AK, "another-secret"))
        .is_err());
}

#[tokio::test]
async fn a_profile_agency_is_assumed_unless_the_provider_names_one() {
    let iam = iam_server(
        BASE_SK,
        vec![Reply::json(201, credential("AK-AGENCY", hour()))],
    )
    .await;
    let home = koocli_home(
        "default",
        json!([{"name": "default", "mode": "AKSK", "accessKeyId": BASE_AK,
                "secretAccessKey": BASE_SK, "agencyName": "profile-agency",
                "agencyDomainId": "d-0001"}]),
    );
    let with_profile = |agency| ChainInputs {
        shared_file: SharedFileSettings {
            path: Some(home.path().join(".hcloud/config.json")),
            ..SharedFileSettings::default()
        },
        agency,
        iam_endpoint: Some(iam.url()),
        ..ChainInputs::default()
    };
    let r = resolve(with_profile(None)).await.unwrap();
    assert!(
        matches!(r.credentials.source(), Source::Agency { agency_name, domain: AgencyDomain::Id(id), .. }
            if agency_name == "profile-agency" && id == "d-0001"),
        "{:?}",
        r.credentials.source()
    );
    let r = resolve(with_profile(Some(agency(None)))).await.unwrap();
    assert!(
        matches!(r.credentials.source(), Source::Agency { agency_name, .. } if agency_name == "audit-agency"),
        "{:?}",
        r.credentials.source()
    );
    let bodies: Vec<Value> = iam
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies[0]["auth"]["identity"]["assume_role"]["domain_id"],
        "d-0001"
    );
    assert_eq!(
        bodies[1]["auth"]["identity"]["assume_role"]["duration_seconds"],
        3600
    );
    assert_eq!(
        iam.requests()[0].header("X-Security-Token"),
        None,
        "long-lived base keys"
    );
}

#[tokio::test]
async fn iam_refusing_the_agency_is_a_typed_error_with_its_message() {
    let refusal = json!({"error": {"code": 403, "title": "Forbidden",
        "message": "The user is not authorized to assume\nthe agency.\u{1b}[2J"}});
    let iam = iam_server(BASE_SK, vec![Reply::json(403, refusal)]).await;
    let e = resolve(assuming(&iam, None)).await.unwrap_err();
    let CredentialError::Agency(agency_error) = &e else {
        panic!("{e:?}")
    };
    let AgencyError::Refused { error, .. } = &**agency_error else {
        panic!("{agency_error:?}")
    };
    assert_eq!(agency_error.status(), Some(403));
    assert_eq!(
        error.message.as_deref(),
        Some("The user is not authorized to assume the agency.\u{fffd}[2J")
    );
    let m = e.to_string();
    assert!(
        m.contains("\"audit-agency\"") && m.contains("HTTP 403"),
        "{m}"
    );
    assert!(!m.chars().any(|c| c.is_control()), "{m:?}");
    assert!(!m.contains(BASE_SK) && !m.contains(BASE_TOKEN), "{m}");
}

#[tokio::test]
async fn metadata_keys_are_renewed_once_for_concurrent_callers() {
    let server = metadata_server(
        token("t"),
        vec![
            Reply::json(200, credential("AK-EXPIRING", time::Duration::minutes(2))),
            Reply::json(200, credential("AK-FRESH", hour())),
        ],
    )
    .await;
    let r = resolve(renewing(&server.url())).await.unwrap();
    let provider = r.credentials.clone();
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let p = provider.clone();
            tokio::spawn(async move { p.current().await.unwrap().access_key.clone() })
        })
        .collect();
    for c in callers {
        assert_eq!(c.await.unwrap(), "AK-FRESH");
    }
    assert_eq!(provider.current().await.unwrap().access_key, "AK-FRESH");
    assert_eq!(count(&server, "GET", KEY_PATH), 2, "one read, one renewal");
}

#[tokio::test]
async fn a_failed_renewal_keeps_valid_keys() {
    let failing = Reply::json(500, json!({"error": "metadata service restarting"}));
    let server = metadata_server(
        token("t"),
        vec![
            Reply::json(200, credential("AK-OLD", time::Duration::minutes(2))),
            failing,
        ],
    )
    .await;
    let r = resolve(renewing(&server.url())).await.unwrap();
    assert_eq!(r.credentials.current().await.unwrap().access_key, "AK-OLD");
    assert_eq!(count(&server, "GET", KEY_PATH), 2);
}

/// Keys that expired before they were handed out (issue 21, item 2) are refused, naming the
/// source and their `expires_at`. (A renewal that brings dead keys while the held ones are
/// valid keeps the held ones, as any failed renewal does.)
#[tokio::test]
async fn keys_already_expired_are_refused_naming_source_and_expiry() {
    let dead = credential("AK-DEAD", time::Duration::minutes(-1));
    let server = metadata_server(token("t"), vec![Reply::json(200, dead.clone())]).await;
    let e = resolve(renewing(&server.url())).await.unwrap_err();
    let expires_at = dead["credential"]["expires_at"]
        .as_str()
        .unwrap()
        .to_string();
    let expected = |server: &ScriptedServer| {
        format!(
            "the ECS metadata service at {} handed out temporary keys that expired at {}",
            server.url(),
            &expires_at[..19]
        )
    };
    assert!(
        matches!(e, CredentialError::Expired { .. })
            && e.to_string().starts_with(&expected(&server)),
        "{e}"
    );
    assert_eq!(
        count(&server, "GET", KEY_PATH),
        1,
        "dead keys are not asked for again"
    );
}

#[tokio::test]
async fn renewals_wait_for_the_retry_interval() {
    let server = metadata_server(
        token("t"),
        vec![Reply::json(
            200,
            credential("AK-SHORT", time::Duration::minutes(5)),
        )],
    )
    .await;
    let r = resolve(ChainInputs {
        refresh: RefreshSettings {
            margin: Duration::from_secs(600),
            retry_interval: Duration::from_secs(3600),
        },
        ..inputs(&server.url())
    })
    .await
    .unwrap();
    for _ in 0..5 {
        assert_eq!(
            r.credentials.current().await.unwrap().access_key,
            "AK-SHORT"
        );
    }
    assert_eq!(
        count(&server, "GET", KEY_PATH),
        1,
        "keys still valid: no renewal storm"
    );
}

/// Agency keys assumed with ECS metadata keys (fresh for an hour): the first agency keys expire
/// within the renewal margin, the second do not. The servers stay up for the caller to inspect.
async fn agency_over_metadata() -> (ScriptedServer, ScriptedServer, Resolved) {
    let metadata = metadata_server(
        token("session-token-value"),
        vec![Reply::json(200, credential("AK-ECS", hour()))],
    )
    .await;
    let iam = iam_server(
        "secret-of-AK-ECS",
        vec![
            Reply::json(201, credential("AK-AGENCY-1", time::Duration::minutes(3))),
            Reply::json(201, credential("AK-AGENCY-2", hour())),
        ],
    )
    .await;
    let r = resolve(ChainInputs {
        agency: Some(agency(None)),
        iam_endpoint: Some(iam.url()),
        ..renewing(&metadata.url())
    })
    .await
    .unwrap();
    (metadata, iam, r)
}

#[tokio::test]
async fn agency_keys_are_renewed_with_the_base_keys_from_metadata() {
    let (metadata, iam, r) = agency_over_metadata().await;
    assert!(matches!(
        r.credentials.source(),
        Source::Agency { base, .. } if matches!(**base, Source::EcsMetadata { .. })
    ));
    assert_eq!(
        r.credentials.current().await.unwrap().access_key,
        "AK-AGENCY-2"
    );
    assert_eq!(iam.count(), 2);
    assert_eq!(
        count(&metadata, "GET", KEY_PATH),
        1,
        "the base keys were still fresh"
    );
    assert!(iam
        .requests()
        .iter()
        .all(|r| r.header("X-Security-Token") == Some("token-of-AK-ECS")));
}

/// Signs one request, given as JSON on stdin, with `huaweicloudsdkcore`'s own signer.
const SDK_SIGNER: &str = r#"
import json, sys
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
c = json.load(sys.stdin)
cred = BasicCredentials(c["ak"], c["sk"]).with_security_token(c["token"])
req = SdkRequest(method="POST", schema="http", host=c["host"], resource_path=c["path"],
                 query_params=[], header_params=dict(c["headers"]), body=c["body"])
print(cred.sign_request(req).header_params["Authorization"])
"#;

#[tokio::test]
async fn the_assume_role_signature_matches_the_official_sdk() {
    let iam = iam_server(
        BASE_SK,
        vec![Reply::json(201, credential("AK-AGENCY", hour()))],
    )
    .await;
    resolve(assuming(&iam, Some(900))).await.unwrap();
    let post = &iam.requests()[0];
    // What the SDK would send for this request, minus what it adds itself (the token) and
    // what it never signs (User-Agent, Content-Length, Accept...).
    let headers: Vec<(&str, &str)> = ["Host", "X-Sdk-Date", "Content-Type"]
        .iter()
        .map(|n| (*n, post.header(n).unwrap()))
        .collect();
    let input = json!({
        "ak": BASE_AK, "sk": BASE_SK, "token": BASE_TOKEN,
        "host": post.header("Host").unwrap(), "path": post.path,
        "headers": headers, "body": String::from_utf8(post.body.clone()).unwrap(),
    });
    let python = crate::common::sdk::python();
    let mut child = Command::new(&python)
        .args(["-c", SDK_SIGNER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("no Python at {} ({e}): run scripts/venv", python.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the SDK signer failed");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        post.header("Authorization").unwrap()
    );
}

/// Collects everything logged, at every level, into a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_the_trace_log() {
    let log = LogBuffer::default();
    let writer = log.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish(),
    );
    // A log line's callsite registers on first use; one first used by another test's thread
    // while this subscriber was being installed can stay judged disabled. Once a first run has
    // registered every line of the chain, judging them all again makes the second run's lines
    // reach this subscriber, whatever the other threads did.
    let _ = agency_over_metadata().await;
    tracing::callsite::rebuild_interest_cache();
    log.0.lock().unwrap().clear();
    let (_metadata, iam, r) = agency_over_metadata().await;
    assert_eq!(
        r.credentials.current().await.unwrap().access_key,
        "AK-AGENCY-2"
    );

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("using credentials from agency"), "{text}");
    assert!(text.contains("renewed temporary credentials"), "{text}");
    let signatures: Vec<String> = iam
        .requests()
        .iter()
        .map(|r| auth_field(r, "Signature").unwrap())
        .collect();
    for secret in [
        "secret-of-AK-ECS",
        "token-of-AK-ECS",
        "secret-of-AK-AGENCY",
        "token-of-AK-AGENCY",
        "session-token-value",
    ]
    .iter()
    .copied()
    .chain(signatures.iter().map(String::as_str))
    {
        assert!(!text.contains(secret), "{secret:?} logged in:\n{text}");
    }
}
