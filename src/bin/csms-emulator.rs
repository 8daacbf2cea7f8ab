//! `csms-emulator`: a local CSMS for demos, tests and offline checks. See `--help`; the server
//! itself is [`csms_provider::emulator`].

use std::io::Write;
use std::process::ExitCode;

use csms_provider::emulator::{self, cli};

/// One thread: tokio's multi-thread scheduler, once enabled for any binary of the package, is
/// linked into the provider too (every spawn dispatches over both schedulers) and brings libm
/// with it, 0.3-0.5 MiB of the provider's memory at every launch. The emulator serves a provider
/// or two at a time, which one thread keeps up with.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let (listen, config) = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(cli::Command::Run { listen, config }) => (listen, config),
        Err(e) => {
            eprintln!("csms-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("csms-emulator: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    // Handlers are installed before the line is printed, so a signal sent on seeing it counts.
    let shutdown = shutdown_signal();
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    match emulator::run(listener, *config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("csms-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C or (on Unix) SIGTERM, listening from the moment this is called.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
