//! Schema types: what the provider declares, translated to tfplugin6 `Schema` messages by the
//! server. Nested attributes are first-class because they carry a description on every field,
//! which plain object types cannot.

pub use super::validate::Validator;

/// A primitive or collection type, encoded for Terraform as cty JSON (`"string"`,
/// `["list","string"]`, `["object",{...}]`).
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    String,
    Number,
    Bool,
    List(Box<Type>),
    /// Arrives as a list (cty msgpack encodes sets as arrays), its elements distinct.
    Set(Box<Type>),
    Map(Box<Type>),
    Object(Vec<(String, Type)>),
}

/// How a nested attribute nests its object (tfplugin6 `Schema.Object.NestingMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Map,
}

/// How a nested block nests (tfplugin6 `Schema.NestedBlock.NestingMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockNesting {
    /// At most one block; absent is null (terraform-plugin-framework's `SingleNestedBlock`, the
    /// shape of the conventional `timeouts` block).
    Single,
    /// A list of blocks, at most `max_items` (the Go provider's `assume_role` shape).
    List { max_items: i64 },
}

/// The type of an attribute: a plain type, nested attributes (`nested_type` on the wire, with
/// `type` left empty as Terraform requires), or a nested block (`block_types` on the wire).
/// Blocks sit among the attributes because in a value they are one more key of the object.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrType {
    Plain(Type),
    Nested(Nesting, Vec<Attribute>),
    Block(BlockNesting, Vec<Attribute>),
}

impl AttrType {
    /// The attributes inside a nested attribute or block.
    pub fn children(&self) -> Option<&[Attribute]> {
        match self {
            AttrType::Plain(_) => None,
            AttrType::Nested(_, children) | AttrType::Block(_, children) => Some(children),
        }
    }
}

/// Whether the user sets an attribute or the provider computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Required,
    Optional,
    Computed,
    OptionalComputed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: &'static str,
    pub ty: AttrType,
    pub usage: Usage,
    /// Markdown; rendered into the Registry docs and `providers schema -json`.
    pub description: &'static str,
    pub sensitive: bool,
    /// The checks of a configured value: validation runs them and the docs state them, so a
    /// constraint is written once, here (see [`super::validate`]).
    pub validators: Vec<Validator>,
}

impl Attribute {
    pub fn new(name: &'static str, ty: AttrType, usage: Usage, description: &'static str) -> Self {
        Attribute {
            name,
            ty,
            usage,
            description,
            sensitive: false,
            validators: Vec::new(),
        }
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Adds a check of the configured value.
    pub fn validate(mut self, validator: Validator) -> Self {
        self.validators.push(validator);
        self
    }
    /// The description with the constraints of [`Attribute::validators`] appended: what
    /// Terraform and the docs show.
    pub fn documentation(&self) -> String {
        let mut out = self.description.trim_end().to_string();
        for validator in &self.validators {
            out.push(' ');
            out.push_str(&validator.describe());
        }
        out
    }
}

/// A provider, provider-meta or data source schema: one block of attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub version: i64,
    /// Markdown description of the whole block.
    pub description: &'static str,
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// A configuration object as Terraform sends it: every attribute present, null unless set
    /// in `pairs`. For tests of validation and reads.
    #[cfg(test)]
    pub fn config(&self, pairs: &[(&str, crate::plugin::Value)]) -> crate::plugin::Value {
        let mut fields: std::collections::BTreeMap<String, crate::plugin::Value> = self
            .attributes
            .iter()
            .map(|a| (a.name.to_string(), crate::plugin::Value::Null))
            .collect();
        for (name, value) in pairs {
            fields.insert(name.to_string(), value.clone());
        }
        crate::plugin::Value::Object(fields)
    }
}

/// Short constructors for the tests' schemas.
#[cfg(test)]
impl Schema {
    pub(crate) fn of(attributes: Vec<Attribute>) -> Schema {
        Schema {
            version: 0,
            description: "D.",
            attributes,
        }
    }
}

#[cfg(test)]
impl Attribute {
    pub(crate) fn plain(name: &'static str, ty: Type, usage: Usage) -> Attribute {
        Attribute::new(name, AttrType::Plain(ty), usage, "D.")
    }

    /// An optional block.
    pub(crate) fn block(
        name: &'static str,
        nesting: BlockNesting,
        children: Vec<Attribute>,
    ) -> Attribute {
        Attribute::new(
            name,
            AttrType::Block(nesting, children),
            Usage::Optional,
            "D.",
        )
    }
}
