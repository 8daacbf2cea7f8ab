//! Which HTTPS servers the provider believes, through real Terraform: the machine's trust
//! store (here `SSL_CERT_FILE`) decides, it is read only when a server certificate needs
//! verifying, and a store with no authority in it says so and what to do.

use crate::common::scripted_server::{Reply, ScriptedServer};
use crate::common::terraform::{emulator_with, workdir, Workdir, AK, SK, TERRAFORM_BLOCK};
use csms_provider::emulator::Faults;
use serde_json::json;

/// The provider's debug line when it reads the trust store.
const LOADED: &str = "Loaded the platform's trust store";

/// A plan of one `csms_rotation_tasks` through `endpoint`, keys from the environment.
fn through(endpoint: &str) -> Workdir {
    let config = format!(
        "{TERRAFORM_BLOCK}provider \"csms\" {{\n  endpoint = \"{endpoint}\"\n  project_id = \"p\"\n}}\n\
         data \"csms_rotation_tasks\" \"all\" {{}}\n\
         output \"total\" {{\n  value = length(data.csms_rotation_tasks.all.tasks)\n}}\n"
    );
    Workdir::new(&[("main.tf", &config)])
        .env("HW_ACCESS_KEY", AK)
        .env("HW_SECRET_KEY", SK)
}

/// An HTTPS server with a certificate of its own, answering every listing with no task.
async fn https_server() -> ScriptedServer {
    ScriptedServer::start_tls(|_, _| Reply::json(200, json!({"total": 0, "tasks": []}))).await
}

#[tokio::test]
async fn a_plan_over_plain_http_never_reads_the_trust_store() {
    let emu = emulator_with(Vec::new(), Faults::default()).await;
    let dir = workdir(&emu, "data \"csms_rotation_tasks\" \"all\" {}\n");
    let run = dir.plan_with_debug_log().await;
    run.assert_ok();
    let lines = run.provider_log_lines();
    assert!(
        lines.iter().any(|l| l.contains("ConfigureProvider")),
        "no provider log to look in:\n{}",
        run.output()
    );
    assert!(
        !lines.iter().any(|l| l.contains(LOADED)),
        "read the trust store without a certificate to verify:\n{}",
        lines.join("\n")
    );
}

#[tokio::test]
async fn ssl_cert_file_decides_which_https_server_is_believed_and_is_read_once() {
    let server = https_server().await;
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), server.certificate_pem.as_deref().unwrap()).unwrap();
    let dir = through(&server.url()).env("SSL_CERT_FILE", ca.path().to_str().unwrap());
    let run = dir.plan_with_debug_log().await;
    run.assert_ok().assert_contains(&["total = 0"]);
    let loads = run
        .provider_log_lines()
        .into_iter()
        .filter(|l| l.contains(LOADED))
        .count();
    assert_eq!(loads, 1, "{}", run.output());

    // The same server against the machine's own store: not an authority it knows.
    let run = through(&server.url())
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&[
        "not issued by an authority this machine trusts",
        "SSL_CERT_FILE",
    ]);
}

#[tokio::test]
async fn an_empty_trust_store_is_reported_with_what_to_do() {
    let server = https_server().await;
    let empty = tempfile::NamedTempFile::new().unwrap();
    let run = through(&server.url())
        .env("SSL_CERT_FILE", empty.path().to_str().unwrap())
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    run.assert_error(&[
        "trust store gave no certificate authority",
        "not issued by an authority this machine trusts",
        "SSL_CERT_FILE",
    ]);
    assert_eq!(server.count(), 0, "a request went out unverified");
}
