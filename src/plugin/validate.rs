//! Validators, declared with the attribute they guard ([`super::Attribute::validate`]) and run
//! from the schema by [`check`], so that a constraint is stated once: its check, its error and
//! its sentence in the docs ([`Validator::describe`]) come from the same declaration.
//!
//! Unknown values skip their checks (a validate call may see them; a read never does), except
//! that an unknown value still conflicts: it will be set, and the combination is refused anyway.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::diag::Diagnostic;
use super::input::{dotted, Input, InputError};
use super::schema::{AttrType, Attribute, BlockNesting, Nesting, Schema, Type, Usage};
use super::value::{Attr, Value};

/// One check of a configured value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Validator {
    /// A string, exactly one of these (case matters). Like every check of a string here, on
    /// a list or set of strings it checks each element.
    OneOf(&'static [&'static str]),
    /// When this attribute is set, none of `others` may be (null is unset; unknown counts as
    /// set). `why` is the sentence that explains it to the user.
    ConflictsWith {
        others: &'static [&'static str],
        why: &'static str,
    },
    /// A string holding an RFC 3339 timestamp.
    Rfc3339,
    /// A whole number from `min` to `max`, both included.
    IntRange { min: i64, max: i64 },
    /// A string holding a duration in Terraform's syntax ([`super::duration::parse`]), never
    /// negative; zero only when `allow_zero`.
    Duration { allow_zero: bool },
    /// A list or set of strings, none empty, none repeated.
    DistinctNonEmpty,
    /// A check of a string that only its provider knows.
    Rule(Rule),
}

/// A provider's own check of a string: what the docs say of it, and the check, which returns
/// the full detail of the error.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Markdown: one sentence, appended to the attribute's description.
    pub prose: &'static str,
    pub check: fn(&str) -> Result<(), String>,
}

/// Rules compare by what they say: function pointers have no reliable identity.
impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.prose == other.prose
    }
}

