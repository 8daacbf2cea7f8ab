//! Side-by-side benchmarks (issue 5): start-up against a Go provider, the provider's share of a
//! plan, paging throughput against a raw HTTP floor and the official Python SDK, Terraform end
//! to end, and the provider's CPU per plan against the previous commit's build (issue 22). Every comparison alternates its sides within one run so that the ratios hold on
//! a shared, noisy machine; the report is Markdown, printed and written to `--out`.
//!
//! Run it through `./scripts/bench`, which builds the release binaries and fetches the Go
//! provider and Terraform first. Benchmarks are not tests: missing a target is reported, it is
//! never a failure. Everything talks to 127.0.0.1 only.
//!
//! Arguments (after `cargo bench --bench side_by_side --`):
//! - `--quick`: few runs and 10,000 tasks, to check the tooling (numbers are not meaningful);
//! - `--only startup,plan,paging,e2e,wan,cpu,coverage`: a subset of the sections;
//! - `--out FILE`: also write the report there;
//! - `--wrap FILE PROGRAM ARGS...`: not for people: section 4 runs Terraform and the provider
//!   through this mode to record their CPU time and peak RSS.
//!
//! Inputs from the environment: `CSMS_PROVIDER_BIN` (the release provider), `CSMS_BENCH_EMULATOR`
//! (default: `csms-emulator` beside it), `CSMS_BENCH_GO_PROVIDER`, `CSMS_BENCH_TERRAFORM` and
//! `CSMS_BENCH_PYTHON` (defaults: `.venv/bin/terraform` and `.venv/bin/python`), and
//! `CSMS_BENCH_BASE_PROVIDER` (the previous commit's release provider, for sections 1 and 6;
//! without it they measure this build alone).

mod coverage;
mod cpu;
mod measure;
#[path = "../../tests/common/msgpack.rs"]
mod msgpack;
mod paging;
#[allow(dead_code)] // shared with the protocol tests; the benchmarks use part of it
#[path = "../../tests/common/plugin.rs"]
mod plugin;
mod report;
mod startup;
mod terraform;
mod wan;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use measure::Emulator;
use report::Report;

/// How many runs each section makes.
struct Plan {
    /// Section 7: (secrets, tasks) of the account, and runs of each side.
    coverage: ((usize, usize), usize),
    startup_runs: usize,
    plan_pairs: usize,
    paging_tasks: usize,
    paging_runs: usize,
    sdk_runs: usize,
    e2e_tasks: &'static [usize],
    e2e_runs: usize,
    wan_tasks: usize,
    wan_runs: usize,
    cpu_pairs: usize,
}

const FULL: Plan = Plan {
    coverage: ((10_000, 100_000), 3),
    startup_runs: 40,
    plan_pairs: 12,
    paging_tasks: 100_000,
    paging_runs: 7,
    sdk_runs: 3,
    e2e_tasks: &[100, 10_000, 100_000],
    e2e_runs: 3,
    wan_tasks: 20_000,
    wan_runs: 3,
    cpu_pairs: 15,
};

const QUICK: Plan = Plan {
    coverage: ((1_000, 10_000), 1),
    startup_runs: 5,
    plan_pairs: 2,
    paging_tasks: 10_000,
    paging_runs: 2,
    sdk_runs: 1,
    e2e_tasks: &[100, 10_000],
    e2e_runs: 1,
    wan_tasks: 2_000,
    wan_runs: 1,
    cpu_pairs: 2,
};

const SECTIONS: [&str; 7] = ["startup", "plan", "paging", "e2e", "wan", "cpu", "coverage"];

struct Args {
    /// `cargo bench` passes `--bench`; `cargo test --benches` (or `--all-targets`) does not,
    /// and then nothing runs: benchmarks are not tests.
    bench: bool,
    quick: bool,
    only: Vec<String>,
    out: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        bench: false,
        quick: false,
        only: SECTIONS.iter().map(|s| s.to_string()).collect(),
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bench" => args.bench = true,
            "--quick" => args.quick = true,
            "--only" => {
                let list = it.next().ok_or("--only needs a list")?;
                args.only = list.split(',').map(str::to_string).collect();
                if let Some(bad) = args.only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                    return Err(format!("--only: unknown section {bad:?} (of {SECTIONS:?})"));
                }
            }
            "--out" => args.out = Some(it.next().ok_or("--out needs a file")?.into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn env_path(name: &str, default: impl FnOnce() -> PathBuf) -> PathBuf {
    std::env::var_os(name).map_or_else(default, PathBuf::from)
}

fn existing(what: &str, path: PathBuf) -> Result<PathBuf, String> {
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{what} not found at {} (run ./scripts/bench)",
            path.display()
        ))
    }
}

/// One line of a command's output, or "?" (for the machine description only).
fn command_line(program: &Path, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn machine(terraform: &Path) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim())
        })
        .unwrap_or("?");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!(
        "- date: {date}\n- CPU: {cpu}, {cores} cores (nproc)\n- kernel: {}\n- {}\n- {}\n\
         - load average when the run started: {}\n",
        command_line(Path::new("uname"), &["-r"]),
        command_line(Path::new("rustc"), &["--version"]),
        command_line(terraform, &["version"]),
        load_average(),
    )
}

/// The 1, 5 and 15 minute load averages: other work on the machine makes the numbers noisy.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The hand-written analysis appended to the report; read at run time so that it can be edited
/// without rebuilding the bench.
fn notes(root: &Path) -> String {
    std::fs::read_to_string(root.join("benches/side_by_side/notes.md"))
        .unwrap_or_else(|e| format!("(benches/side_by_side/notes.md: {e})\n"))
}

