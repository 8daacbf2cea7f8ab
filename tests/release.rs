//! `scripts/release` end to end, as a registry or a mirror consumes its output: the four files
//! of the scaffolding convention, sums that match, a signature gpg accepts from a throwaway key
//! (and refuses once the sums are touched), and a zip that real `terraform init` installs with
//! no network:
//! - from a *packed* filesystem mirror. Terraform pins a mirror's package by its `h1:` hash only
//!   (`zh:`, the zip's SHA-256, comes only from a registry whose signature it checked), so the
//!   lock file is checked against an `h1:` computed here from the binary;
//! - from a local HTTPS registry (the Provider Registry Protocol, standing in for
//!   registry.terraform.io through the CLI configuration's `host` block) that serves the files
//!   and the public key as the Registry would: Terraform checks the signature itself and pins
//!   `zh:` equal to the zip's SHA-256.
//!
//! The release also carries `csms-emulator` in an archive of its own, checked here entry by entry.
//!
//! The script packages a prebuilt binary (through its `CSMS_PROVIDER_BIN`): the one the
//! `CSMS_PROVIDER_BIN` of the tests names (a release build, say), else the one cargo built for
//! them, so no release build is needed here. gpg and Terraform must be installed (`scripts/test` sees to
//! both); without them these tests fail, never skip.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use common::plugin::provider_bin;
use common::scripted_server::{Reply, ScriptedServer};
use common::terraform::{platform, run_clean, Run, Workdir};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const ADDRESS: &str = "registry.terraform.io/example/csms";
const LIMIT: Duration = Duration::from_secs(120);

/// A GnuPG home in a temporary directory holding one fresh passphrase-less signing key, so the
/// tests never see the user's keyring. Dropping it stops the gpg-agent that gpg started there.
struct Gnupg {
    home: tempfile::TempDir,
    fingerprint: String,
}

impl Gnupg {
    async fn throwaway() -> Gnupg {
        let home = tempfile::tempdir().expect("temp GNUPGHOME");
        let mut gnupg = Gnupg {
            home,
            fingerprint: String::new(),
        };
        gnupg
            .gpg(&[
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--quick-gen-key",
                "CSMS release test <release-test@example.invalid>",
                "ed25519",
                "sign",
                "never",
            ])
            .await
            .assert_ok();
        let keys = gnupg.gpg(&["--with-colons", "--list-secret-keys"]).await;
        keys.assert_ok();
        gnupg.fingerprint = keys
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|rest| rest.split(':').find(|field| !field.is_empty()))
            .expect("the new key's fingerprint")
            .to_string();
        gnupg
    }

    fn home(&self) -> &str {
        self.home.path().to_str().expect("utf-8 temp path")
    }

    async fn gpg(&self, args: &[&str]) -> Run {
        let mut cmd = tokio::process::Command::new("gpg");
        cmd.arg("--batch").args(args);
        run_clean(cmd, &[("GNUPGHOME", self.home())], LIMIT).await
    }
}

impl Drop for Gnupg {
    fn drop(&mut self) {
        let _ = std::process::Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", self.home.path())
            .status();
    }
}

/// Runs `scripts/release` into `dist` with `env` added to a clean environment, plus what rustup
/// needs to find the toolchain that names the host platform.
async fn release(dist: &Path, env: &[(&str, &str)]) -> Run {
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/release"));
    let rustup: Vec<(&str, String)> = ["HOME", "RUSTUP_HOME", "CARGO_HOME"]
        .into_iter()
        .filter_map(|key| Some((key, std::env::var(key).ok()?)))
        .collect();
    let mut all: Vec<(&str, &str)> = rustup.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.push(("CSMS_DIST_DIR", dist.to_str().expect("utf-8 temp path")));
    let bin = provider_bin();
    all.push(("CSMS_PROVIDER_BIN", &bin));
    all.push(("CSMS_EMULATOR_BIN", env!("CARGO_BIN_EXE_csms-emulator")));
    all.extend_from_slice(env);
    run_clean(cmd, &all, LIMIT).await
}

fn host_zip() -> String {
    format!("terraform-provider-csms_{VERSION}_{}.zip", platform())
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Terraform's `h1:` package hash ("dirhash" Hash1) of files given as `(name in the package,
/// path on disk)`: SHA-256 over the sorted `<sha256 hex>  <name>` lines, in base64.
fn h1_hash(files: &[(&str, &str)]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .map(|(name, path)| format!("{}  {name}\n", sha256_hex(Path::new(path))))
        .collect();
    lines.sort_by(|a, b| {
        a.split_once("  ")
            .unwrap()
            .1
            .cmp(b.split_once("  ").unwrap().1)
    });
    let summary = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, lines.concat().as_bytes());
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(summary.as_ref())
    )
}