impl Validator {
    /// The constraint as one Markdown sentence for the attribute's description.
    pub fn describe(&self) -> String {
        match self {
            Validator::OneOf(values) => format!(
                "Allowed values: {}.",
                values
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Validator::ConflictsWith { others, .. } => format!(
                "Cannot be combined with {}.",
                alternatives(others, |o| format!("`{o}`"))
            ),
            Validator::Rfc3339 => "An RFC 3339 timestamp, e.g. `\"2026-11-01T00:00:00Z\"`.".into(),
            Validator::IntRange { min, max } => format!("A whole number from {min} to {max}."),
            Validator::Duration { allow_zero } => format!(
                "A duration in Terraform's syntax: numbers with units `h`, `m` or `s` (also `ms`, `us`, \
                 `ns`), e.g. `\"90s\"`, `\"1h30m\"`, `\"720h\"`; {}.",
                if *allow_zero { "not negative" } else { "above zero" }
            ),
            Validator::DistinctNonEmpty => "No entry may be empty or repeated.".into(),
            Validator::Rule(rule) => rule.prose.into(),
        }
    }

    /// Checks `attribute` of `input`; the errors point at it. The checks of a string apply to
    /// each element of a list or set of strings.
    fn check(&self, input: &Input<'_>, attribute: &Attribute) -> Vec<Diagnostic> {
        let name = attribute.name;
        let path = input.path_of(name);
        let at = dotted(&path);
        let invalid = |detail: String| Diagnostic {
            path: path.clone(),
            ..Diagnostic::error(format!("Invalid {at}"), detail)
        };
        let element = matches!(attribute.ty, AttrType::Plain(Type::List(_) | Type::Set(_)));
        // "since is "x"", or "secret_names holds "x"".
        let is = if element { "holds" } else { "is" };
        // The set strings to check: the value, or the elements.
        let strings = || -> Result<Vec<String>, Vec<Diagnostic>> {
            if element {
                Ok(match input.strings(name)? {
                    Attr::Set(items) => items.into_iter().filter_map(Attr::set).collect(),
                    _ => Vec::new(),
                })
            } else {
                Ok(input.string(name)?.set().into_iter().collect())
            }
        };
        let checked = || -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
            Ok(match self {
                Validator::OneOf(values) => strings()?
                    .into_iter()
                    .filter(|s| !values.contains(&s.as_str()))
                    .map(|s| {
                        invalid(format!(
                            "{at} {is} {s:?}; it must be {}, written exactly so.",
                            alternatives(values, |v| format!("{v:?}"))
                        ))
                    })
                    .collect(),
                Validator::ConflictsWith { others, why } => {
                    if !matches!(input.presence(name)?, Attr::Set(())) {
                        return Ok(Vec::new());
                    }
                    let mut set = Vec::new();
                    for other in *others {
                        if !matches!(input.presence(other)?, Attr::Null) {
                            set.push(*other);
                        }
                    }
                    if set.is_empty() {
                        Vec::new()
                    } else {
                        vec![Diagnostic {
                            path: path.clone(),
                            ..Diagnostic::error(
                                "Conflicting arguments",
                                format!("{why} Remove {} or {name}.", set.join(" and ")),
                            )
                        }]
                    }
                }
                Validator::Rfc3339 => strings()?
                    .into_iter()
                    .filter_map(|text| {
                        let e = OffsetDateTime::parse(&text, &Rfc3339).err()?;
                        Some(invalid(format!(
                            "{at} {is} {text:?}, which is not an RFC 3339 timestamp ({e}). Write it like \
                             \"2026-11-01T00:00:00Z\", or compute it, e.g. timeadd(plantimestamp(), \"-720h\")."
                        )))
                    })
                    .collect(),
                Validator::IntRange { min, max } => match input.number(name)? {
                    Attr::Set(n) if n.fract() != 0.0 || n < *min as f64 || n > *max as f64 => {
                        let unset = if attribute.usage == Usage::Required { "" } else { ", or unset" };
                        vec![invalid(format!(
                            "{at} is {n}; it must be a whole number from {min} to {max}{unset}."
                        ))]
                    }
                    _ => Vec::new(),
                },
                Validator::Duration { allow_zero } => strings()?
                    .into_iter()
                    .filter_map(|text| match super::duration::parse(&text) {
                        Ok(d) if d.is_zero() && !allow_zero => Some(invalid(format!(
                            "{at} {is} {text:?}; give a duration above zero, e.g. \"5m\"."
                        ))),
                        Ok(_) => None,
                        Err(why) => Some(invalid(format!(
                            "{at} {is} {text:?}, which is not a duration ({why}). Write a sequence of numbers \
                             with units, as Terraform does: \"90s\", \"1h30m\", \"720h\"; units are \"h\", \
                             \"m\", \"s\", \"ms\", \"us\" and \"ns\"."
                        ))),
                    })
                    .collect(),
                Validator::DistinctNonEmpty => {
                    let Attr::Set(items) = input.strings(name)? else {
                        return Ok(Vec::new());
                    };
                    let mut seen = std::collections::BTreeSet::new();
                    let mut diags = Vec::new();
                    for item in items.iter().filter_map(|i| match i {
                        Attr::Set(s) => Some(s.as_str()),
                        _ => None,
                    }) {
                        if item.is_empty() {
                            diags.push(invalid(format!(
                                "{at} has an empty entry: remove it, or write the name it stands for."
                            )));
                        } else if !seen.insert(item) {
                            diags.push(invalid(format!(
                                "{at} lists {item:?} more than once: remove the repetition."
                            )));
                        }
                    }
                    diags
                }
                Validator::Rule(rule) => strings()?
                    .iter()
                    .filter_map(|s| (rule.check)(s).err())
                    .map(invalid)
                    .collect(),
            })
        };
        checked().unwrap_or_else(|diags| diags)
    }
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
fn alternatives(values: &[&str], quote: impl Fn(&str) -> String) -> String {
    let quoted: Vec<String> = values.iter().map(|v| quote(v)).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Every problem of a configuration of `schema` at once, each on its attribute: values of
/// another type than the schema's, and what the attributes' validators refuse. Computed
/// attributes are not configured and are skipped.
pub fn check(schema: &Schema, config: &Value) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    check_object(&Input::new(schema, config), &mut diags);
    diags
}

fn check_object(input: &Input<'_>, diags: &mut Vec<Diagnostic>) {
    for attribute in input.attributes() {
        if attribute.usage == Usage::Computed {
            continue;
        }
        match &attribute.ty {
            AttrType::Plain(ty) => match read_as(input, attribute.name, ty) {
                Ok(()) => {
                    for validator in &attribute.validators {
                        diags.extend(validator.check(input, attribute));
                    }
                }
                Err(e) => diags.push(e.diagnostic()),
            },
            AttrType::Block(BlockNesting::Single, _) | AttrType::Nested(Nesting::Single, _) => {
                match input.object(attribute.name) {
                    Ok(Attr::Set(child)) => check_object(&child, diags),
                    Ok(_) => {}
                    Err(e) => diags.push(e.diagnostic()),
                }
            }
            AttrType::Block(BlockNesting::List { .. }, _) | AttrType::Nested(Nesting::List, _) => {
                match input.objects(attribute.name) {
                    Ok(Attr::Set(children)) => {
                        children.iter().for_each(|child| check_object(child, diags))
                    }
                    Ok(_) => {}
                    Err(e) => diags.push(e.diagnostic()),
                }
            }
            // No configurable map of objects exists; Terraform checks the type of one anyway.
            AttrType::Nested(Nesting::Map, _) => {}
        }
    }
}

/// Reads a plain attribute as its type, to find a value of another.
fn read_as(input: &Input<'_>, name: &str, ty: &Type) -> Result<(), InputError> {
    match ty {
        Type::String => input.string(name).map(drop),
        Type::Number => input.number(name).map(drop),
        Type::Bool => input.bool(name).map(drop),
        Type::List(e) | Type::Set(e) if **e == Type::String => input.strings(name).map(drop),
        // Types no provider here configures: Terraform has checked them already.
        Type::List(_) | Type::Set(_) | Type::Map(_) | Type::Object(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::PathStep;

    fn starts_with_a(s: &str) -> Result<(), String> {
        if s.starts_with('a') {
            Ok(())
        } else {
            Err(format!("{s:?} does not start with an a."))
        }
    }

    fn schema() -> Schema {
        let optional = |name, ty| Attribute::plain(name, ty, Usage::Optional);
        Schema::of(vec![
            optional("status", Type::String).validate(Validator::OneOf(&["ON", "OFF"])),
            optional("id", Type::String).validate(Validator::ConflictsWith {
                others: &["status", "names"],
                why: "id names one thing.",
            }),
            optional("since", Type::String).validate(Validator::Rfc3339),
            optional("size", Type::Number).validate(Validator::IntRange { min: 1, max: 10 }),
            optional("grace", Type::String).validate(Validator::Duration { allow_zero: true }),
            optional("names", Type::Set(Box::new(Type::String)))
                .validate(Validator::DistinctNonEmpty)
                .validate(Validator::Rule(Rule {
                    prose: "Each starts with an `a`.",
                    check: starts_with_a,
                })),
            optional("word", Type::String).validate(Validator::Rule(Rule {
                prose: "Starts with an `a`.",
                check: starts_with_a,
            })),
            Attribute::block(
                "timeouts",
                BlockNesting::Single,
                vec![optional("read", Type::String)
                    .validate(Validator::Duration { allow_zero: false })],
            ),
            Attribute::plain("out", Type::String, Usage::Computed),
        ])
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn errors(pairs: &[(&str, Value)]) -> Vec<(String, String)> {
        let config = Value::object(pairs.iter().map(|(k, v)| (*k, v.clone())));
        check(&schema(), &config)
            .into_iter()
            .inspect(|d| assert!(d.is_error()))
            .map(|d| (dotted(&d.path), d.detail))
            .collect()
    }

    fn paths(pairs: &[(&str, Value)]) -> Vec<String> {
        errors(pairs).into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn valid_unknown_and_null_values_pass() {
        assert_eq!(paths(&[]), Vec::<String>::new());
        let valid = [
            ("status", s("ON")),
            ("since", s("2026-12-01T10:00:00+01:00")),
            ("size", Value::Number(10.0)),
            ("grace", s("0")),
            ("names", Value::List(vec![s("a"), s("ab")])),
            ("word", s("apple")),
            ("timeouts", Value::object([("read", s("1h30m"))])),
        ];
        assert_eq!(paths(&valid), Vec::<String>::new());
        let unknown: Vec<(&str, Value)> = valid.iter().map(|(k, _)| (*k, Value::Unknown)).collect();
        assert_eq!(paths(&unknown), Vec::<String>::new());
        assert_eq!(
            paths(&[("names", Value::List(vec![Value::Unknown, Value::Unknown]))]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn every_invalid_value_is_reported_on_its_attribute_at_once() {
        let found = errors(&[
            ("status", s("on")),
            ("since", s("yesterday")),
            ("size", Value::Number(10.5)),
            ("grace", s("-1h")),
            ("names", Value::List(vec![s("a"), s(""), s("a"), s("b")])),
            ("word", s("pear")),
            ("timeouts", Value::object([("read", s("0s"))])),
            ("out", Value::Bool(true)),
        ]);
        let expect = [
            ("status", "\"on\"; it must be \"ON\" or \"OFF\""),
            ("since", "not an RFC 3339 timestamp"),
            (
                "size",
                "10.5; it must be a whole number from 1 to 10, or unset",
            ),
            ("grace", "not a duration (it is negative)"),
            ("names", "an empty entry"),
            ("names", "lists \"a\" more than once"),
            ("names", "\"\" does not start with an a."),
            ("names", "\"b\" does not start with an a."),
            ("word", "\"pear\" does not start with an a."),
            ("timeouts.read", "give a duration above zero"),
        ];
        assert_eq!(found.len(), expect.len(), "{found:#?}");
        for ((path, detail), (want_path, want)) in found.iter().zip(expect) {
            assert_eq!(path, want_path);
            assert!(detail.contains(want), "{path}: {detail}");
        }
    }

    #[test]
    fn a_value_of_another_type_is_refused_before_its_validators() {
        assert_eq!(
            errors(&[("size", s("ten"))]),
            [("size".to_string(), "size must be a number.".to_string())]
        );
    }

    #[test]
    fn a_conflict_counts_unknown_as_set_and_names_every_other() {
        let conflict = check(
            &schema(),
            &Value::object([
                ("id", s("x")),
                ("status", Value::Unknown),
                ("names", Value::List(vec![])),
            ]),
        );
        assert_eq!(conflict.len(), 1, "{conflict:?}");
        assert_eq!(conflict[0].summary, "Conflicting arguments");
        assert_eq!(conflict[0].path, [PathStep::Attribute("id".into())]);
        assert_eq!(
            conflict[0].detail,
            "id names one thing. Remove status and names or id."
        );
        assert_eq!(
            paths(&[("id", Value::Unknown), ("status", s("ON"))]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_docs_sentence_comes_from_the_same_declaration() {
        let described: Vec<String> = schema()
            .attributes
            .iter()
            .filter(|a| a.usage != Usage::Computed && !a.validators.is_empty())
            .map(Attribute::documentation)
            .collect();
        assert_eq!(
            described,
            [
                "D. Allowed values: `ON`, `OFF`.",
                "D. Cannot be combined with `status` or `names`.",
                "D. An RFC 3339 timestamp, e.g. `\"2026-11-01T00:00:00Z\"`.",
                "D. A whole number from 1 to 10.",
                "D. A duration in Terraform's syntax: numbers with units `h`, `m` or `s` (also `ms`, `us`, \
                 `ns`), e.g. `\"90s\"`, `\"1h30m\"`, `\"720h\"`; not negative.",
                "D. No entry may be empty or repeated. Each starts with an `a`.",
                "D. Starts with an `a`.",
            ]
        );
    }
}
