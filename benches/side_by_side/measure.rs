//! What every section needs: medians, `/proc` memory figures, a bounded line read from a child,
//! and the emulator as a separate release process (so that it never shares the harness's
//! threads and costs every client the same).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Every wait on a child in the benchmarks is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Median of the samples (mean of the two middle ones for an even count).
pub fn median(samples: &[f64]) -> f64 {
    assert!(!samples.is_empty(), "median of no samples");
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// A field of `/proc/PID/status` in KiB, e.g. `VmRSS` (now) or `VmHWM` (peak so far).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

pub fn mib(kib: f64) -> f64 {
    kib / 1024.0
}

/// Reads the first line of `stdout` on a thread, giving up after `timeout`; returns the line
/// and the moment it arrived (taken on the reading thread, so the hand-over is not counted).
/// The rest of the stream is drained until it closes, so the child never blocks on a full pipe.
pub fn first_line(stdout: ChildStdout, timeout: Duration) -> Option<(String, Instant)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let ok = reader.read_line(&mut line).is_ok_and(|n| n > 0);
        let at = Instant::now();
        let _ = tx.send(ok.then_some((line, at)));
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    rx.recv_timeout(timeout).ok().flatten()
}

/// Kills and reaps a child (best effort: it may have exited already).
pub fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs a command to completion within [`TIMEOUT`], returning its status, stdout and stderr.
pub fn run(cmd: &mut Command) -> Result<(std::process::ExitStatus, String, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("start {cmd:?}: {e}"))?;
    let collect = |mut stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stream.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = collect(Box::new(child.stdout.take().unwrap()));
    let err = collect(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                kill(&mut child);
                return Err(format!("{cmd:?} did not finish within {TIMEOUT:?}"));
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    Ok((status, out.join().unwrap(), err.join().unwrap()))
}

/// The project id, AK and SK the benchmarks use. The emulator runs without signature checking
/// so that the raw loop (which does not sign) is served exactly like the signing clients.
pub const PROJECT_ID: &str = "0123456789abcdef0123456789abcdef";
pub const ACCESS_KEY: &str = "BENCHACCESSKEY000001";
pub const SECRET_KEY: &str = "bench-secret-key";

/// A `csms-emulator` process serving `tasks` generated tasks; killed on drop.
pub struct Emulator {
    child: Child,
    pub url: String,
    pub tasks: usize,
}

impl Emulator {
    pub fn start(bin: &Path, tasks: usize) -> Result<Emulator, String> {
        let mut child = Command::new(bin)
            .args(["--generate", &tasks.to_string(), "--seed", "5"])
            .args(["--project-id", PROJECT_ID, "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start {}: {e}", bin.display()))?;
        let line = first_line(child.stdout.take().unwrap(), TIMEOUT);
        let Some(url) = line.as_ref().and_then(|(l, _)| l.trim().strip_prefix("listening on "))
        else {
            kill(&mut child);
            return Err(format!("the emulator did not start: {line:?}"));
        };
        Ok(Emulator {
            url: url.to_string(),
            child,
            tasks,
        })
    }

    /// `host:port` of the emulator.
    pub fn authority(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// The provider's settings for this emulator, as Terraform passes the user's environment.
    pub fn provider_env(&self) -> [(&'static str, String); 4] {
        [
            ("HW_CSMS_ENDPOINT", self.url.clone()),
            ("HW_PROJECT_ID", PROJECT_ID.into()),
            ("HW_ACCESS_KEY", ACCESS_KEY.into()),
            ("HW_SECRET_KEY", SECRET_KEY.into()),
        ]
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}
