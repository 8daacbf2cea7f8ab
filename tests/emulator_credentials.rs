//! The emulator's credential side over real HTTP on 127.0.0.1: accounts and regions (the
//! signing key decides the account), ECS metadata with and without session tokens, IAM's
//! assume-role exchange, and temporary keys that need their security token and expire.

use std::net::SocketAddr;
use std::time::Duration;

use common::emulator::{Reply, TEAM_B, TEAM_B_ID};
use csms_provider::csms::signer::{canonical_query, SignedRequest, Signer};
use csms_provider::csms::task::SecretTask;
use csms_provider::emulator::{
    generate, Config, Emulator, InstanceAgency, Metadata, MetadataTokens, Project,
    DEFAULT_DOMAIN_NAME,
};
use serde_json::Value;

use crate::common;

const AK_A: &str = "AKCENTRALACCOUNT0001";
const SK_A: &str = "SKcentralAccountSecretKey0123456789abcde";
const AK_B: &str = "AKTEAMBACCOUNT000001";
const SK_B: &str = "SKteamBAccountSecretKey0123456789abcdefg";
const PROJECT_A: &str = "aaaa0000aaaa0000aaaa0000aaaa0000";
const PROJECT_A_SOUTH: &str = "aaaa1111aaaa1111aaaa1111aaaa1111";
const PROJECT_B: &str = "bbbb0000bbbb0000bbbb0000bbbb0000";

/// A key to sign with: AK, SK and, for temporary keys, the security token.
#[derive(Clone)]
struct Key {
    ak: String,
    sk: String,
    token: Option<String>,
}

impl Key {
    fn permanent(ak: &str, sk: &str) -> Key {
        Key {
            ak: ak.into(),
            sk: sk.into(),
            token: None,
        }
    }

    /// From a `{"credential": {...}}` answer.
    fn temporary(answer: &Value) -> Key {
        let c = &answer["credential"];
        Key {
            ak: c["access"].as_str().unwrap().into(),
            sk: c["secret"].as_str().unwrap().into(),
            token: Some(c["securitytoken"].as_str().unwrap().into()),
        }
    }

    fn without_token(&self) -> Key {
        Key {
            token: None,
            ..self.clone()
        }
    }
}

/// The central account A (default account: cn-north-4 and cn-south-1), team B's account
/// (cn-north-4, no permanent keys of its own unless `b_keys`), and agency `audit` of B
/// trusting A.
fn two_accounts(b_keys: bool) -> (Config, Vec<SecretTask>, Vec<SecretTask>, Vec<SecretTask>) {
    let (a, a_south, b) = (generate(30, 1), generate(12, 2), generate(20, 3));
    let (team_b, audit) =
        common::emulator::team_b(b_keys.then_some((AK_B, SK_B)), PROJECT_B, b.clone());
    let config = Config {
        project_id: PROJECT_A.into(),
        credentials: Some((AK_A.into(), SK_A.into())),
        tasks: a.clone(),
        regions: vec![Project {
            region: "cn-south-1".into(),
            project_id: PROJECT_A_SOUTH.into(),
            tasks: a_south.clone(),
            secrets: Vec::new(),
        }],
        accounts: vec![team_b],
        agencies: vec![audit],
        ..Config::default()
    };
    (config, a, a_south, b)
}

