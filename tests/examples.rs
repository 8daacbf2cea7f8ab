//! The HCL users copy holds on both paths, exactly as they copy it. Every file in `examples/`
//! and every complete HCL snippet of the README and the guides (one with `required_providers`,
//! planned as the page shows it, nothing added) is planned by real Terraform against the
//! emulator on three data sets, built here in the shape `csms-emulator --data` and
//! `--secrets-data` read: green (every newest rotation succeeded, every secret on schedule), red
//! (the newest rotations failed, a secret overdue without a task) and one where the secrets have
//! no task yet (one of them past due). A snippet that is not complete must open with
//! `# Fragment of examples/...` and be lines of that example; the README's CLI configuration is
//! used to run one. Green plans exit 0 without a warning; red and task-less plans show the
//! author's own message (a failed postcondition, or a check's warning), never one of
//! Terraform's evaluation errors: Terraform evaluates `error_message` even when the condition
//! holds (hashicorp/terraform#30613), so a null error field or a missing `latest` entry there
//! breaks the green path. The `rotation-policy` and `rotation-coverage` modules run their own
//! `terraform test` suites.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::terraform::{
    emulator_with, emulator_with_secrets, secrets_requests, tasks_requests, Run, Workdir, AK, SK,
};
use csms_provider::docs;
use csms_provider::emulator::{data, Config, Emulator, Faults, Secret, SecretTask};
use serde_json::json;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DataSet {
    Green,
    Red,
    NoTasks,
}

const DATA_SETS: [DataSet; 3] = [DataSet::Green, DataSet::Red, DataSet::NoTasks];

/// The error of an old failed task in the green set: success now, a failure in the history.
const OLD_ERROR: &str = "The rotation function was throttled by FunctionGraph; retries exhausted.";
/// The errors of the red set's newest tasks, which the examples' messages must carry through.
const PROD_DB_ERROR: &str =
    "The rotation function returned an error: connection to the database timed out.";
const FLAKY_ERROR: &str =
    "The rotation function returned an error: the key service is unavailable.";
const LEGACY_ERROR: &str =
    "Rotation failed: the new credentials were rejected by the target service.";
/// LEGACY_ERROR as a verdict's reason quotes it: a clause after its code, the full stop dropped.
const LEGACY_REASON: &str =
    "CSMS.0702: Rotation failed: the new credentials were rejected by the target service; ";

/// The tasks of `set`, written as a `--data` file and read back by the emulator's own loader.
fn tasks(set: DataSet) -> Vec<SecretTask> {
    const DAY_MS: i64 = 86_400_000;
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let task = |id: &str, secret: &str, error: Option<(&str, &str)>, days_ago: i64| {
        let mut t = json!({
            "task_id": id,
            "secret_name": secret,
            "rotation_func_urn": format!("urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:rotate-{secret}:latest"),
            "task_status": if error.is_some() { "FAILED" } else { "SUCCESS" },
            "operate_type": "MULTI_USER",
            "task_time": now_ms - days_ago * DAY_MS,
            "attempt_nums": if error.is_some() { 3 } else { 1 },
        });
        if let Some((code, msg)) = error {
            t["task_error_code"] = json!(code);
            t["task_error_msg"] = json!(msg);
        }
        t
    };
    let tasks = match set {
        DataSet::Green => vec![
            task("green-1", "prod-db-password", None, 1),
            task(
                "green-2",
                "prod-db-password",
                Some(("FSS.0429", OLD_ERROR)),
                8,
            ),
            task("green-3", "legacy-api-key", None, 2),
            task("green-4", "payments-api-key", None, 3),
        ],
        DataSet::Red => vec![
            task(
                "red-1",
                "prod-db-password",
                Some(("FSS.0500", PROD_DB_ERROR)),
                1,
            ),
            task("red-2", "prod-db-password", None, 8),
            task(
                "red-3",
                "legacy-api-key",
                Some(("CSMS.0702", LEGACY_ERROR)),
                2,
            ),
            task("red-4", "payments-api-key", None, 3),
        ]
        .into_iter()
        // A secret whose rotation fails every day: its newest task is a day old, its newest
        // success 61 days. (legacy-api-key above never succeeded at all.)
        .chain((1..=60).map(|day| {
            task(
                &format!("flaky-{day}"),
                "flaky-api-key",
                Some(("FSS.0500", FLAKY_ERROR)),
                day,
            )
        }))
        .chain([task("flaky-success", "flaky-api-key", None, 61)])
        .collect(),
        DataSet::NoTasks => vec![task("none-1", "payments-api-key", None, 3)],
    };
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), serde_json::to_vec(&tasks).unwrap()).expect("write data set");
    data::load(file.path()).expect("the data set reads as --data reads it")
}

