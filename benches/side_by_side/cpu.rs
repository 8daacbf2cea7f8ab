//! Section 6: the provider's CPU per plan (issue 22), this build beside the previous commit's.
//!
//! Terraform pays the provider's start-up in CPU, not only in time: a one-data-source plan
//! launches it three times. Two measurements, each alternating the two builds (A B B A):
//! - per plan: real `terraform plan`s whose provider is a script in the `dev_overrides`
//!   directory that runs the build under the `--wrap` mode, so every launch's `wait4` usage is
//!   recorded and summed per plan;
//! - per phase: the harness replays the three launches of such a plan (the RPCs Terraform 1.15
//!   sends, go-plugin's stdio and broker streams included) and reads the process's CPU clock
//!   (every thread, those that ended too) after each step; the last step, from the Shutdown
//!   answer to the exit, is the rest of its `wait4` usage.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use csms_provider::plugin::proto::go_plugin::{
    grpc_broker_client::GrpcBrokerClient, grpc_controller_client::GrpcControllerClient,
    grpc_stdio_client::GrpcStdioClient, Empty,
};
use csms_provider::plugin::proto::tfplugin6::{self as pb, provider_client::ProviderClient};
use csms_provider::plugin::Value;
use tonic::transport::Channel;

use crate::measure::{self, median, Emulator, TIMEOUT};
use crate::msgpack::dynamic;
use crate::plugin::{config_for, connect, ClientCert, Handshake, COOKIE};
use crate::report::{self, Report, Table};
use crate::terraform::{self, Terraform};

const DATA_SOURCE: &str = "csms_rotation_tasks";

/// The phases of a launch, in order; a launch skips the RPCs Terraform does not send it.
const PHASES: [&str; 10] = [
    "exec to handshake line",
    "TLS handshake, HTTP/2 and go-plugin streams",
    "GetProviderSchema",
    "GetResourceIdentitySchemas",
    "ValidateProviderConfig",
    "ConfigureProvider",
    "ValidateDataResourceConfig",
    "ReadDataSource",
    "Shutdown",
    "Shutdown answer to exit",
];

/// The three launches of a one-data-source `terraform plan` (Terraform 1.15, from its trace
/// log): the RPCs of each, by index into [`PHASES`].
const LAUNCHES: [(&str, &[usize]); 3] = [
    ("schema", &[2, 3]),
    ("validate", &[4, 6]),
    ("read", &[4, 5, 6, 7]),
];

/// The builds compared: (label, binary).
type Builds<'a> = [(&'a str, &'a Path)];

/// CPU seconds of one replayed launch, per phase (0 for the RPCs it does not send).
type PhaseCpu = [f64; PHASES.len()];

/// What one replayed launch needs from the schema launch: the two configuration blocks.
struct Blocks {
    provider: pb::schema::Block,
    data_source: pb::schema::Block,
}

/// What the section measures with: the builds, Terraform, the emulator (100 tasks), the number
/// of runs per build and a scratch directory.
pub struct Setup<'a> {
    pub builds: &'a Builds<'a>,
    pub terraform: &'a Path,
    pub emulator: &'a Emulator,
    pub pairs: usize,
    pub work: &'a Path,
}

pub fn run(report: &mut Report, setup: &Setup<'_>) -> Result<(), String> {
    per_plan(report, setup)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(per_phase(report, setup.builds, setup.emulator, setup.pairs))
}

/// Real plans, every launch of the provider under `--wrap`: the summed CPU per plan.
fn per_plan(report: &mut Report, setup: &Setup<'_>) -> Result<(), String> {
    let Setup {
        builds,
        terraform: tf_bin,
        emulator,
        pairs,
        work,
    } = *setup;
    let n = emulator.tasks;
    let bench = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut plans = Vec::new();
    for (i, (_, bin)) in builds.iter().enumerate() {
        let dir = work.join(format!("build-{i}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        terraform::wrapper(&dir, &bench, bin)?;
        let tf = Terraform::new(tf_bin, &dir, &dir)?;
        let config = tf.dir("plan", terraform::PROVIDER_CONFIG)?;
        plans.push((tf, config));
    }
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); builds.len()];
    let mut launches = 0;
    let mut run = 0;
    for round in 0..=pairs {
        for side in order(round, builds.len()) {
            let (tf, config) = &plans[side];
            let usage = work.join(format!("plan-{side}-{run}.usage"));
            run += 1;
            let mut env = emulator.provider_env().to_vec();
            env.push(("CSMS_BENCH_RUSAGE", usage.display().to_string()));
            tf.plan(config, &env, n, None)?;
            let providers = terraform::usages(&usage);
            if providers.is_empty() {
                return Err(format!("no provider usage in {}", usage.display()));
            }
            launches = providers.len();
            // Round 0 warms the page cache for both builds and is not counted.
            if round > 0 {
                cpu[side].push(providers.iter().map(|u| u.cpu_seconds).sum());
            }
        }
    }
    let mut table = Table::new(&["build", "provider CPU per plan (median)", "launches"]);
    for ((label, _), samples) in builds.iter().zip(&cpu) {
        table.row(vec![
            label.to_string(),
            report::ms(median(samples)),
            launches.to_string(),
        ]);
    }
    if let [new, old] = &cpu[..] {
        table.row(vec![
            "ratio previous / this".into(),
            report::ratio(median(old) / median(new)),
            String::new(),
        ]);
    }
    let ours = median(&cpu[0]);
    report.target(
        "provider CPU per one-data-source plan",
        report::ms(ours),
        "<= 10 ms",
        ours <= 0.010,
    );
    report.section(
        "6. The provider's CPU per plan",
        &format!(
            "`terraform plan` of section 2's configuration (one `csms_rotation_tasks` data \
             source, {n} tasks from the emulator), {pairs} plans per build, the builds \
             alternated (A B B A) after one warm-up plan each. Every launch of the provider runs \
             under the `--wrap` mode (a script in the `dev_overrides` directory), which records \
             its `wait4` usage (user + system CPU of all its threads); the column is their sum \
             per plan. The previous build is the previous commit's release binary \
             (`./scripts/bench` builds it)."
        ),
        table,
    );
    Ok(())
}

