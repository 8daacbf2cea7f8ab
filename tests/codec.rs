//! The DynamicValue decoder against the tests' encoder: what Terraform sends decodes to the
//! value it meant, numbers included.

use crate::common;

use common::msgpack::encode;
use csms_provider::plugin::codec::decode_msgpack;
use csms_provider::plugin::Value;

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