fn file_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("read dist")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// Proves the release files are the ones the Registry takes and that they verify: every zip
/// and the manifest are listed in the sums with their real SHA-256, the manifest is the
/// repository's, gpg accepts the detached signature with the signing key and refuses it on
/// altered sums; then Terraform installs the zip from a packed mirror, pins the package's
/// `h1:` hash, and the unpacked binary (still executable) serves its schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_files_verify_and_install_from_a_packed_mirror() {
    let gnupg = Gnupg::throwaway().await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dist = tmp.path().join("dist");
    let run = release(
        &dist,
        &[
            ("GNUPGHOME", gnupg.home()),
            ("GPG_FINGERPRINT", &gnupg.fingerprint),
        ],
    )
    .await;
    run.assert_ok();

    let prefix = format!("terraform-provider-csms_{VERSION}");
    let sums_name = format!("{prefix}_SHA256SUMS");
    let manifest_name = format!("{prefix}_manifest.json");
    let names = file_names(&dist);
    for wanted in [
        host_zip(),
        manifest_name.clone(),
        sums_name.clone(),
        format!("{sums_name}.sig"),
    ] {
        assert!(names.contains(&wanted), "no {wanted} in {names:?}");
    }
    let zips: BTreeSet<String> = names
        .iter()
        .filter(|n| n.ends_with(".zip"))
        .cloned()
        .collect();
    assert_eq!(
        names.len(),
        zips.len() + 3,
        "unexpected files in dist: {names:?}"
    );
    assert_eq!(
        std::fs::read(dist.join(&manifest_name)).unwrap(),
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("terraform-registry-manifest.json")
        )
        .unwrap()
    );

    let sums = std::fs::read_to_string(dist.join(&sums_name)).expect("read sums");
    let mut listed = BTreeSet::new();
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").expect("`<sha256>  <file>` lines");
        assert_eq!(hash, sha256_hex(&dist.join(name)), "sum of {name}");
        listed.insert(name.to_string());
    }
    let mut expected = zips.clone();
    expected.insert(manifest_name);
    assert_eq!(
        listed, expected,
        "the sums cover every zip and the manifest"
    );

    let sig = dist.join(format!("{sums_name}.sig"));
    let sig = sig.to_str().unwrap();
    let sums_path = dist.join(&sums_name);
    let verified = gnupg
        .gpg(&["--verify", sig, sums_path.to_str().unwrap()])
        .await;
    verified
        .assert_ok()
        .assert_contains(&["Good signature", &gnupg.fingerprint]);
    let altered = tmp.path().join("altered_SHA256SUMS");
    std::fs::write(&altered, sums.replacen(&host_zip(), "evil.zip", 1)).unwrap();
    let refused = gnupg
        .gpg(&["--verify", sig, altered.to_str().unwrap()])
        .await;
    refused.assert_error(&["BAD signature"]);

    assert_emulator_archive(&dist).await;
    install_from_packed_mirror(tmp.path(), &dist.join(host_zip())).await;
}

/// Panics unless `dist` holds the emulator's archive for the host: one entry, `csms-emulator`,
/// executable, the very binary the release packaged, and listed in the sums (checked above with
/// every zip).
async fn assert_emulator_archive(dist: &Path) {
    let zip = dist.join(format!("csms-emulator_{VERSION}_{}.zip", platform()));
    assert!(zip.is_file(), "no {}", zip.display());
    let entries = common::sdk::run_script(
        r#"
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    print(json.dumps([
        {"name": i.filename, "mode": i.external_attr >> 16, "sha256": hashlib.sha256(z.read(i)).hexdigest()}
        for i in z.infolist()
    ]))
"#,
        &[zip.to_str().expect("utf-8 temp path")],
    )
    .await;
    let emulator = Path::new(env!("CARGO_BIN_EXE_csms-emulator"));
    assert_eq!(
        entries,
        serde_json::json!([{"name": "csms-emulator", "mode": 0o100755, "sha256": sha256_hex(emulator)}]),
        "{}",
        zip.display()
    );
}

/// A working directory whose configuration pins `example/csms` at this version, for Terraform
/// with the CLI configuration `cli_config` and no network: any request that is not to
/// 127.0.0.1 goes to a closed port.
fn pinned_workdir(cli_config: &Path) -> Workdir {
    let main = format!(
        "terraform {{\n  required_providers {{\n    csms = {{\n      source  = \"{ADDRESS}\"\n      version = \"{VERSION}\"\n    }}\n  }}\n}}\n"
    );
    Workdir::new(&[("main.tf", &main)])
        .env("TF_CLI_CONFIG_FILE", cli_config.to_str().unwrap())
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9")
}

