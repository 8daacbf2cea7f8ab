//! The DynamicValue decoder: cty's msgpack encoding (and the JSON one Terraform may use in
//! requests) to [`Value`]. Responses are written by [`super::state`], straight from the schema;
//! the tests keep a tree encoder of their own to build requests.
//!
//! Requests come from Terraform, but the decoder still treats its input as hostile: every error
//! is typed, nesting is bounded, and nothing is preallocated from a length the input declares
//! (rmpv reads element by element), so a malformed value becomes an error diagnostic, never a
//! panic or a huge allocation.

use std::collections::BTreeMap;

use super::proto::tfplugin6::DynamicValue;
use super::value::Value;

/// cty values are shallow (objects of lists of objects); anything deeper than this is refused.
const MAX_DEPTH: usize = 64;

/// How cty encodes an unknown value: a fixext1 of extension type 0. Any extension type decodes
/// as unknown (refined unknowns carry other payloads).
#[cfg(test)]
const UNKNOWN: [u8; 3] = [0xd4, 0, 0];

/// Why a DynamicValue could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the request carried no value (neither msgpack nor JSON)")]
    Empty,
    #[error("malformed msgpack: {0}")]
    Msgpack(#[from] rmpv::decode::Error),
    #[error("{0} unexpected bytes after the msgpack value")]
    TrailingBytes(usize),
    #[error("msgpack string is not valid UTF-8")]
    InvalidUtf8,
    #[error("msgpack map key is not a string")]
    NonStringKey,
    #[error("msgpack binary data is not a Terraform value")]
    Binary,
    #[error("msgpack integer out of range")]
    Integer,
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("JSON number {0} is out of range")]
    JsonNumber(String),
}

/// Decodes a request's DynamicValue: msgpack when present, else JSON.
pub fn decode(value: Option<&DynamicValue>) -> Result<Value, DecodeError> {
    match value {
        Some(v) if !v.msgpack.is_empty() => decode_msgpack(&v.msgpack),
        Some(v) if !v.json.is_empty() => decode_json(&v.json),
        _ => Err(DecodeError::Empty),
    }
}

/// Decodes one msgpack value that must span the whole input.
pub fn decode_msgpack(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut rest = bytes;
    let raw = rmpv::decode::read_value_with_max_depth(&mut rest, MAX_DEPTH)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    from_msgpack(raw)
}

fn from_msgpack(raw: rmpv::Value) -> Result<Value, DecodeError> {
    use rmpv::Value as M;
    Ok(match raw {
        M::Nil => Value::Null,
        M::Boolean(b) => Value::Bool(b),
        // Integers decode exactly up to 2^53, which covers every count and epoch millisecond.
        M::Integer(i) => Value::Number(i.as_f64().ok_or(DecodeError::Integer)?),
        M::F32(f) => Value::Number(f64::from(f)),
        M::F64(f) => Value::Number(f),
        M::String(s) => Value::String(s.into_str().ok_or(DecodeError::InvalidUtf8)?),
        M::Binary(_) => return Err(DecodeError::Binary),
        M::Array(items) => Value::List(
            items
                .into_iter()
                .map(from_msgpack)
                .collect::<Result<_, _>>()?,
        ),
        M::Map(entries) => {
            let mut object = BTreeMap::new();
            for (key, value) in entries {
                let M::String(key) = key else {
                    return Err(DecodeError::NonStringKey);
                };
                let key = key.into_str().ok_or(DecodeError::InvalidUtf8)?;
                object.insert(key, from_msgpack(value)?);
            }
            Value::Object(object)
        }
        M::Ext(_, _) => Value::Unknown,
    })
}

/// Decodes a JSON DynamicValue (Terraform may send JSON in requests; it has no unknowns).
pub fn decode_json(bytes: &[u8]) -> Result<Value, DecodeError> {
    from_json(serde_json::from_slice(bytes)?)
}

fn from_json(raw: serde_json::Value) -> Result<Value, DecodeError> {
    use serde_json::Value as J;
    Ok(match raw {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => Value::Number(
            n.as_f64()
                .ok_or_else(|| DecodeError::JsonNumber(n.to_string()))?,
        ),
        J::String(s) => Value::String(s),
        J::Array(items) => Value::List(items.into_iter().map(from_json).collect::<Result<_, _>>()?),
        J::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| Ok((k, from_json(v)?)))
                .collect::<Result<_, DecodeError>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctys_unknown_and_any_extension_decode_as_unknown() {
        assert_eq!(decode_msgpack(&UNKNOWN).unwrap(), Value::Unknown);
        // A refined unknown (Terraform 1.6+): ext type 12 with a payload.
        assert_eq!(
            decode_msgpack(&[0xc7, 3, 12, 0x81, 0x01, 0xc3]).unwrap(),
            Value::Unknown
        );
    }

    #[test]
    fn json_dynamic_values_decode() {
        let value = decode(Some(&DynamicValue {
            msgpack: Vec::new(),
            json: br#"{"region":"cn-north-4","max_retries":3,"insecure":null,"l":[true,1.5]}"#
                .to_vec(),
        }))
        .unwrap();
        assert_eq!(
            value,
            Value::object([
                ("region", Value::String("cn-north-4".into())),
                ("max_retries", Value::Number(3.0)),
                ("insecure", Value::Null),
                (
                    "l",
                    Value::List(vec![Value::Bool(true), Value::Number(1.5)])
                ),
            ])
        );
    }

    #[test]
    fn missing_value_is_an_error() {
        assert!(matches!(decode(None), Err(DecodeError::Empty)));
        assert!(matches!(
            decode(Some(&DynamicValue::default())),
            Err(DecodeError::Empty)
        ));
    }

    #[test]
    fn hostile_msgpack_is_an_error_not_a_panic() {
        let cases: &[&[u8]] = &[
            &[0xdd, 0xff, 0xff, 0xff, 0xff], // array32 claiming 4 billion items
            &[0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0], // map32 claiming 4 billion entries
            &[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'], // str32 claiming 4 GiB
            &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x00], // ext32 claiming 4 GiB
            &[0xc4, 0x01, 0x00],             // binary is not a cty value
            &[0x81, 0x01, 0xc0],             // map with an integer key
            &[0xa2, 0xff, 0xfe],             // invalid UTF-8
            &[0xc0, 0xc0],                   // trailing bytes
            &[],
        ];
        for case in cases {
            assert!(decode_msgpack(case).is_err(), "accepted {case:02x?}");
        }
        // Nesting deeper than any cty value.
        let deep = [0x91u8; 10_000];
        assert!(decode_msgpack(&deep).is_err());
        assert!(decode_json(&[b'['; 10_000]).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let len = rng.usize(0..24);
            let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            let _ = decode_msgpack(&bytes);
        }
    }
}
