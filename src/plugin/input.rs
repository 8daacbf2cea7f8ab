//! The schema-checked reader of configurations: the read side of [`super::state`]. A provider
//! reads attributes by name through an [`Input`] made from its schema, and a name the schema
//! lacks, or a read as another type than the schema declares, is a provider bug reported as an
//! error (debug builds also assert), never a silent null that would skip a check.
//!
//! Values Terraform sends conform to the schema, so a value of another type only comes from a
//! hand-made configuration (tests); it is reported on the attribute like any invalid value.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::diag::{Diagnostic, PathStep};
use super::schema::{AttrType, Attribute, BlockNesting, Nesting, Schema, Type};
use super::value::{Attr, Value};

/// An object of a configuration, read against the attributes that describe it.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    attributes: &'a [Attribute],
    value: &'a Value,
    path: Vec<PathStep>,
}

/// Why an attribute could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// The provider asked for a name its schema lacks, or as another type: a provider bug.
    #[error("the provider read {name:?} {why}")]
    Schema {
        name: String,
        why: &'static str,
        path: Vec<PathStep>,
    },
    /// The value is not of the schema's type.
    #[error("expected {expected}")]
    Value {
        expected: &'static str,
        path: Vec<PathStep>,
    },
}

impl InputError {
    pub fn path(&self) -> &[PathStep] {
        match self {
            InputError::Schema { path, .. } | InputError::Value { path, .. } => path,
        }
    }

    /// The error on its attribute.
    pub fn diagnostic(&self) -> Diagnostic {
        let summary = match self {
            InputError::Schema { .. } => {
                "Provider bug: configuration read outside its schema".to_string()
            }
            InputError::Value { .. } => format!("Invalid {}", dotted(self.path())),
        };
        let detail = match self {
            InputError::Schema { .. } => format!(
                "{self}. This is a bug in the provider; please report it with the output of \
                 TF_LOG_PROVIDER=DEBUG."
            ),
            InputError::Value { expected, path } => format!("{} must be {expected}.", dotted(path)),
        };
        Diagnostic {
            path: self.path().to_vec(),
            ..Diagnostic::error(summary, detail)
        }
    }
}

impl From<InputError> for Diagnostic {
    fn from(e: InputError) -> Diagnostic {
        e.diagnostic()
    }
}

/// So that a reader returning every error of a block can use `?` on one read.
impl From<InputError> for Vec<Diagnostic> {
    fn from(e: InputError) -> Vec<Diagnostic> {
        vec![e.diagnostic()]
    }
}

/// `timeouts.read`, `assume_role[0].agency_name`: a path as a person writes it.
pub fn dotted(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Attribute(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            PathStep::Index(i) => out.push_str(&format!("[{i}]")),
            PathStep::Key(k) => out.push_str(&format!("[{k:?}]")),
        }
    }
    out
}