/// The provider binary `terraform init` unpacked into `work`.
fn unpacked(work: &Workdir) -> Vec<u8> {
    let path = work
        .path()
        .join(".terraform/providers")
        .join(ADDRESS)
        .join(VERSION)
        .join(platform())
        .join(format!("terraform-provider-csms_v{VERSION}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Puts `zip` in a packed filesystem mirror under `tmp`, has Terraform install it with no
/// network, and checks the lock file and the unpacked binary.
async fn install_from_packed_mirror(tmp: &Path, zip: &Path) {
    let mirror = tmp.join("mirror");
    let dir = mirror.join(ADDRESS);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(zip, dir.join(zip.file_name().unwrap())).unwrap();
    let cli_config = tmp.join("mirror.tfrc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {mirror:?}\n    include = [\"{ADDRESS}\"]\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let work = pinned_workdir(&cli_config);
    work.run(&["init", "-input=false", "-no-color"])
        .await
        .assert_ok()
        .assert_contains(&[&format!(
            "Installed example/csms v{VERSION} (unauthenticated)"
        )]);
    // A mirror is not signed, so Terraform pins only the `h1:` hash of the package's contents;
    // computed here from the binary we packed, it proves the zip holds exactly that binary.
    let lock = std::fs::read_to_string(work.path().join(".terraform.lock.hcl")).expect("lock");
    let h1 = format!(
        "\"{}\"",
        h1_hash(&[(
            &format!("terraform-provider-csms_v{VERSION}"),
            &provider_bin()
        )])
    );
    assert!(lock.contains(&h1), "lock file lacks {h1}:\n{lock}");
    assert_eq!(
        unpacked(&work),
        std::fs::read(provider_bin()).unwrap(),
        "the zip holds the binary it was given"
    );
    work.run(&["providers", "schema", "-json"])
        .await
        .assert_ok()
        .assert_contains(&["csms_rotation_tasks"]);
}

/// A provider registry on 127.0.0.1 (HTTPS, the Provider Registry Protocol) serving the files
/// in `dist` with `public_key` as the signing key; with `tamper`, the sums it serves are not the
/// ones that were signed.
async fn registry(
    dist: PathBuf,
    public_key: String,
    key_id: String,
    tamper: bool,
) -> ScriptedServer {
    let base = Arc::new(Mutex::new(String::new()));
    let url = base.clone();
    let server = ScriptedServer::start_tls(move |req, _| {
        let base = url.lock().unwrap().clone();
        let prefix = format!("terraform-provider-csms_{VERSION}");
        let (os, arch) = platform().split_once('_').map(|(o, a)| (o.to_string(), a.to_string())).unwrap();
        let versions = "/v1/providers/example/csms/versions";
        let download = format!("/v1/providers/example/csms/{VERSION}/download/{os}/{arch}");
        if req.path == versions {
            return Reply::json(200, serde_json::json!({"versions": [{
                "version": VERSION,
                "protocols": ["6.0"],
                "platforms": [{"os": os, "arch": arch}],
            }]}));
        }
        if req.path == download {
            let zip = host_zip();
            return Reply::json(200, serde_json::json!({
                "protocols": ["6.0"],
                "os": os,
                "arch": arch,
                "filename": zip,
                "download_url": format!("{base}/files/{zip}"),
                "shasums_url": format!("{base}/files/{prefix}_SHA256SUMS"),
                "shasums_signature_url": format!("{base}/files/{prefix}_SHA256SUMS.sig"),
                "shasum": sha256_hex(&dist.join(&zip)),
                "signing_keys": {"gpg_public_keys": [{"key_id": key_id, "ascii_armor": public_key}]},
            }));
        }
        match req.path.strip_prefix("/files/") {
            Some(name) if !name.contains('/') && dist.join(name).is_file() => {
                let mut body = std::fs::read(dist.join(name)).unwrap();
                if tamper && name.ends_with("_SHA256SUMS") {
                    body.extend_from_slice(b"0000  extra.zip\n");
                }
                Reply::raw(200, "application/octet-stream", &body)
            }
            _ => Reply::json(404, serde_json::json!({"errors": ["Not Found"]})),
        }
    })
    .await;
    *base.lock().unwrap() = server.url();
    server
}

/// Proves a registry can serve the release as it is: Terraform checks the signature on the sums
/// with the release key, says so, and pins the zip's SHA-256 as `zh:` beside its `h1:`; and when
/// the sums do not match their signature, init refuses to install.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_installs_the_release_from_a_registry_checking_its_signature() {
    let gnupg = Gnupg::throwaway().await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dist = tmp.path().join("dist");
    release(
        &dist,
        &[
            ("GNUPGHOME", gnupg.home()),
            ("GPG_FINGERPRINT", &gnupg.fingerprint),
        ],
    )
    .await
    .assert_ok();
    let export = gnupg
        .gpg(&["--armor", "--export", &gnupg.fingerprint])
        .await;
    export.assert_ok();
    let key_id = gnupg.fingerprint[gnupg.fingerprint.len() - 16..].to_string();

    for tamper in [false, true] {
        let server = registry(dist.clone(), export.stdout.clone(), key_id.clone(), tamper).await;
        let ca = tmp.path().join(format!("registry-{tamper}.pem"));
        std::fs::write(&ca, server.certificate_pem.as_deref().unwrap()).unwrap();
        let cli_config = tmp.path().join(format!("registry-{tamper}.tfrc"));
        std::fs::write(
            &cli_config,
            format!(
                "host \"registry.terraform.io\" {{\n  services = {{\n    \"providers.v1\" = \"{}/v1/providers/\"\n  }}\n}}\n",
                server.url()
            ),
        )
        .unwrap();
        let work = pinned_workdir(&cli_config).env("SSL_CERT_FILE", ca.to_str().unwrap());
        let init = work.run(&["init", "-input=false", "-no-color"]).await;
        if tamper {
            init.assert_error(&["Failed to install provider", "error checking signature"]);
            assert!(
                !work.path().join(".terraform.lock.hcl").exists(),
                "locked a bad package"
            );
            continue;
        }
        init.assert_ok().assert_contains(&[&format!(
            "Installed example/csms v{VERSION} (self-signed, key ID {key_id})"
        )]);
        let lock = std::fs::read_to_string(work.path().join(".terraform.lock.hcl")).expect("lock");
        let zh = format!("\"zh:{}\"", sha256_hex(&dist.join(host_zip())));
        assert!(lock.contains(&zh), "lock file lacks {zh}:\n{lock}");
        assert_eq!(unpacked(&work), std::fs::read(provider_bin()).unwrap());
    }
}

/// Proves the same binary gives byte-identical zips (fixed entry time and mode), and that the
/// script refuses to produce unsigned files when `GPG_FINGERPRINT` is unset or names no key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_is_reproducible_and_never_unsigned() {
    let gnupg = Gnupg::throwaway().await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let env = [
        ("GNUPGHOME", gnupg.home()),
        ("GPG_FINGERPRINT", gnupg.fingerprint.as_str()),
    ];
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    release(&a, &env).await.assert_ok();
    release(&b, &env).await.assert_ok();
    assert_eq!(
        sha256_hex(&a.join(host_zip())),
        sha256_hex(&b.join(host_zip())),
        "two releases of one binary differ"
    );

    let unset = release(&tmp.path().join("c"), &[("GNUPGHOME", gnupg.home())]).await;
    assert_eq!(unset.code, 1, "{}", unset.output());
    assert!(
        unset.stderr.contains("GPG_FINGERPRINT must name"),
        "{}",
        unset.stderr
    );
    let unknown = release(
        &tmp.path().join("d"),
        &[
            ("GNUPGHOME", gnupg.home()),
            (
                "GPG_FINGERPRINT",
                "0000000000000000000000000000000000000000",
            ),
        ],
    )
    .await;
    assert_eq!(unknown.code, 1, "{}", unknown.output());
    assert!(
        unknown.stderr.contains("no secret key"),
        "{}",
        unknown.stderr
    );
    for dir in ["c", "d"] {
        assert!(
            !tmp.path().join(dir).exists(),
            "files written without a key"
        );
    }
}

/// The binary a release packages runs on glibc 2.34, the C library of RHEL 9, Amazon Linux
/// 2023 and Huawei Cloud EulerOS 2.0 (openEuler 22.03), as README's platforms row says: it
/// requires no symbol version past `GLIBC_2.34`. Linking GCC's unwinder statically (a start-up
/// saving, issue 22) would have required `GLIBC_2.35`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_runs_on_glibc_2_34() {
    let bytes = std::fs::read(provider_bin()).expect("the provider binary");
    let text = String::from_utf8_lossy(&bytes);
    let newest = text
        .match_indices("GLIBC_2.")
        .filter_map(|(at, prefix)| {
            let digits: String = text[at + prefix.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u32>().ok()
        })
        .max()
        .expect("versioned glibc symbols");
    assert!(newest <= 34, "the binary needs GLIBC_2.{newest}");
}
