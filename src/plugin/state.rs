//! The schema-directed state writer: a provider writes the named attributes of its schema and
//! this module writes the msgpack, so the state's shape is stated once, in the schema.
//!
//! Every object header carries the schema's attribute count, and attributes the provider does
//! not write are written as null, so a count can never disagree with what follows. Names and
//! types are checked against the schema as they are written; a mismatch is a provider bug,
//! reported as [`SchemaMismatch`] (an error diagnostic at the edge, never malformed bytes that
//! Terraform would blame on the provider with a less helpful message). Lists and maps take
//! exact-size iterators, so their headers cannot disagree with their items either.
//!
//! [`State::write`] runs the writing closure twice: once counting bytes, once into a buffer of
//! exactly that size. A read of 100,000 tasks writes a state of tens of MB; growing a buffer by
//! doubling would copy it repeatedly and hold up to twice its size, while the counting pass costs
//! a fraction of the writing one and keeps the size bound derived instead of typed in.

use std::io::Write;

use super::schema::{AttrType, Attribute, BlockNesting, Nesting, Schema, Type};

/// An encoded state (cty msgpack of an object of a data source's schema), ready for the wire.
/// Only [`State::write`] makes one, so a response never carries bytes the schema did not shape.
#[derive(Debug, Clone, PartialEq)]
pub struct State(Vec<u8>);

impl State {
    /// Writes an object of `schema` with `fill`; see the module docs.
    pub fn write(
        schema: &Schema,
        fill: impl Fn(&mut ObjectWriter<'_, '_>),
    ) -> Result<State, SchemaMismatch> {
        let mut counter = Counter(0);
        write_object(&mut counter, &schema.attributes, &fill)?;
        let mut out = Vec::with_capacity(counter.0);
        write_object(&mut out, &schema.attributes, &fill)?;
        debug_assert_eq!(
            out.len(),
            counter.0,
            "the counting pass measured another state"
        );
        Ok(State(out))
    }

    /// The msgpack bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The provider wrote something its schema does not declare: a bug in the provider.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the state does not match the schema: {0}")]
pub struct SchemaMismatch(String);

/// Writes the attributes of one object. Attributes may come in any order; each at most once.
pub struct ObjectWriter<'a, 'w> {
    out: &'w mut dyn Write,
    attributes: &'a [Attribute],
    written: Vec<bool>,
    error: Option<SchemaMismatch>,
}

fn write_object(
    mut out: &mut dyn Write,
    attributes: &[Attribute],
    fill: impl FnOnce(&mut ObjectWriter<'_, '_>),
) -> Result<(), SchemaMismatch> {
    let _ = rmp::encode::write_map_len(&mut out, len_u32(attributes.len()));
    let mut object = ObjectWriter {
        out,
        attributes,
        written: vec![false; attributes.len()],
        error: None,
    };
    fill(&mut object);
    object.finish()
}

impl<'a, 'w> ObjectWriter<'a, 'w> {
    /// A string attribute; `None` is null.
    pub fn string(&mut self, name: &str, value: Option<&str>) {
        if self.key(name, |ty| matches!(ty, AttrType::Plain(Type::String))) {
            match value {
                Some(s) => {
                    let _ = rmp::encode::write_str(&mut self.out, s);
                }
                None => self.null(),
            }
        }
    }

    /// A number attribute holding an integer; `None` is null.
    pub fn int(&mut self, name: &str, value: Option<i64>) {
        if self.key(name, |ty| matches!(ty, AttrType::Plain(Type::Number))) {
            match value {
                Some(n) => {
                    let _ = rmp::encode::write_sint(&mut self.out, n);
                }
                None => self.null(),
            }
        }
    }

    /// A bool attribute; `None` is null.
    pub fn bool(&mut self, name: &str, value: Option<bool>) {
        if self.key(name, |ty| matches!(ty, AttrType::Plain(Type::Bool))) {
            match value {
                Some(b) => {
                    let _ = rmp::encode::write_bool(&mut self.out, b);
                }
                None => self.null(),
            }
        }
    }

    /// A list or set of strings; `None` is null. A set's strings must be distinct.
    pub fn strings<S: AsRef<str>>(
        &mut self,
        name: &str,
        value: Option<impl ExactSizeIterator<Item = S>>,
    ) {
        let strings = |ty: &AttrType| matches!(ty, AttrType::Plain(Type::List(e) | Type::Set(e)) if **e == Type::String);
        if self.key(name, strings) {
            match value {
                Some(items) => {
                    let _ = rmp::encode::write_array_len(&mut self.out, len_u32(items.len()));
                    for s in items {
                        let _ = rmp::encode::write_str(&mut self.out, s.as_ref());
                    }
                }
                None => self.null(),
            }
        }
    }

