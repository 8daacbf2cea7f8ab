//! Terraform values as the provider sees them in requests, decoded once at the plugin boundary.
//! Responses have their own type, [`super::State`].
//!
//! Terraform's wire format (cty msgpack) is type-directed, but the shapes a provider can receive
//! are few: every object and map arrives as a msgpack map and every list or set as an array, so a
//! schema-free [`Value`] loses nothing we need. Unknown and null are first-class states, because a
//! validate call may see unknown attributes and must then skip its checks.

use std::collections::BTreeMap;

/// A Terraform value. Objects and maps share [`Value::Object`]: they encode identically.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Not known until apply (msgpack extension type; any extension payload counts as unknown).
    Unknown,
    Null,
    Bool(bool),
    /// Terraform numbers are arbitrary precision; every number this provider handles (epoch
    /// milliseconds, counts, page sizes) is exact in an f64. Integral values encode as integers.
    Number(f64),
    String(String),
    List(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

/// An attribute read from a config object, with unknown and null kept apart from set values so
/// that callers branch once instead of probing [`Value`] everywhere.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr<T> {
    Unknown,
    Null,
    Set(T),
}

impl<T> Attr<T> {
    /// The value when it is set; `None` for null and unknown.
    pub fn set(self) -> Option<T> {
        match self {
            Attr::Set(v) => Some(v),
            _ => None,
        }
    }

    /// A set value converted by `f`, which may fail; null and unknown stay as they are.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Attr<U>, E> {
        Ok(match self {
            Attr::Set(v) => Attr::Set(f(v)?),
            Attr::Null => Attr::Null,
            Attr::Unknown => Attr::Unknown,
        })
    }
}

impl Value {
    /// An object value from `(name, value)` pairs.
    pub fn object<I, K>(fields: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The attribute `name` of an object; a missing attribute reads as null. Schema-free, for
    /// values whose shape is known otherwise (a decoded state); a configuration is read through
    /// [`super::Input`], which refuses names its schema lacks.
    pub fn get(&self, name: &str) -> &Value {
        match self {
            Value::Object(m) => m.get(name).unwrap_or(&Value::Null),
            _ => &Value::Null,
        }
    }

    /// Whether this value, or anything inside it, is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::List(items) => items.iter().any(Value::contains_unknown),
            Value::Object(m) => m.values().any(Value::contains_unknown),
            _ => false,
        }
    }
}