/// The secrets of `set`, written as a `--secrets-data` file and read back by the emulator's own
/// loader: each rotates, due in five days, except red's `ldap-bind-password` (due ten days
/// ago, no task: its schedule stopped) and, without tasks, `prod-db-password` (created 40 days
/// ago with a 30-day period and never rotated).
fn secrets(set: DataSet) -> Vec<Secret> {
    const DAY_MS: i64 = 86_400_000;
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let secret = |name: &str, period: &str, next: Option<i64>| {
        json!({
            "id": format!("id-{name}"),
            "name": name,
            "state": "ENABLED",
            "secret_type": "COMMON",
            "auto_rotation": true,
            "rotation_period": period,
            "create_time": now_ms - 40 * DAY_MS,
            "next_rotation_time": next,
            "enterprise_project_id": "0",
        })
    };
    let soon = Some(now_ms + 5 * DAY_MS);
    let mut secrets = vec![
        secret("legacy-api-key", "7d", soon),
        secret("payments-api-key", "7d", soon),
    ];
    secrets.push(match set {
        DataSet::NoTasks => secret("prod-db-password", "30d", None),
        _ => secret("prod-db-password", "7d", soon),
    });
    if set == DataSet::Red {
        secrets.push(secret(
            "ldap-bind-password",
            "30d",
            Some(now_ms - 10 * DAY_MS),
        ));
    }
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), serde_json::to_vec(&secrets).unwrap()).expect("write secrets");
    data::load_secrets(file.path()).expect("the secrets read as --secrets-data reads them")
}

/// What one plan must show.
#[derive(Debug, Clone, Copy)]
struct Expect {
    /// The plan fails (a postcondition) rather than exiting 0 (perhaps with a check warning).
    fails: bool,
    /// Text the output must contain (Terraform's frame and line wrapping folded away).
    shows: &'static [&'static str],
    /// Text the output must not contain.
    hides: &'static [&'static str],
}

/// Exits 0 with neither a check warning nor a failed rotation in the output.
const fn passes(shows: &'static [&'static str]) -> Expect {
    Expect {
        fails: false,
        shows,
        hides: &["Warning: Check block assertion failed", "did not succeed"],
    }
}

/// Exits 0; a check block may warn (say so in `shows`).
const fn plans(shows: &'static [&'static str]) -> Expect {
    Expect {
        fails: false,
        shows,
        hides: &[],
    }
}

/// Exits non-zero: a postcondition failed the plan.
const fn fails(shows: &'static [&'static str]) -> Expect {
    Expect {
        fails: true,
        shows,
        hides: &[],
    }
}

/// Terraform's own evaluation errors: an example that shows one of these broke on a path its
/// author did not think of, instead of failing with the author's message.
const TERRAFORM_ERRORS: &[&str] = &[
    "Invalid index",
    "Invalid template interpolation value",
    "Error in function call",
    "Unsupported attribute",
    "Attempt to get attribute from null value",
];

