//! `scripts/install` end to end: the provider it installs into a temporary HOME's
//! `~/.terraform.d/plugins` is found by a real `terraform init` with an empty CLI configuration
//! (no dev_overrides, no registry: HTTPS goes to a dead proxy), recorded in the lock file, and
//! then serves `providers schema -json` and a `plan` against a local emulator.
//!
//! The test installs the binary cargo built for it (`CSMS_PROVIDER_BIN`), so it needs no release
//! build. Terraform comes from `CSMS_TERRAFORM` or the project venv; without it the test fails.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::terraform::{platform, run_clean, terraform_bin};

use csms_provider::emulator::{generate, Config, Emulator};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const ADDRESS: &str = "registry.terraform.io/example/csms";

fn install_script() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install"));
    cmd
}

fn installed_path(plugins: &Path) -> PathBuf {
    plugins
        .join(ADDRESS)
        .join(VERSION)
        .join(platform())
        .join(format!("terraform-provider-csms_v{VERSION}"))
}

/// Proves a user can install the provider with `scripts/install` and use it from a plain
/// configuration: init resolves `example/csms` `0.1.0` from the implied local mirror without
/// touching the network and pins it in the lock file, and the installed binary then serves
/// schemas and a plan that reads tasks from a local CSMS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installed_provider_is_found_by_terraform_init_and_plans() {
    let home = tempfile::tempdir().expect("temp HOME");
    let home_str = home.path().to_str().expect("utf-8 temp path");
    let bin = env!("CARGO_BIN_EXE_terraform-provider-csms");

    let install = run_clean(
        install_script(),
        &[("HOME", home_str), ("CSMS_PROVIDER_BIN", bin)],
        Duration::from_secs(60),
    )
    .await;
    install.assert_ok();
    let installed = installed_path(&home.path().join(".terraform.d/plugins"));
    assert!(
        installed.is_file(),
        "{} not installed:\n{}",
        installed.display(),
        install.output()
    );
    assert!(
        install
            .stdout
            .contains(&format!("installed {}", installed.display())),
        "{}",
        install.stdout
    );
    assert_eq!(
        std::fs::read(&installed).expect("read installed"),
        std::fs::read(bin).expect("read built")
    );

    let emu = Emulator::start(Config {
        tasks: generate(7, 11),
        ..Config::default()
    })
    .await
    .expect("emulator starts");
    let expected_total = emu.tasks().len();
    let base_url = emu.base_url();

    let work = home.path().join("work");
    std::fs::create_dir(&work).expect("mkdir work");
    std::fs::write(
        work.join("main.tf"),
        format!(
            r#"terraform {{
  required_providers {{
    csms = {{
      source  = "{ADDRESS}"
      version = "{VERSION}"
    }}
  }}
}}

provider "csms" {{}}

data "csms_rotation_tasks" "all" {{}}