    /// A map of strings. Keys must be distinct, as a map's are.
    pub fn string_map<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        name: &str,
        entries: impl ExactSizeIterator<Item = (K, V)>,
    ) {
        let fits =
            |ty: &AttrType| matches!(ty, AttrType::Plain(Type::Map(e)) if **e == Type::String);
        if self.key(name, fits) {
            let _ = rmp::encode::write_map_len(&mut self.out, len_u32(entries.len()));
            for (k, v) in entries {
                let _ = rmp::encode::write_str(&mut self.out, k.as_ref());
                let _ = rmp::encode::write_str(&mut self.out, v.as_ref());
            }
        }
    }

    /// A map of numbers holding integers. Keys must be distinct, as a map's are.
    pub fn int_map<K: AsRef<str>>(
        &mut self,
        name: &str,
        entries: impl ExactSizeIterator<Item = (K, i64)>,
    ) {
        let fits =
            |ty: &AttrType| matches!(ty, AttrType::Plain(Type::Map(e)) if **e == Type::Number);
        if self.key(name, fits) {
            let _ = rmp::encode::write_map_len(&mut self.out, len_u32(entries.len()));
            for (k, v) in entries {
                let _ = rmp::encode::write_str(&mut self.out, k.as_ref());
                let _ = rmp::encode::write_sint(&mut self.out, v);
            }
        }
    }

    /// A single nested attribute: one object written by `fill`, or null for `None`.
    pub fn object<T>(
        &mut self,
        name: &str,
        item: Option<T>,
        fill: impl FnOnce(&mut ObjectWriter<'_, '_>, T),
    ) {
        let Some(nested) = self.nested(name, Nesting::Single) else {
            return;
        };
        match item {
            Some(item) => self.nested_object(nested, |o| fill(o, item)),
            None => self.null(),
        }
    }

    /// A nested list attribute with one object per item, written by `each`.
    pub fn list<T>(
        &mut self,
        name: &str,
        items: impl ExactSizeIterator<Item = T>,
        each: impl Fn(&mut ObjectWriter<'_, '_>, T),
    ) {
        let Some(nested) = self.nested(name, Nesting::List) else {
            return;
        };
        let _ = rmp::encode::write_array_len(&mut self.out, len_u32(items.len()));
        for item in items {
            self.nested_object(nested, |o| each(o, item));
        }
    }

    /// A nested list attribute whose objects were encoded earlier into `fragments`, placed in
    /// `order`. The fragments must have been made for this very attribute.
    pub fn list_fragments(
        &mut self,
        name: &str,
        fragments: &Fragments,
        order: impl ExactSizeIterator<Item = Fragment>,
    ) {
        let Some(nested) = self.nested(name, Nesting::List) else {
            return;
        };
        if fragments.attribute != name || fragments.attributes != nested {
            self.fail(format!(
                "list {name:?} given fragments made for {:?}",
                fragments.attribute
            ));
            return;
        }
        let _ = rmp::encode::write_array_len(&mut self.out, len_u32(order.len()));
        for fragment in order {
            let _ = self.out.write_all(fragments.bytes(fragment));
        }
    }

    /// A nested map attribute: one object per `(key, item)`, written by `each`. Keys must be
    /// distinct, as a map's are.
    pub fn map<K: AsRef<str>, T>(
        &mut self,
        name: &str,
        entries: impl ExactSizeIterator<Item = (K, T)>,
        each: impl Fn(&mut ObjectWriter<'_, '_>, T),
    ) {
        let Some(nested) = self.nested(name, Nesting::Map) else {
            return;
        };
        let _ = rmp::encode::write_map_len(&mut self.out, len_u32(entries.len()));
        for (key, item) in entries {
            let _ = rmp::encode::write_str(&mut self.out, key.as_ref());
            self.nested_object(nested, |o| each(o, item));
        }
    }

    /// A single nested block, echoing the configuration's: `None` when the block is absent.
    pub fn block(&mut self, name: &str, fill: Option<impl FnOnce(&mut ObjectWriter)>) {
        let Some(index) = self.index(name, |ty| {
            matches!(ty, AttrType::Block(BlockNesting::Single, _))
        }) else {
            return;
        };
        let nested = self.attributes[index].ty.children().unwrap_or_default();
        match fill {
            Some(fill) => self.nested_object(nested, fill),
            None => self.null(),
        }
    }