/// One configuration users copy, planned on each data set.
struct Case {
    /// What is planned: a path under the project root, or `FILE#N` for a documentation snippet.
    name: String,
    /// The example files this case plans, for the coverage check.
    covers: Vec<String>,
    /// The working directory's files.
    files: Vec<(&'static str, String)>,
    green: Expect,
    red: Expect,
    no_tasks: Expect,
}

impl Case {
    fn expect(&self, set: DataSet) -> Expect {
        match set {
            DataSet::Green => self.green,
            DataSet::Red => self.red,
            DataSet::NoTasks => self.no_tasks,
        }
    }
}

/// The files of the rotation-policy module, all of which its `terraform test` run copies.
const ROTATION_POLICY: &[&str] = &[
    "examples/rotation-policy/main.tf",
    "examples/rotation-policy/tests/emulator-data.json",
    "examples/rotation-policy/tests/rotation_policy.tftest.hcl",
];

/// The files of the rotation-coverage module, all of which its `terraform test` run copies.
const ROTATION_COVERAGE: &[&str] = &[
    "examples/rotation-coverage/main.tf",
    "examples/rotation-coverage/tests/emulator-secrets.json",
    "examples/rotation-coverage/tests/emulator-tasks.json",
    "examples/rotation-coverage/tests/rotation_coverage.tftest.hcl",
];

const PROVIDER: &str = "examples/provider/provider.tf";

/// The README's provider settings as one complete configuration: its credential sources need
/// what a test cannot fake in a plan of examples (a KooCLI file, the metadata service), so it is
/// validated here and each source is planned in `credentials_terraform.rs`.
const PROVIDER_SETTINGS: &str = "examples/provider-settings/main.tf";

/// A data-source example, planned with the provider example beside it (as the Registry page
/// shows them).
fn data_source_case(
    data_source: &str,
    file: &str,
    green: Expect,
    red: Expect,
    no_tasks: Expect,
) -> Case {
    let path = format!("examples/data-sources/{data_source}/{file}");
    Case {
        files: vec![("provider.tf", read(PROVIDER)), ("main.tf", read(&path))],
        covers: vec![PROVIDER.to_string(), path.clone()],
        name: path,
        green,
        red,
        no_tasks,
    }
}

/// What a documentation snippet is, by its text: the rule every HCL block of the README and the
/// guides follows, so that a reader can copy it and run it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A configuration with its `required_providers`: planned exactly as the page shows it.
    Complete,
    /// Opens with `# Fragment of PATH`: its lines appear, in order, in that complete example.
    Fragment(String),
    /// A CLI configuration (`provider_installation`): Terraform is run with it.
    CliConfig,
    /// None of these: the coverage check fails on it.
    Incomplete,
}

const FRAGMENT: &str = "# Fragment of ";

/// One HCL block of the README or a guide, named `FILE#N` (N counts from 1 per file), its text
/// with the fence's own indentation removed, as a renderer shows it.
struct Snippet {
    name: String,
    kind: Kind,
    text: String,
}

/// Every ```` ```hcl ```` and ```` ```terraform ```` block of the README and the guides.
fn doc_snippets() -> Vec<Snippet> {
    let mut files = vec!["README.md".to_string()];
    let mut guides: Vec<PathBuf> = std::fs::read_dir(root().join(docs::GUIDES))
        .expect("read docs/guides")
        .map(|e| e.expect("dir entry").path())
        .collect();
    guides.sort();
    files.extend(guides.iter().map(|g| {
        let rel = g.strip_prefix(root()).expect("under the root");
        rel.to_string_lossy().into_owned()
    }));
    let mut snippets = Vec::new();
    for file in files {
        let text = read(&file);
        let mut lines = text.lines();
        let mut n = 0;
        while let Some(line) = lines.next() {
            let indent = line.len() - line.trim_start().len();
            let Some(info) = line.trim_start().strip_prefix("```") else {
                continue;
            };
            let mut body = String::new();
            for inner in lines.by_ref() {
                if inner.trim() == "```" {
                    break;
                }
                body.push_str(inner.get(indent..).unwrap_or(inner.trim_start()));
                body.push('\n');
            }
            if !["hcl", "terraform"].contains(&info.trim()) {
                continue;
            }
            n += 1;
            let kind =
                if let Some(path) = body.lines().next().and_then(|l| l.strip_prefix(FRAGMENT)) {
                    Kind::Fragment(path.trim().to_string())
                } else if body.contains("required_providers") {
                    Kind::Complete
                } else if body.contains("provider_installation {") {
                    Kind::CliConfig
                } else {
                    Kind::Incomplete
                };
            snippets.push(Snippet {
                name: format!("{file}#{n}"),
                kind,
                text: body,
            });
        }
    }
    snippets
}

