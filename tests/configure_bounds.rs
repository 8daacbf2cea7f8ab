//! A configuration that cannot hang (issue 21, item 1): a credential source that never answers
//! is bounded by `configure_timeout`, ended by Ctrl-C (StopProvider) and by SIGTERM, and the
//! provider does not outlive a Terraform that was killed. The blocking sources are real: a named
//! pipe without a writer, and an IAM endpoint on 127.0.0.1 that accepts and never answers.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::terraform::{Run, Workdir, AK, SK, TERRAFORM_BLOCK};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Generous bound on every wait here: the behaviour under test takes seconds.
const LIMIT: Duration = Duration::from_secs(60);

/// An endpoint that accepts connections, holds them open and never answers; it says when the
/// first connection arrived, so a test knows the provider is blocked on it.
struct Silent {
    addr: SocketAddr,
    accepted: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    async fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(Notify::new());
        let notify = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
                notify.notify_one();
            }
        });
        Silent {
            addr,
            accepted,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn wait_for_a_connection(&self) {
        tokio::time::timeout(LIMIT, self.accepted.notified())
            .await
            .expect("the provider connects to the silent endpoint");
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A provider block whose agency exchange goes to `iam`, plus `extra` arguments, and one data
/// source, so that `plan` configures the provider.
fn agency_through(iam: &str, extra: &str) -> Workdir {
    let main = format!(
        r#"{TERRAFORM_BLOCK}
provider "csms" {{
  region       = "cn-north-4"
  project_id   = "0123456789abcdef0123456789abcdef"
  endpoint     = "http://127.0.0.1:9"
  iam_endpoint = "{iam}"
  assume_role {{
    agency_name = "audit"
    domain_name = "other-account"
  }}
  {extra}
}}
data "csms_rotation_tasks" "all" {{}}
"#
    );
    Workdir::new(&[("main.tf", &main)])
        .env("HW_ACCESS_KEY", AK)
        .env("HW_SECRET_KEY", SK)
}

const PLAN: &[&str] = &["plan", "-input=false", "-no-color"];

/// A `plan` whose configuration waits on a silent IAM, returned once the provider is waiting:
/// the endpoint and the directory (both must outlive the run) and the running Terraform.
async fn blocked_plan() -> (Silent, Workdir, tokio::process::Child) {
    let iam = Silent::start().await;
    let workdir = agency_through(&iam.url(), "");
    let terraform = workdir.spawn(PLAN);
    iam.wait_for_a_connection().await;
    (iam, workdir, terraform)
}

#[tokio::test]
async fn a_named_pipe_as_shared_config_file_fails_at_once_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("config.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let main = format!(
        r#"{TERRAFORM_BLOCK}
provider "csms" {{
  region             = "cn-north-4"
  shared_config_file = "{}"
}}
data "csms_rotation_tasks" "all" {{}}
"#,
        fifo.display()
    );
    Workdir::new(&[("main.tf", &main)])
        .run_within(PLAN, &[], LIMIT)
        .await
        .assert_error(&[
            "Cannot use the shared configuration file",
            &format!(
                "Cannot read the shared configuration file {}: it is a named pipe (FIFO), not a \
                 regular file.",
                fifo.display()
            ),
        ]);
}

#[tokio::test]
async fn configure_timeout_bounds_a_source_that_never_answers() {
    let iam = Silent::start().await;
    agency_through(&iam.url(), r#"configure_timeout = "2s""#)
        .run_within(PLAN, &[], LIMIT)
        .await
        .assert_error(&[
            "Credentials not found in time",
            &format!(
                "Finding credentials did not finish within 2s: the provider was still assuming \
                 agency \"audit\" of domain \"other-account\" through IAM at {}",
                iam.url()
            ),
            "raise configure_timeout (HW_CONFIGURE_TIMEOUT)",
        ]);
}

#[tokio::test]
async fn configure_timeout_is_checked() {
    let run = agency_through("http://127.0.0.1:9", r#"configure_timeout = "soon""#)
        .run_within(&["validate", "-no-color"], &[], LIMIT)
        .await;
    run.assert_error(&["Invalid configure_timeout", "\"soon\" is not a duration"]);
}

/// Ctrl-C reaches Terraform, which sends StopProvider: the configuration waiting on IAM ends and
/// the plan with it, long before IAM's own 30 s timeout or the 1 minute configure bound.
#[tokio::test]
async fn ctrl_c_ends_a_blocked_configuration() {
    let (_iam, _workdir, terraform) = blocked_plan().await;
    signal(terraform.id().unwrap(), libc::SIGINT);
    let run: Run = tokio::time::timeout(LIMIT, terraform.wait_with_output())
        .await
        .expect("the plan ends after Ctrl-C")
        .unwrap()
        .into();
    run.assert_error(&[
        "Configuration cancelled",
        "Finding credentials was cancelled, as Terraform asked the provider to stop, while the \
         provider was assuming agency \"audit\"",
    ]);
}

/// SIGTERM ends the provider process even while a configuration is blocked, and ends that
/// configuration first rather than leaving Terraform waiting for an answer.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn sigterm_ends_the_provider_during_a_blocked_configuration() {
    let (_iam, _workdir, terraform) = blocked_plan().await;
    let provider = descendant_named(terraform.id().unwrap(), "terraform-provider-csms")
        .expect("the provider runs under Terraform");
    let exited = Pidfd::open(provider);
    signal(provider, libc::SIGTERM);
    tokio::time::timeout(LIMIT, exited.wait())
        .await
        .expect("the provider exits on SIGTERM");
    let run: Run = tokio::time::timeout(LIMIT, terraform.wait_with_output())
        .await
        .expect("the plan ends with its provider")
        .unwrap()
        .into();
    // The configuration was cancelled, not cut off: Terraform still got its answer.
    run.assert_error(&["Configuration cancelled"]);
}

/// A Terraform killed outright (SIGKILL: no StopProvider, no Shutdown) leaves its provider
/// orphaned in the middle of a configuration; the provider notices and exits.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_provider_exits_when_terraform_is_killed() {
    let (_iam, _workdir, mut terraform) = blocked_plan().await;
    let provider = descendant_named(terraform.id().unwrap(), "terraform-provider-csms")
        .expect("the provider runs under Terraform");
    let exited = Pidfd::open(provider);
    terraform.kill().await.unwrap();
    tokio::time::timeout(LIMIT, exited.wait())
        .await
        .expect("the orphaned provider exits");
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill only sends a signal to a process this test started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
}

/// The process below `root` whose executable is `name` (`/proc`'s parent links).
#[cfg(target_os = "linux")]
fn descendant_named(root: u32, name: &str) -> Option<u32> {
    let mut parents = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces, so split after its last ')'.
        let ppid = stat
            .rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parents.insert(pid, ppid);
        }
    }
    parents.keys().copied().find(|&pid| {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        let mut up = pid;
        let below = std::iter::from_fn(|| {
            up = *parents.get(&up)?;
            Some(up)
        })
        .take(64)
        .any(|p| p == root);
        below && exe.file_name().is_some_and(|n| n == name)
    })
}

/// A process watched through a pidfd: readable once the process has exited, whoever its
/// parent is by then.
#[cfg(target_os = "linux")]
struct Pidfd(tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>);

#[cfg(target_os = "linux")]
impl Pidfd {
    fn open(pid: u32) -> Pidfd {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
        // SAFETY: the descriptor was just created and is owned here alone; the AsyncFd owns it
        // from now on and closes it when dropped.
        let registered = unsafe {
            let owned = std::os::fd::OwnedFd::from_raw_fd(fd as i32);
            tokio::io::unix::AsyncFd::register(owned)
        };
        Pidfd(registered.map_err(|e| e.to_string()).unwrap())
    }

    async fn wait(&self) {
        let _ = self.0.readable().await.unwrap();
    }
}
