//! What every section needs: medians, `/proc` memory figures, a bounded line read from a child,
//! and the emulator as a separate release process (so that it never shares the harness's
//! threads and costs every client the same).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
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

/// CPU time a process has used so far, all its threads (those that ended too), in seconds:
/// its POSIX process CPU clock, nanosecond resolution. 0 when the process is gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    let mut clock: libc::clockid_t = 0;
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: both calls only write to the out-parameter they are given, which lives on this
    // stack frame; an unknown pid makes them fail, and then nothing is read.
    let read = unsafe {
        libc::clock_getcpuclockid(pid as libc::pid_t, &mut clock) == 0
            && libc::clock_gettime(clock, &mut now) == 0
    };
    if read {
        now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
    } else {
        0.0
    }
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

/// CPU time and peak RSS of a reaped child, as the kernel counts them: the child's own plus
/// those of its descendants it reaped (Terraform reaps the providers it starts).
#[derive(Clone, Copy)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub max_rss_kib: f64,
}

/// Waits for `child` within [`TIMEOUT`] (killing it after that) and returns its exit status and
/// usage, from `wait4` (microsecond CPU times; GNU time prints only hundredths).
pub fn wait_with_usage(child: &mut Child) -> Result<(ExitStatus, Usage), String> {
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut status = 0;
        // SAFETY: `rusage` is plain old data, valid when zeroed; `wait4` only writes to the two
        // out-parameters, and `pid` is our own unreaped child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            let usage = Usage {
                cpu_seconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
                max_rss_kib: usage.ru_maxrss as f64,
            };
            return Ok((ExitStatus::from_raw(status), usage));
        }
        if reaped < 0 {
            return Err(format!("wait4: {}", std::io::Error::last_os_error()));
        }
        if Instant::now() > deadline {
            kill(child);
            return Err(format!("process {pid} did not finish within {TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs a command to completion within [`TIMEOUT`]: its status, stdout and stderr.
pub fn run(cmd: &mut Command) -> Result<(ExitStatus, String, String), String> {
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
    let (status, _) = wait_with_usage(&mut child)?;
    Ok((status, out.join().unwrap(), err.join().unwrap()))
}

/// Section 4's wrapper (`side_by_side --wrap FILE PROGRAM ARGS...`): runs PROGRAM with this
/// process's stdin, stdout and stderr, appends `<cpu seconds> <peak RSS KiB>` to FILE when it
/// exits, and exits with its code. A small process of its own, because Linux starts a child's
/// peak RSS at its parent's (the harness holds large responses by then).
pub fn wrap(mut args: impl Iterator<Item = String>) -> Result<i32, String> {
    let (Some(file), Some(program)) = (args.next(), args.next()) else {
        return Err("--wrap FILE PROGRAM [ARGS...]".into());
    };
    let mut child = Command::new(&program)
        .args(args)
        .spawn()
        .map_err(|e| format!("start {program}: {e}"))?;
    let (status, usage) = wait_with_usage(&mut child)?;
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .map_err(|e| format!("{file}: {e}"))?;
    writeln!(out, "{} {}", usage.cpu_seconds, usage.max_rss_kib).map_err(|e| e.to_string())?;
    Ok(status.code().unwrap_or(1))
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
        Emulator::start_with(bin, tasks, &[])
    }

    /// An emulator of `tasks` generated tasks with more flags (faults, the wire, the span).
    pub fn start_with(bin: &Path, tasks: usize, extra: &[&str]) -> Result<Emulator, String> {
        Emulator::spawn(bin, tasks, extra, Stdio::null())
    }

    /// [`Emulator::start_with`], its log (one line per request) written to `log`.
    pub fn start_logged(
        bin: &Path,
        tasks: usize,
        extra: &[&str],
        log: &Path,
    ) -> Result<Emulator, String> {
        let file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        Emulator::spawn(bin, tasks, extra, file.into())
    }

    fn spawn(bin: &Path, tasks: usize, extra: &[&str], log: Stdio) -> Result<Emulator, String> {
        let mut child = Command::new(bin)
            .args(["--generate", &tasks.to_string(), "--seed", "5"])
            .args(extra)
            .args(["--project-id", PROJECT_ID, "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("start {}: {e}", bin.display()))?;
        let line = first_line(child.stdout.take().unwrap(), TIMEOUT);
        let Some(url) = line
            .as_ref()
            .and_then(|(l, _)| l.trim().strip_prefix("listening on "))
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

    /// CPU seconds the emulator has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.child.id())
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
