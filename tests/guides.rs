//! The guides' prose that names behaviour, held to the behaviour. Every message the
//! troubleshooting guide quotes is produced here by real Terraform, on the attribute or provider
//! block the case sets up (a table of message and case: a quote without a case, or a case whose
//! quote left the guide, fails); and the comparison guide's feature table is checked against the
//! data source's schema.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::scripted_server::{Reply, ScriptedServer};
use common::terraform::{emulator_with, Run, Workdir, AK, SK, TERRAFORM_BLOCK};
use csms_provider::emulator::{Config, Emulator, Faults, SecretTask};
use csms_provider::plugin::{Attribute, Provider};
use csms_provider::provider::CsmsProvider;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const TROUBLESHOOTING: &str = "docs/guides/troubleshooting.md";
const COMPARISON: &str = "docs/guides/compared-with-huaweicloud-csms-tasks.md";

/// The rows of the Markdown table that follows `heading` in `page`, as cells (header and
/// separator left out).
fn table_after(page: &str, heading: &str) -> Vec<Vec<String>> {
    let start = page
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"));
    page[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The `code spans` of a table cell.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// The messages the troubleshooting guide quotes: the code spans that open with a capital
/// letter in the first column of its error table (the others are code, like
/// `self.latest["..."]`), with whether the row names a warning.
fn quoted_messages() -> Vec<(String, bool)> {
    let page = read(TROUBLESHOOTING);
    let mut out = Vec::new();
    for row in table_after(&page, "## Errors and what to do") {
        let warning = row[0].starts_with("Warning");
        for span in code_spans(&row[0]) {
            if span.starts_with(|c: char| c.is_ascii_uppercase()) {
                out.push((span.to_string(), warning));
            }
        }
    }
    let prose = page
        .split("## Errors and what to do")
        .nth(1)
        .expect("the errors section");
    assert!(
        prose.contains("the warning `No rotation task matched`"),
        "the empty-result paragraph"
    );
    out.push(("No rotation task matched".to_string(), true));
    out
}

/// Where a quoted message must appear: in which run, on which data source or provider block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum On {
    /// `terraform validate`: errors Terraform reports before any request.
    Validate(&'static str),
    /// `terraform plan` against the servers below.
    Plan(&'static str),
}

/// Each quoted message and the case that produces it: a data source `data.csms_rotation_tasks.X`
/// or a provider block `provider[...].X` of [`VALIDATE`] or [`plan_config`].
const MESSAGES: &[(&str, On)] = &[
    ("No credentials found", On::Plan("provider.no_keys")),
    ("Missing secret_key", On::Plan("provider.half_key_pair")),
    ("Missing region", On::Plan("provider.no_region")),
    ("Missing project_id", On::Plan("provider.endpoint_only")),
    ("Invalid status", On::Validate("data.bad_status")),
    ("Invalid page_size", On::Validate("data.bad_page_size")),
    ("Invalid secret_name", On::Validate("data.bad_secret_name")),
    ("Conflicting arguments", On::Validate("data.conflicting")),
    (
        "CSMS API error (HTTP 401)",
        On::Plan("data.wrong_secret_key"),
    ),
    ("CSMS API error (HTTP 403)", On::Plan("data.forbidden")),
    (
        "CSMS API error (HTTP 404)",
        On::Plan("data.unknown_project"),
    ),
    ("Project lookup failed", On::Plan("data.iam_fails")),
    (
        "Cannot determine the project ID",
        On::Plan("data.no_project"),
    ),
    ("Unexpected answer from IAM", On::Plan("data.iam_html")),
    (
        "Invalid project_id",
        On::Validate("provider.dot_dot_project"),
    ),
    ("Unknown region", On::Validate("provider.typo_region")),
    ("Unknown host", On::Plan("data.no_such_host")),
    ("Cannot reach the CSMS API", On::Plan("data.refused")),
    (
        "CSMS API answered with a redirect",
        On::Plan("data.redirect"),
    ),
    (
        "Unreadable answer from the CSMS API",
        On::Plan("data.huge_headers"),
    ),
    (
        "TLS connection to the CSMS API refused",
        On::Plan("data.self_signed"),
    ),
    (
        "Unexpected response from the CSMS API",
        On::Plan("data.html"),
    ),
    (
        "Inconsistent pages from the CSMS API",
        On::Plan("data.looping_marker"),
    ),
    ("Reading rotation tasks timed out", On::Plan("data.slow")),
    ("Page size reduced", On::Plan("data.small_pages")),
    (
        "Task count differs from the reported total",
        On::Plan("data.total_off"),
    ),
    (
        "Unprintable characters replaced in task data",
        On::Plan("data.escapes"),
    ),
    ("Task time out of range", On::Plan("data.far_future")),
    (
        "Plain HTTP to a remote host",
        On::Plan("provider.remote_http"),
    ),
    ("Invalid index", On::Plan("data.missing_entry")),
    (
        "Invalid template interpolation value: The expression result is null",
        On::Plan("data.null_in_message"),
    ),
    ("No rotation task matched", On::Plan("data.typo")),
];

/// Validation errors, all reported by one `terraform validate` before any request.
const VALIDATE: &str = r#"
provider "csms" {
  region = "cn-north-4"
}

provider "csms" {
  alias      = "dot_dot_project"
  region     = "cn-north-4"
  project_id = ".."
}

data "csms_rotation_tasks" "bad_status" {
  status = "failed"
}

data "csms_rotation_tasks" "bad_page_size" {
  page_size = 5000
}

data "csms_rotation_tasks" "bad_secret_name" {
  secret_name = "no spaces allowed"
}

data "csms_rotation_tasks" "conflicting" {
  task_id     = "t-1"
  secret_name = "prod-db-password"
}

data "csms_rotation_tasks" "on_dot_dot_project" {
  provider = csms.dot_dot_project
}

provider "csms" {
  alias  = "typo_region"
  region = "cn-nrth-4"
}

data "csms_rotation_tasks" "on_typo_region" {
  provider = csms.typo_region
}
"#;

/// A task of the healthy data set.
fn task(id: &str, secret: &str, status: &str, time_ms: i64) -> SecretTask {
    SecretTask {
        task_id: id.into(),
        secret_name: Some(secret.into()),
        task_status: Some(status.into()),
        task_time: Some(time_ms),
        ..SecretTask::default()
    }
}

/// Every server the plan's cases need, kept alive for the run.
struct Servers {
    healthy: Emulator,
    forbidden: Emulator,
    looping: Emulator,
    slow: Emulator,
    small_pages: Emulator,
    total_off: Emulator,
    odd_data: Emulator,
    scripted: Vec<(&'static str, ScriptedServer)>,
}

impl Servers {
    async fn start() -> Servers {
        let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        let healthy = vec![
            task("t-1", "prod-db-password", "SUCCESS", now - 86_400_000),
            task("t-2", "prod-db-password", "SUCCESS", now - 2 * 86_400_000),
            task("t-3", "legacy-api-key", "SUCCESS", now - 3 * 86_400_000),
        ];
        let with = |faults: Faults| emulator_with(healthy.clone(), faults);
        let odd = vec![
            SecretTask {
                task_error_msg: Some("red \u{1b}[31malert\u{1b}[0m".into()),
                ..task("t-esc", "prod-db-password", "FAILED", now)
            },
            task("t-far", "legacy-api-key", "SUCCESS", 400_000_000_000_000),
        ];
        let scripted = vec![
            (
                "iam_fails",
                ScriptedServer::start(|_, _| {
                    Reply::json(
                        500,
                        serde_json::json!({"error_msg": "internal", "error_code": "IAM.0001"}),
                    )
                })
                .await,
            ),
            (
                "iam_html",
                ScriptedServer::start(|_, _| Reply::raw(200, "text/html", b"<html>login</html>"))
                    .await,
            ),
            (
                "redirect",
                ScriptedServer::start(|_, _| {
                    Reply::raw(302, "text/plain", b"")
                        .with_header("Location", "http://127.0.0.1:9/elsewhere")
                })
                .await,
            ),
            (
                "huge_headers",
                ScriptedServer::start(|_, _| {
                    Reply::json(200, serde_json::json!({}))
                        .with_header("X-Padding", &"a".repeat(512 * 1024))
                })
                .await,
            ),
            (
                "self_signed",
                ScriptedServer::start_tls(|_, _| Reply::json(200, serde_json::json!({}))).await,
            ),
            (
                "html",
                ScriptedServer::start(|_, _| Reply::raw(200, "text/html", b"<html>gateway</html>"))
                    .await,
            ),
        ];
        Servers {
            forbidden: with(Faults {
                fail_every: Some((1, 403)),
                ..Faults::default()
            })
            .await,
            looping: with(Faults {
                looping_marker: true,
                ..Faults::default()
            })
            .await,
            slow: with(Faults {
                latency: std::time::Duration::from_secs(3),
                ..Faults::default()
            })
            .await,
            small_pages: Emulator::start(Config {
                credentials: Some((AK.into(), SK.into())),
                tasks: healthy.clone(),
                max_limit: 50,
                ..Config::default()
            })
            .await
            .expect("emulator starts"),
            total_off: with(Faults {
                total_delta: 3,
                ..Faults::default()
            })
            .await,
            odd_data: emulator_with(odd, Faults::default()).await,
            healthy: with(Faults::default()).await,
            scripted,
        }
    }

    fn url(&self, name: &str) -> String {
        let (_, server) = self
            .scripted
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no server {name}"));
        let scheme = if server.certificate_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", server.addr)
    }
}

/// The plan's configuration: a provider block per case, each read by a data source of the
/// same name, so that each diagnostic names its case.
fn plan_config(s: &Servers) -> String {
    let project = s.healthy.project_id();
    let emulator = |emu: &Emulator, extra: &str| {
        format!(
            "endpoint = \"{}\"\n  project_id = \"{project}\"\n  max_retries = 0\n  {extra}",
            emu.base_url()
        )
    };
    let mut providers: Vec<(&str, String)> = vec![
        ("no_keys", "region = \"cn-north-4\"".into()),
        ("half_key_pair", format!("region = \"cn-north-4\"\n  access_key = \"{AK}\"")),
        ("no_region", String::new()),
        ("endpoint_only", format!("endpoint = \"{}\"", s.healthy.base_url())),
        ("wrong_secret_key", emulator(&s.healthy, "")),
        ("forbidden", emulator(&s.forbidden, "")),
        (
            "unknown_project",
            format!("endpoint = \"{}\"\n  project_id = \"0000000000000000000000000000beef\"", s.healthy.base_url()),
        ),
        (
            "iam_fails",
            format!("region = \"cn-north-4\"\n  iam_endpoint = \"{}\"\n  max_retries = 0", s.url("iam_fails")),
        ),
        (
            "no_project",
            format!("region = \"xx-nowhere-9\"\n  endpoint = \"{0}\"\n  iam_endpoint = \"{0}\"", s.healthy.base_url()),
        ),
        (
            "iam_html",
            format!("region = \"cn-north-4\"\n  iam_endpoint = \"{}\"", s.url("iam_html")),
        ),
        // A label over 63 letters: a name that cannot exist, refused before any DNS query.
        ("no_such_host", format!("region = \"xx-{}\"", "a".repeat(61))),
        ("refused", format!("endpoint = \"http://127.0.0.1:1\"\n  project_id = \"{project}\"\n  max_retries = 0")),
        ("redirect", format!("endpoint = \"{}\"\n  project_id = \"{project}\"", s.url("redirect"))),
        ("huge_headers", format!("endpoint = \"{}\"\n  project_id = \"{project}\"", s.url("huge_headers"))),
        (
            "self_signed",
            format!("endpoint = \"{}\"\n  project_id = \"{project}\"\n  max_retries = 0", s.url("self_signed")),
        ),
        ("html", format!("endpoint = \"{}\"\n  project_id = \"{project}\"", s.url("html"))),
        ("looping_marker", emulator(&s.looping, "")),
        ("slow", emulator(&s.slow, "")),
        ("small_pages", emulator(&s.small_pages, "")),
        ("total_off", emulator(&s.total_off, "")),
        ("escapes", emulator(&s.odd_data, "")),
        ("far_future", emulator(&s.odd_data, "")),
        (
            "remote_http",
            format!("endpoint = \"http://csms.invalid\"\n  project_id = \"{project}\"\n  max_retries = 0"),
        ),
        ("missing_entry", emulator(&s.healthy, "")),
        ("null_in_message", emulator(&s.healthy, "")),
        ("typo", emulator(&s.healthy, "")),
    ];
    let data = |name: &str| -> &'static str {
        match name {
            "looping_marker" => "page_size = 1",
            "slow" => "timeouts {\n    read = \"1s\"\n  }",
            "escapes" => "secret_name = \"prod-db-password\"",
            "far_future" => "secret_name = \"legacy-api-key\"",
            "typo" => "secret_name = \"prod-db-pasword\"",
            "missing_entry" => {
                "lifecycle {\n    postcondition {\n      condition     = self.latest[\"no-such-secret\"].task_status == \"SUCCESS\"\n      error_message = \"unreachable\"\n    }\n  }"
            }
            "null_in_message" => {
                "lifecycle {\n    postcondition {\n      condition     = self.total >= 0\n      error_message = \"Failed: ${self.latest[\"prod-db-password\"].task_error_msg}\"\n    }\n  }"
            }
            _ => "",
        }
    };
    let mut config = TERRAFORM_BLOCK.to_string();
    for (name, settings) in providers.drain(..) {
        // The keys go in each block (the environment has none), so that the cases without them
        // stand alone.
        let keys = match name {
            "no_keys" | "half_key_pair" => String::new(),
            "wrong_secret_key" => {
                format!("access_key = \"{AK}\"\n  secret_key = \"not-the-key\"\n  ")
            }
            _ => format!("access_key = \"{AK}\"\n  secret_key = \"{SK}\"\n  "),
        };
        config += &format!(
            "\nprovider \"csms\" {{\n  alias = \"{name}\"\n  {keys}{settings}\n}}\n\n\
             data \"csms_rotation_tasks\" \"{name}\" {{\n  provider = csms.{name}\n  {}\n}}\n",
            data(name)
        );
    }
    config
}

/// The diagnostics of a run, as `(severity and summary line, whole block)`, Terraform's frame
/// and wrapping folded away.
fn diagnostics(run: &Run) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    for line in run.output().lines() {
        let bare = line.trim_start_matches(['│', '╷', '╵', ' ']);
        if bare.starts_with("Error: ") || bare.starts_with("Warning: ") {
            blocks.push(String::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push_str(bare);
            block.push('\n');
        }
    }
    blocks.iter().map(|b| common::terraform::fold(b)).collect()
}

/// Panics unless a diagnostic of `run` has `message` as its summary and names `case`; a quote
/// of Terraform's own `Summary: detail` matches the summary and the start of the detail.
fn assert_reported(run: &Run, message: &str, warning: bool, case: &str) {
    let (kind, name) = case.split_once('.').expect("kind.name");
    // The provider's diagnostics name their block; Terraform's own name the line's block.
    let with = match kind {
        "data" => [
            format!("with data.csms_rotation_tasks.{name},"),
            format!("in data \"csms_rotation_tasks\" \"{name}\":"),
        ],
        _ => {
            let provider = format!("with provider[\"registry.terraform.io/example/csms\"].{name},");
            [provider.clone(), provider]
        }
    };
    let severity = if warning { "Warning: " } else { "Error: " };
    let (summary, detail) = message.split_once(": ").unwrap_or((message, ""));
    let summary = common::terraform::fold(&format!("{severity}{summary}"));
    let detail = common::terraform::fold(detail);
    let found = diagnostics(run).into_iter().any(|d| {
        d.starts_with(&summary) && d.contains(&detail) && with.iter().any(|w| d.contains(w))
    });
    assert!(
        found,
        "the guide quotes {severity}{message:?} for {case}, but no such diagnostic names it:\n{}",
        run.output()
    );
}

/// Proves every message the troubleshooting guide quotes is what Terraform shows, on the case
/// the guide describes: the validation errors from one `terraform validate`, the others from one
/// plan whose provider blocks each meet one failure (missing keys, a refused signature, a
/// redirect, a self-signed certificate, a looping marker, ...). A quote the table below does not
/// know, or a case whose quote left the guide, fails the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn troubleshooting_messages_are_what_terraform_shows() {
    let quoted: BTreeSet<(String, bool)> = quoted_messages().into_iter().collect();
    let known: BTreeSet<&str> = MESSAGES.iter().map(|(m, _)| *m).collect();
    let unknown: Vec<&String> = quoted
        .iter()
        .map(|(m, _)| m)
        .filter(|m| !known.contains(m.as_str()))
        .collect();
    let stale: Vec<&&str> = known
        .iter()
        .filter(|m| !quoted.iter().any(|(q, _)| q == *m))
        .collect();
    assert!(
        unknown.is_empty() && stale.is_empty(),
        "quoted without a case: {unknown:?}; cases for no quote: {stale:?}"
    );

    let validate = Workdir::new(&[("main.tf", &format!("{TERRAFORM_BLOCK}{VALIDATE}"))])
        .run(&["validate", "-no-color"])
        .await;
    let servers = Servers::start().await;
    let plan = Workdir::new(&[("main.tf", &plan_config(&servers))])
        .env("HW_METADATA_ENDPOINT", "http://127.0.0.1:1")
        .run(&["plan", "-input=false", "-no-color"])
        .await;
    for (message, warning) in &quoted {
        let (_, on) = MESSAGES.iter().find(|(m, _)| m == message).expect("known");
        match on {
            On::Validate(case) => assert_reported(&validate, message, *warning, case),
            On::Plan(case) => assert_reported(&plan, message, *warning, case),
        }
    }
}

/// Every attribute name of `schema`, nested ones included.
fn attribute_names(attributes: &[Attribute], out: &mut BTreeSet<String>) {
    for a in attributes {
        out.insert(a.name.to_string());
        if let Some(children) = a.ty.children() {
            attribute_names(children, out);
        }
    }
}

/// Proves the comparison guide's feature table says of `csms_rotation_tasks` only what its
/// schema has: every attribute-like name in that column is an attribute, and a row about an
/// attribute the data source has does not answer "not yet" or "no".
#[test]
fn comparison_table_matches_the_schema() {
    let provider = CsmsProvider::default();
    let data_source = provider
        .data_sources()
        .iter()
        .find(|d| d.type_name() == "csms_rotation_tasks")
        .expect("the data source")
        .schema();
    let mut names = BTreeSet::new();
    attribute_names(&data_source.attributes, &mut names);
    // API field names the column quotes as the service's, not as attributes.
    let api = ["error_code", "error_msg"];
    let rows = table_after(&read(COMPARISON), "# Compared with");
    assert!(rows.len() >= 10, "{rows:?}");
    for row in &rows {
        let (feature, ours) = (&row[0], &row[2]);
        for span in code_spans(ours) {
            let identifier =
                span.chars().all(|c| c.is_ascii_lowercase() || c == '_') && span.contains('_');
            if identifier && !api.contains(&span) {
                assert!(
                    names.contains(span),
                    "{feature}: `{span}` is not an attribute of csms_rotation_tasks"
                );
            }
        }
        for span in code_spans(feature) {
            if names.contains(span) {
                let answer = ours.to_ascii_lowercase();
                assert!(
                    !(answer.starts_with("not")
                        || answer.starts_with("no ")
                        || answer.starts_with("no:")),
                    "{feature}: the schema has `{span}`, the table says {ours:?}"
                );
            }
        }
    }
    let region = rows
        .iter()
        .find(|r| r[0].contains("`region`"))
        .expect("the region row");
    assert!(
        names.contains("region") && region[2].starts_with("yes"),
        "{region:?}"
    );
}
