//! Protocol tests: the binary started exactly as Terraform starts it (cookie, protocol versions,
//! a P-521 client certificate), driven over mTLS through the generated gRPC client. They pin
//! what Terraform relies on without needing Terraform itself.

use crate::common;

use std::time::Duration;

use common::msgpack::dynamic;
use common::plugin::{
    clean_command, config_for, connect, ClientCert, Handshake, Plugin, COOKIE, TIMEOUT,
};
use csms_provider::plugin::proto::go_plugin::{
    grpc_broker_client::GrpcBrokerClient, grpc_controller_client::GrpcControllerClient,
    grpc_stdio_client::GrpcStdioClient, Empty,
};
use csms_provider::plugin::proto::health::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use csms_provider::plugin::proto::tfplugin6::{
    self as pb, attribute_path::step::Selector, provider_client::ProviderClient,
};
use csms_provider::plugin::Value;
use tonic::transport::Channel;

const DATA_SOURCE: &str = "csms_rotation_tasks";

fn provider_config(block: &pb::schema::Block, endpoint: &str) -> Value {
    let s = |v: &str| Value::String(v.into());
    config_for(
        block,
        &[
            ("region", s("cn-north-4")),
            ("project_id", s("p")),
            ("access_key", s("ak")),
            ("secret_key", s("sk")),
            ("endpoint", s(endpoint)),
        ],
    )
}

async fn schemas(client: &mut ProviderClient<Channel>) -> pb::get_provider_schema::Response {
    client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner()
}

fn errors(diags: &[pb::Diagnostic]) -> Vec<&pb::Diagnostic> {
    diags
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .collect()
}

/// The provider block's and the data source's schema blocks, as Terraform reads them.
async fn blocks(provider: &mut ProviderClient<Channel>) -> (pb::schema::Block, pb::schema::Block) {
    let schema = schemas(provider).await;
    let data_block = schema.data_source_schemas[DATA_SOURCE]
        .block
        .clone()
        .unwrap();
    (schema.provider.unwrap().block.unwrap(), data_block)
}

/// ConfigureProvider with `config`, which must succeed.
async fn configure(provider: &mut ProviderClient<Channel>, config: &Value) {
    let configured = provider
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.15.5".into(),
            config: dynamic(config),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&configured.diagnostics).is_empty(), "{configured:?}");
}

/// Sends Shutdown and checks the process exits 0 and removes its socket.
async fn shut_down(mut plugin: Plugin) {
    let mut controller = GrpcControllerClient::new(plugin.channel().await);
    controller
        .shutdown(Empty {})
        .await
        .expect("Shutdown answers");
    assert_eq!(
        plugin.exit_code().await,
        Some(0),
        "stderr:\n{}",
        plugin.stderr.text()
    );
    if plugin.handshake.network == "unix" {
        let socket = std::path::Path::new(&plugin.handshake.address);
        assert!(!socket.exists(), "socket left behind");
    }
}

