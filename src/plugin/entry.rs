//! The plugin binary's entry point on GNU/Linux, where `main.rs` is `#![no_main]`.
//!
//! Before `main`, std's runtime start-up locates the main thread's stack guard (for its "has
//! overflowed its stack" message) with glibc's `pthread_getattr_np`, which reads and parses
//! `/proc/self/maps`: ~4 % of the CPU of a launch to the handshake line and ~0.25 MiB of its
//! RSS (libc's scanf), paid by each of the 3 or 4 launches of every Terraform command
//! (issue 22). The plugin skips that start-up and does here the rest of what it did: SIGPIPE is
//! ignored (a write to a pipe or socket whose reader is gone is an error, not death), and a
//! standard descriptor that is closed is opened on `/dev/null` (so that the listening socket
//! can never become stdout and receive the handshake line). What is lost: a stack overflow on
//! the main thread ends in a plain SIGSEGV, without std's message, and panic messages name the
//! main thread `<unnamed>`. `std::env::args` still works: glibc hands std the arguments
//! through `.init_array`.

use std::ffi::c_int;
use std::process::ExitCode;

use super::Provider;

/// Runs `provider` as [`super::serve`] does and returns the exit status for C's `main`.
pub fn main<P: Provider>(provider: P) -> c_int {
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions; no other thread
    // exists yet.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    for fd in 0..=2 {
        // SAFETY: F_GETFD only asks whether `fd` is open.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        // SAFETY: open with a constant path; it takes the lowest free descriptor, `fd`.
        if closed && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } != fd {
            std::process::abort();
        }
    }
    if super::serve(provider) == ExitCode::SUCCESS {
        libc::EXIT_SUCCESS
    } else {
        libc::EXIT_FAILURE
    }
}
