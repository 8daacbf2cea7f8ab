//! Every credential source and the regions, end to end: the real Terraform CLI runs the provider
//! against the emulator (accounts, agencies, ECS metadata) on 127.0.0.1, with `TF_LOG=trace`.
//! Each Terraform run carries several provider configurations (aliases) and data sources, so
//! the file costs a few runs rather than one per case. Every run's trace log is searched for
//! secrets.

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::emulator::{team_b, TEAM_B};
use common::scripted_server::{Recorded, Reply, ScriptedServer};
use common::terraform::{Run, Workdir, AK, SK, TERRAFORM_BLOCK};
use csms_provider::csms::Signer;
use csms_provider::emulator::{
    Config, Emulator, Metadata, MetadataTokens, Project, SecretTask, TemporaryKey,
    DEFAULT_DOMAIN_NAME,
};
use serde_json::{json, Value as Json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TEAM_B_AK: &str = "TEAM_B_ACCESS_KEY";
const TEAM_B_SK: &str = "team-b-secret-key-must-never-appear-77aa";
const TEAM_B_PROJECT: &str = "bbbb0000bbbb0000bbbb0000bbbb0000";
const SOUTH_PROJECT: &str = "5050505050505050505050505050abcd";

fn task(id: &str) -> SecretTask {
    SecretTask {
        task_id: id.into(),
        secret_name: Some(format!("secret-{id}")),
        task_status: Some("SUCCESS".into()),
        task_time: Some(1_764_000_000_000),
        ..SecretTask::default()
    }
}

/// The default account (keys [`AK`]/[`SK`]) with task `north` in cn-north-4 and `south` in
/// cn-south-1, and account team-b (task `team-b`) whose agency `audit` trusts it.
async fn emulator(tokens: MetadataTokens) -> Emulator {
    let (account, agency) = team_b(
        Some((TEAM_B_AK, TEAM_B_SK)),
        TEAM_B_PROJECT,
        vec![task("team-b")],
    );
    Emulator::start(Config {
        credentials: Some((AK.into(), SK.into())),
        tasks: vec![task("north")],
        regions: vec![Project {
            region: "cn-south-1".into(),
            project_id: SOUTH_PROJECT.into(),
            tasks: vec![task("south")],
            secrets: Vec::new(),
        }],
        accounts: vec![account],
        agencies: vec![agency],
        metadata: Metadata {
            tokens,
            ..Metadata::default()
        },
        ..Config::default()
    })
    .await
    .expect("emulator starts")
}

/// A KooCLI file whose `current` is team-b's keys, with the default account's keys as
/// `default-keys`, an SSO profile holding `sso`'s temporary keys, an `ecsAgency` profile, and
/// `south` (the default account's keys with region cn-south-1).
fn koocli_file(sso: &TemporaryKey) -> String {
    let aksk = |name: &str, ak: &str, sk: &str, region: &str| {
        json!({"name": name, "mode": "AKSK", "accessKeyId": ak, "secretAccessKey": sk,
               "securityToken": "", "region": region, "projectId": "", "agencyName": "",
               "agencyDomainName": ""})
    };
    json!({"current": "team-b-keys", "profiles": [
        aksk("team-b-keys", TEAM_B_AK, TEAM_B_SK, ""),
        aksk("default-keys", AK, SK, ""),
        aksk("south", AK, SK, "cn-south-1"),
        {"name": "sso", "mode": "SSO", "accessKeyId": "", "secretAccessKey": "",
         "ssoAuth": {"stsToken": {"accessKeyId": sso.access, "secretAccessKey": sso.secret,
                                  "securityToken": sso.security_token}}},
        {"name": "ecs", "mode": "ecsAgency", "accessKeyId": "", "secretAccessKey": ""},
    ]})
    .to_string()
}

/// Writes `text` with mode 600, as KooCLI does (anything wider draws a warning).
fn write_private(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A provider block: `alias` (none for `""`) and its arguments as HCL lines.
fn provider(alias: &str, lines: &[&str]) -> String {
    let alias = if alias.is_empty() {
        String::new()
    } else {
        format!("  alias = \"{alias}\"\n")
    };
    let body: String = lines.iter().map(|l| format!("  {l}\n")).collect();
    format!("provider \"csms\" {{\n{alias}{body}}}\n")
}

/// A data source `name` read through provider `alias`, and an output of its task ids.
fn read_ids(name: &str, alias: &str) -> String {
    let provider = if alias.is_empty() {
        String::new()
    } else {
        format!("  provider = csms.{alias}\n")
    };
    format!(
        "data \"csms_rotation_tasks\" \"{name}\" {{\n{provider}}}\n\
         output \"{name}\" {{ value = [for t in data.csms_rotation_tasks.{name}.tasks : t.task_id] }}\n"
    )
}

/// `terraform apply` (which must succeed) and the outputs, each a list of task ids.
async fn apply(dir: &Workdir) -> (Run, BTreeMap<String, Json>) {
    let run = dir
        .run(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .await;
    run.assert_ok();
    let out = dir.run(&["output", "-json"]).await;
    out.assert_ok();
    let outputs: BTreeMap<String, Json> =
        serde_json::from_str::<BTreeMap<String, Json>>(&out.stdout)
            .expect("output -json is JSON")
            .into_iter()
            .map(|(k, v)| (k, v["value"].clone()))
            .collect();
    (run, outputs)
}

/// No secret key, security token or signature in a run's output, `TF_LOG=trace` included.
/// `known` are the secrets the test knows; the emulator's own temporary keys are unknown to
/// it, but their 256-character tokens have a shape no log line has.
#[track_caller]
fn assert_no_secret(run: &Run, known: &[&str]) {
    let log = run.output();
    assert!(
        log.contains("[TRACE]"),
        "not a trace log: {}",
        &log[..log.len().min(500)]
    );
    for secret in known.iter().chain(&[SK, TEAM_B_SK]) {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    for marker in ["Signature=", "\"securitytoken\"", "X-Security-Token:"] {
        assert!(!log.contains(marker), "{marker:?} reached the log");
    }
    let longest_run = log
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest_run < 200,
        "a token-like run of {longest_run} characters reached the log"
    );
}

fn ids(outputs: &BTreeMap<String, Json>, name: &str) -> Vec<String> {
    serde_json::from_value(outputs[name].clone()).unwrap_or_else(|_| panic!("{name}: {outputs:?}"))
}

/// One run, nine providers: metadata with a session token (and a data source `for_each` over two
/// regions on it), the file's `current` profile, a profile named by argument, one whose region
/// fills the provider's gap, an SSO profile, an `ecsAgency` profile, a file others may read
/// (a warning), and an agency assumed by block, reading the other account's tasks; plus
/// `HmacSM3` against a server that verifies the signature with the emulator's verifier and
/// accepts nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_by_argument_and_metadata_with_a_token() {
    let emu = emulator(MetadataTokens::Required).await;
    let sso = emu
        .issue_temporary_key(DEFAULT_DOMAIN_NAME, Duration::from_secs(3600))
        .unwrap();
    let sm3 = sm3_server().await;
    let region = r#"region = "cn-north-4""#;
    let file = "shared_config_file = \"${path.root}/koocli.json\"";
    let keys = [
        format!("access_key = \"{AK}\""),
        format!("secret_key = \"{SK}\""),
    ];
    let mut config = String::from(TERRAFORM_BLOCK);
    config += &provider("", &[region]);
    config += &provider("current", &[region, file]);
    config += &provider("named", &[region, file, r#"profile = "default-keys""#]);
    config += &provider("profile_region", &[file, r#"profile = "south""#]);
    config += &provider("sso", &[region, file, r#"profile = "sso""#]);
    config += &provider("ecs", &[region, file, r#"profile = "ecs""#]);
    config += &provider(
        "readable",
        &[
            region,
            "shared_config_file = \"${path.root}/readable.json\"",
            r#"profile = "default-keys""#,
        ],
    );
    config += &provider(
        "agency",
        &[
            region,
            &keys[0],
            &keys[1],
            "assume_role {\n    agency_name = \"audit\"\n    domain_name = \"team-b\"\n  }",
        ],
    );
    config += &provider(
        "sm3",
        &[
            region,
            &keys[0],
            &keys[1],
            r#"signing_algorithm = "HmacSM3""#,
            &format!("endpoint = \"{}\"", sm3.url()),
            r#"project_id = "sm3-project""#,
        ],
    );
    config += r#"
data "csms_rotation_tasks" "by_region" {
  for_each = toset(["cn-north-4", "cn-south-1"])
  region   = each.key
}
output "by_region" {
  value = { for r, d in data.csms_rotation_tasks.by_region : r => [for t in d.tasks : t.task_id] }
}
"#;
    for (name, alias) in [
        ("metadata", ""),
        ("current", "current"),
        ("named", "named"),
        ("profile_region", "profile_region"),
        ("sso", "sso"),
        ("ecs", "ecs"),
        ("readable", "readable"),
        ("agency", "agency"),
        ("sm3", "sm3"),
    ] {
        config += &read_ids(name, alias);
    }
    let dir = Workdir::new(&[("main.tf", &config)])
        .env("HW_CSMS_ENDPOINT", emu.base_url())
        .env("HW_IAM_ENDPOINT", emu.base_url())
        .env("HW_METADATA_ENDPOINT", emu.base_url())
        .env("TF_LOG", "trace");
    write_private(&dir.path().join("koocli.json"), &koocli_file(&sso));
    let readable = dir.path().join("readable.json");
    std::fs::write(&readable, koocli_file(&sso)).unwrap();
    std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (run, outputs) = apply(&dir).await;

    for (name, expected) in [
        ("metadata", "north"),
        ("current", "team-b"),
        ("named", "north"),
        ("profile_region", "south"),
        ("sso", "north"),
        ("ecs", "north"),
        ("readable", "north"),
        ("agency", "team-b"),
        ("sm3", "sm3-task"),
    ] {
        assert_eq!(ids(&outputs, name), [expected], "{name}");
    }
    assert_eq!(
        outputs["by_region"],
        json!({"cn-north-4": ["north"], "cn-south-1": ["south"]})
    );
    let stats = emu.stats().credentials;
    assert!(
        stats.metadata_tokens >= 2 && stats.metadata_keys >= 2,
        "the default provider and the ecsAgency profile each took metadata keys with a token: {stats:?}"
    );
    // Terraform configures each provider for the plan and again for the apply.
    assert_eq!(stats.assumed_keys, 2, "{stats:?}");
    assert!(
        stats.by_account.get(TEAM_B).copied().unwrap_or(0) >= 3,
        "{stats:?}"
    );
    let sm3_requests = sm3.requests();
    assert!(!sm3_requests.is_empty());
    assert!(sm3_requests.iter().all(|r| r
        .header("authorization")
        .unwrap()
        .starts_with("SDK-HMAC-SM3 ")));
    run.assert_contains(&[
        "Warning: Shared configuration file readable by others",
        "(mode 644); restrict it with `chmod 600",
        "using credentials from the ECS metadata service at",
        "using credentials from profile \"team-b-keys\" of the shared configuration file",
        "(profile \"ecs\" is in ecsAgency mode)",
        "using credentials from agency \"audit\" of domain \"team-b\", assumed with the keys from the provider block",
    ]);
    assert_no_secret(&run, &[&sso.secret, &sso.security_token]);
}

/// A ListSecretTask stand-in for project `sm3-project` that answers only requests signed with
/// `SDK-HMAC-SM3` by [`AK`]/[`SK`], as the emulator's verifier checks them.
async fn sm3_server() -> ScriptedServer {
    ScriptedServer::start(|r: &Recorded, _| {
        let sm3 = r
            .header("authorization")
            .is_some_and(|a| a.starts_with("SDK-HMAC-SM3 "));
        match r.verify(&Signer::new(AK, SK)) {
            Ok(()) if sm3 => Reply::json(
                200,
                json!({"tasks": [{"task_id": "sm3-task", "secret_name": "s", "task_status": "SUCCESS"}],
                       "total": 1}),
            ),
            Ok(()) => Reply::json(401, json!({"error_code": "APIGW.0301", "error_msg": "not SM3"})),
            Err(e) => Reply::json(401, json!({"error_code": "APIGW.0301", "error_msg": e})),
        }
    })
    .await
}

/// The environment alone: `HW_PROFILE` picks a profile of `~/.hcloud/config.json` and
/// `HW_ASSUME_ROLE_*` an agency, without any block; an `ecsAgency` profile reads a metadata
/// service that has no session tokens (404), and the agency goes on top of those keys too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_and_agency_from_the_environment_and_metadata_without_tokens() {
    let emu = emulator(MetadataTokens::Unsupported(404)).await;
    let sso = emu
        .issue_temporary_key(DEFAULT_DOMAIN_NAME, Duration::from_secs(3600))
        .unwrap();
    let mut config = String::from(TERRAFORM_BLOCK);
    config += &provider("", &[]);
    config += &provider("ecs", &[r#"profile = "ecs""#]);
    config += &read_ids("env_profile", "");
    config += &read_ids("ecs_no_token", "ecs");
    let dir = Workdir::new(&[("main.tf", &config)])
        .env("HW_REGION_NAME", "cn-north-4")
        .env("HW_PROFILE", "default-keys")
        .env("HW_ASSUME_ROLE_AGENCY_NAME", "audit")
        .env("HW_ASSUME_ROLE_DOMAIN_NAME", TEAM_B)
        .env("HW_ASSUME_ROLE_DURATION", "900")
        .env("HW_CSMS_ENDPOINT", emu.base_url())
        .env("HW_IAM_ENDPOINT", emu.base_url())
        .env("HW_METADATA_ENDPOINT", emu.base_url())
        .env("TF_LOG", "trace");
    // Terraform runs with HOME set to the working directory.
    write_private(&dir.path().join(".hcloud/config.json"), &koocli_file(&sso));
    let (run, outputs) = apply(&dir).await;

    assert_eq!(ids(&outputs, "env_profile"), ["team-b"]);
    assert_eq!(ids(&outputs, "ecs_no_token"), ["team-b"]);
    let stats = emu.stats().credentials;
    assert_eq!(stats.metadata_tokens, 0, "{stats:?}");
    assert!(stats.metadata_keys >= 1, "{stats:?}");
    assert_eq!(
        stats.assumed_keys, 4,
        "two providers, each for plan and apply: {stats:?}"
    );
    run.assert_contains(&[
        "using credentials from agency \"audit\" of domain \"team-b\", assumed with the keys from profile \"default-keys\"",
        "assumed with the keys from the ECS metadata service at",
    ]);
    assert_no_secret(&run, &[&sso.secret, &sso.security_token]);
}

/// A tiny HTTPS proxy on 127.0.0.1 that records each `CONNECT` line and answers 502, so
/// nothing leaves the machine. It stops when dropped.
struct ConnectRecorder {
    addr: std::net::SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for ConnectRecorder {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl ConnectRecorder {
    async fn start() -> ConnectRecorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let recorded = lines.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    let read_head = async {
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
                            match socket.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(5), read_head).await;
                    let text = String::from_utf8_lossy(&head);
                    if let Some(line) = text.lines().next() {
                        recorded.lock().unwrap().push(line.to_string());
                    }
                    let _ = socket
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        ConnectRecorder {
            addr,
            lines,
            accept,
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

/// Failures, in one plan: no credentials anywhere (the metadata URL a closed port) fails within
/// seconds naming every source; IAM refusing an agency lands on `assume_role` with IAM's
/// message; and through `HTTPS_PROXY`, `eu-west-101` goes to the `.eu` hosts of CSMS and IAM and
/// `cn-north-4` to the `.com` ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_a_refused_agency_and_the_hosts_each_region_reaches() {
    let emu = emulator(MetadataTokens::Required).await;
    let proxy = ConnectRecorder::start().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let keys = [
        format!("access_key = \"{AK}\""),
        format!("secret_key = \"{SK}\""),
    ];
    let mut config = String::from(TERRAFORM_BLOCK);
    config += &provider("", &[r#"region = "cn-north-4""#]);
    config += &read_ids("nothing", "");
    config += &provider(
        "refused",
        &[
            r#"region = "cn-north-4""#,
            &keys[0],
            &keys[1],
            &format!("endpoint = \"{}\"", emu.base_url()),
            &format!("iam_endpoint = \"{}\"", emu.base_url()),
            "assume_role {\n    agency_name = \"no-such-agency\"\n    domain_name = \"team-b\"\n  }",
        ],
    );
    config += &read_ids("refused", "refused");
    for (alias, region, project) in [
        ("eu_kms", "eu-west-101", true),
        ("eu_iam", "eu-west-101", false),
        ("cn_kms", "cn-north-4", true),
        ("cn_iam", "cn-north-4", false),
    ] {
        let region = format!("region = \"{region}\"");
        let project = if project { r#"project_id = "p""# } else { "" };
        config += &provider(
            alias,
            &[&region, project, &keys[0], &keys[1], "max_retries = 0"],
        );
        config += &read_ids(alias, alias);
    }
    let dir = Workdir::new(&[("main.tf", &config)])
        .env("HW_METADATA_ENDPOINT", &closed)
        .env("HTTPS_PROXY", format!("http://{}", proxy.addr))
        .env("TF_LOG", "trace");
    let started = Instant::now();
    let run = dir.run(&["plan", "-input=false", "-no-color"]).await;
    let elapsed = started.elapsed();

    run.assert_error(&[
        "No credentials found",
        "1. the provider block: access_key and secret_key are not set",
        "2. the environment: HW_ACCESS_KEY and HW_SECRET_KEY are not set",
        ".hcloud/config.json): not read",
        &format!("4. the ECS metadata service at {closed} was not reachable"),
        "Cannot assume the agency",
        "You are not authorized to assume agency no-such-agency: account team-b has no agency named no-such-agency",
        "agency_name = \"no-such-agency\"",
    ]);
    assert!(
        elapsed < Duration::from_secs(10),
        "the failing plan took {elapsed:?}"
    );
    assert_eq!(emu.stats().credentials.assume_role_refusals, 1);
    let mut lines = proxy.lines();
    lines.sort();
    lines.dedup();
    assert_eq!(
        lines,
        [
            "CONNECT iam.cn-north-4.myhuaweicloud.com:443 HTTP/1.1",
            "CONNECT iam.eu-west-101.myhuaweicloud.eu:443 HTTP/1.1",
            "CONNECT kms.cn-north-4.myhuaweicloud.com:443 HTTP/1.1",
            "CONNECT kms.eu-west-101.myhuaweicloud.eu:443 HTTP/1.1",
        ]
    );
    assert_no_secret(&run, &[]);
}

/// A metadata service that hands out keys already expired (issue 21, item 2): refused at
/// configure time, naming the service and the keys' `expires_at`, instead of being "renewed"
/// into the same dead keys and failing every request with the gateway's 401.
#[tokio::test]
async fn expired_metadata_keys_are_refused_naming_the_source_and_expiry() {
    let emu = Emulator::start(Config {
        credentials: Some((AK.into(), SK.into())),
        tasks: vec![task("north")],
        metadata: Metadata {
            expired_keys: true,
            ..Metadata::default()
        },
        ..Config::default()
    })
    .await
    .expect("emulator starts");
    let main = format!(
        "{TERRAFORM_BLOCK}{}{}",
        provider("", &[r#"region = "cn-north-4""#]),
        read_ids("north", "")
    );
    let run = Workdir::new(&[("main.tf", &main)])
        .env("HW_CSMS_ENDPOINT", emu.base_url())
        .env("HW_PROJECT_ID", emu.project_id())
        .env("HW_METADATA_ENDPOINT", emu.base_url())
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&[
        "Temporary credentials expired",
        &format!(
            "The ECS metadata service at {} handed out temporary keys that expired at 20",
            emu.base_url().trim_end_matches('/')
        ),
        "check the clock of this machine and that the source renews its keys",
    ]);
    assert_eq!(
        emu.stats()
            .by_path
            .get(&format!("/v1/{}/csms/tasks", emu.project_id())),
        None,
        "no request was signed with the dead keys"
    );
}
