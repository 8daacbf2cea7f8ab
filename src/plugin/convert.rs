//! Conversions from the provider's own types ([`Schema`], [`Diagnostic`]) to tfplugin6 messages.
//!
//! Kept apart from the server so the wire rules live in one place: nested attributes set
//! `nested_type` and leave `type` empty (Terraform rejects both), descriptions are markdown, and
//! diagnostics carry their attribute path so Terraform can point at the offending line.

use serde_json::json;

use super::diag::{Diagnostic, PathStep, Severity};
use super::proto::tfplugin6 as pb;
use super::schema::{AttrType, Attribute, BlockNesting, Nesting, Schema, Type, Usage};

/// A schema as Terraform reads it.
pub fn schema(schema: &Schema) -> pb::Schema {
    pb::Schema {
        version: schema.version,
        block: Some(block(
            schema.version,
            schema.description,
            &schema.attributes,
        )),
    }
}

/// A block: its plain and nested attributes, and its nested blocks.
fn block(version: i64, description: &str, members: &[Attribute]) -> pb::schema::Block {
    let (blocks, attributes): (Vec<&Attribute>, Vec<&Attribute>) = members
        .iter()
        .partition(|a| matches!(a.ty, AttrType::Block(..)));
    pb::schema::Block {
        version,
        attributes: attributes.into_iter().map(attribute).collect(),
        block_types: blocks.into_iter().map(nested_block).collect(),
        description: description.to_string(),
        description_kind: pb::StringKind::Markdown.into(),
        deprecated: false,
    }
}

fn nested_block(attr: &Attribute) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode as N;
    let AttrType::Block(nesting, members) = &attr.ty else {
        unreachable!("only blocks are partitioned here")
    };
    let (nesting, max_items) = match nesting {
        BlockNesting::Single => (N::Single, 0),
        BlockNesting::List { max_items } => (N::List, *max_items),
    };
    pb::schema::NestedBlock {
        type_name: attr.name.to_string(),
        block: Some(block(0, &attr.documentation(), members)),
        nesting: nesting.into(),
        min_items: 0,
        max_items,
    }
}

fn attribute(attr: &Attribute) -> pb::schema::Attribute {
    let (ty, nested_type) = match &attr.ty {
        AttrType::Plain(ty) => (cty_type(ty).to_string().into_bytes(), None),
        AttrType::Block(..) => unreachable!("blocks are converted by nested_block"),
        AttrType::Nested(nesting, attrs) => (
            Vec::new(),
            Some(pb::schema::Object {
                attributes: attrs.iter().map(attribute).collect(),
                nesting: object_nesting(*nesting).into(),
                ..Default::default()
            }),
        ),
    };
    pb::schema::Attribute {
        name: attr.name.to_string(),
        r#type: ty,
        nested_type,
        description: attr.documentation(),
        required: attr.usage == Usage::Required,
        optional: matches!(attr.usage, Usage::Optional | Usage::OptionalComputed),
        computed: matches!(attr.usage, Usage::Computed | Usage::OptionalComputed),
        sensitive: attr.sensitive,
        description_kind: pb::StringKind::Markdown.into(),
        deprecated: false,
        write_only: false,
    }
}

fn object_nesting(nesting: Nesting) -> pb::schema::object::NestingMode {
    use pb::schema::object::NestingMode as N;
    match nesting {
        Nesting::Single => N::Single,
        Nesting::List => N::List,
        Nesting::Map => N::Map,
    }
}

/// A type in cty's JSON notation: `"string"`, `["list","string"]`, `["object",{...}]`.
fn cty_type(ty: &Type) -> serde_json::Value {
    match ty {
        Type::String => json!("string"),
        Type::Number => json!("number"),
        Type::Bool => json!("bool"),
        Type::List(element) => json!(["list", cty_type(element)]),
        Type::Set(element) => json!(["set", cty_type(element)]),
        Type::Map(element) => json!(["map", cty_type(element)]),
        Type::Object(fields) => {
            let fields: serde_json::Map<_, _> = fields
                .iter()
                .map(|(name, ty)| (name.clone(), cty_type(ty)))
                .collect();
            json!(["object", fields])
        }
    }
}

/// Diagnostics as Terraform reads them.
pub fn diagnostics(diags: &[Diagnostic]) -> Vec<pb::Diagnostic> {
    diags.iter().map(diagnostic).collect()
}