/// The postcondition users copy (`csms_secret_rotations`' example and the README's headline), on
/// red data: each unhealthy secret with its reason, the failed task's error carried through.
const POSTCONDITION_ON_RED: &[&str] = &[
    "Resource postcondition failed",
    "Secrets off their rotation schedule:",
    "ldap-bind-password: Rotation was due at",
    "legacy-api-key: The newest rotation (task red-3",
    LEGACY_REASON,
    "prod-db-password: The newest rotation (task red-1",
];

/// What each documentation snippet must show on the green, red and task-less data sets. A new
/// snippet needs its line here, or the coverage check fails.
const SNIPPETS: &[(&str, Expect, Expect, Expect)] = &[
    (
        // The headline: the account's rotations judged, the task history beside them.
        "README.md#1",
        passes(&["db_rotations = [", "SUCCESS"]),
        fails(POSTCONDITION_ON_RED),
        fails(&[
            "Secrets off their rotation schedule:",
            "prod-db-password: Rotation was due at",
        ]),
    ),
    (
        "docs/guides/checking-rotations.md#1",
        passes(&[]),
        fails(&["The newest rotation did not succeed for: prod-db-password, legacy-api-key."]),
        fails(&["The newest rotation did not succeed for: prod-db-password, legacy-api-key."]),
    ),
    (
        "docs/guides/checking-rotations.md#2",
        passes(&[]),
        plans(&[
            "Warning: Check block assertion failed",
            "The newest rotation of legacy-api-key did not succeed.",
        ]),
        plans(&["The newest rotation of legacy-api-key did not succeed."]),
    ),
    (
        // The check on a top-level data source: the same warning, read at plan time.
        "docs/guides/checking-rotations.md#3",
        passes(&[]),
        plans(&[
            "Warning: Check block assertion failed",
            "The newest rotation of legacy-api-key did not succeed.",
        ]),
        plans(&["The newest rotation of legacy-api-key did not succeed."]),
    ),
    (
        // The guide's counter-example passes on red data, as the guide says it does.
        "docs/guides/checking-rotations.md#4",
        passes(&[]),
        passes(&[]),
        fails(&["prod-db-password never rotated successfully."]),
    ),
    (
        // The hand computation finds the task `latest` holds, as the guide says.
        "docs/guides/compared-with-huaweicloud-csms-tasks.md#1",
        passes(&["by_hand_equals_latest = true", "db_newest_at = \"20"]),
        passes(&["by_hand_equals_latest = true", "db_newest_at = \"20"]),
        passes(&["by_hand_equals_latest = true"]),
    ),
    (
        "docs/guides/checking-rotations.md#5",
        passes(&[]),
        // The red set's newest success of prod-db-password is 8 days old.
        plans(&["prod-db-password has not rotated successfully in the last 7 days (last success: 20"]),
        plans(&["prod-db-password has not rotated successfully in the last 7 days (last success: never)."]),
    ),
    (
        "docs/guides/rotation-coverage.md#1",
        passes(&[]),
        fails(&["Failed or overdue rotations: ldap-bind-password, legacy-api-key, prod-db-password."]),
        // Never rotated and 40 days old on a 30-day period: overdue, though no task exists.
        fails(&["Failed or overdue rotations: prod-db-password."]),
    ),
    (
        // The first step of the hand-made join the guide advises against: it plans.
        "docs/guides/rotation-coverage.md#3",
        passes(&["rotation_period_hours = {"]),
        plans(&["rotation_period_hours = {"]),
        plans(&["rotation_period_hours = {"]),
    ),
    (
        "docs/guides/rotation-coverage.md#2",
        passes(&["next_rotation_due = {"]),
        plans(&[
            "Warning: Check block assertion failed",
            "prod-db-password: The newest rotation (task red-1",
            "FSS.0500: The rotation function returned an error: connection to the database timed out; ",
        ]),
        plans(&[
            "Warning: Check block assertion failed",
            "prod-db-password: Rotation was due at",
        ]),
    ),
];