    fn nested(&mut self, name: &str, nesting: Nesting) -> Option<&'a [Attribute]> {
        let index = self.index(
            name,
            |ty| matches!(ty, AttrType::Nested(n, _) if *n == nesting),
        )?;
        self.attributes[index].ty.children()
    }

    fn nested_object(&mut self, attributes: &'a [Attribute], fill: impl FnOnce(&mut ObjectWriter)) {
        if let Err(e) = write_object(&mut *self.out, attributes, fill) {
            self.error.get_or_insert(e);
        }
    }

    /// Writes the key of attribute `name` if the schema has it with a type `fits`.
    fn key(&mut self, name: &str, fits: impl Fn(&AttrType) -> bool) -> bool {
        self.index(name, fits).is_some()
    }

    fn index(&mut self, name: &str, fits: impl Fn(&AttrType) -> bool) -> Option<usize> {
        let Some(index) = self.attributes.iter().position(|a| a.name == name) else {
            self.fail(format!("no attribute {name:?}"));
            return None;
        };
        if !fits(&self.attributes[index].ty) {
            self.fail(format!("attribute {name:?} written as another type"));
            return None;
        }
        if std::mem::replace(&mut self.written[index], true) {
            self.fail(format!("attribute {name:?} written twice"));
            return None;
        }
        let _ = rmp::encode::write_str(&mut self.out, name);
        Some(index)
    }

    fn null(&mut self) {
        let _ = self.out.write_all(&[0xc0]);
    }

    fn fail(&mut self, why: String) {
        debug_assert!(false, "state does not match the schema: {why}");
        self.error.get_or_insert(SchemaMismatch(why));
    }

    /// Writes the attributes left unwritten, completing the header's count: null, or an
    /// empty list for list blocks (Terraform represents absent ones so).
    fn finish(mut self) -> Result<(), SchemaMismatch> {
        for (index, attribute) in self.attributes.iter().enumerate() {
            if !self.written[index] {
                let _ = rmp::encode::write_str(&mut self.out, attribute.name);
                match attribute.ty {
                    AttrType::Block(BlockNesting::List { .. }, _) => {
                        let _ = rmp::encode::write_array_len(&mut self.out, 0);
                    }
                    _ => self.null(),
                }
            }
        }
        self.error.map_or(Ok(()), Err)
    }
}

/// Objects of one nested list attribute, encoded one by one as the provider receives them, to be
/// placed in a state later with [`ObjectWriter::list_fragments`]. A large read keeps its items
/// in this compact form instead of as decoded values: about a third of the memory.
#[derive(Debug)]
pub struct Fragments {
    attribute: String,
    attributes: Vec<Attribute>,
    bytes: Vec<u8>,
    error: Option<SchemaMismatch>,
}

/// Where one object sits in its [`Fragments`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    start: usize,
    len: usize,
}

impl Fragments {
    /// Fragments for the nested list attribute `attribute` of `schema`.
    pub fn new(schema: &Schema, attribute: &str) -> Result<Fragments, SchemaMismatch> {
        let nested = schema
            .attributes
            .iter()
            .find(|a| a.name == attribute)
            .and_then(|a| match &a.ty {
                AttrType::Nested(Nesting::List, nested) => Some(nested.clone()),
                _ => None,
            })
            .ok_or_else(|| SchemaMismatch(format!("no nested list attribute {attribute:?}")))?;
        Ok(Fragments {
            attribute: attribute.to_string(),
            attributes: nested,
            bytes: Vec::new(),
            error: None,
        })
    }

    /// Encodes one object with `fill`.
    pub fn push(&mut self, fill: impl FnOnce(&mut ObjectWriter)) -> Fragment {
        let start = self.bytes.len();
        if let Err(e) = write_object(&mut self.bytes, &self.attributes, fill) {
            self.error.get_or_insert(e);
        }
        Fragment {
            start,
            len: self.bytes.len() - start,
        }
    }

    /// The first schema mismatch met while encoding, if any.
    pub fn check(&self) -> Result<(), SchemaMismatch> {
        self.error.clone().map_or(Ok(()), Err)
    }

    /// The encoded object, e.g. to read a field back.
    pub fn bytes(&self, fragment: Fragment) -> &[u8] {
        &self.bytes[fragment.start..fragment.start + fragment.len]
    }
}