fn diagnostic(diag: &Diagnostic) -> pb::Diagnostic {
    use pb::attribute_path::step::Selector;
    let severity = match diag.severity {
        Severity::Error => pb::diagnostic::Severity::Error,
        Severity::Warning => pb::diagnostic::Severity::Warning,
    };
    let attribute = (!diag.path.is_empty()).then(|| pb::AttributePath {
        steps: diag
            .path
            .iter()
            .map(|step| pb::attribute_path::Step {
                selector: Some(match step {
                    PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                    PathStep::Key(key) => Selector::ElementKeyString(key.clone()),
                    PathStep::Index(index) => Selector::ElementKeyInt(*index),
                }),
            })
            .collect(),
    });
    pb::Diagnostic {
        severity: severity.into(),
        summary: diag.summary.clone(),
        detail: diag.detail.clone(),
        attribute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_block_types_with_their_nesting() {
        let read = Attribute::new("read", AttrType::Plain(Type::String), Usage::Optional, "R.");
        let s = Schema {
            version: 0,
            description: "D.",
            attributes: vec![
                Attribute::new(
                    "assume_role",
                    AttrType::Block(BlockNesting::List { max_items: 1 }, vec![read.clone()]),
                    Usage::Optional,
                    "Agency.",
                ),
                Attribute::new(
                    "timeouts",
                    AttrType::Block(BlockNesting::Single, vec![read]),
                    Usage::Optional,
                    "Time.",
                ),
            ],
        };
        let block = schema(&s).block.unwrap();
        assert!(block.attributes.is_empty());
        let [list, single] = &block.block_types[..] else {
            panic!("two blocks: {:?}", block.block_types)
        };
        use pb::schema::nested_block::NestingMode as N;
        assert_eq!(
            (list.type_name.as_str(), list.nesting, list.max_items),
            ("assume_role", N::List as i32, 1)
        );
        assert_eq!(
            (single.type_name.as_str(), single.nesting),
            ("timeouts", N::Single as i32)
        );
        let inner = single.block.as_ref().unwrap();
        assert_eq!(inner.attributes[0].name, "read");
        assert_eq!(inner.description, "Time.");
    }

    #[test]
    fn nested_attributes_set_nested_type_and_leave_type_empty() {
        let s = Schema {
            version: 0,
            description: "Tasks.",
            attributes: vec![
                Attribute::new(
                    "secret_name",
                    AttrType::Plain(Type::String),
                    Usage::Optional,
                    "Filter.",
                ),
                Attribute::new(
                    "tasks",
                    AttrType::Nested(
                        Nesting::List,
                        vec![Attribute::new(
                            "task_id",
                            AttrType::Plain(Type::String),
                            Usage::Computed,
                            "Id.",
                        )],
                    ),
                    Usage::Computed,
                    "Every task.",
                ),
                Attribute::new(
                    "secret_key",
                    AttrType::Plain(Type::Map(Box::new(Type::List(Box::new(Type::Number))))),
                    Usage::Required,
                    "SK.",
                )
                .sensitive(),
            ],
        };
        let pb = schema(&s);
        let block = pb.block.unwrap();
        assert_eq!(block.description_kind, pb::StringKind::Markdown as i32);
        let [plain, nested, secret] = &block.attributes[..] else {
            panic!("three attributes")
        };
        assert_eq!(plain.r#type, br#""string""#);
        assert!(plain.optional && !plain.required && !plain.computed);
        assert!(nested.r#type.is_empty());
        let object = nested.nested_type.as_ref().unwrap();
        assert_eq!(object.nesting, pb::schema::object::NestingMode::List as i32);
        assert_eq!(object.attributes[0].name, "task_id");
        assert_eq!(object.attributes[0].description, "Id.");
        assert!(object.attributes[0].computed);
        assert_eq!(secret.r#type, br#"["map",["list","number"]]"#);
        assert!(secret.required && secret.sensitive);
    }

    #[test]
    fn object_types_are_cty_json() {
        let ty = Type::Object(vec![("a".into(), Type::Bool), ("b".into(), Type::String)]);
        assert_eq!(
            cty_type(&ty).to_string(),
            r#"["object",{"a":"bool","b":"string"}]"#
        );
    }

    #[test]
    fn diagnostics_keep_severity_and_path() {
        let mut diag = Diagnostic::error("Invalid status", "Use SUCCESS or FAILED.").at("status");
        diag.path.push(PathStep::Key("k".into()));
        diag.path.push(PathStep::Index(2));
        let [d, w] = &diagnostics(&[diag, Diagnostic::warning("Deprecated", "Soon gone.")])[..]
        else {
            panic!("two diagnostics")
        };
        assert_eq!(d.severity, pb::diagnostic::Severity::Error as i32);
        assert_eq!(d.summary, "Invalid status");
        use pb::attribute_path::step::Selector;
        let steps: Vec<_> = d
            .attribute
            .as_ref()
            .unwrap()
            .steps
            .iter()
            .map(|s| s.selector.clone().unwrap())
            .collect();
        assert_eq!(
            steps,
            [
                Selector::AttributeName("status".into()),
                Selector::ElementKeyString("k".into()),
                Selector::ElementKeyInt(2),
            ]
        );
        assert_eq!(w.severity, pb::diagnostic::Severity::Warning as i32);
        assert!(w.attribute.is_none());
    }
}