fn cases() -> Vec<Case> {
    let mut cases = vec![
        data_source_case(
            "csms_rotation_tasks",
            "data-source.tf",
            plans(&[
                "db_last_rotation = \"SUCCESS at",
                OLD_ERROR,
            ]),
            plans(&["db_last_rotation = \"FAILED at", PROD_DB_ERROR, LEGACY_ERROR]),
            plans(&["db_last_rotation = \"prod-db-password has never rotated\""]),
        ),
        data_source_case(
            "csms_rotation_tasks",
            "postcondition.tf",
            passes(&[]),
            fails(&[
                "Resource postcondition failed",
                // The message carries the service's error message through.
                "The last rotation of prod-db-password did not succeed: The rotation function returned an error: connection to the database timed out.",
            ]),
            fails(&["The last rotation of prod-db-password did not succeed: no rotation task found"]),
        ),
        data_source_case(
            "csms_rotation_tasks",
            "freshness.tf",
            // Every newest success is within 30 days; the failures of the window are listed.
            passes(&["failed_in_the_last_30_days = [", "\"green-2\""]),
            // A secret failing daily (its newest task a day old) and one that never succeeded.
            plans(&[
                "Warning: Check block assertion failed",
                "No successful rotation in the last 30 days: flaky-api-key (last success: 20",
                "legacy-api-key (last success: never).",
                "\"red-1\"",
                "\"red-3\"",
                "\"flaky-1\"",
            ]),
            passes(&["failed_in_the_last_30_days = []"]),
        ),
        data_source_case(
            "csms_rotation_tasks",
            "check.tf",
            passes(&[]),
            plans(&[
                "Warning: Check block assertion failed",
                "The newest rotation failed for: flaky-api-key, legacy-api-key, prod-db-password.",
            ]),
            // Only secrets with tasks are in `latest`: an all-secrets check cannot miss one.
            passes(&[]),
        ),
        data_source_case(
            "csms_secrets",
            "data-source.tf",
            plans(&["rotation_periods = {", "prod-db-password = \"7d\""]),
            plans(&["ldap-bind-password = \"30d\"", "next_rotations = {"]),
            plans(&["prod-db-password = \"30d\""]),
        ),
        data_source_case(
            "csms_secret_rotations",
            "data-source.tf",
            passes(&["HEALTHY = 3", "FAILED = 0", "unhealthy_secrets = {}"]),
            plans(&[
                "FAILED = 2",
                "OVERDUE = 1",
                "legacy-api-key = \"The newest rotation (task red-3",
            ]),
            plans(&["OVERDUE = 1", "prod-db-password = \"Rotation was due at"]),
        ),
        data_source_case(
            "csms_secret_rotations",
            "postcondition.tf",
            passes(&[]),
            fails(POSTCONDITION_ON_RED),
            fails(&[
                "prod-db-password: Rotation was due at",
                "no rotation task has succeeded",
            ]),
        ),
        data_source_case(
            "csms_secret_rotations",
            "check.tf",
            passes(&[]),
            plans(&[
                "Warning: Check block assertion failed",
                "Off their rotation schedule: legacy-api-key, prod-db-password.",
            ]),
            plans(&[
                "Warning: Check block assertion failed",
                "Off their rotation schedule: prod-db-password.",
            ]),
        ),
        Case {
            name: "examples/demo/main.tf".into(),
            covers: vec!["examples/demo/main.tf".into()],
            files: vec![("main.tf", read("examples/demo/main.tf"))],
            green: passes(&["task_count = 4", "prod-db-password = \"HEALTHY\""]),
            red: fails(&[
                "Secrets off their rotation schedule:",
                "ldap-bind-password OVERDUE: Rotation was due at",
                "legacy-api-key FAILED: The newest rotation (task red-3",
                LEGACY_REASON,
                "prod-db-password FAILED: The newest rotation (task red-1",
            ]),
            no_tasks: fails(&["prod-db-password OVERDUE: Rotation was due at"]),
        },
    ];
    for snippet in doc_snippets() {
        if snippet.kind != Kind::Complete {
            continue;
        }
        let name = snippet.name;
        let &(_, green, red, no_tasks) = SNIPPETS
            .iter()
            .find(|(n, ..)| *n == name)
            .unwrap_or_else(|| panic!("{name} has no expectations in SNIPPETS"));
        // Exactly the page's text: nothing is added to what a reader copies.
        cases.push(Case {
            covers: vec![name.clone()],
            name,
            files: vec![("main.tf", snippet.text)],
            green,
            red,
            no_tasks,
        });
    }
    cases
}

