//! The tree encoder the tests use to build requests as Terraform sends them. The provider
//! itself never encodes a [`Value`]: its responses come from the schema-directed state writer.

use csms_provider::plugin::proto::tfplugin6::DynamicValue;
use csms_provider::plugin::Value;

/// `value` as cty msgpack. Integral numbers that fit an i64 are written as integers, like cty
/// does, and unknown as cty's fixext1 of extension type 0.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, value);
    out
}

/// `value` as the msgpack DynamicValue Terraform sends.
pub fn dynamic(value: &Value) -> Option<DynamicValue> {
    Some(DynamicValue {
        msgpack: encode(value),
        json: Vec::new(),
    })
}

fn write(out: &mut Vec<u8>, value: &Value) {
    // Writing to a Vec cannot fail, so the encoder's io::Result is always Ok.
    match value {
        Value::Unknown => out.extend_from_slice(&[0xd4, 0, 0]),
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => {
            // 2^63 as f64: the first integral value that no longer fits an i64.
            const I64_END: f64 = 9_223_372_036_854_775_808.0;
            if n.fract() == 0.0 && *n >= -I64_END && *n < I64_END {
                let _ = rmp::encode::write_sint(out, *n as i64);
            } else {
                let _ = rmp::encode::write_f64(out, *n);
            }
        }
        Value::String(s) => {
            let _ = rmp::encode::write_str(out, s);
        }
        Value::List(items) => {
            let _ = rmp::encode::write_array_len(out, items.len() as u32);
            for item in items {
                write(out, item);
            }
        }
        Value::Object(fields) => {
            let _ = rmp::encode::write_map_len(out, fields.len() as u32);
            for (key, item) in fields {
                let _ = rmp::encode::write_str(out, key);
                write(out, item);
            }
        }
    }
}