fn run(args: &Args) -> Result<String, String> {
    let plan = if args.quick { &QUICK } else { &FULL };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let provider = existing("the provider", PathBuf::from(plugin::provider_bin()))?;
    let emulator_bin = existing(
        "the emulator",
        env_path("CSMS_BENCH_EMULATOR", || {
            provider.with_file_name("csms-emulator")
        }),
    )?;
    let terraform = env_path("CSMS_BENCH_TERRAFORM", || root.join(".venv/bin/terraform"));
    let python = env_path("CSMS_BENCH_PYTHON", || root.join(".venv/bin/python"));
    let only = |s: &str| args.only.iter().any(|o| o == s);
    let builds = cpu::builds(&provider);
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut report = Report::default();
    let header = machine(&terraform);

    if only("startup") {
        eprintln!("== 1. start-up");
        let go = existing(
            "the Go provider",
            env_path("CSMS_BENCH_GO_PROVIDER", || {
                root.join("target/bench/go-provider/terraform-provider-workato")
            }),
        )?;
        startup::run(&mut report, &builds, &go, plan.startup_runs)?;
    }
    if only("plan") {
        eprintln!("== 2. plan share");
        let terraform = existing("Terraform", terraform.clone())?;
        let emulator = Emulator::start(&emulator_bin, 100)?;
        let dir = work.path().join("plan");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let provider_dir = provider.parent().ok_or("provider path")?;
        let tf = terraform::Terraform::new(&terraform, provider_dir, &dir)?;
        terraform::plan_share(&mut report, &tf, &emulator, plan.plan_pairs)?;
    }
    if only("paging") {
        eprintln!("== 3. paging");
        let python = existing("Python with huaweicloudsdkcsms", python)?;
        let emulator = Emulator::start_with(&emulator_bin, plan.paging_tasks, &["--no-gzip"])?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(paging::run(
            &mut report,
            &emulator,
            &python,
            plan.paging_runs,
            plan.sdk_runs,
        ))?;
    }
    if only("e2e") {
        eprintln!("== 4. end to end");
        let terraform = existing("Terraform", terraform.clone())?;
        // A year of history: section 4 also plans the largest set with a 30-day `since`.
        let emulators = plan
            .e2e_tasks
            .iter()
            .map(|&n| Emulator::start_with(&emulator_bin, n, &["--span-days", "365"]))
            .collect::<Result<Vec<_>, _>>()?;
        let dir = work.path().join("e2e");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        terraform::end_to_end(
            &mut report,
            &terraform,
            &provider,
            &emulators,
            plan.e2e_runs,
            &dir,
        )?;
    }

    if only("wan") {
        eprintln!("== 5. wide-area link");
        let terraform = existing("Terraform", terraform.clone())?;
        let emulator = Emulator::start_with(&emulator_bin, plan.wan_tasks, &wan::LINK)?;
        let dir = work.path().join("wan");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let provider_dir = provider.parent().ok_or("provider path")?;
        let tf = terraform::Terraform::new(&terraform, provider_dir, &dir)?;
        wan::run(&mut report, &tf, &emulator, plan.wan_runs)?;
    }

    if only("cpu") {
        eprintln!("== 6. CPU per plan");
        let terraform = existing("Terraform", terraform.clone())?;
        let emulator = Emulator::start(&emulator_bin, 100)?;
        let dir = work.path().join("cpu");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let builds: Vec<(&str, &Path)> = builds.iter().map(|(l, b)| (*l, b.as_path())).collect();
        let setup = cpu::Setup {
            builds: &builds,
            terraform: &terraform,
            emulator: &emulator,
            pairs: plan.cpu_pairs,
            work: &dir,
        };
        cpu::run(&mut report, &setup)?;
    }

    if only("coverage") {
        eprintln!("== 7. rotation coverage");
        let terraform = existing("Terraform", terraform.clone())?;
        let dir = work.path().join("coverage");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let (account, runs) = plan.coverage;
        coverage::run(
            &mut report,
            &terraform,
            &provider,
            &emulator_bin,
            account,
            runs,
            &dir,
        )?;
    }

    let mode = if args.quick {
        " --quick (tooling check; numbers not meaningful)"
    } else {
        ""
    };
    Ok(format!(
        "# Benchmarks\n\n\
         Measured side by side in one run of `./scripts/bench{mode}` (issue 5). Regenerate with \
         `./scripts/bench`; it rewrites this file. Medians; every comparison alternates its \
         sides within the run.\n\n\
         ## Machine\n\n{header}- load average when it ended: {}\n\n{}\n{}",
        load_average(),
        report.render(),
        notes(root),
    ))
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1).peekable();
    if argv.peek().map(String::as_str) == Some("--wrap") {
        argv.next();
        return match measure::wrap(argv) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(e) => {
                eprintln!("side_by_side --wrap: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let outcome = parse_args().and_then(|args| {
        if !args.bench {
            eprintln!("side_by_side: benchmarks run through ./scripts/bench, not as tests");
            return Ok(());
        }
        let text = run(&args)?;
        println!("{text}");
        if let Some(out) = &args.out {
            std::fs::write(out, &text).map_err(|e| format!("write {}: {e}", out.display()))?;
            eprintln!("wrote {}", out.display());
        }
        Ok(())
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