output "total" {{
  value = data.csms_rotation_tasks.all.total
}}
"#
        ),
    )
    .expect("write main.tf");
    let cli_config = home.path().join("empty.tfrc");
    std::fs::write(&cli_config, "").expect("write empty CLI config");
    let cli_config = cli_config.to_str().expect("utf-8 temp path");
    let xdg_data = format!("{home_str}/.local/share");
    let env: Vec<(&str, &str)> = vec![
        ("HOME", home_str),
        ("XDG_DATA_HOME", &xdg_data),
        ("TF_CLI_CONFIG_FILE", cli_config),
        ("TF_IN_AUTOMATION", "1"),
        ("CHECKPOINT_DISABLE", "1"),
        ("NO_COLOR", "1"),
        // Any registry request would go through this closed port and fail init.
        ("HTTPS_PROXY", "http://127.0.0.1:9"),
        ("https_proxy", "http://127.0.0.1:9"),
        ("NO_PROXY", "127.0.0.1,localhost"),
        ("HW_CSMS_ENDPOINT", &base_url),
        ("HW_PROJECT_ID", emu.project_id()),
        ("HW_ACCESS_KEY", "test-ak"),
        ("HW_SECRET_KEY", "test-sk"),
        ("HW_MAX_RETRIES", "0"),
    ];
    let terraform = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(terraform_bin());
        cmd.args(args).current_dir(&work);
        cmd
    };

    let init = run_clean(
        terraform(&["init", "-input=false", "-no-color"]),
        &env,
        Duration::from_secs(120),
    )
    .await;
    init.assert_ok();
    assert!(
        init.output()
            .contains(&format!("Installed example/csms v{VERSION}")),
        "init did not install from the mirror:\n{}",
        init.output()
    );
    let lock =
        std::fs::read_to_string(work.join(".terraform.lock.hcl")).expect("lock file written");
    assert!(
        lock.contains(&format!("provider \"{ADDRESS}\"")),
        "lock file:\n{lock}"
    );
    assert!(
        lock.contains(&format!("version     = \"{VERSION}\"")),
        "lock file:\n{lock}"
    );
    assert!(
        lock.contains("\"h1:"),
        "lock file records no checksum:\n{lock}"
    );

    let schema = run_clean(
        terraform(&["providers", "schema", "-json"]),
        &env,
        Duration::from_secs(120),
    )
    .await;
    schema.assert_ok();
    let json: serde_json::Value = serde_json::from_str(&schema.stdout).expect("schema is JSON");
    let data_sources = &json["provider_schemas"][ADDRESS]["data_source_schemas"];
    assert!(
        data_sources.get("csms_rotation_tasks").is_some(),
        "no csms_rotation_tasks in:\n{}",
        schema.stdout
    );

    let plan = run_clean(
        terraform(&["plan", "-input=false", "-no-color"]),
        &env,
        Duration::from_secs(120),
    )
    .await;
    plan.assert_ok();
    assert!(
        plan.stdout.contains(&format!("total = {expected_total}")),
        "plan does not show the emulator's {expected_total} tasks:\n{}",
        plan.output()
    );
    assert!(
        emu.stats().requests > 0,
        "the plan never reached the emulator"
    );
    emu.shutdown().await.expect("emulator stops");
}

/// Proves `TF_PLUGIN_ROOT` redirects the install (for the XDG plugin directory or a
/// `filesystem_mirror`) and a bad `CSMS_PROVIDER_BIN` is refused with a message, not copied.
#[tokio::test]
async fn install_honours_tf_plugin_root_and_refuses_a_missing_binary() {
    let home = tempfile::tempdir().expect("temp HOME");
    let home_str = home.path().to_str().expect("utf-8 temp path");
    let root = home.path().join("mirror");
    let root_str = root.to_str().expect("utf-8 temp path");
    let bin = env!("CARGO_BIN_EXE_terraform-provider-csms");

    let ok = run_clean(
        install_script(),
        &[
            ("HOME", home_str),
            ("TF_PLUGIN_ROOT", root_str),
            ("CSMS_PROVIDER_BIN", bin),
        ],
        Duration::from_secs(60),
    )
    .await;
    ok.assert_ok();
    assert!(
        installed_path(&root).is_file(),
        "not under TF_PLUGIN_ROOT:\n{}",
        ok.output()
    );
    assert!(
        !home.path().join(".terraform.d").exists(),
        "also wrote to ~/.terraform.d"
    );

    let missing = home.path().join("no-such-binary");
    let bad = run_clean(
        install_script(),
        &[
            ("HOME", home_str),
            ("TF_PLUGIN_ROOT", root_str),
            ("CSMS_PROVIDER_BIN", missing.to_str().unwrap()),
        ],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        bad.code,
        1,
        "install of a missing binary:\n{}",
        bad.output()
    );
    assert!(
        bad.stderr.contains("is not an executable file"),
        "{}",
        bad.stderr
    );
}