/// The order of the builds in round `round`: alternated, so that drift hits all alike.
fn order(round: usize, builds: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..builds).collect();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// The three launches replayed `pairs` times per build: the median CPU of every phase.
async fn per_phase(
    report: &mut Report,
    builds: &Builds<'_>,
    emulator: &Emulator,
    pairs: usize,
) -> Result<(), String> {
    let cert = ClientCert::generate();
    let mut samples: Vec<Vec<[PhaseCpu; 3]>> = vec![Vec::new(); builds.len()];
    for round in 0..=pairs {
        for side in order(round, builds.len()) {
            let plan = replay_plan(builds[side].1, &cert, emulator).await?;
            if round > 0 {
                samples[side].push(plan);
            }
        }
    }
    // The median of each (launch, phase) cell over the runs of one build.
    let cell = |side: usize, launch: usize, phase: usize| {
        median(
            &samples[side]
                .iter()
                .map(|plan| plan[launch][phase])
                .collect::<Vec<_>>(),
        )
    };
    let mut header = vec!["launch".to_string(), "phase".to_string()];
    header.extend(builds.iter().map(|(label, _)| label.to_string()));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for (launch, (name, rpcs)) in LAUNCHES.iter().enumerate() {
        let phases = [0, 1]
            .iter()
            .chain(rpcs.iter())
            .chain([8, 9].iter())
            .copied();
        for phase in phases {
            let mut row = vec![name.to_string(), PHASES[phase].to_string()];
            row.extend((0..builds.len()).map(|side| report::ms(cell(side, launch, phase))));
            table.row(row);
        }
        let mut row = vec![name.to_string(), "**launch total**".to_string()];
        row.extend((0..builds.len()).map(|side| {
            let totals: Vec<f64> = samples[side]
                .iter()
                .map(|plan| plan[launch].iter().sum())
                .collect();
            report::ms(median(&totals))
        }));
        table.row(row);
    }
    let mut row = vec!["all three".to_string(), "**plan total**".to_string()];
    row.extend((0..builds.len()).map(|side| {
        let totals: Vec<f64> = samples[side]
            .iter()
            .map(|plan| plan.iter().flatten().sum())
            .collect();
        report::ms(median(&totals))
    }));
    table.row(row);
    report.section(
        "6b. Where a launch's CPU goes",
        &format!(
            "The three launches of a one-data-source plan replayed by the harness as Terraform \
             1.15 makes them (its P-521 client certificate, go-plugin's stdio and broker streams, \
             the RPCs of each launch, Shutdown), {pairs} replays per build, alternated. The \
             provider's CPU (its process CPU clock: all threads, those that ended too) is read \
             after each step; the last row of each launch is the rest of its `wait4` \
             usage. Medians per cell, so the cells do not add up exactly to the totals."
        ),
        table,
    );
    Ok(())
}

/// One replayed plan: the CPU per phase of its three launches.
async fn replay_plan(
    bin: &Path,
    cert: &ClientCert,
    emulator: &Emulator,
) -> Result<[PhaseCpu; 3], String> {
    let mut blocks = None;
    let mut plan = [[0.0; PHASES.len()]; 3];
    for (launch, (_, rpcs)) in LAUNCHES.iter().enumerate() {
        plan[launch] = replay_launch(bin, cert, emulator, rpcs, &mut blocks).await?;
    }
    Ok(plan)
}

