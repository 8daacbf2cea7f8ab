//! The HCL users copy holds on both paths. Every file in `examples/`, every README snippet that
//! reads `csms_rotation_tasks` and every guide snippet is planned by real Terraform against the
//! emulator on three
//! data sets, built here in the shape `csms-emulator --data` and `--secrets-data` read: green
//! (every newest rotation succeeded, every secret on schedule), red (the newest rotations
//! failed, a secret overdue without a task) and one where the secrets have no task yet (one of
//! them past due).
//! Green plans exit 0 without a warning; red and task-less plans show the author's own message
//! (a failed postcondition, or a check's warning), never one of Terraform's evaluation errors:
//! Terraform evaluates `error_message` even when the condition holds
//! (hashicorp/terraform#30613), so a null error field or a missing `latest` entry there breaks
//! the green path. The `rotation-policy` module runs its own `terraform test` suite.

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
const LEGACY_ERROR: &str =
    "Rotation failed: the new credentials were rejected by the target service.";

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
        ],
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

const PROVIDER: &str = "examples/provider/provider.tf";

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

/// The HCL snippets of the documentation users copy, as `(FILE#N, text)` (N counts from 1 per
/// file): the README's ```` ```hcl ```` blocks that read the data source (the others are CLI
/// configuration), and every ```` ```terraform ```` block of the guides (their fragments and
/// counter-examples use ```` ```hcl ````, which is not planned).
fn doc_snippets() -> Vec<(String, String)> {
    let mut sources = vec![(
        "README.md".to_string(),
        "```hcl\n",
        "data \"csms_rotation_tasks\"",
    )];
    let mut guides: Vec<PathBuf> = std::fs::read_dir(root().join(docs::GUIDES))
        .expect("read docs/guides")
        .map(|e| e.expect("dir entry").path())
        .collect();
    guides.sort();
    for guide in guides {
        let rel = guide.strip_prefix(root()).expect("under the root");
        sources.push((rel.to_string_lossy().into_owned(), "```terraform\n", ""));
    }
    let mut snippets = Vec::new();
    for (file, fence, must_contain) in sources {
        let text = read(&file);
        let mut rest = text.as_str();
        let mut n = 0;
        while let Some(start) = rest.find(fence) {
            let body = &rest[start + fence.len()..];
            let end = body
                .find("```")
                .unwrap_or_else(|| panic!("{file}: unterminated {fence:?} block"));
            if body[..end].contains(must_contain) {
                n += 1;
                snippets.push((format!("{file}#{n}"), body[..end].to_string()));
            }
            rest = &body[end + 3..];
        }
    }
    snippets
}

/// What each documentation snippet must show on the green, red and task-less data sets. A new
/// snippet needs its line here, or the coverage check fails.
const SNIPPETS: &[(&str, Expect, Expect, Expect)] = &[
    (
        "README.md#1",
        passes(&[]),
        fails(&["The last rotation of prod-db-password did not succeed."]),
        fails(&["The last rotation of prod-db-password did not succeed."]),
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
        "docs/guides/checking-rotations.md#3",
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
        "docs/guides/rotation-coverage.md#2",
        passes(&["next_rotation_due = {"]),
        plans(&[
            "Warning: Check block assertion failed",
            "prod-db-password: The newest rotation (task red-1",
            PROD_DB_ERROR,
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
            // Every newest rotation is within 30 days; the failures of the window are listed.
            passes(&["failed_in_the_last_30_days = [", "\"green-2\""]),
            plans(&["\"red-1\"", "\"red-3\""]),
            passes(&["failed_in_the_last_30_days = []"]),
        ),
        data_source_case(
            "csms_rotation_tasks",
            "check.tf",
            passes(&[]),
            plans(&[
                "Warning: Check block assertion failed",
                "The newest rotation failed for: legacy-api-key, prod-db-password.",
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
            fails(&[
                "Resource postcondition failed",
                "Secrets off their rotation schedule:",
                "ldap-bind-password: Rotation was due at",
                "legacy-api-key: The newest rotation (task red-3",
                LEGACY_ERROR,
                "prod-db-password: The newest rotation (task red-1",
            ]),
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
            green: passes(&["task_count = 4"]),
            red: fails(&[
                "The last rotation of prod-db-password did not succeed.",
                "The last rotation of legacy-api-key did not succeed: Rotation failed: the new credentials were rejected",
            ]),
            no_tasks: fails(&[
                "The last rotation of prod-db-password did not succeed.",
                "The last rotation of legacy-api-key did not succeed: no rotation task found",
            ]),
        },
    ];
    for (name, snippet) in doc_snippets() {
        let &(_, green, red, no_tasks) = SNIPPETS
            .iter()
            .find(|(n, ..)| *n == name)
            .unwrap_or_else(|| panic!("{name} has no expectations in SNIPPETS"));
        // Guide snippets leave the provider block out, as the data-source examples do.
        let mut files = vec![("main.tf", snippet)];
        if !files[0].1.contains("provider \"csms\"") {
            files.push(("provider.tf", read(PROVIDER)));
        }
        cases.push(Case {
            covers: vec![name.clone()],
            name,
            files,
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
    all.extend(doc_snippets().into_iter().map(|(name, _)| name));
    all
}

/// Panics unless the cases (and the rotation-policy test) cover exactly what users copy: a new
/// example or snippet cannot go untested, and an expectation cannot outlive its snippet.
fn assert_every_example_has_a_case(cases: &[Case]) {
    let mut covered: BTreeSet<String> = cases.iter().flat_map(|c| c.covers.clone()).collect();
    covered.extend(ROTATION_POLICY.iter().map(|p| p.to_string()));
    covered.extend(SNIPPETS.iter().map(|(name, ..)| name.to_string()));
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
    let work = Workdir::new(&[])
        .emulator_env(&emu.base_url(), emu.project_id(), AK, SK)
        .env("HW_REGION_NAME", "cn-north-4");
    for path in ROTATION_POLICY {
        let rel = PathBuf::from(path.strip_prefix("examples/rotation-policy/").unwrap());
        let dest = work.path().join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, read(path)).unwrap();
    }
    let run = work.run(&["test", "-no-color"]).await;
    run.assert_ok().assert_contains(&[
        "run \"succeeded_rotations_pass\"... pass",
        "run \"failed_rotation_fails_the_plan\"... pass",
        "run \"never_rotated_secret_fails_the_plan\"... pass",
        "run \"old_rotation_warns\"... pass",
        "run \"max_age_must_be_a_positive_duration\"... pass",
        "Success! 5 passed, 0 failed.",
    ]);
    assert!(tasks_requests(&emu) > 0, "the runs read from the emulator");
}
