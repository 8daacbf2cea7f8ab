//! Section 7: rotation coverage (issue 19) on an account of 10,000 secrets and 100,000 tasks.
//!
//! `data "csms_secret_rotations"` against the HCL join a user would otherwise write over
//! `csms_secrets` and `csms_rotation_tasks` (every task into Terraform, the newest success per
//! secret grouped out of them, due times from `timeadd`), alternated (A B B A), plus the
//! 3-name check (`secret_names`). An untimed plan of each side first outputs a SHA-256 of its
//! name-to-verdict map, and they must agree (the comparison is only worth making while the join
//! gives the data source's verdicts); every timed run then checks the counts. Terraform and the
//! provider run under the `--wrap` mode as in section 4. The emulator logs one line per
//! request; the lines a plan added are its requests.

use std::path::{Path, PathBuf};

use crate::measure::{self, median, Emulator, Usage};
use crate::report::{self, Report, Table};
use crate::terraform::{usages, wrapper, Terraform};

/// The provider block every configuration shares.
const PROVIDER: &str = r#"terraform {
  required_providers {
    csms = { source = "registry.terraform.io/example/csms" }
  }
}

provider "csms" {
  region = "cn-north-4"
}
"#;

/// Every verdict, in the order both sides print their counts.
const VERDICTS: &str = r#"["MISSING", "NOT_ROTATING", "UNKNOWN", "FAILED", "OVERDUE", "HEALTHY"]"#;

/// What a user writes with the data source: every rotating secret judged at `AS_OF`, the
/// counts read (a postcondition on `all_healthy` would fail the plan on this data).
const OURS: &str = r#"
data "csms_secret_rotations" "all" {
  as_of = "AS_OF"
}

output "counts" {
  value = join(",", [for v in VERDICTS : "${v}=${data.csms_secret_rotations.all.counts[v]}"])
}
"#;

/// Added to [`OURS`] for the untimed check: every verdict, and one secret of three verdicts for
/// the 3-name check. Not in the timed plans: expressions over every judged secret cost
/// Terraform memory (these ~240 MiB at 8,500 secrets), which a user's counts or postcondition
/// on `all_healthy` do not.
const OURS_CHECK: &str = r#"
output "total" {
  value = length(data.csms_secret_rotations.all.secrets)
}

output "verdicts_sha256" {
  value = sha256(jsonencode({ for s in data.csms_secret_rotations.all.secrets : s.name => s.verdict }))
}

output "examples" {
  value = join(",", [for v in ["FAILED", "OVERDUE", "HEALTHY"] :
  [for s in data.csms_secret_rotations.all.secrets : s.name if s.verdict == v][0]])
}
"#;

/// The same verdicts without the data source: the issue's rules in HCL (tasks come newest
/// first, so the first of each group is the newest; `timecmp` takes the newest of three times).
const JOIN: &str = r#"
data "csms_secrets" "all" {}

data "csms_rotation_tasks" "all" {}

locals {
  as_of = "AS_OF"
  grace = "1h"
  tasks = data.csms_rotation_tasks.all
  last_success = {
    for t in local.tasks.tasks : t.secret_name => t.created_at... if t.task_status == "SUCCESS"
  }
  rotating = [
    for s in data.csms_secrets.all.secrets : s if s.auto_rotation == true && s.state == "ENABLED"
  ]
  starts = {
    for s in local.rotating : s.name => [
      for t in [try(local.last_success[s.name][0], null), s.rotated_at, s.created_at] : t if t != null
    ]
  }
  start = {
    for n, ts in local.starts : n => length(ts) == 0 ? null : [
      for t in ts : t if alltrue([for u in ts : timecmp(t, u) >= 0])
    ][0]
  }
  due = {
    for s in local.rotating : s.name => (
      s.next_rotation_at != null ? s.next_rotation_at :
      s.rotation_period_seconds == null || local.start[s.name] == null ? null :
      timeadd(local.start[s.name], "${s.rotation_period_seconds}s")
    )
  }
  verdicts = {
    for s in local.rotating : s.name => (
      local.due[s.name] == null ? "UNKNOWN" :
      try(local.tasks.latest[s.name].task_status, "") == "FAILED" ? "FAILED" :
      timecmp(local.as_of, timeadd(local.due[s.name], local.grace)) > 0 ? "OVERDUE" : "HEALTHY"
    )
  }
}

