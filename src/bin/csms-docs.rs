//! `csms-docs`: writes the Registry pages in `docs/` from the provider's schemas and the
//! examples (`cargo run --bin csms-docs`), or with `--check` exits 1 and says what differs when
//! the committed pages are not what the code generates.
//!
//! Usage: `csms-docs [--check] [--root DIR]` (DIR defaults to the crate's directory).

use std::path::PathBuf;
use std::process::ExitCode;

use csms_provider::docs;
use csms_provider::provider::CsmsProvider;

const USAGE: &str = "usage: csms-docs [--check] [--root DIR]";

fn main() -> ExitCode {
    let mut check = false;
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--root" => match args.next() {
                Some(dir) => root = PathBuf::from(dir),
                None => return usage("--root needs a directory"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }

    let result = docs::generate(&CsmsProvider::default(), &root).and_then(|pages| {
        if check {
            docs::check(&root, &pages).map(|drift| report_drift(&drift))
        } else {
            docs::write(&root, &pages).map(|changed| report_written(&pages, &changed))
        }
    });
    result.unwrap_or_else(|e| {
        eprintln!("csms-docs: {e}");
        ExitCode::from(2)
    })
}

fn report_drift(drift: &[docs::Drift]) -> ExitCode {
    if drift.is_empty() {
        println!("docs/ is up to date");
        return ExitCode::SUCCESS;
    }
    for d in drift {
        eprintln!("{d}");
    }
    eprintln!(
        "docs/ differs from the provider schema and examples; run `{}` and commit docs/",
        docs::COMMAND
    );
    ExitCode::FAILURE
}

fn report_written(pages: &[docs::Page], changed: &[PathBuf]) -> ExitCode {
    for page in pages {
        let state = if changed.contains(&page.path) {
            "wrote"
        } else {
            "unchanged"
        };
        println!("{state} {}", page.path.display());
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("csms-docs: {problem}\n{USAGE}");
    ExitCode::from(2)
}