/// Counts bytes instead of storing them: the measuring pass of [`State::write`].
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// msgpack lengths are u32; a provider never builds a collection anywhere near that size.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::codec::decode_msgpack;
    use crate::plugin::{Usage, Value};

    fn schema() -> Schema {
        let plain = |name, ty| Attribute::new(name, AttrType::Plain(ty), Usage::Computed, "d");
        Schema {
            version: 0,
            description: "d",
            attributes: vec![
                plain("id", Type::String),
                plain("total", Type::Number),
                Attribute::new(
                    "items",
                    AttrType::Nested(Nesting::List, vec![plain("name", Type::String)]),
                    Usage::Computed,
                    "d",
                ),
                Attribute::new(
                    "by_name",
                    AttrType::Nested(Nesting::Map, vec![plain("name", Type::String)]),
                    Usage::Computed,
                    "d",
                ),
                Attribute::new(
                    "timeouts",
                    AttrType::Block(BlockNesting::Single, vec![plain("read", Type::String)]),
                    Usage::Optional,
                    "d",
                ),
                Attribute::new(
                    "rules",
                    AttrType::Block(BlockNesting::List { max_items: 1 }, vec![]),
                    Usage::Optional,
                    "d",
                ),
                plain("ok", Type::Bool),
                plain("tags", Type::Set(Box::new(Type::String))),
                plain("reasons", Type::Map(Box::new(Type::String))),
                plain("counts", Type::Map(Box::new(Type::Number))),
                Attribute::new(
                    "first",
                    AttrType::Nested(Nesting::Single, vec![plain("name", Type::String)]),
                    Usage::Computed,
                    "d",
                ),
            ],
        }
    }

    fn decoded(state: &State) -> Value {
        decode_msgpack(state.as_bytes()).unwrap()
    }

    #[test]
    fn unwritten_attributes_are_null_and_list_blocks_empty() {
        let state = State::write(&schema(), |o| o.string("id", Some("x"))).unwrap();
        let v = decoded(&state);
        assert_eq!(v.get("id"), &Value::String("x".into()));
        for null in [
            "total", "items", "by_name", "timeouts", "ok", "tags", "reasons", "counts", "first",
        ] {
            assert_eq!(v.get(null), &Value::Null, "{null}");
        }
        assert_eq!(v.get("rules"), &Value::List(vec![]));
    }

    #[test]
    fn nested_lists_maps_and_blocks_take_their_items() {
        let names = ["a", "b", "c"];
        let state = State::write(&schema(), |o| {
            o.int("total", Some(3));
            o.list("items", names.iter(), |o, n| o.string("name", Some(n)));
            o.map("by_name", names.iter().map(|n| (n, n)), |o, n| {
                o.string("name", Some(n))
            });
            o.block(
                "timeouts",
                Some(|o: &mut ObjectWriter| o.string("read", Some("5s"))),
            );
        })
        .unwrap();
        let v = decoded(&state);
        assert_eq!(v.get("total"), &Value::Number(3.0));
        let Value::List(items) = v.get("items") else {
            panic!("{v:?}")
        };
        assert_eq!(items.len(), 3);
        assert_eq!(items[2].get("name"), &Value::String("c".into()));
        assert_eq!(
            v.get("by_name").get("b").get("name"),
            &Value::String("b".into())
        );
        assert_eq!(v.get("timeouts").get("read"), &Value::String("5s".into()));
    }

    #[test]
    fn bools_string_sets_maps_and_single_objects() {
        let state = State::write(&schema(), |o| {
            o.bool("ok", Some(false));
            o.strings("tags", Some(["a", "b"].iter()));
            o.string_map("reasons", [("x", "why")].into_iter());
            o.int_map("counts", [("A", 0), ("B", 7)].into_iter());
            o.object("first", Some("n"), |o, n| o.string("name", Some(n)));
        })
        .unwrap();
        let v = decoded(&state);
        assert_eq!(v.get("ok"), &Value::Bool(false));
        assert_eq!(
            v.get("tags"),
            &Value::List(vec![Value::String("a".into()), Value::String("b".into())])
        );
        assert_eq!(v.get("reasons").get("x"), &Value::String("why".into()));
        assert_eq!(v.get("counts").get("A"), &Value::Number(0.0));
        assert_eq!(v.get("counts").get("B"), &Value::Number(7.0));
        assert_eq!(v.get("first").get("name"), &Value::String("n".into()));
        let none = State::write(&schema(), |o| {
            o.object("first", None::<&str>, |o, n| o.string("name", Some(n)));
            o.strings("tags", None::<std::slice::Iter<&str>>);
        })
        .unwrap();
        assert_eq!(decoded(&none).get("first"), &Value::Null);
        assert_eq!(decoded(&none).get("tags"), &Value::Null);
    }

    /// Names, types and repeats are checked against the schema; in release builds a mismatch is
    /// an error value (debug builds also assert, which is what this test observes).
    #[test]
    fn a_name_or_type_the_schema_lacks_is_refused() {
        for fill in [
            (|o: &mut ObjectWriter| o.string("nope", Some("x"))) as fn(&mut ObjectWriter),
            |o| o.int("id", Some(1)),
            |o| {
                o.string("id", Some("x"));
                o.string("id", Some("y"));
            },
        ] {
            let result = std::panic::catch_unwind(|| State::write(&schema(), fill));
            assert!(
                matches!(result, Err(_) | Ok(Err(SchemaMismatch(_)))),
                "accepted a mismatch"
            );
        }
    }
}