output "counts" {
  value = join(",", [for v in VERDICTS : "${v}=${length([for n, x in local.verdicts : n if x == v])}"])
}
"#;

/// Added to [`JOIN`] for the untimed check.
const JOIN_CHECK: &str = r#"
output "total" {
  value = length(local.rotating)
}

output "verdicts_sha256" {
  value = sha256(jsonencode(local.verdicts))
}
"#;

/// The 3-name check: only these secrets, their tasks read with the `secret_name` filter.
const THREE: &str = r#"
data "csms_secret_rotations" "three" {
  as_of        = "AS_OF"
  secret_names = NAMES
}

output "total" {
  value = length(data.csms_secret_rotations.three.secrets)
}

output "verdicts" {
  value = join(",", [for s in data.csms_secret_rotations.three.secrets : s.verdict])
}
"#;

/// One plan's numbers.
struct Run {
    wall: f64,
    terraform: Usage,
    provider_cpu: f64,
    provider_rss_kib: f64,
    requests: usize,
    stdout: String,
}

/// Plans through the wrapped provider, with the emulator's request log to count from.
struct Planner<'a> {
    tf: Terraform,
    emulator: &'a Emulator,
    log: PathBuf,
    work: PathBuf,
    runs: usize,
}

impl Planner<'_> {
    fn plan(&mut self, dir: &Path) -> Result<Run, String> {
        self.runs += 1;
        let provider_usage = self.work.join(format!("provider-{}.usage", self.runs));
        let tf_usage = self.work.join(format!("terraform-{}.usage", self.runs));
        let mut env = self.emulator.provider_env().to_vec();
        env.push(("CSMS_BENCH_RUSAGE", provider_usage.display().to_string()));
        let before = self.requests()?;
        let (wall, stdout) = self.tf.plan_output(dir, &env, Some(&tf_usage))?;
        let requests = self.requests()? - before;
        let [terraform] = usages(&tf_usage)[..] else {
            return Err(format!("no usage in {}", tf_usage.display()));
        };
        let providers = usages(&provider_usage);
        if providers.is_empty() {
            return Err(format!("no provider usage in {}", provider_usage.display()));
        }
        let provider_cpu: f64 = providers.iter().map(|u| u.cpu_seconds).sum();
        Ok(Run {
            wall,
            // Terraform's usage includes the providers it reaped.
            terraform: Usage {
                cpu_seconds: terraform.cpu_seconds - provider_cpu,
                max_rss_kib: terraform.max_rss_kib,
            },
            provider_cpu,
            provider_rss_kib: providers.iter().map(|u| u.max_rss_kib).fold(0.0, f64::max),
            requests,
            stdout,
        })
    }

    /// ListSecrets and ListSecretTask requests the emulator has logged so far.
    fn requests(&self) -> Result<usize, String> {
        let log = std::fs::read_to_string(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        Ok(log.lines().filter(|l| l.contains("GET /v1/")).count())
    }
}

/// The value of `output "name"` as the plan printed it (`+ name = value`, names padded to
/// one width; every output here is one line).
fn output<'a>(stdout: &'a str, name: &str) -> Result<&'a str, String> {
    stdout
        .lines()
        .find_map(|l| {
            let (key, value) = l.trim().strip_prefix("+ ")?.split_once(" = ")?;
            (key.trim_end() == name).then_some(value.trim())
        })
        .ok_or_else(|| format!("no output {name:?} in the plan:\n{stdout}"))
}