/// Every file under `examples/` (relative to the root) plus each documentation snippet: what
/// the cases must cover between them.
fn everything_users_copy() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("read examples/") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                let rel = path.strip_prefix(root()).expect("under the root");
                out.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut all = BTreeSet::new();
    walk(&root().join("examples"), &mut all);
    all.extend(doc_snippets().into_iter().map(|s| s.name));
    all
}

/// Panics unless the cases (and the modules' `terraform test` runs) cover exactly what users copy: a new
/// example or snippet cannot go untested, and an expectation cannot outlive its snippet.
fn assert_every_example_has_a_case(cases: &[Case]) {
    let mut covered: BTreeSet<String> = cases.iter().flat_map(|c| c.covers.clone()).collect();
    covered.extend(
        ROTATION_POLICY
            .iter()
            .chain(ROTATION_COVERAGE)
            .map(|p| p.to_string()),
    );
    covered.extend(SNIPPETS.iter().map(|(name, ..)| name.to_string()));
    covered.insert(PROVIDER_SETTINGS.to_string());
    let snippets = doc_snippets();
    let incomplete: Vec<&str> = snippets
        .iter()
        .filter(|s| s.kind == Kind::Incomplete)
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        incomplete.is_empty(),
        "snippets that are neither a complete configuration (with required_providers) nor open \
         with `{FRAGMENT}PATH`: {incomplete:?}"
    );
    // Fragments and CLI configurations have tests of their own below.
    covered.extend(
        snippets
            .into_iter()
            .filter(|s| matches!(s.kind, Kind::Fragment(_) | Kind::CliConfig))
            .map(|s| s.name),
    );
    let all = everything_users_copy();
    let untested: Vec<&String> = all.difference(&covered).collect();
    let missing: Vec<&String> = covered.difference(&all).collect();
    assert!(
        untested.is_empty() && missing.is_empty(),
        "examples without a case: {untested:?}; cases naming no example: {missing:?}"
    );
}

/// Proves nothing in `examples/`, the README or the guides escapes the plans below (the check is cheap,
/// so it also runs on its own, without Terraform).
#[test]
fn every_example_and_doc_snippet_has_a_case() {
    assert_every_example_has_a_case(&cases());
}

fn check(case: &Case, set: DataSet, run: &Run) {
    let expect = case.expect(set);
    let output = common::terraform::fold(&run.output());
    let context = || format!("{} on the {set:?} data set:\n{}", case.name, run.output());
    assert_eq!(
        run.code != 0,
        expect.fails,
        "exit code {}: {}",
        run.code,
        context()
    );
    for needle in expect.shows {
        assert!(
            output.contains(&common::terraform::fold(needle)),
            "lacks {needle:?}: {}",
            context()
        );
    }
    for needle in expect.hides.iter().chain(TERRAFORM_ERRORS) {
        assert!(
            !output.contains(&common::terraform::fold(needle)),
            "shows {needle:?}: {}",
            context()
        );
    }
}

/// Proves every example and documentation snippet plans on green data and fails (or warns)
/// with its author's message on red data and on secrets without tasks. Each plan must read the
/// data source (the emulator counts the requests), and every case must have run on all three
/// data sets: a case that is skipped, or a file that does not plan, fails the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_hold_on_green_and_red_data() {
    let cases = cases();
    assert_every_example_has_a_case(&cases);
    let mut emulators: Vec<(DataSet, Emulator)> = Vec::new();
    for set in DATA_SETS {
        let config = Config {
            tasks: tasks(set),
            secrets: secrets(set),
            ..Config::default()
        };
        emulators.push((set, emulator_with_secrets(config).await));
    }
    let mut planned = BTreeSet::new();
    for case in &cases {
        for (set, emu) in &emulators {
            let files: Vec<(&str, &str)> =
                case.files.iter().map(|(n, c)| (*n, c.as_str())).collect();
            let requests = |emu: &Emulator| tasks_requests(emu) + secrets_requests(emu);
            let before = requests(emu);
            let run = Workdir::new(&files)
                .emulator_env(&emu.base_url(), emu.project_id(), AK, SK)
                .run(&["plan", "-input=false", "-no-color"])
                .await;
            check(case, *set, &run);
            assert!(
                requests(emu) > before,
                "{} on {set:?} sent no listing request:\n{}",
                case.name,
                run.output()
            );
            planned.insert((case.name.clone(), *set));
        }
    }
    let expected: BTreeSet<(String, DataSet)> = cases
        .iter()
        .flat_map(|c| DATA_SETS.map(|s| (c.name.clone(), s)))
        .collect();
    assert_eq!(planned, expected);
}

