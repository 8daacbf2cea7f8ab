//! Section 3: paging through every task of a large account, three ways, against one emulator.
//!
//! (a) the provider's ReadDataSource over gRPC/mTLS, as Terraform calls it: a fresh provider
//!     process per run (ConfigureProvider untimed), the clock around ReadDataSource only, and
//!     the process's VmHWM read before Shutdown;
//! (b) the floor: one keep-alive HTTP/1.1 connection (hyper) and `serde_json::Value` parsing
//!     of each page, no signing, no retries, no conversion;
//! (c) what users script today: the official Python SDK's marker loop
//!     (`huaweicloudsdkcsms` ListSecretTaskRequest), timed inside Python around the loop only.
//! Every run opens its own connection. (a), (b) and (c) alternate within each round so that
//! load drifts hit all three alike.

use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use csms_provider::plugin::codec::decode_msgpack;
use csms_provider::plugin::proto::go_plugin::{
    grpc_controller_client::GrpcControllerClient, Empty,
};
use csms_provider::plugin::proto::tfplugin6::{self as pb, provider_client::ProviderClient};
use csms_provider::plugin::Value;
use http_body_util::{BodyExt, Empty as EmptyBody};
use hyper_util::rt::TokioIo;

use crate::measure::{self, median, Emulator, ACCESS_KEY, PROJECT_ID, SECRET_KEY};
use crate::msgpack::dynamic;
use crate::plugin::{config_for, Plugin};
use crate::report::{self, Report, Table};

const DATA_SOURCE: &str = "csms_rotation_tasks";

/// What one ReadDataSource of every task cost: wall seconds, the provider's CPU seconds
/// during the call, and its peak RSS (KiB).
struct Read {
    seconds: f64,
    cpu_seconds: f64,
    peak_kib: f64,
}

/// (a): one ReadDataSource of every task from a fresh provider process.
async fn provider_read(emulator: &Emulator, page_size: u32) -> Result<Read, String> {
    let mut plugin = Plugin::start(&[]).await;
    let mut client = ProviderClient::new(plugin.channel().await)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .map_err(|e| e.to_string())?
        .into_inner();
    let block = |s: Option<&pb::Schema>| s.and_then(|s| s.block.clone()).unwrap_or_default();
    let provider_block = block(schema.provider.as_ref());
    let data_block = block(schema.data_source_schemas.get(DATA_SOURCE));
    let s = |v: &str| Value::String(v.into());
    let provider_config = config_for(
        &provider_block,
        &[
            ("region", s("cn-north-4")),
            ("project_id", s(PROJECT_ID)),
            ("access_key", s(ACCESS_KEY)),
            ("secret_key", s(SECRET_KEY)),
            ("endpoint", s(&emulator.url)),
        ],
    );
    let configured = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.15.5".into(),
            config: dynamic(&provider_config),
            client_capabilities: None,
        })
        .await
        .map_err(|e| e.to_string())?
        .into_inner();
    if !configured.diagnostics.is_empty() {
        return Err(format!("ConfigureProvider: {:?}", configured.diagnostics));
    }
    let config = config_for(
        &data_block,
        &[("page_size", Value::Number(page_size.into()))],
    );
    let request = pb::read_data_source::Request {
        type_name: DATA_SOURCE.into(),
        config: dynamic(&config),
        ..Default::default()
    };

    let pid = plugin.child.id().ok_or("the provider exited")?;
    let cpu_before = measure::cpu_seconds(pid);
    let start = Instant::now();
    let read = client.read_data_source(request).await;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = measure::cpu_seconds(pid) - cpu_before;
    let peak_kib = measure::status_kib(pid, "VmHWM").ok_or("no VmHWM")? as f64;
    let read = read.map_err(|e| e.to_string())?.into_inner();
    let state = read
        .state
        .ok_or_else(|| format!("ReadDataSource: no state: {:?}", read.diagnostics))?;
    let state = decode_msgpack(&state.msgpack).map_err(|e| e.to_string())?;
    match state.get("tasks") {
        Value::List(tasks) if tasks.len() == emulator.tasks => {}
        _ => {
            return Err(format!(
                "ReadDataSource did not return {} tasks",
                emulator.tasks
            ))
        }
    }
    let mut controller = GrpcControllerClient::new(plugin.channel().await);
    controller
        .shutdown(Empty {})
        .await
        .map_err(|e| e.to_string())?;
    plugin.exit_code().await;
    Ok(Read {
        seconds,
        cpu_seconds,
        peak_kib,
    })
}

/// (b): seconds of a bare marker loop over one keep-alive connection.
async fn raw_loop(emulator: &Emulator, page_size: u32) -> Result<f64, String> {
    Ok(marker_loop(emulator, page_size, false).await?.0)
}

