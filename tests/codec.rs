//! The DynamicValue decoder against the tests' encoder, and against values real Terraform sent
//! (captured by a recording proxy and committed): what Terraform sends decodes to the value it
//! meant, numbers and unknowns included.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::msgpack::encode;
use common::plugin::Plugin;
use common::recorder::Recorder;
use common::terraform::{emulator_with, Run, Workdir, AK, PROVIDER, SK};
use csms_provider::emulator::{Emulator, Faults};
use csms_provider::plugin::codec::decode_msgpack;
use csms_provider::plugin::proto::tfplugin6 as pb;
use csms_provider::plugin::{DataSource, Value};
use csms_provider::provider::rotation_tasks::RotationTasks;
use csms_provider::provider::{config, ClientSlot};
use prost::Message;

#[track_caller]
fn round_trip(value: Value) {
    let bytes = encode(&value);
    assert_eq!(
        decode_msgpack(&bytes).unwrap(),
        value,
        "bytes: {bytes:02x?}"
    );
}

#[test]
fn scalars_round_trip() {
    round_trip(Value::Null);
    round_trip(Value::Unknown);
    round_trip(Value::Bool(true));
    round_trip(Value::Bool(false));
    round_trip(Value::String(String::new()));
    round_trip(Value::String("prod-db-password ✓".into()));
    for n in [
        0.0,
        1.0,
        -1.0,
        1000.0,
        1.5,
        -0.25,
        1_700_000_000_123.0,
        1e300,
    ] {
        round_trip(Value::Number(n));
    }
}

#[test]
fn nested_objects_with_null_and_unknown_round_trip() {
    let task = |id: &str| {
        Value::object([
            ("task_id", Value::String(id.into())),
            ("task_time", Value::Number(1_700_000_000_000.0)),
            ("task_error_msg", Value::Null),
        ])
    };
    round_trip(Value::object([
        ("secret_name", Value::String("db".into())),
        ("status", Value::Unknown),
        ("page_size", Value::Null),
        ("tasks", Value::List(vec![task("a"), task("b")])),
        ("latest", Value::object([("db", task("b"))])),
        ("empty", Value::List(Vec::new())),
    ]));
}

/// The encoder writes numbers as cty does, so the decoder is tested on Terraform's shapes.
#[test]
fn integral_numbers_encode_as_integers() {
    assert_eq!(encode(&Value::Number(5.0)), [0x05]);
    assert_eq!(encode(&Value::Number(-1.0)), [0xff]);
    assert_eq!(encode(&Value::Number(1000.0)), [0xcd, 0x03, 0xe8]);
    assert_eq!(
        encode(&Value::Number(0.5))[0],
        0xcb,
        "non-integral: float64"
    );
    assert_eq!(encode(&Value::Number(1e19))[0], 0xcb, "beyond i64: float64");
}

// ---------------------------------------------------------------------------------------------
// Values real Terraform produced (tests/data/terraform-values, see its README.md).

/// Where the captured values are committed.
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/terraform-values")
}

/// A plan whose blocks give every shape a data source block takes: strings, an integer, a
/// nested block, absent attributes and blocks, and (at validate time, where references are not
/// known yet) unknown values, refined ones included.
const PLAN: &str = r#"
data "csms_rotation_tasks" "a" {
  secret_name = "db-password"
  status      = "FAILED"
  page_size   = 50
  since       = "2026-01-01T00:00:00Z"
  timeouts {
    read = "90s"
  }
}

data "csms_rotation_tasks" "b" {
  secret_name = "api-key"
  since       = "${data.csms_rotation_tasks.a.since}"
  page_size   = data.csms_rotation_tasks.a.page_size
}
"#;

/// Numbers that are no integer: cty sends one exact in a float64 as a float64 and any other
/// as its decimal text. `terraform validate` refuses them (page sizes are whole numbers).
const NUMBERS: &str = r#"
data "csms_rotation_tasks" "half" {
  secret_name = "half"
  page_size   = 1.5
}