/// Runs `terraform test` in a copy of the module whose files are `files` (all under one
/// `examples/MODULE/`), against `emu`, as the suite's header tells users to run it, and asserts
/// that every `run` block of its `.tftest.hcl` files passed; returns how many there are.
async fn module_passes_its_terraform_test(files: &[&str], emu: &Emulator) -> usize {
    let module = files[0].split_inclusive('/').take(2).collect::<String>();
    let work = Workdir::new(&[])
        .emulator_env(&emu.base_url(), emu.project_id(), AK, SK)
        .env("HW_REGION_NAME", "cn-north-4");
    let mut runs = Vec::new();
    for path in files {
        let rel = PathBuf::from(path.strip_prefix(module.as_str()).unwrap());
        let dest = work.path().join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let text = read(path);
        if path.ends_with(".tftest.hcl") {
            runs.extend(text.lines().filter_map(|l| {
                l.strip_prefix("run \"")
                    .and_then(|r| r.split_once('"'))
                    .map(|(name, _)| format!("run \"{name}\"... pass"))
            }));
        }
        std::fs::write(dest, text).unwrap();
    }
    let run = work.run(&["test", "-no-color"]).await;
    let success = format!("Success! {} passed, 0 failed.", runs.len());
    run.assert_ok().assert_contains(&[success.as_str()]);
    run.assert_contains(&runs.iter().map(String::as_str).collect::<Vec<_>>());
    runs.len()
}

/// Proves the rotation-policy module's own `terraform test` suite passes against the emulator
/// serving the module's data file, as its header tells users to run it: healthy secrets pass,
/// a failed or never-rotated secret fails the plan, an old rotation warns, a bad `max_age` is
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_policy_module_passes_its_terraform_test() {
    let data_file = root().join("examples/rotation-policy/tests/emulator-data.json");
    let emu = emulator_with(
        data::load(&data_file).expect("the module's data file loads"),
        Faults::default(),
    )
    .await;
    assert_eq!(
        module_passes_its_terraform_test(ROTATION_POLICY, &emu).await,
        5
    );
    assert!(tasks_requests(&emu) > 0, "the runs read from the emulator");
}

/// Proves the rotation-coverage module's `terraform test` suite passes against the emulator
/// serving the module's secrets and tasks (`--data` and `--secrets-data`, as its header says):
/// secrets on schedule pass, a failed rotation, a stopped schedule, the whole account, a
/// rotation late past the grace period and a misspelt or non-rotating name fail the plan, and
/// the grace period covers a late rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_coverage_module_passes_its_terraform_test() {
    let dir = root().join("examples/rotation-coverage/tests");
    let emu = emulator_with_secrets(Config {
        tasks: data::load(&dir.join("emulator-tasks.json")).expect("the module's tasks load"),
        secrets: data::load_secrets(&dir.join("emulator-secrets.json"))
            .expect("the module's secrets load"),
        ..Config::default()
    })
    .await;
    assert_eq!(
        module_passes_its_terraform_test(ROTATION_COVERAGE, &emu).await,
        7
    );
    assert!(
        tasks_requests(&emu) > 0 && secrets_requests(&emu) > 0,
        "the runs read from the emulator"
    );
}

/// Proves every snippet marked `# Fragment of PATH` names a complete example under `examples/`
/// (which the tests run) and that its lines appear there in order, so a reader who looks the
/// example up finds the snippet in its context.
#[test]
fn fragments_are_lines_of_their_complete_example() {
    let mut fragments = 0;
    for snippet in doc_snippets() {
        let Kind::Fragment(path) = &snippet.kind else {
            continue;
        };
        fragments += 1;
        assert!(
            path.starts_with("examples/"),
            "{}: names {path}, not an example",
            snippet.name
        );
        let example = read(path);
        let mut lines = example.lines();
        for wanted in snippet
            .text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
        {
            assert!(
                lines.any(|l| l == wanted),
                "{}: {wanted:?} is not in {path} (in this order)",
                snippet.name
            );
        }
    }
    assert!(fragments >= 6, "only {fragments} fragments found");
}