/// A bare marker loop over one keep-alive connection, asking for gzip when `gzip` (and then
/// decompressing each page): its seconds and the body bytes it received.
pub async fn marker_loop(
    emulator: &Emulator,
    page_size: u32,
    gzip: bool,
) -> Result<(f64, u64), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let max_pages = emulator.tasks / page_size as usize + 2;
    let start = Instant::now();
    let stream = tokio::net::TcpStream::connect(emulator.authority())
        .await
        .map_err(|e| err(&e))?;
    stream.set_nodelay(true).map_err(|e| err(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| err(&e))?;
    let connection = tokio::spawn(connection);
    let base = format!("/v1/{PROJECT_ID}/csms/tasks?limit={page_size}");
    let (mut seen, mut marker, mut bytes) = (0usize, None::<String>, 0u64);
    for _ in 0..max_pages {
        let uri = match &marker {
            Some(m) => format!("{base}&marker={m}"),
            None => base.clone(),
        };
        let mut request =
            hyper::Request::get(uri).header(hyper::header::HOST, emulator.authority());
        if gzip {
            request = request.header(hyper::header::ACCEPT_ENCODING, "gzip");
        }
        let request = request
            .body(EmptyBody::<Bytes>::new())
            .map_err(|e| err(&e))?;
        let response = sender.send_request(request).await.map_err(|e| err(&e))?;
        if !response.status().is_success() {
            return Err(format!("raw loop: HTTP {}", response.status()));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| err(&e))?
            .to_bytes();
        bytes += body.len() as u64;
        let page: serde_json::Value = if gzip {
            serde_json::from_reader(flate2::read::GzDecoder::new(&body[..]))
        } else {
            serde_json::from_slice(&body)
        }
        .map_err(|e| err(&e))?;
        let count = page["tasks"].as_array().map_or(0, Vec::len);
        seen += count;
        match page["next_marker"].as_str() {
            Some(next) if !next.is_empty() && count > 0 => marker = Some(next.to_string()),
            _ => break,
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(sender);
    let _ = connection.await;
    if seen != emulator.tasks {
        return Err(format!("raw loop saw {seen} of {} tasks", emulator.tasks));
    }
    Ok((seconds, bytes))
}

/// (c): seconds of the SDK's marker loop, as the script measures it.
async fn sdk_loop(emulator: &Emulator, python: &Path, page_size: u32) -> Result<f64, String> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/side_by_side/sdk_list.py"
    );
    let out = tokio::time::timeout(
        measure::TIMEOUT,
        tokio::process::Command::new(python)
            .arg(script)
            .args([&emulator.url, PROJECT_ID, ACCESS_KEY, SECRET_KEY])
            .arg(page_size.to_string())
            .env_remove("PYTHONPATH")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| "the SDK loop timed out".to_string())?
    .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let result: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "SDK loop: {e}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if result["tasks"].as_u64() != Some(emulator.tasks as u64) {
        return Err(format!(
            "SDK loop did not list {} tasks: {result}",
            emulator.tasks
        ));
    }
    result["seconds"]
        .as_f64()
        .ok_or_else(|| format!("SDK loop: {result}"))
}

/// Section 3. `runs` rounds of (a) and (b) per page size; the slow SDK loop joins the first
/// `sdk_runs` rounds.
pub async fn run(
    report: &mut Report,
    emulator: &Emulator,
    python: &Path,
    runs: usize,
    sdk_runs: usize,
) -> Result<(), String> {
    let n = emulator.tasks;
    let mut table = Table::new(&[
        "page size",
        "(a) provider ReadDataSource",
        "provider CPU in (a)",
        "(b) raw loop (floor)",
        "emulator CPU in (b)",
        "(c) Python SDK loop",
        "(a)/(b)",
        "(c)/(a)",
        "provider peak RSS",
    ]);
    for page_size in [1000u32, 50] {
        // Warm-up: the emulator's first pass, the page cache, the dynamic loader.
        provider_read(emulator, page_size).await?;
        raw_loop(emulator, page_size).await?;
        let (mut a, mut a_cpu, mut hwm) = (vec![], vec![], vec![]);
        let (mut b, mut server, mut c) = (vec![], vec![], vec![]);
        for round in 0..runs {
            let read = provider_read(emulator, page_size).await?;
            a.push(read.seconds);
            a_cpu.push(read.cpu_seconds);
            hwm.push(read.peak_kib);
            let before = emulator.cpu_seconds();
            b.push(raw_loop(emulator, page_size).await?);
            server.push(emulator.cpu_seconds() - before);
            if round < sdk_runs {
                c.push(sdk_loop(emulator, python, page_size).await?);
            }
        }
        let (a, b, server, c) = (median(&a), median(&b), median(&server), median(&c));
        let peak = measure::mib(hwm.iter().copied().fold(0.0, f64::max));
        table.row(vec![
            page_size.to_string(),
            report::ms(a),
            report::ms(median(&a_cpu)),
            report::ms(b),
            report::ms(server),
            report::ms(c),
            report::ratio(a / b),
            report::ratio(c / a),
            report::mib(peak),
        ]);
        if page_size == 1000 {
            report.target(
                &format!("paging {n} tasks, page 1000: (a)/(b)"),
                report::ratio(a / b),
                "<= 1.5",
                a / b <= 1.5,
            );
            report.target(
                &format!("provider peak RSS serving {n} tasks"),
                report::mib(peak),
                "<= 80 MiB",
                peak <= 80.0,
            );
        }
    }
    report.section(
        &format!("3. Paging through {n} tasks"),
        &format!(
            "Median of {runs} runs of (a) and (b) and {sdk_runs} of (c), alternated, against one \
             emulator process serving {n} generated tasks without signature checking or \
             compression (on loopback gzip only costs CPU; section 5 puts it on a WAN). \
             (a) ReadDataSource over gRPC/mTLS, a fresh provider process per run, clock around \
             the call only (signing, retries, paging rules, conversion and the msgpack response \
             included); (b) one keep-alive hyper HTTP/1.1 connection and `serde_json::Value` \
             parsing, nothing else (no signing); (c) `huaweicloudsdkcsms` \
             `ListSecretTaskRequest` marker loop (signed), timed inside Python around the loop. \
             The provider's CPU during (a) (all its threads) and the emulator's during (b) \
             show who does the work. Peak RSS \
             is the provider's VmHWM after the read, the largest over the runs."
        ),
        table,
    );
    Ok(())
}
