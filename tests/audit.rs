//! The supply-chain check of `scripts/test` can fail: the same `cargo audit` command, against
//! the same offline advisory snapshot, is run on two one-crate lock files in `tests/data/audit/`.
//! smallvec 0.6.9 has known advisories and must fail the audit, naming them; smallvec 1.16.6 has
//! none and must pass, so the failure comes from the version and not from a broken set-up.
//!
//! `cargo-audit` comes from `CSMS_CARGO_AUDIT` (set by `scripts/test`), else the project-local
//! `.tools/bin/cargo-audit` that `scripts/test` installs; without it the test fails, never skips.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::terraform::{required_tool, run_clean, Run};

fn cargo_audit() -> PathBuf {
    required_tool(
        "CSMS_CARGO_AUDIT",
        ".tools/bin/cargo-audit",
        "cargo-audit",
        "run ./scripts/test once to install it",
    )
}

/// `cargo audit --db ../shared/advisory-db --no-fetch --stale` from the repository root, as
/// `scripts/test` runs it, on the fixture `tests/data/audit/<fixture>/Cargo.lock`.
async fn audit(fixture: &str) -> Run {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lock = root
        .join("tests/data/audit")
        .join(fixture)
        .join("Cargo.lock");
    let mut cmd = tokio::process::Command::new(cargo_audit());
    cmd.current_dir(root)
        .args([
            "audit",
            "--db",
            "../shared/advisory-db",
            "--no-fetch",
            "--stale",
        ])
        .arg("--file")
        .arg(lock);
    let home = std::env::var("HOME").unwrap_or_default();
    run_clean(cmd, &[("HOME", &home)], Duration::from_secs(120)).await
}

/// A lock file holding smallvec 0.6.9 fails the audit with each of its advisories named (three
/// vulnerabilities, and RUSTSEC-2018-0018 which the database files as "unsound", a warning).
#[tokio::test]
async fn vulnerable_lock_file_fails_the_audit() {
    let run = audit("vulnerable").await;
    // cargo-audit exits 1 on findings, and also when it cannot run: the count tells them apart.
    assert_eq!(
        run.code,
        1,
        "the audit did not fail on findings:\n{}",
        run.output()
    );
    assert!(
        run.output().contains("3 vulnerabilities found"),
        "{}",
        run.output()
    );
    for id in [
        "RUSTSEC-2018-0018",
        "RUSTSEC-2019-0009",
        "RUSTSEC-2019-0012",
        "RUSTSEC-2021-0003",
    ] {
        assert!(run.output().contains(id), "no {id} in:\n{}", run.output());
    }
    assert!(run.output().contains("smallvec"), "{}", run.output());
}

/// The same crate at a patched version passes, with no advisory named.
#[tokio::test]
async fn patched_lock_file_passes_the_audit() {
    let run = audit("patched").await;
    assert_eq!(run.code, 0, "the audit failed:\n{}", run.output());
    assert!(!run.output().contains("RUSTSEC-"), "{}", run.output());
}