/// Fails unless two plans printed the same `names` outputs.
fn same(a: &Run, b: &Run, names: &[&str], what: &str) -> Result<(), String> {
    for name in names {
        let (x, y) = (output(&a.stdout, name)?, output(&b.stdout, name)?);
        if x != y {
            return Err(format!("{what}: {name} differs: {x} against {y}"));
        }
    }
    Ok(())
}

/// The medians of a side's runs: wall, Terraform CPU, provider CPU, Terraform and provider
/// peak RSS (MiB), requests.
struct Side {
    wall: f64,
    tf_cpu: f64,
    pv_cpu: f64,
    tf_rss: f64,
    pv_rss: f64,
    requests: usize,
}

fn side(runs: &[Run]) -> Side {
    let m = |f: &dyn Fn(&Run) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
    Side {
        wall: m(&|r| r.wall),
        tf_cpu: m(&|r| r.terraform.cpu_seconds),
        pv_cpu: m(&|r| r.provider_cpu),
        tf_rss: measure::mib(m(&|r| r.terraform.max_rss_kib)),
        pv_rss: measure::mib(m(&|r| r.provider_rss_kib)),
        requests: runs.iter().map(|r| r.requests).max().unwrap_or(0),
    }
}

pub fn run(
    report: &mut Report,
    tf_bin: &Path,
    provider: &Path,
    emulator_bin: &Path,
    (secrets, tasks): (usize, usize),
    runs: usize,
    work: &Path,
) -> Result<(), String> {
    let log = work.join("emulator.log");
    let emulator = Emulator::start_logged(
        emulator_bin,
        tasks,
        &["--secrets", &secrets.to_string()],
        &log,
    )?;
    let as_of = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .map_err(|e| e.to_string())?
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| e.to_string())?;
    let wrap_dir = work.join("wrapped-provider");
    std::fs::create_dir_all(&wrap_dir).map_err(|e| e.to_string())?;
    let bench = std::env::current_exe().map_err(|e| e.to_string())?;
    wrapper(&wrap_dir, &bench, provider)?;
    let tf = Terraform::new(tf_bin, &wrap_dir, work)?;
    let config = |name: &str, body: &str| {
        let body = body.replace("AS_OF", &as_of).replace("VERDICTS", VERDICTS);
        tf.dir(name, &format!("{PROVIDER}{body}"))
    };
    let ours_dir = config("rotations", OURS)?;
    let join_dir = config("join", JOIN)?;
    let ours_check = config("rotations-check", &format!("{OURS}{OURS_CHECK}"))?;
    let join_check = config("join-check", &format!("{JOIN}{JOIN_CHECK}"))?;
    let mut planner = Planner {
        tf,
        emulator: &emulator,
        log,
        work: work.into(),
        runs: 0,
    };

    // Untimed, and a warm-up: both sides judge every secret alike, or there is nothing to compare.
    let checked = planner.plan(&ours_check)?;
    same(
        &checked,
        &planner.plan(&join_check)?,
        &["total", "counts", "verdicts_sha256"],
        "the join's verdicts",
    )?;
    let (mut ours, mut join) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_ours in order {
            if is_ours {
                ours.push(planner.plan(&ours_dir)?);
            } else {
                join.push(planner.plan(&join_dir)?);
            }
        }
        same(&ours[i], &join[i], &["counts"], "the join's counts")?;
    }

    let names = output(&checked.stdout, "examples")?
        .trim_matches('"')
        .to_string();
    let list: Vec<String> = names.split(',').map(|n| format!("{n:?}")).collect();
    let three_dir = planner.tf.dir(
        "three",
        &format!(
            "{PROVIDER}{}",
            THREE
                .replace("AS_OF", &as_of)
                .replace("NAMES", &format!("[{}]", list.join(", ")))
        ),
    )?;
    let mut three = Vec::new();
    for _ in 0..runs {
        let run = planner.plan(&three_dir)?;
        let verdicts = output(&run.stdout, "verdicts")?;
        // Sorted by name, the names were FAILED, OVERDUE and HEALTHY in that order.
        let mut expected: Vec<(&str, &str)> = names
            .split(',')
            .zip(["FAILED", "OVERDUE", "HEALTHY"])
            .collect();
        expected.sort();
        let expected: Vec<&str> = expected.iter().map(|(_, v)| *v).collect();
        if verdicts.trim_matches('"') != expected.join(",") {
            return Err(format!(
                "the 3-name check judged {names} {verdicts}, the full check {expected:?}"
            ));
        }
        three.push(run);
    }

    let (a, b, c) = (side(&ours), side(&join), side(&three));
    let judged = output(&checked.stdout, "total")?.to_string();
    let mut table = Table::new(&[
        "side",
        "plan wall",
        "Terraform CPU",
        "provider CPU (all its processes)",
        "Terraform peak RSS",
        "provider peak RSS",
        "requests",
    ]);
    let row = |label: String, s: &Side| {
        vec![
            label,
            report::ms(s.wall),
            report::ms(s.tf_cpu),
            report::ms(s.pv_cpu),
            report::mib(s.tf_rss),
            report::mib(s.pv_rss),
            s.requests.to_string(),
        ]
    };
    table.row(row(
        format!("`csms_secret_rotations`, every rotating secret ({judged})"),
        &a,
    ));
    table.row(row(
        "HCL join: `csms_secrets` + `csms_rotation_tasks` + for-expressions".into(),
        &b,
    ));
    table.row(vec![
        "ratio data source / join".into(),
        report::ratio(a.wall / b.wall),
        report::ratio(a.tf_cpu / b.tf_cpu),
        report::ratio(a.pv_cpu / b.pv_cpu),
        report::ratio(a.tf_rss / b.tf_rss),
        report::ratio(a.pv_rss / b.pv_rss),
        String::new(),
    ]);
    table.row(row("`csms_secret_rotations`, 3 `secret_names`".into(), &c));
    let ratios = [
        (
            "Terraform peak RSS",
            a.tf_rss,
            b.tf_rss,
            report::mib as fn(f64) -> String,
            0.25,
        ),
        ("plan wall", a.wall, b.wall, report::ms, 0.5),
    ];
    for (what, ours, join, show, goal) in ratios {
        report.target(
            &format!("{secrets} secrets, {tasks} tasks: {what}, data source / join"),
            format!(
                "{} ({} / {})",
                report::ratio(ours / join),
                show(ours),
                show(join)
            ),
            &format!("<= {goal}"),
            ours / join <= goal,
        );
    }
    report.target(
        "provider peak RSS judging every rotating secret",
        report::mib(a.pv_rss),
        "<= 80 MiB",
        a.pv_rss <= 80.0,
    );
    report.target(
        &format!("3-name check on {tasks} tasks: requests"),
        format!("{} (plan wall {})", c.requests, report::ms(c.wall)),
        "<= 10",
        c.requests <= 10,
    );
    report.section(
        &format!("7. Rotation coverage: {secrets} secrets, {tasks} tasks"),
        &format!(
            "`terraform plan` judging every rotating secret at one `as_of`, {runs} runs of each \
             side alternated (A B B A), medians: `csms_secret_rotations` against the HCL join a \
             user would otherwise write (`csms_secrets` and `csms_rotation_tasks` with every task, \
             the newest success per secret grouped out of `tasks`, the newest task from `latest`, \
             due times with `timecmp` and `timeadd`; `benches/side_by_side/coverage.rs`). An untimed \
             plan of each side first asserts that both give every secret the same verdict (a \
             SHA-256 of the name-to-verdict map, output only there: those for-expressions over \
             every secret would weigh on Terraform's memory); every timed run outputs and \
             compares only the counts. The last row judges 3 `secret_names` \
             (a FAILED, an OVERDUE and a HEALTHY secret of the full check, asserted to get the \
             same verdicts). Usage as in section 4 (wrapped Terraform and provider, `wait4`); \
             requests are the ListSecrets and ListSecretTask requests the emulator logged \
             during the plan (the largest over the runs)."
        ),
        table,
    );
    Ok(())
}