data "csms_rotation_tasks" "tenth" {
  secret_name = "tenth"
  page_size   = 0.1
}
"#;

/// The DynamicValues of one Terraform command through the recording proxy, by fixture name:
/// `<rpc>-<secret_name or provider>-<known|unknown>`.
async fn capture(emu: &Emulator, config: &str, args: &[&str]) -> (Run, BTreeMap<String, Vec<u8>>) {
    let env = [
        ("HW_CSMS_ENDPOINT", emu.base_url()),
        ("HW_PROJECT_ID", emu.project_id().to_string()),
        ("HW_ACCESS_KEY", AK.to_string()),
        ("HW_SECRET_KEY", SK.to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let plugin = Plugin::start(&env).await;
    let recorder = Recorder::start(plugin.channel().await);
    let reattach = recorder.reattach(plugin.child.id().expect("provider pid"));
    let dir = Workdir::new(&[("main.tf", &format!("{PROVIDER}\n{config}"))]);
    let run = dir
        .run_with(args, &[("TF_REATTACH_PROVIDERS", reattach.as_str())])
        .await;
    let mut values = BTreeMap::new();
    let configs = [
        (
            "ValidateProviderConfig",
            recorder
                .requests("ValidateProviderConfig")
                .iter()
                .map(|r| {
                    pb::validate_provider_config::Request::decode(&r[..])
                        .unwrap()
                        .config
                })
                .collect::<Vec<_>>(),
        ),
        (
            "ConfigureProvider",
            recorder
                .requests("ConfigureProvider")
                .iter()
                .map(|r| {
                    pb::configure_provider::Request::decode(&r[..])
                        .unwrap()
                        .config
                })
                .collect(),
        ),
        (
            "ValidateDataResourceConfig",
            recorder
                .requests("ValidateDataResourceConfig")
                .iter()
                .map(|r| {
                    pb::validate_data_resource_config::Request::decode(&r[..])
                        .unwrap()
                        .config
                })
                .collect(),
        ),
        (
            "ReadDataSource",
            recorder
                .requests("ReadDataSource")
                .iter()
                .map(|r| {
                    pb::read_data_source::Request::decode(&r[..])
                        .unwrap()
                        .config
                })
                .collect(),
        ),
    ];
    for (rpc, configs) in configs {
        for config in configs {
            let bytes = config.expect("a config").msgpack;
            let value =
                decode_msgpack(&bytes).unwrap_or_else(|e| panic!("{rpc}: {e}; bytes {bytes:02x?}"));
            let block = match value.get("secret_name") {
                Value::String(name) => name.clone(),
                _ => "provider".to_string(),
            };
            let known = if value.contains_unknown() {
                "unknown"
            } else {
                "known"
            };
            let name = format!("{rpc}-{block}-{known}");
            if let Some(earlier) = values.insert(name.clone(), bytes.clone()) {
                assert_eq!(earlier, bytes, "{name} sent twice, differently");
            }
        }
    }
    (run, values)
}

/// Both commands' values.
async fn capture_all() -> BTreeMap<String, Vec<u8>> {
    let emu = emulator_with(Vec::new(), Faults::default()).await;
    let (plan, mut values) = capture(&emu, PLAN, &["plan", "-input=false", "-no-color"]).await;
    plan.assert_ok();
    let (validate, numbers) = capture(&emu, NUMBERS, &["validate", "-no-color"]).await;
    validate.assert_error(&["Invalid page_size"]);
    values.extend(numbers);
    values
}

fn committed() -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(fixtures_dir())
        .expect("the fixtures directory")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".msgpack")?.to_string();
            Some((stem, std::fs::read(e.path()).unwrap()))
        })
        .collect()
}

