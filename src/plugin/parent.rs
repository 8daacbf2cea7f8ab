//! Ending with Terraform. go-plugin hosts kill their plugins when they exit normally, but a
//! Terraform that is itself killed (SIGKILL, an OOM kill, a CI runner's timeout) leaves its
//! plugins behind, orphaned, perhaps stuck in a request nobody will ever read. The plugin
//! therefore watches its parent and shuts down once it is gone.
//!
//! Linux's `PR_SET_PDEATHSIG` would signal us, but it fires when the *thread* that started us
//! exits, and Go starts plugins from whichever runtime thread runs the goroutine; so the parent
//! process id is polled instead: a plugin whose parent died is adopted by another process (init
//! or a subreaper), and `getppid` changes.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::info;

/// How often the parent is checked: an orphan lingers at most this long, for one cheap system
/// call per interval.
const POLL: Duration = Duration::from_millis(500);

/// Cancels `shutdown` when the process that started this one has exited.
#[cfg(unix)]
pub(super) fn watch(shutdown: CancellationToken) {
    // SAFETY: getppid has no preconditions and cannot fail.
    let parent = unsafe { libc::getppid() };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            // SAFETY: as above.
            if unsafe { libc::getppid() } != parent {
                info!(
                    parent,
                    "The process that started this plugin is gone; shutting down"
                );
                shutdown.cancel();
                return;
            }
        }
    });
}

/// Without `getppid`, the plugin relies on its host to end it.
#[cfg(not(unix))]
pub(super) fn watch(_: CancellationToken) {}