/// Starts `bin` as Terraform does, sends `rpcs`, shuts it down, and returns its CPU per phase.
/// The schema launch fills `blocks` for the others.
async fn replay_launch(
    bin: &Path,
    cert: &ClientCert,
    emulator: &Emulator,
    rpcs: &[usize],
    blocks: &mut Option<Blocks>,
) -> Result<PhaseCpu, String> {
    let mut child = Command::new(bin)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", &cert.pem)
        .envs(emulator.provider_env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start {}: {e}", bin.display()))?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let line = tokio::task::spawn_blocking(move || measure::first_line(stdout, TIMEOUT))
        .await
        .map_err(|e| e.to_string())?;
    let Some((line, _)) = line.filter(|(line, _)| line.starts_with("1|")) else {
        measure::kill(&mut child);
        return Err(format!("{}: no handshake line", bin.display()));
    };
    let mut cpu = [0.0; PHASES.len()];
    let mut last = measure::cpu_seconds(pid);
    cpu[0] = last;
    let mut step = |phase: usize, cpu: &mut PhaseCpu| {
        let now = measure::cpu_seconds(pid);
        cpu[phase] = now - last;
        last = now;
    };

    let outcome = async {
        let channel = connect(&Handshake::parse(&line), Some(cert))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        // go-plugin's client opens both streams as soon as it connects.
        let _stdio = GrpcStdioClient::new(channel.clone())
            .stream_stdio(())
            .await
            .map_err(|e| e.to_string())?;
        let _broker = GrpcBrokerClient::new(channel.clone())
            .start_stream(tokio_stream::pending())
            .await
            .map_err(|e| e.to_string())?;
        step(1, &mut cpu);
        let mut client = ProviderClient::new(channel.clone());
        for &phase in rpcs {
            call(&mut client, phase, emulator, blocks).await?;
            step(phase, &mut cpu);
        }
        GrpcControllerClient::new(channel)
            .shutdown(Empty {})
            .await
            .map_err(|e| e.to_string())?;
        step(8, &mut cpu);
        Ok::<_, String>(())
    }
    .await;
    if let Err(e) = outcome {
        measure::kill(&mut child);
        return Err(e);
    }
    let (status, usage) = tokio::task::spawn_blocking(move || measure::wait_with_usage(&mut child))
        .await
        .map_err(|e| e.to_string())??;
    if !status.success() {
        return Err(format!("{} exited with {status}", bin.display()));
    }
    cpu[9] = usage.cpu_seconds - last;
    Ok(cpu)
}

/// Sends the RPC of `phase` as Terraform does and checks that it had no error.
async fn call(
    client: &mut ProviderClient<Channel>,
    phase: usize,
    emulator: &Emulator,
    blocks: &mut Option<Blocks>,
) -> Result<(), String> {
    let rpc = PHASES[phase];
    let failed = |e: tonic::Status| format!("{rpc}: {e}");
    let configs = |blocks: &Option<Blocks>| {
        let blocks = blocks.as_ref().ok_or("the schema launch runs first")?;
        let region = [("region", Value::String("cn-north-4".into()))];
        Ok::<_, String>((
            dynamic(&config_for(&blocks.provider, &region)),
            dynamic(&config_for(&blocks.data_source, &[])),
        ))
    };
    let diagnostics = match phase {
        2 => {
            let schema = client
                .get_provider_schema(pb::get_provider_schema::Request {})
                .await
                .map_err(failed)?
                .into_inner();
            let block =
                |s: Option<&pb::Schema>| s.and_then(|s| s.block.clone()).unwrap_or_default();
            *blocks = Some(Blocks {
                provider: block(schema.provider.as_ref()),
                data_source: block(schema.data_source_schemas.get(DATA_SOURCE)),
            });
            schema.diagnostics
        }
        3 => {
            client
                .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
                .await
                .map_err(failed)?
                .into_inner()
                .diagnostics
        }
        4 => {
            client
                .validate_provider_config(pb::validate_provider_config::Request {
                    config: configs(blocks)?.0,
                })
                .await
                .map_err(failed)?
                .into_inner()
                .diagnostics
        }
        5 => {
            client
                .configure_provider(pb::configure_provider::Request {
                    terraform_version: "1.15.5".into(),
                    config: configs(blocks)?.0,
                    client_capabilities: None,
                })
                .await
                .map_err(failed)?
                .into_inner()
                .diagnostics
        }
        6 => {
            client
                .validate_data_resource_config(pb::validate_data_resource_config::Request {
                    type_name: DATA_SOURCE.into(),
                    config: configs(blocks)?.1,
                })
                .await
                .map_err(failed)?
                .into_inner()
                .diagnostics
        }
        7 => {
            let read = client
                .read_data_source(pb::read_data_source::Request {
                    type_name: DATA_SOURCE.into(),
                    config: configs(blocks)?.1,
                    ..Default::default()
                })
                .await
                .map_err(failed)?
                .into_inner();
            if read.state.is_none() {
                return Err(format!("{rpc}: no state: {:?}", read.diagnostics));
            }
            read.diagnostics
        }
        _ => return Err(format!("phase {phase} is not an RPC")),
    };
    if diagnostics.is_empty() {
        Ok(())
    } else {
        Err(format!("{rpc} (for {}): {diagnostics:?}", emulator.url))
    }
}

/// The builds to compare: this one, and the previous commit's when `CSMS_BENCH_BASE_PROVIDER`
/// names it.
pub fn builds(ours: &Path) -> Vec<(&'static str, PathBuf)> {
    let mut builds = vec![("this build", ours.to_path_buf())];
    if let Some(base) = std::env::var_os("CSMS_BENCH_BASE_PROVIDER") {
        builds.push(("previous commit", PathBuf::from(base)));
    }
    builds
}