/// Proves `scripts/demo` runs as the README promises wherever the binaries are: here the ones
/// cargo built for these tests (`CSMS_PROVIDER_BIN`, the emulator beside it), with
/// `CARGO_TARGET_DIR` pointing at an empty directory, so nothing may come from `target/release`.
/// The emulator starts, the first plan shows the verdicts and warns, the second fails naming
/// `legacy-api-key` (FAILED) and `ldap-bind-password` (OVERDUE), and the demo exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_with_binaries_outside_target() {
    let empty_target = tempfile::tempdir().expect("temp target dir");
    let terraform_dir = terraform_bin()
        .parent()
        .expect("Terraform's directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        terraform_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [
        ("PATH", path.as_str()),
        (
            "CARGO_TARGET_DIR",
            empty_target.path().to_str().expect("utf-8 temp path"),
        ),
        (
            "CSMS_PROVIDER_BIN",
            env!("CARGO_BIN_EXE_terraform-provider-csms"),
        ),
    ];
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo"));
    let run = run_clean(cmd, &env, Duration::from_secs(120)).await;
    // The demo is for a terminal: Terraform colours its output; the escapes go.
    let mut output = String::new();
    for (i, part) in run.output().split('\u{1b}').enumerate() {
        let text = if i == 0 {
            part
        } else {
            part.split_once('m').map_or(part, |(_, rest)| rest)
        };
        output.push_str(text);
    }
    assert_eq!(run.code, 0, "{output}");
    for needle in [
        "==> using prebuilt ",
        "emulator at http://127.0.0.1:",
        "Warning: Check block assertion failed",
        "legacy-api-key = \"FAILED\"",
        "ldap-bind-password = \"OVERDUE\"",
        "legacy-api-key FAILED: ",
        "ldap-bind-password OVERDUE: ",
        "demo ran as intended",
    ] {
        assert!(
            common::terraform::fold(&output).contains(needle),
            "the demo's output lacks {needle:?}:\n{output}"
        );
    }
    assert!(
        std::fs::read_dir(empty_target.path())
            .unwrap()
            .next()
            .is_none(),
        "the demo wrote to CARGO_TARGET_DIR"
    );
}

/// Proves `scripts/install --emulator` puts `csms-emulator` on PATH beside the provider: it
/// lands in `~/.local/bin` (said when that is not on PATH), runs by name from a shell whose PATH
/// has it, and serves the demo data on 127.0.0.1 until stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_with_emulator_puts_it_on_path() {
    let home = tempfile::tempdir().expect("temp HOME");
    let home_str = home.path().to_str().expect("utf-8 temp path");
    let install = run_clean(
        {
            let mut cmd = install_script();
            cmd.arg("--emulator");
            cmd
        },
        &[
            ("HOME", home_str),
            (
                "CSMS_PROVIDER_BIN",
                env!("CARGO_BIN_EXE_terraform-provider-csms"),
            ),
        ],
        Duration::from_secs(60),
    )
    .await;
    install.assert_ok();
    let bin_dir = home.path().join(".local/bin");
    let installed = bin_dir.join("csms-emulator");
    assert_eq!(
        std::fs::read(&installed).expect("csms-emulator installed"),
        std::fs::read(env!("CARGO_BIN_EXE_csms-emulator")).expect("read built"),
        "{}",
        install.output()
    );
    assert!(installed_path(&home.path().join(".terraform.d/plugins")).is_file());
    install.assert_contains(&[
        &format!("installed {}", installed.display()),
        &format!("note: {} is not on PATH", bin_dir.display()),
    ]);

    // By name, from PATH: the first line is the address; the script stops it.
    let script = "mkfifo out; csms-emulator --demo > out & pid=$!; \
                  read -r line < out; kill $pid; wait $pid; echo \"$line\"";
    let mut cmd = tokio::process::Command::new("bash");
    cmd.args(["-c", script]).current_dir(home.path());
    let path = format!("{}:/usr/bin:/bin", bin_dir.display());
    let run = run_clean(cmd, &[("PATH", &path)], Duration::from_secs(30)).await;
    assert!(
        run.stdout.starts_with("listening on http://127.0.0.1:"),
        "{}",
        run.output()
    );
}
