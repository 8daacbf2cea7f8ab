//! Section 1: start-up to the handshake line, ours against a Go plugin-framework provider.
//!
//! Terraform starts a provider 3 to 4 times per command, so exec-to-handshake is paid on every
//! plan. Each launch gets Terraform's environment (cookie, protocol versions, port range, a
//! P-521 client certificate, so both build their mTLS server configuration) and nothing of the
//! user's; the clock stops when the handshake line arrives on stdout, and VmRSS is read at that
//! moment, before the process is killed. Launches alternate A B B A so that drift in the
//! machine's load hits both sides alike.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::measure::{self, median, TIMEOUT};
use crate::plugin::{ClientCert, COOKIE};
use crate::report::{self, Report, Table};

/// One launch: seconds to the handshake line, and RSS and its anonymous (private, not file
/// backed) part then, in KiB.
struct Launch {
    seconds: f64,
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
    let rss = measure::status_kib(child.id(), "VmRSS");
    let anon = measure::status_kib(child.id(), "RssAnon");
    measure::kill(&mut child);
    match (line, rss, anon) {
        (Some((line, at)), Some(rss), Some(anon)) if line.starts_with("1|") => Ok(Launch {
            seconds: at.duration_since(start).as_secs_f64(),
            rss_kib: rss as f64,
            anon_kib: anon as f64,
        }),
        (line, _, _) => Err(format!("{}: no handshake line ({line:?})", bin.display())),
    }
}

pub fn run(report: &mut Report, ours: &Path, go: &Path, runs: usize) -> Result<(), String> {
    let cert = ClientCert::generate();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let bins = [ours, go];
    // Warm the page cache and the dynamic loader for both.
    for bin in bins {
        launch(bin, &cert.pem, tmp.path())?;
    }
    let mut samples: [Vec<Launch>; 2] = [Vec::new(), Vec::new()];
    for i in 0..runs {
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            samples[side].push(launch(bins[side], &cert.pem, tmp.path())?);
        }
    }
    let time = |side: usize| median(&samples[side].iter().map(|l| l.seconds).collect::<Vec<_>>());
    let mib = |side: usize, kib: fn(&Launch) -> f64| {
        measure::mib(median(&samples[side].iter().map(kib).collect::<Vec<_>>()))
    };
    let (t_ours, t_go) = (time(0), time(1));
    let (rss_ours, rss_go) = (mib(0, |l| l.rss_kib), mib(1, |l| l.rss_kib));
    let (anon_ours, anon_go) = (mib(0, |l| l.anon_kib), mib(1, |l| l.anon_kib));

    let mut table = Table::new(&[
        "provider",
        "exec to handshake (median)",
        "RSS at handshake",
        "of which anonymous (private)",
    ]);
    table.row(vec![
        "terraform-provider-csms (Rust)".into(),
        report::ms(t_ours),
        report::mib(rss_ours),
        report::mib(anon_ours),
    ]);
    table.row(vec![
        "terraform-provider-workato 0.16.0 (Go, plugin framework)".into(),
        report::ms(t_go),
        report::mib(rss_go),
        report::mib(anon_go),
    ]);
    table.row(vec![
        "ratio Go / ours".into(),
        report::ratio(t_go / t_ours),
        report::ratio(rss_go / rss_ours),
        report::ratio(anon_go / anon_ours),
    ]);
    report.section(
        "1. Start-up to the handshake line",
        &format!(
            "{runs} launches of each, alternated (A B B A), as Terraform starts a provider: \
             magic cookie, `PLUGIN_PROTOCOL_VERSIONS=5,6`, port range and a P-521 client \
             certificate in `PLUGIN_CLIENT_CERT`, no other environment. The clock runs from \
             spawn to the handshake line on stdout; VmRSS and RssAnon are read from /proc at that \
             moment (the rest of RSS is clean file pages: the binary and its libraries)."
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