/// Sends `method path?query` with `body`, signed with `key` as the SDK signs (every header,
/// `X-Security-Token` included), and `extra` headers unsigned.
async fn send(
    at: SocketAddr,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: &[u8],
    key: Option<&Key>,
    extra: &[(&str, &str)],
) -> Reply {
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let qs = canonical_query(&query);
    let url = format!(
        "http://{at}{path}{}{qs}",
        if qs.is_empty() { "" } else { "?" }
    );
    let mut headers = vec![("host".to_string(), at.to_string())];
    if let Some(key) = key {
        let date = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap();
        headers.push(("x-sdk-date".into(), date));
        if !body.is_empty() {
            headers.push((
                "content-type".into(),
                "application/json;charset=UTF-8".into(),
            ));
        }
        if let Some(token) = &key.token {
            headers.push(("x-security-token".into(), token.clone()));
        }
        let auth = Signer::new(&key.ak, &key.sk).authorization(&SignedRequest {
            method,
            path,
            query: &query,
            headers: &headers,
            body,
        });
        headers.push(("authorization".into(), auth));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut req = client.request(method.parse().unwrap(), url);
    for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
        req = req.header(k.as_str(), v.as_str());
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    Reply::read(req.body(body.to_vec()).send().await.unwrap()).await
}

async fn list(at: SocketAddr, project: &str, key: &Key) -> Reply {
    let path = format!("/v1/{project}/csms/tasks");
    send(at, "GET", &path, &[("limit", "1000")], b"", Some(key), &[]).await
}

async fn lookup(at: SocketAddr, region: &str, key: &Key) -> Reply {
    send(
        at,
        "GET",
        "/v3/projects",
        &[("name", region)],
        b"",
        Some(key),
        &[],
    )
    .await
}

async fn assume(at: SocketAddr, key: &Key, role: Value) -> Reply {
    let body = serde_json::json!({
        "auth": {"identity": {"methods": ["assume_role"], "assume_role": role}}
    });
    let body = body.to_string();
    let path = "/v3.0/OS-CREDENTIAL/securitytokens";
    send(at, "POST", path, &[], body.as_bytes(), Some(key), &[]).await
}

/// A session token living 6 hours, as the SDKs ask for.
async fn metadata_token(at: SocketAddr) -> Reply {
    metadata_token_for(at, "21600").await
}

async fn metadata_token_for(at: SocketAddr, ttl_seconds: &str) -> Reply {
    let path = "/meta-data/latest/api/token";
    let ttl = [("X-Metadata-Token-Ttl-Seconds", ttl_seconds)];
    send(at, "PUT", path, &[], b"", None, &ttl).await
}

async fn security_key(at: SocketAddr, token: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = token.map(|t| ("X-Metadata-Token", t)).into_iter().collect();
    let path = "/openstack/latest/securitykey";
    send(at, "GET", path, &[], b"", None, &headers).await
}

/// Seconds from now until a credential's `expires_at` (`2026-12-01T18:00:00.000000Z`).
fn seconds_left(answer: &Value) -> f64 {
    let text = answer["credential"]["expires_at"].as_str().unwrap();
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    let at = time::PrimitiveDateTime::parse(text, f)
        .unwrap()
        .assume_utc();
    (at - time::OffsetDateTime::now_utc()).as_seconds_f64()
}

/// Each account looks its own project up per region and lists only its own projects: the
/// signing key decides the account, another account's project is 403, an unknown one 404.
#[tokio::test]
async fn the_signing_key_decides_the_account_and_its_projects_per_region() {
    let (config, a, a_south, b) = two_accounts(true);
    let emu = Emulator::start(config).await.unwrap();
    let (ka, kb) = (Key::permanent(AK_A, SK_A), Key::permanent(AK_B, SK_B));

    assert_eq!(
        lookup(emu.addr(), "cn-north-4", &ka).await.project_ids(),
        [PROJECT_A]
    );
    assert_eq!(
        lookup(emu.addr(), "cn-south-1", &ka).await.project_ids(),
        [PROJECT_A_SOUTH]
    );
    assert_eq!(
        lookup(emu.addr(), "cn-north-4", &kb).await.project_ids(),
        [PROJECT_B]
    );
    assert!(lookup(emu.addr(), "cn-south-1", &kb)
        .await
        .project_ids()
        .is_empty());
    let all = send(emu.addr(), "GET", "/v3/projects", &[], b"", Some(&ka), &[]).await;
    assert_eq!(all.project_ids(), [PROJECT_A, PROJECT_A_SOUTH]);
    assert_eq!(
        lookup(emu.addr(), "cn-north-4", &kb).await.json()["projects"][0]["domain_id"],
        TEAM_B_ID
    );

    assert_eq!(list(emu.addr(), PROJECT_A, &ka).await.page().tasks, a);
    assert_eq!(
        list(emu.addr(), PROJECT_A_SOUTH, &ka).await.page().tasks,
        a_south
    );
    assert_eq!(list(emu.addr(), PROJECT_B, &kb).await.page().tasks, b);
    let foreign = list(emu.addr(), PROJECT_B, &ka)
        .await
        .assert_error(403, "APIGW.0302");
    assert!(foreign.contains("another account"), "{foreign}");
    list(emu.addr(), PROJECT_A, &kb)
        .await
        .assert_error(403, "APIGW.0302");
    list(emu.addr(), "cccc0000cccc0000cccc0000cccc0000", &kb)
        .await
        .assert_error(404, "CSMS.0005");
    // An unknown key and a wrong secret are the gateway's 401, whichever account is meant.
    let unknown = list(emu.addr(), PROJECT_B, &Key::permanent("AKNOBODY", SK_B)).await;
    assert!(unknown
        .assert_error(401, "APIGW.0301")
        .contains("ak not exist"));
    let wrong = list(emu.addr(), PROJECT_B, &Key::permanent(AK_B, SK_A)).await;
    assert!(wrong
        .assert_error(401, "APIGW.0301")
        .contains("signature fail"));

    let by_account = emu.stats().credentials.by_account;
    assert_eq!(by_account[DEFAULT_DOMAIN_NAME], 6, "{by_account:?}");
    assert_eq!(by_account[TEAM_B], 6, "{by_account:?}");
    emu.shutdown().await.unwrap();
}

/// With session tokens required: PUT gives a token (TTL 1..21600 seconds, and it ends then),
/// `securitykey` refuses to answer without it, and the keys it hands out list the agency's
/// account only together with their token.
#[tokio::test]
async fn metadata_keys_with_a_session_token_need_their_security_token() {
    let (config, a, _, _) = two_accounts(false);
    let emu = Emulator::start(config).await.unwrap();

    let no_ttl = send(
        emu.addr(),
        "PUT",
        "/meta-data/latest/api/token",
        &[],
        b"",
        None,
        &[],
    )
    .await;
    assert_eq!(no_ttl.status, 400, "{}", no_ttl.text());
    for bad in ["0", "21601", "x"] {
        assert_eq!(
            metadata_token_for(emu.addr(), bad).await.status,
            400,
            "{bad}"
        );
    }
    let token = metadata_token(emu.addr()).await;
    assert_eq!(token.status, 200, "{}", token.text());
    let token = token.text();
    assert!(token.len() >= 32);
    assert_eq!(security_key(emu.addr(), None).await.status, 401);
    assert_eq!(security_key(emu.addr(), Some("forged")).await.status, 401);
    let answer = security_key(emu.addr(), Some(&token)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = answer.json();
    let left = seconds_left(&answer);
    assert!(
        (3500.0..=3600.0).contains(&left),
        "metadata keys live an hour: {left}"
    );
    let key = Key::temporary(&answer);
    assert_eq!(key.ak.len(), 20);

    assert_eq!(list(emu.addr(), PROJECT_A, &key).await.page().tasks, a);
    assert_eq!(
        lookup(emu.addr(), "cn-north-4", &key).await.project_ids(),
        [PROJECT_A]
    );
    let missing = list(emu.addr(), PROJECT_A, &key.without_token()).await;
    assert!(missing
        .assert_error(401, "APIGW.0301")
        .contains("X-Security-Token"));
    let mut forged = key.clone();
    forged.token = Some("forged".into());
    let forged = list(emu.addr(), PROJECT_A, &forged).await;
    assert!(forged
        .assert_error(401, "APIGW.0301")
        .contains("decrypt token fail"));
    let mut wrong_secret = key.clone();
    wrong_secret.sk.push('x');
    let wrong = list(emu.addr(), PROJECT_A, &wrong_secret).await;
    assert!(wrong
        .assert_error(401, "APIGW.0301")
        .contains("signature fail"));

    let stats = emu.stats().credentials;
    assert_eq!((stats.metadata_tokens, stats.metadata_keys), (1, 1));
    assert_eq!(stats.temporary_key_requests, 2);
    assert_eq!(stats.temporary_key_rejections, 3);
    // A session token ends at its TTL (polled until refused, not slept for).
    let brief = metadata_token_for(emu.addr(), "1").await.text();
    let mut refused = false;
    for _ in 0..100 {
        if security_key(emu.addr(), Some(&brief)).await.status == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        refused,
        "a 1-second session token is refused within 10 seconds"
    );
    emu.shutdown().await.unwrap();
}

/// The other metadata shapes: no token support (PUT 404 or 405, `securitykey` without a
/// token), tokens optional, an instance whose agency is another account, an instance without
/// an agency, and no metadata service at all.
#[tokio::test]
async fn metadata_without_token_support_other_agencies_or_none_at_all() {
    for status in [404, 405] {
        let (mut config, _, _, b) = two_accounts(false);
        config.metadata = Metadata {
            tokens: MetadataTokens::Unsupported(status),
            agency: InstanceAgency::Domain(TEAM_B.into()),
            ..Metadata::default()
        };
        let emu = Emulator::start(config).await.unwrap();
        let put = metadata_token(emu.addr()).await;
        assert_eq!(put.status, status);
        if status == 405 {
            assert_eq!(put.headers["allow"], "GET");
        }
        let answer = security_key(emu.addr(), None).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let key = Key::temporary(&answer.json());
        assert_eq!(
            list(emu.addr(), PROJECT_B, &key).await.page().tasks,
            b,
            "the agency's account"
        );
        list(emu.addr(), PROJECT_A, &key)
            .await
            .assert_error(403, "APIGW.0302");
        assert_eq!(emu.stats().credentials.metadata_tokens, 0);
    }

    let (mut config, _, _, _) = two_accounts(false);
    config.metadata.tokens = MetadataTokens::Optional;
    let emu = Emulator::start(config).await.unwrap();
    assert_eq!(security_key(emu.addr(), None).await.status, 200);
    assert_eq!(security_key(emu.addr(), Some("forged")).await.status, 401);
    let token = metadata_token(emu.addr()).await.text();
    assert_eq!(security_key(emu.addr(), Some(&token)).await.status, 200);

    let (mut config, _, _, _) = two_accounts(false);
    config.metadata.agency = InstanceAgency::Missing;
    let emu = Emulator::start(config).await.unwrap();
    let token = metadata_token(emu.addr()).await.text();
    let none = security_key(emu.addr(), Some(&token)).await;
    assert_eq!(none.status, 401);
    assert!(none
        .text()
        .contains("Please configure Cloud Service Agency first"));

    let (mut config, _, _, _) = two_accounts(false);
    config.metadata.enabled = false;
    let emu = Emulator::start(config).await.unwrap();
    for reply in [
        metadata_token(emu.addr()).await,
        security_key(emu.addr(), None).await,
    ] {
        reply.assert_error(404, "APIGW.0101");
    }
    assert_eq!(emu.stats().credentials, Default::default());
}

/// Issued keys expire at their `expires_at`: with a 1-second lifetime (metadata and
/// assume-role alike) the key is refused as expired once that instant has passed (waited for
/// by polling, not by sleeping a guess).
#[tokio::test]
async fn temporary_keys_expire_at_their_expires_at() {
    let (mut config, _, _, _) = two_accounts(false);
    config.temporary_key_lifetime = Some(Duration::from_secs(1));
    config.metadata.tokens = MetadataTokens::Unsupported(404);
    let emu = Emulator::start(config).await.unwrap();
    let answer = security_key(emu.addr(), None).await.json();
    assert!(seconds_left(&answer) <= 1.0, "{answer}");
    let key = Key::temporary(&answer);
    let mut refusal = None;
    for _ in 0..100 {
        let r = list(emu.addr(), PROJECT_A, &key).await;
        if r.status != 200 {
            refusal = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refusal = refusal.expect("the key is refused within 10 seconds");
    assert!(seconds_left(&answer) < 0.0, "refused only after expires_at");
    let msg = refusal.assert_error(401, "APIGW.0301");
    assert!(msg.contains("expired"), "{msg}");

    // The lifetime applies to assumed keys too, whatever duration_seconds asks for.
    let role = serde_json::json!({"agency_name": "audit", "domain_name": TEAM_B, "duration_seconds": 3600});
    let assumed = assume(emu.addr(), &Key::permanent(AK_A, SK_A), role).await;
    assert_eq!(assumed.status, 201, "{}", assumed.head());
    assert!(seconds_left(&assumed.json()) <= 1.0);

    // A key issued directly (for clients given HW_SECURITY_TOKEN) behaves the same.
    let key = emu
        .issue_temporary_key(TEAM_B, Duration::from_secs(3600))
        .unwrap();
    let key = Key::temporary(&serde_json::json!({ "credential": key.credential_json() }));
    assert_eq!(list(emu.addr(), PROJECT_B, &key).await.status, 200);
    assert!(emu
        .issue_temporary_key("nobody", Duration::from_secs(1))
        .is_none());
}

/// Assume-role: A's keys (permanent, or temporary with their token) assume B's agency and get
/// B's keys, which look up and list B's project; IAM-shaped 400 for a bad duration and 403
/// for an agency that does not exist or does not trust the caller.
#[tokio::test]
async fn assume_role_gives_keys_of_the_trusting_account() {
    let (config, _, _, b) = two_accounts(true);
    let emu = Emulator::start(config).await.unwrap();
    let ka = Key::permanent(AK_A, SK_A);

    let role = serde_json::json!({"agency_name": "audit", "domain_name": TEAM_B, "duration_seconds": 3600});
    let answer = assume(emu.addr(), &ka, role).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let answer = answer.json();
    assert!((3500.0..=3600.0).contains(&seconds_left(&answer)));
    let kb = Key::temporary(&answer);
    assert_eq!(
        lookup(emu.addr(), "cn-north-4", &kb).await.project_ids(),
        [PROJECT_B]
    );
    assert_eq!(list(emu.addr(), PROJECT_B, &kb).await.page().tasks, b);
    list(emu.addr(), PROJECT_A, &kb)
        .await
        .assert_error(403, "APIGW.0302");
    list(emu.addr(), PROJECT_B, &kb.without_token())
        .await
        .assert_error(401, "APIGW.0301");

    // By domain id, and with the default duration (900 s).
    let by_id = assume(
        emu.addr(),
        &ka,
        serde_json::json!({"agency_name": "audit", "domain_id": TEAM_B_ID}),
    )
    .await;
    assert_eq!(by_id.status, 201, "{}", by_id.text());
    assert!((800.0..=900.0).contains(&seconds_left(&by_id.json())));

    // Temporary base keys need their token.
    let token = metadata_token(emu.addr()).await.text();
    let base = Key::temporary(&security_key(emu.addr(), Some(&token)).await.json());
    let role = serde_json::json!({"agency_name": "audit", "domain_name": TEAM_B});
    assert_eq!(assume(emu.addr(), &base, role.clone()).await.status, 201);
    assume(emu.addr(), &base.without_token(), role.clone())
        .await
        .assert_error(401, "APIGW.0301");

    for duration in [899, 86_401] {
        let role = serde_json::json!({"agency_name": "audit", "domain_name": TEAM_B, "duration_seconds": duration});
        let msg = assume(emu.addr(), &ka, role)
            .await
            .iam_error(400, "Bad Request");
        assert!(msg.contains("duration_seconds"), "{msg}");
    }
    let not_trusted = assume(emu.addr(), &Key::permanent(AK_B, SK_B), role).await;
    assert!(not_trusted
        .iam_error(403, "Forbidden")
        .contains("does not trust"));
    let unknown = serde_json::json!({"agency_name": "nope", "domain_name": TEAM_B});
    assert!(assume(emu.addr(), &ka, unknown)
        .await
        .iam_error(403, "Forbidden")
        .contains("no agency"));
    let unsigned = send(
        emu.addr(),
        "POST",
        "/v3.0/OS-CREDENTIAL/securitytokens",
        &[],
        b"{}",
        None,
        &[],
    )
    .await;
    unsigned.assert_error(401, "APIGW.0301");

    let stats = emu.stats().credentials;
    assert_eq!(stats.assumed_keys, 3);
    assert_eq!(stats.assume_role_refusals, 4);
    emu.shutdown().await.unwrap();
}

/// Inconsistent accounts are refused at start, not discovered on a request.
#[tokio::test]
async fn inconsistent_accounts_are_refused_at_start() {
    let (mut config, _, _, _) = two_accounts(true);
    config.accounts[0].credentials = Some((AK_A.into(), "other".into()));
    let e = Emulator::start(config).await.err().unwrap();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("access key"), "{e}");
    let (mut config, _, _, _) = two_accounts(true);
    config.metadata.agency = InstanceAgency::Domain("nobody".into());
    assert!(Emulator::start(config).await.is_err());
}

/// The `csms-emulator` binary takes accounts from `--accounts`, serves metadata without token
/// support to the agency named by `--instance-agency`, and never logs issued secrets.
#[cfg(unix)]
#[tokio::test]
async fn binary_serves_accounts_file_and_metadata() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let accounts = dir.path().join("accounts.json");
    let file = serde_json::json!({
        "accounts": [{"domain_name": TEAM_B, "domain_id": TEAM_B_ID,
                      "projects": [{"region": "cn-north-4", "project_id": PROJECT_B,
                                    "generate": 9, "seed": 4}]}],
        "agencies": [{"name": "audit", "domain_name": TEAM_B,
                      "trusted_domain_name": DEFAULT_DOMAIN_NAME}]
    });
    std::fs::write(&accounts, file.to_string()).unwrap();
    let mut args = vec!["--access-key", AK_A, "--secret-key", SK_A, "--accounts"];
    args.push(accounts.to_str().unwrap());
    args.extend(["--metadata", "no-token", "--instance-agency", TEAM_B]);
    let (mut child, at) = common::emulator::spawn_binary(args).await;

    assert_eq!(metadata_token(at).await.status, 404);
    let answer = security_key(at, None).await.json();
    let key = Key::temporary(&answer);
    assert_eq!(list(at, PROJECT_B, &key).await.page().tasks.len(), 9);
    let role = serde_json::json!({"agency_name": "audit", "domain_name": TEAM_B});
    let assumed = assume(at, &Key::permanent(AK_A, SK_A), role).await;
    assert_eq!(assumed.status, 201, "{}", assumed.head());
    let assumed = Key::temporary(&assumed.json());

    child.start_kill().unwrap();
    let mut err = String::new();
    let mut stderr = child.stderr.take().unwrap();
    tokio::time::timeout(Duration::from_secs(10), stderr.read_to_string(&mut err))
        .await
        .expect("stderr closes when the emulator stops")
        .unwrap();
    assert!(
        err.contains("GET /openstack/latest/securitykey 200"),
        "{err}"
    );
    for secret in [
        &key.sk,
        key.token.as_ref().unwrap(),
        &assumed.sk,
        assumed.token.as_ref().unwrap(),
    ] {
        assert!(
            !err.contains(secret.as_str()),
            "an issued secret is logged: {err}"
        );
    }
}