/// Terraform sends today what the fixtures hold. With `CSMS_WRITE_FIXTURES=1` the fresh capture
/// replaces them instead (after a Terraform upgrade that changes them; review the diff).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_values_are_what_terraform_sends() {
    let fresh = capture_all().await;
    if std::env::var_os("CSMS_WRITE_FIXTURES").is_some() {
        for stale in committed().keys() {
            std::fs::remove_file(fixtures_dir().join(format!("{stale}.msgpack"))).unwrap();
        }
        for (name, bytes) in &fresh {
            std::fs::write(fixtures_dir().join(format!("{name}.msgpack")), bytes).unwrap();
        }
    }
    let committed = committed();
    assert_eq!(
        fresh.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>(),
        "the values Terraform sends changed; see tests/data/terraform-values/README.md"
    );
    for (name, bytes) in &fresh {
        assert_eq!(bytes, &committed[name], "{name} changed");
    }
}

/// A committed value, decoded.
fn fixture(name: &str) -> Value {
    let bytes = std::fs::read(fixtures_dir().join(format!("{name}.msgpack")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    decode_msgpack(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

/// What Terraform sent decodes to what the configuration says, and the provider's validation
/// takes it as meant: unknowns skip their checks, a number cty wrote as text is a number.
#[test]
fn values_terraform_sent_decode_and_validate_as_meant() {
    let names = committed();
    assert_eq!(names.len(), 9, "{:?}", names.keys());
    for name in names.keys() {
        fixture(name);
    }
    let tasks = RotationTasks::new(ClientSlot::default());

    let a = fixture("ReadDataSource-db-password-known");
    assert_eq!(a.get("status"), &s("FAILED"));
    assert_eq!(a.get("page_size"), &Value::Number(50.0));
    assert_eq!(a.get("since"), &s("2026-01-01T00:00:00Z"));
    assert_eq!(a.get("timeouts"), &Value::object([("read", s("90s"))]));
    for absent in ["task_id", "region", "tasks", "latest", "total", "id"] {
        assert_eq!(a.get(absent), &Value::Null, "{absent}");
    }
    assert_eq!(tasks.validate(&a), []);

    // Before `a` is read, `b`'s references are unknown; its absent block is null.
    let b = fixture("ValidateDataResourceConfig-api-key-unknown");
    assert_eq!(b.get("since"), &Value::Unknown);
    assert_eq!(b.get("page_size"), &Value::Unknown);
    assert_eq!(b.get("timeouts"), &Value::Null);
    assert_eq!(tasks.validate(&b), []);
    let b = fixture("ReadDataSource-api-key-known");
    assert_eq!(b.get("since"), &s("2026-01-01T00:00:00Z"));
    assert_eq!(tasks.validate(&b), []);

    // 1.5 arrives as a float64, 0.1 as the text "0.1"; both are refused as page sizes.
    let half = fixture("ValidateDataResourceConfig-half-known");
    assert_eq!(half.get("page_size"), &Value::Number(1.5));
    let tenth = fixture("ValidateDataResourceConfig-tenth-known");
    assert_eq!(tenth.get("page_size"), &s("0.1"));
    for (config, written) in [(half, "1.5"), (tenth, "0.1")] {
        let diags = tasks.validate(&config);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].summary, "Invalid page_size");
        assert!(
            diags[0].detail.starts_with(&format!(
                "page_size is {written}; it must be a whole number"
            )),
            "{}",
            diags[0].detail
        );
    }

    // The provider block: set attributes, null ones, and an absent list block as an empty list.
    for rpc in ["ValidateProviderConfig", "ConfigureProvider"] {
        let provider = fixture(&format!("{rpc}-provider-known"));
        assert_eq!(provider.get("region"), &s("cn-north-4"));
        assert_eq!(provider.get("access_key"), &Value::Null);
        assert_eq!(provider.get("assume_role"), &Value::List(Vec::new()));
        assert_eq!(config::validate(&provider), []);
    }
}
