//! Section 1: start-up to the handshake line, ours against a Go plugin-framework provider.
//!
//! Terraform starts a provider 3 to 4 times per command, so exec-to-handshake is paid on every
//! plan. Each launch gets Terraform's environment (cookie, protocol versions, port range, a
//! P-521 client certificate, so both build their mTLS server configuration) and nothing of the
//! user's; the clock stops when the handshake line arrives on stdout, and VmRSS is read at that
//! moment, before the process is killed, as is the CPU time it used so far (all its threads).
//! Launches alternate A B B A so that drift in the machine's load hits every side alike; the
//! previous commit's build, when given, runs as a third side.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::measure::{self, median, TIMEOUT};
use crate::plugin::{ClientCert, COOKIE};
use crate::report::{self, Report, Table};

/// One launch: seconds to the handshake line, the CPU seconds used by then, and RSS and its
/// anonymous (private, not file backed) part then, in KiB.
struct Launch {
    seconds: f64,
    cpu_seconds: f64,
    rss_kib: f64,
    anon_kib: f64,
}

fn launch(bin: &Path, cert_pem: &str, tmp: &Path) -> Result<Launch, String> {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TMPDIR", tmp)
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", cert_pem)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start {}: {e}", bin.display()))?;
    let line = measure::first_line(child.stdout.take().unwrap(), TIMEOUT);
    let cpu_seconds = measure::cpu_seconds(child.id());
    let rss = measure::status_kib(child.id(), "VmRSS");
    let anon = measure::status_kib(child.id(), "RssAnon");
    measure::kill(&mut child);
    match (line, rss, anon) {
        (Some((line, at)), Some(rss), Some(anon)) if line.starts_with("1|") => Ok(Launch {
            seconds: at.duration_since(start).as_secs_f64(),
            cpu_seconds,
            rss_kib: rss as f64,
            anon_kib: anon as f64,
        }),
        (line, _, _) => Err(format!("{}: no handshake line ({line:?})", bin.display())),
    }
}

pub fn run(
    report: &mut Report,
    builds: &[(&str, PathBuf)],
    go: &Path,
    runs: usize,
) -> Result<(), String> {
    let cert = ClientCert::generate();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut sides: Vec<(String, &Path)> = builds
        .iter()
        .map(|(label, bin)| {
            (
                format!("terraform-provider-csms (Rust, {label})"),
                bin.as_path(),
            )
        })
        .collect();
    sides.push((
        "terraform-provider-workato 0.16.0 (Go, plugin framework)".into(),
        go,
    ));
    // Warm the page cache and the dynamic loader for every side.
    for (_, bin) in &sides {
        launch(bin, &cert.pem, tmp.path())?;
    }
    let mut samples: Vec<Vec<Launch>> = sides.iter().map(|_| Vec::new()).collect();
    for i in 0..runs {
        let mut order: Vec<usize> = (0..sides.len()).collect();
        if i % 2 == 1 {
            order.reverse();
        }
        for side in order {
            samples[side].push(launch(sides[side].1, &cert.pem, tmp.path())?);
        }
    }
    let med = |side: usize, f: fn(&Launch) -> f64| {
        median(&samples[side].iter().map(f).collect::<Vec<_>>())
    };
    let go_side = sides.len() - 1;
    let (t_ours, t_go) = (med(0, |l| l.seconds), med(go_side, |l| l.seconds));
    let rss_ours = measure::mib(med(0, |l| l.rss_kib));

    let mut table = Table::new(&[
        "provider",
        "exec to handshake (median)",
        "CPU to the handshake",
        "RSS at handshake",
        "of which anonymous (private)",
    ]);
    for (side, (label, _)) in sides.iter().enumerate() {
        table.row(vec![
            label.clone(),
            report::ms(med(side, |l| l.seconds)),
            report::ms(med(side, |l| l.cpu_seconds)),
            report::mib(measure::mib(med(side, |l| l.rss_kib))),
            report::mib(measure::mib(med(side, |l| l.anon_kib))),
        ]);
    }
    table.row(vec![
        "ratio Go / this build".into(),
        report::ratio(t_go / t_ours),
        report::ratio(med(go_side, |l| l.cpu_seconds) / med(0, |l| l.cpu_seconds)),
        report::ratio(med(go_side, |l| l.rss_kib) / med(0, |l| l.rss_kib)),
        report::ratio(med(go_side, |l| l.anon_kib) / med(0, |l| l.anon_kib)),
    ]);
    report.section(
        "1. Start-up to the handshake line",
        &format!(
            "{runs} launches of each, alternated (A B B A), as Terraform starts a provider: \
             magic cookie, `PLUGIN_PROTOCOL_VERSIONS=5,6`, port range and a P-521 client \
             certificate in `PLUGIN_CLIENT_CERT`, no other environment. The clock runs from \
             spawn to the handshake line on stdout; the CPU time (the process CPU clock, all \
             threads), VmRSS and RssAnon are read from /proc at that \
             moment (the rest of RSS is clean file pages: the binary and its libraries). The \
             provider's CPU per plan is in section 6."
        ),
        table,
    );
    report.target(
        "start-up: Go provider time / ours",
        report::ratio(t_go / t_ours),
        ">= 10x",
        t_go / t_ours >= 10.0,
    );
    report.target(
        "start-up: RSS at handshake",
        report::mib(rss_ours),
        "<= 6 MiB",
        rss_ours <= 6.0,
    );
    Ok(())
}