impl<'a> Input<'a> {
    /// The top-level object of `schema`'s block.
    pub fn new(schema: &'a Schema, value: &'a Value) -> Input<'a> {
        Input::of(&schema.attributes, value)
    }

    /// An object described by `attributes`.
    pub fn of(attributes: &'a [Attribute], value: &'a Value) -> Input<'a> {
        Input {
            attributes,
            value,
            path: Vec::new(),
        }
    }

    /// The path of attribute `name` of this object.
    pub fn path_of(&self, name: &str) -> Vec<PathStep> {
        let mut path = self.path.clone();
        path.push(PathStep::Attribute(name.to_string()));
        path
    }

    /// The attributes that describe this object.
    pub fn attributes(&self) -> &'a [Attribute] {
        self.attributes
    }

    /// Attribute `name` as a string.
    pub fn string(&self, name: &str) -> Result<Attr<String>, InputError> {
        self.plain(
            name,
            |t| *t == Type::String,
            "a string",
            |v| match v {
                Value::String(s) => Some(s.clone()),
                _ => None,
            },
        )
    }

    /// Attribute `name` as a number. cty sends a number that no float64 holds exactly (`0.1`)
    /// as its decimal text, which only the schema tells from a string: it is read here.
    pub fn number(&self, name: &str) -> Result<Attr<f64>, InputError> {
        self.plain(
            name,
            |t| *t == Type::Number,
            "a number",
            |v| match v {
                Value::Number(n) => Some(*n),
                Value::String(text) => text.parse().ok().filter(|n: &f64| n.is_finite()),
                _ => None,
            },
        )
    }

    /// Attribute `name`, a number, as a whole number.
    pub fn integer(&self, name: &str) -> Result<Attr<i64>, InputError> {
        self.number(name)?.try_map(|n| {
            if n.fract() == 0.0 && n.abs() < 2f64.powi(53) {
                Ok(n as i64)
            } else {
                Err(self.mismatch(name, "a whole number"))
            }
        })
    }

    /// Attribute `name`, a string, as an RFC 3339 timestamp (declare [`Validator::Rfc3339`]
    /// with it, so that a bad one is refused with a helpful message at validate time).
    ///
    /// [`Validator::Rfc3339`]: super::Validator::Rfc3339
    pub fn timestamp(&self, name: &str) -> Result<Attr<OffsetDateTime>, InputError> {
        self.parsed(name, "an RFC 3339 timestamp", |s| {
            OffsetDateTime::parse(s, &Rfc3339).ok()
        })
    }

    /// Attribute `name`, a string, as a duration in Terraform's syntax (declare
    /// [`Validator::Duration`] with it).
    ///
    /// [`Validator::Duration`]: super::Validator::Duration
    pub fn duration(&self, name: &str) -> Result<Attr<Duration>, InputError> {
        self.parsed(name, "a duration", |s| super::duration::parse(s).ok())
    }

    fn parsed<T>(
        &self,
        name: &str,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Attr<T>, InputError> {
        self.string(name)?
            .try_map(|s| parse(&s).ok_or_else(|| self.mismatch(name, expected)))
    }

    /// Attribute `name` as a bool.
    pub fn bool(&self, name: &str) -> Result<Attr<bool>, InputError> {
        self.plain(
            name,
            |t| *t == Type::Bool,
            "a bool",
            |v| match v {
                Value::Bool(b) => Some(*b),
                _ => None,
            },
        )
    }

    /// Attribute `name`, a list or set of strings. Elements are `Attr`s because a validate
    /// call may see some of them unknown; a null element is refused (Terraform forbids them in
    /// sets and a provider has no use for them in lists).
    pub fn strings(&self, name: &str) -> Result<Attr<Vec<Attr<String>>>, InputError> {
        let strings = |t: &Type| matches!(t, Type::List(e) | Type::Set(e) if **e == Type::String);
        let path = self.path_of(name);
        let items = self.plain(name, strings, "a list of strings", |v| match v {
            Value::List(items) => Some(items.as_slice()),
            _ => None,
        })?;
        items.try_map(|items| {
            items
                .iter()
                .map(|item| match item {
                    Value::Unknown => Ok(Attr::Unknown),
                    Value::String(s) => Ok(Attr::Set(s.clone())),
                    _ => Err(InputError::Value {
                        expected: "a list of strings, none of them null",
                        path: path.clone(),
                    }),
                })
                .collect()
        })
    }

    /// Whether attribute `name`, of whatever type, is set, null or unknown.
    pub fn presence(&self, name: &str) -> Result<Attr<()>, InputError> {
        let (_, value) = self.attribute(name, |_| true)?;
        Ok(match value {
            Value::Unknown => Attr::Unknown,
            Value::Null => Attr::Null,
            _ => Attr::Set(()),
        })
    }

    /// A single nested block or nested object `name`: null when absent.
    pub fn object(&self, name: &str) -> Result<Attr<Input<'a>>, InputError> {
        let (attribute, value) = self.attribute(name, |ty| {
            matches!(
                ty,
                AttrType::Block(BlockNesting::Single, _) | AttrType::Nested(Nesting::Single, _)
            )
        })?;
        match value {
            Value::Unknown => Ok(Attr::Unknown),
            Value::Null => Ok(Attr::Null),
            Value::Object(_) => Ok(Attr::Set(self.child(attribute, value, self.path_of(name)))),
            _ => Err(self.mismatch(name, "an object")),
        }
    }

    /// A list block or nested list `name`: one [`Input`] per element, each at its index.
    pub fn objects(&self, name: &str) -> Result<Attr<Vec<Input<'a>>>, InputError> {
        let (attribute, value) = self.attribute(name, |ty| {
            matches!(
                ty,
                AttrType::Block(BlockNesting::List { .. }, _) | AttrType::Nested(Nesting::List, _)
            )
        })?;
        match value {
            Value::Unknown => Ok(Attr::Unknown),
            Value::Null => Ok(Attr::Null),
            Value::List(items) => Ok(Attr::Set(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let mut path = self.path_of(name);
                        path.push(PathStep::Index(i as i64));
                        self.child(attribute, item, path)
                    })
                    .collect(),
            )),
            _ => Err(self.mismatch(name, "a list of objects")),
        }
    }

    fn child(&self, attribute: &'a Attribute, value: &'a Value, path: Vec<PathStep>) -> Input<'a> {
        Input {
            attributes: attribute.ty.children().unwrap_or_default(),
            value,
            path,
        }
    }

    fn plain<T>(
        &self,
        name: &str,
        fits: impl Fn(&Type) -> bool,
        expected: &'static str,
        take: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Attr<T>, InputError> {
        let (_, value) = self.attribute(name, |ty| matches!(ty, AttrType::Plain(t) if fits(t)))?;
        match value {
            Value::Unknown => Ok(Attr::Unknown),
            Value::Null => Ok(Attr::Null),
            value => take(value)
                .map(Attr::Set)
                .ok_or_else(|| self.mismatch(name, expected)),
        }
    }

    /// The schema's attribute `name` and its value (null when the object lacks it), if the
    /// schema declares it with a type that `fits`.
    fn attribute(
        &self,
        name: &str,
        fits: impl Fn(&AttrType) -> bool,
    ) -> Result<(&'a Attribute, &'a Value), InputError> {
        let bug = |why| {
            debug_assert!(
                false,
                "configuration read outside its schema: {name:?} {why}"
            );
            InputError::Schema {
                name: name.to_string(),
                why,
                path: self.path_of(name),
            }
        };
        let attribute = self
            .attributes
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| bug("which its schema lacks"))?;
        if !fits(&attribute.ty) {
            return Err(bug("as another type than its schema declares"));
        }
        let value = match self.value {
            Value::Object(fields) => fields.get(name).unwrap_or(&Value::Null),
            _ => &Value::Null,
        };
        Ok((attribute, value))
    }

    fn mismatch(&self, name: &str, expected: &'static str) -> InputError {
        InputError::Value {
            expected,
            path: self.path_of(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Usage;

    fn schema() -> Schema {
        let plain = |name, ty| Attribute::plain(name, ty, Usage::Optional);
        Schema::of(vec![
            plain("name", Type::String),
            plain("size", Type::Number),
            plain("names", Type::Set(Box::new(Type::String))),
            Attribute::block(
                "timeouts",
                BlockNesting::Single,
                vec![plain("read", Type::String)],
            ),
            Attribute::block(
                "roles",
                BlockNesting::List { max_items: 1 },
                vec![plain("agency", Type::String)],
            ),
        ])
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn attributes_read_as_their_schema_types_with_unknown_and_null_apart() {
        let schema = schema();
        let config = Value::object([
            ("name", s("db")),
            ("size", Value::Unknown),
            ("names", Value::List(vec![s("a"), Value::Unknown])),
            ("timeouts", Value::object([("read", s("5m"))])),
            (
                "roles",
                Value::List(vec![Value::object([("agency", s("x"))])]),
            ),
        ]);
        let input = Input::new(&schema, &config);
        assert_eq!(input.string("name"), Ok(Attr::Set("db".into())));
        assert_eq!(input.number("size"), Ok(Attr::Unknown));
        assert_eq!(
            input.strings("names"),
            Ok(Attr::Set(vec![Attr::Set("a".into()), Attr::Unknown]))
        );
        let Ok(Attr::Set(timeouts)) = input.object("timeouts") else {
            panic!("a block")
        };
        assert_eq!(timeouts.string("read"), Ok(Attr::Set("5m".into())));
        let Ok(Attr::Set(roles)) = input.objects("roles") else {
            panic!("a list block")
        };
        assert_eq!(
            roles[0].path_of("agency"),
            [
                PathStep::Attribute("roles".into()),
                PathStep::Index(0),
                PathStep::Attribute("agency".into())
            ]
        );
        let empty = Value::Null;
        assert_eq!(Input::new(&schema, &empty).string("name"), Ok(Attr::Null));
        // As cty sends 0.1, which no float64 holds exactly.
        let text = Value::object([("size", s("0.1"))]);
        assert_eq!(
            Input::new(&schema, &text).number("size"),
            Ok(Attr::Set(0.1))
        );
        let word = Value::object([("size", s("ten"))]);
        assert!(Input::new(&schema, &word).number("size").is_err());
    }

    #[test]
    fn a_value_of_another_type_is_an_error_on_its_attribute() {
        let schema = schema();
        let config = Value::object([("timeouts", Value::object([("read", Value::Bool(true))]))]);
        let Ok(Attr::Set(timeouts)) = Input::new(&schema, &config).object("timeouts") else {
            panic!("a block")
        };
        let e = timeouts.string("read").unwrap_err();
        let d = e.diagnostic();
        assert_eq!(d.summary, "Invalid timeouts.read");
        assert_eq!(d.detail, "timeouts.read must be a string.");
        assert_eq!(d.path, e.path());
    }

    /// Like the state writer, a name the schema lacks or a read as another type is refused: in
    /// release builds as an error, in debug builds also by an assertion (what this observes).
    #[test]
    fn a_name_or_type_the_schema_lacks_is_refused() {
        let schema = schema();
        let config = Value::object([("nmae", s("db"))]);
        for read in [
            (|i: &Input| i.string("nmae").map(|_| ())) as fn(&Input) -> Result<(), InputError>,
            |i| i.number("name").map(|_| ()),
            |i| i.object("roles").map(|_| ()),
        ] {
            let result = std::panic::catch_unwind(|| read(&Input::new(&schema, &config)));
            assert!(
                matches!(result, Err(_) | Ok(Err(InputError::Schema { .. }))),
                "read outside the schema"
            );
        }
    }
}