/// Proves the README's provider settings are a complete, valid configuration as its fragments
/// are copied from it: `terraform validate` (no credentials needed) knows every argument.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_settings_example_validates() {
    let work = Workdir::new(&[("main.tf", &read(PROVIDER_SETTINGS))]);
    work.run(&["validate", "-no-color"])
        .await
        .assert_ok()
        .assert_contains(&["Success! The configuration is valid"]);
}

/// Proves the README's CLI configuration installs the provider as copied (its one placeholder,
/// the build directory, filled in): the README's first example plans with it and reads the
/// emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_cli_configuration_installs_the_provider() {
    let snippets = doc_snippets();
    let cli = snippets
        .iter()
        .find(|s| s.kind == Kind::CliConfig && s.name.starts_with("README.md#"))
        .expect("the README's CLI configuration");
    let placeholder = "/path/to/terraform-provider-csms/target/release";
    assert!(cli.text.contains(placeholder), "{}", cli.text);
    let example = snippets
        .iter()
        .find(|s| s.kind == Kind::Complete && s.name.starts_with("README.md#"))
        .expect("the README's first example");
    let emu = emulator_with_secrets(Config {
        tasks: tasks(DataSet::Green),
        secrets: secrets(DataSet::Green),
        ..Config::default()
    })
    .await;
    let work = Workdir::new(&[("main.tf", &example.text)]).emulator_env(
        &emu.base_url(),
        emu.project_id(),
        AK,
        SK,
    );
    let provider_dir = common::terraform::provider_dir();
    std::fs::write(
        work.path().join(".terraformrc"),
        cli.text
            .replace(placeholder, &provider_dir.to_string_lossy()),
    )
    .expect("write the README's CLI configuration");
    work.run(&["plan", "-input=false", "-no-color"])
        .await
        .assert_ok()
        .assert_contains(&["Warning: Provider development overrides are in effect"]);
    assert!(
        tasks_requests(&emu) > 0 && secrets_requests(&emu) > 0,
        "the plan read the emulator"
    );
}

/// Proves what the checking guide says about `terraform plan -detailed-exitcode`: with the data
/// source scoped inside the check block, a plan on green data exits 2 (the read is left for
/// apply, a change to show); with a top-level data source asserted in the check, it exits 0 on
/// green data, and still 0, with the check's warning, on red data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_patterns_and_the_detailed_exit_code() {
    const SCOPED: &str = "docs/guides/checking-rotations.md#2";
    const TOP_LEVEL: &str = "docs/guides/checking-rotations.md#3";
    let snippets = doc_snippets();
    let text = |name: &str| {
        let snippet = snippets.iter().find(|s| s.name == name).expect(name);
        assert!(snippet.text.contains("check \""), "{name} is a check");
        snippet.text.clone()
    };
    let (scoped, top_level) = (text(SCOPED), text(TOP_LEVEL));
    assert!(scoped.contains("check \"legacy_api_key_rotated\" {\n  data \"csms_rotation_tasks\""));
    assert!(top_level.contains("\ndata \"csms_rotation_tasks\" \"legacy\""));
    for (set, config, code) in [
        (DataSet::Green, &scoped, 2),
        (DataSet::Green, &top_level, 0),
        (DataSet::Red, &top_level, 0),
    ] {
        let emu = emulator_with(tasks(set), Faults::default()).await;
        let run = Workdir::new(&[("main.tf", config.as_str())])
            .emulator_env(&emu.base_url(), emu.project_id(), AK, SK)
            .run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"])
            .await;
        assert_eq!(run.code, code, "{set:?}:\n{config}\n{}", run.output());
        let warned = run.output().contains("Check block assertion failed");
        assert_eq!(warned, set == DataSet::Red, "{set:?}: {}", run.output());
        assert!(tasks_requests(&emu) > 0, "the plan read the emulator");
    }
}