/// Every RPC Terraform uses answers correctly over mTLS on the Unix socket, unserved ones answer
/// UNIMPLEMENTED, and Shutdown exits 0 and cleans up.
/// ValidateDataResourceConfig of `type_name` with `config`.
async fn validate_data(
    provider: &mut ProviderClient<Channel>,
    type_name: &str,
    config: Option<pb::DynamicValue>,
) -> pb::validate_data_resource_config::Response {
    provider
        .validate_data_resource_config(pb::validate_data_resource_config::Request {
            type_name: type_name.into(),
            config,
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn every_served_rpc_answers_over_mtls() {
    let plugin = Plugin::start(&[]).await;
    let hs = &plugin.handshake;
    assert_eq!((hs.core_version, hs.protocol_version), (1, 6));
    assert_eq!(
        (hs.network.as_str(), hs.protocol.as_str()),
        ("unix", "grpc")
    );
    assert!(
        hs.server_cert.is_some(),
        "TLS server certificate in the handshake"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&hs.address).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "socket is private");
    }

    let channel = plugin.channel().await;
    let mut provider = ProviderClient::new(channel.clone());

    // Metadata and schema.
    let metadata = provider
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(metadata.data_sources[0].type_name, DATA_SOURCE);
    assert!(
        metadata
            .server_capabilities
            .unwrap()
            .get_provider_schema_optional
    );

    let schema = schemas(&mut provider).await;
    assert!(
        schema
            .server_capabilities
            .unwrap()
            .get_provider_schema_optional
    );
    assert!(schema.diagnostics.is_empty());
    let provider_block = schema.provider.unwrap().block.unwrap();
    let secret_key = provider_block
        .attributes
        .iter()
        .find(|a| a.name == "secret_key")
        .unwrap();
    assert!(secret_key.sensitive && secret_key.optional);
    let data_block = schema.data_source_schemas[DATA_SOURCE]
        .block
        .clone()
        .unwrap();
    let nested = |name: &str| {
        let attr = data_block
            .attributes
            .iter()
            .find(|a| a.name == name)
            .unwrap();
        assert!(
            attr.r#type.is_empty(),
            "{name}: type must be empty with nested_type"
        );
        assert!(attr.computed);
        attr.nested_type.clone().unwrap()
    };
    let tasks = nested("tasks");
    assert_eq!(tasks.nesting, pb::schema::object::NestingMode::List as i32);
    assert!(tasks.attributes.iter().all(|a| !a.description.is_empty()));
    assert!(tasks.attributes.iter().any(|a| a.name == "task_status"));
    assert_eq!(
        nested("latest").nesting,
        pb::schema::object::NestingMode::Map as i32
    );

    let functions = provider
        .get_functions(pb::get_functions::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(functions.functions.is_empty() && functions.diagnostics.is_empty());
    let identities = provider
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(identities.identity_schemas.is_empty());

    // Validation: a good provider block passes; a bad data source block points at the attribute.
    let good = provider_config(&provider_block, "http://127.0.0.1:9");
    let validated = provider
        .validate_provider_config(pb::validate_provider_config::Request {
            config: dynamic(&good),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&validated.diagnostics).is_empty(), "{validated:?}");

    let bad = config_for(&data_block, &[("status", Value::String("BOGUS".into()))]);
    let validated = validate_data(&mut provider, DATA_SOURCE, dynamic(&bad)).await;
    let [error] = errors(&validated.diagnostics)[..] else {
        panic!("one error expected: {validated:?}")
    };
    let steps = &error.attribute.as_ref().expect("attribute path").steps;
    assert_eq!(
        steps[0].selector,
        Some(Selector::AttributeName("status".into()))
    );

    // Unknown values skip the checks.
    let unknown = config_for(&data_block, &[("status", Value::Unknown)]);
    let validated = validate_data(&mut provider, DATA_SOURCE, dynamic(&unknown)).await;
    assert!(errors(&validated.diagnostics).is_empty(), "{validated:?}");

    // JSON DynamicValues are accepted in requests.
    let validated = validate_data(
        &mut provider,
        DATA_SOURCE,
        Some(pb::DynamicValue {
            msgpack: Vec::new(),
            json: br#"{"status":"BOGUS"}"#.to_vec(),
        }),
    )
    .await;
    assert_eq!(errors(&validated.diagnostics).len(), 1, "{validated:?}");

    configure(&mut provider, &good).await;

    // Reads of unknown types and undecodable values are error diagnostics, not crashes.
    let read = provider
        .read_data_source(pb::read_data_source::Request {
            type_name: "csms_nope".into(),
            config: dynamic(&Value::object([("x", Value::Null)])),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(read.state.is_none());
    assert!(errors(&read.diagnostics)[0]
        .summary
        .contains("Unknown data source"));
    let read = provider
        .read_data_source(pb::read_data_source::Request {
            type_name: DATA_SOURCE.into(),
            config: Some(pb::DynamicValue {
                msgpack: vec![0xdd, 0xff, 0xff, 0xff, 0xff],
                json: Vec::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&read.diagnostics)[0].summary.contains("decode"),
        "{read:?}"
    );
    let unknown_type = validate_data(&mut provider, "csms_nope", dynamic(&Value::Null)).await;
    assert_eq!(errors(&unknown_type.diagnostics).len(), 1);

    // RPCs a data-source-only provider does not serve.
    let status = provider
        .read_resource(pb::read_resource::Request::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);

    // go-plugin's services.
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);
    let mut stdio = GrpcStdioClient::new(channel.clone())
        .stream_stdio(())
        .await
        .unwrap()
        .into_inner();
    let mut broker = GrpcBrokerClient::new(channel.clone())
        .start_stream(tokio_stream::empty())
        .await
        .unwrap()
        .into_inner();
    // Both streams stay open and silent while serving...
    assert!(
        tokio::time::timeout(Duration::from_millis(200), stdio.message())
            .await
            .is_err()
    );

    let stopped = provider
        .stop_provider(pb::stop_provider::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stopped.error, "");

    // ...and end cleanly on Shutdown.
    shut_down(plugin).await;
    let end = tokio::time::timeout(TIMEOUT, stdio.message())
        .await
        .unwrap();
    assert!(matches!(end, Ok(None)), "{end:?}");
    let end = tokio::time::timeout(TIMEOUT, broker.message())
        .await
        .unwrap();
    assert!(matches!(end, Ok(None)), "{end:?}");
}

/// A launch maps libc, GCC's unwinder and the dynamic loader, nothing more: each shared
/// library costs every one of the 3 or 4 launches of a Terraform command its mapping, page
/// faults and constructors (issue 22). libm came in once with tokio's multi-thread scheduler,
/// which the package's binaries therefore do not enable; the tests do (their dev-dependency),
/// so the binary under test here may map libm and the manifest is checked instead. libgcc_s
/// stays: linking GCC's unwinder statically needs glibc 2.35, past RHEL 9 and Huawei Cloud
/// EulerOS 2.0.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test]
async fn a_launch_loads_only_libc_and_the_unwinder() {
    let plugin = Plugin::start(&[]).await;
    let pid = plugin.child.id().expect("running");
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    shut_down(plugin).await;
    let mut libraries: Vec<&str> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter_map(|path| path.rsplit('/').next())
        .filter(|name| name.contains(".so") && *name != "libm.so.6")
        .collect();
    libraries.sort_unstable();
    libraries.dedup();
    assert_eq!(
        libraries,
        ["ld-linux-x86-64.so.2", "libc.so.6", "libgcc_s.so.1"],
        "{maps}"
    );
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("Cargo.toml");
    let dependencies = manifest
        .split("\n[")
        .find(|table| table.starts_with("dependencies]"))
        .expect("a [dependencies] table");
    let tokio = dependencies
        .lines()
        .find(|line| line.starts_with("tokio ="))
        .expect("tokio in [dependencies]");
    assert!(!tokio.contains("rt-multi-thread"), "{tokio}");
}

/// Only the process holding the certificate from PLUGIN_CLIENT_CERT may call the plugin: no
/// certificate, or another P-521 certificate, is refused before any RPC.
#[tokio::test]
async fn clients_without_the_pinned_certificate_are_refused() {
    let plugin = Plugin::start(&[("TF_LOG_PROVIDER", "WARN")]).await;
    for cert in [None, Some(ClientCert::generate())] {
        let refused = match connect(&plugin.handshake, cert.as_ref()).await {
            Err(_) => true,
            Ok(channel) => ProviderClient::new(channel)
                .get_provider_schema(pb::get_provider_schema::Request {})
                .await
                .is_err(),
        };
        assert!(
            refused,
            "a client with {:?} certificate got in",
            cert.map(|_| "another")
        );
    }
    assert!(
        plugin.stderr.text().contains("Refused a connection"),
        "stderr:\n{}",
        plugin.stderr.text()
    );
    // The right client still gets in afterwards.
    schemas(&mut plugin.provider().await).await;
    shut_down(plugin).await;
}

/// A plugin whose stderr reader is gone keeps serving and exits 0 on Shutdown: SIGPIPE is
/// ignored (on GNU/Linux the binary does it itself, `plugin::entry`) and log lines are dropped.
#[tokio::test]
async fn a_closed_stderr_does_not_kill_the_plugin() {
    use tokio::io::AsyncBufReadExt;
    let cert = ClientCert::generate();
    let mut cmd = clean_command(&[]);
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_CLIENT_CERT", &cert.pem)
        .env("TF_LOG_PROVIDER", "TRACE");
    let mut child = cmd.spawn().unwrap();
    drop(child.stderr.take());
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(TIMEOUT, stdout.read_line(&mut line))
        .await
        .expect("handshake line in time")
        .unwrap();
    assert!(line.starts_with("1|6|"), "handshake line: {line:?}");
    let channel = connect(&Handshake::parse(&line), Some(&cert))
        .await
        .unwrap();
    schemas(&mut ProviderClient::new(channel.clone())).await;
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("Shutdown answers");
    let status = tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("exits after Shutdown")
        .unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
}

/// Run by hand, the binary says it is a plugin and exits 1, like every go-plugin binary.
#[tokio::test]
async fn without_the_cookie_it_explains_itself_and_exits_1() {
    let output = tokio::time::timeout(TIMEOUT, clean_command(&[]).output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("This binary is a plugin. These are not meant to be executed directly."),
        "{stderr}"
    );
}

/// A host that cannot speak protocol 6 gets a clear error instead of a handshake.
#[tokio::test]
async fn a_host_without_protocol_6_gets_a_clear_error() {
    let mut cmd = clean_command(&[]);
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5");
    let output = tokio::time::timeout(TIMEOUT, cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("protocol 6") && stderr.contains("4,5"),
        "{stderr}"
    );
}

/// With `<TYPE>_PLUGIN_TRANSPORT=tcp` the plugin listens on 127.0.0.1 within Terraform's port
/// range, still with mTLS.
#[tokio::test]
async fn tcp_transport_listens_on_loopback_within_the_port_range() {
    let plugin = Plugin::start(&[
        ("CSMS_PLUGIN_TRANSPORT", "tcp"),
        ("PLUGIN_MIN_PORT", "21000"),
        ("PLUGIN_MAX_PORT", "21999"),
    ])
    .await;
    assert_eq!(plugin.handshake.network, "tcp");
    let addr: std::net::SocketAddr = plugin.handshake.address.parse().unwrap();
    assert!(addr.ip().is_loopback());
    assert!((21000..=21999).contains(&addr.port()), "{addr}");
    schemas(&mut plugin.provider().await).await;
    shut_down(plugin).await;
}

/// A successful ReadDataSource over mTLS returns a state that decodes to an object of the
/// data source's schema: the echoed filters, every task of the emulator newest first, the newest
/// task per secret and the service's total.
#[tokio::test]
async fn a_successful_read_returns_the_state_of_the_schema() {
    use csms_provider::emulator::{generate, Config, Emulator};
    let emulator = Emulator::start(Config {
        tasks: generate(120, 3),
        ..Config::default()
    })
    .await
    .unwrap();
    let plugin = Plugin::start(&[]).await;
    let mut provider = plugin.provider().await;
    let (provider_block, data_block) = blocks(&mut provider).await;
    let mut config = provider_config(&provider_block, &emulator.base_url());
    if let Value::Object(fields) = &mut config {
        fields.insert(
            "project_id".into(),
            Value::String(emulator.project_id().into()),
        );
    }
    configure(&mut provider, &config).await;

    let read = provider
        .read_data_source(pb::read_data_source::Request {
            type_name: DATA_SOURCE.into(),
            config: dynamic(&config_for(
                &data_block,
                &[("page_size", Value::Number(50.0))],
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    let state = csms_provider::plugin::codec::decode_msgpack(&read.state.unwrap().msgpack)
        .expect("the state is well-formed msgpack");
    let Value::Object(fields) = &state else {
        panic!("state is {state:?}")
    };
    // Nested blocks (`timeouts`) are keys of the state object too.
    let mut names: Vec<&str> = data_block
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .chain(data_block.block_types.iter().map(|b| b.type_name.as_str()))
        .collect();
    names.sort_unstable();
    assert_eq!(fields.keys().map(String::as_str).collect::<Vec<_>>(), names);
    assert_eq!(state.get("page_size"), &Value::Number(50.0));
    assert_eq!(state.get("secret_name"), &Value::Null);
    assert_eq!(state.get("total"), &Value::Number(120.0));

    let mut expected = emulator.tasks().to_vec();
    expected.sort_by(|a, b| {
        b.task_time
            .cmp(&a.task_time)
            .then_with(|| a.task_id.cmp(&b.task_id))
    });
    let Value::List(tasks) = state.get("tasks") else {
        panic!("tasks is {:?}", state.get("tasks"))
    };
    let ids: Vec<&Value> = tasks.iter().map(|t| t.get("task_id")).collect();
    let want: Vec<Value> = expected
        .iter()
        .map(|t| Value::String(t.task_id.clone()))
        .collect();
    assert_eq!(ids, want.iter().collect::<Vec<_>>());
    let first = &expected[0];
    assert_eq!(
        tasks[0].get("task_time"),
        &Value::Number(first.task_time.unwrap() as f64)
    );
    let newest = state
        .get("latest")
        .get(first.secret_name.as_deref().unwrap());
    assert_eq!(newest.get("task_id"), &Value::String(first.task_id.clone()));
    shut_down(plugin).await;
}

/// StopProvider during a read that hangs on the network cancels it promptly and leaves the
/// process serving.
#[tokio::test]
async fn stop_provider_cancels_a_slow_read() {
    // A CSMS endpoint that accepts connections, reads the request, and never answers; it says
    // when a request has arrived, so the test stops the read while it is in flight.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let (arrived_tx, arrived) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut arrived_tx = Some(arrived_tx);
        let mut held = Vec::new();
        while let Ok((mut conn, _)) = silent.accept().await {
            let mut buf = [0u8; 1024];
            if matches!(conn.read(&mut buf).await, Ok(n) if n > 0) {
                if let Some(tx) = arrived_tx.take() {
                    let _ = tx.send(());
                }
            }
            held.push(conn);
        }
    });

    let plugin = Plugin::start(&[]).await;
    let mut provider = plugin.provider().await;
    let (provider_block, data_block) = blocks(&mut provider).await;
    configure(&mut provider, &provider_config(&provider_block, &endpoint)).await;

    let mut reader = provider.clone();
    let config = config_for(&data_block, &[]);
    let read = tokio::spawn(async move {
        reader
            .read_data_source(pb::read_data_source::Request {
                type_name: DATA_SOURCE.into(),
                config: dynamic(&config),
                ..Default::default()
            })
            .await
    });
    tokio::time::timeout(TIMEOUT, arrived)
        .await
        .expect("the read reaches the silent endpoint")
        .unwrap();
    assert!(!read.is_finished(), "the silent endpoint never answers");
    provider
        .stop_provider(pb::stop_provider::Request {})
        .await
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("read cancelled promptly")
        .unwrap()
        .unwrap()
        .into_inner();
    assert!(response.state.is_none());
    assert!(!errors(&response.diagnostics).is_empty(), "{response:?}");

    // Still serving after StopProvider.
    schemas(&mut provider).await;
    shut_down(plugin).await;
}

/// `-debug` serves without cookie or TLS, prints a TF_REATTACH_PROVIDERS value that works,
/// survives Shutdown (Terraform sends one per command), and exits on Ctrl-C.
#[tokio::test]
async fn debug_mode_prints_a_working_reattach_line() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = clean_command(&["-debug"]).spawn().unwrap();
    let stderr = common::plugin::Captured::spawn(child.stderr.take().unwrap());
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let reattach = tokio::time::timeout(TIMEOUT, async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(v) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
                return v.strip_suffix('\'').unwrap().to_string();
            }
        }
        panic!("no reattach line; stderr:\n{}", stderr.text());
    })
    .await
    .unwrap();
    let reattach: serde_json::Value = serde_json::from_str(&reattach).unwrap();
    let entry = &reattach["registry.terraform.io/example/csms"];
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["Pid"], child.id().unwrap());
    let handshake = common::plugin::Handshake {
        core_version: 1,
        protocol_version: 6,
        network: entry["Addr"]["Network"].as_str().unwrap().into(),
        address: entry["Addr"]["String"].as_str().unwrap().into(),
        protocol: "grpc".into(),
        server_cert: None,
    };

    // Two commands, each ending with Shutdown; a server that stopped on the first would
    // refuse the second connection, and the third proves it still serves after the second.
    for _command in 0..2 {
        let channel = connect(&handshake, None).await.unwrap();
        schemas(&mut ProviderClient::new(channel.clone())).await;
        GrpcControllerClient::new(channel)
            .shutdown(Empty {})
            .await
            .unwrap();
    }
    let channel = connect(&handshake, None)
        .await
        .expect("the debug server still accepts after Shutdown");
    schemas(&mut ProviderClient::new(channel)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "debug server exited on Shutdown"
    );

    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", stderr.text());
    assert!(!std::path::Path::new(&handshake.address).exists());
}
