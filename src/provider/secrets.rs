//! `data "csms_secrets"`: every secret of the project (every page of ListSecrets), sorted by
//! name, with every field the API gives, its times as RFC 3339 and its rotation period in
//! seconds; optionally narrowed by the Go provider's client-side filters.

use super::data_source::{self, Block};
use super::diagnostics::{self, Advice};
use super::ClientSlot;
use crate::csms::secret::{rfc3339, Secret};
use crate::csms::secrets::SECRETS;
use crate::csms::{Listing, SecretQuery, Sink};
use crate::plugin::{
    AttrType, Attribute, BoxFuture, DataSource, Diagnostic, Failed, Input, Nesting, ObjectWriter,
    Read, ReadRequest, ReadResult, Schema, SchemaMismatch, State, Type, Usage, Validator, Value,
};

pub const TYPE_NAME: &str = "csms_secrets";

const STATES: [&str; 4] = ["ENABLED", "DISABLED", "PENDING_DELETE", "FROZEN"];
const SECRET_TYPES: [&str; 4] = ["COMMON", "RDS-FG", "GaussDB-FG", "RDS"];

pub fn schema() -> Schema {
    let optional = |name, description| {
        Attribute::new(
            name,
            AttrType::Plain(Type::String),
            Usage::Optional,
            description,
        )
    };
    let mut attributes = vec![
        optional("name", "Only the secret with this name.")
            .validate(Validator::Rule(data_source::SECRET_NAME)),
        optional("state", "Only secrets in this state.").validate(Validator::OneOf(&STATES)),
        optional(
            "enterprise_project_id",
            "Only secrets of this enterprise project (`0` is the default project).",
        ),
        optional(
            "secret_type",
            "Only secrets of this type (`RDS` is the retired name of `RDS-FG`; each matches only itself).",
        )
        .validate(Validator::OneOf(&SECRET_TYPES)),
        Attribute::new(
            "id",
            AttrType::Plain(Type::String),
            Usage::Computed,
            "Identifies the query; the same for the same filters.",
        ),
        Attribute::new(
            "secrets",
            AttrType::Nested(Nesting::List, secret_attributes()),
            Usage::Computed,
            "Every secret of the project that passes the filters, sorted by name. The filters are \
             applied by the provider after reading every page, as the API has none of them. The `*_time` \
             numbers are as the API returns them, seconds or milliseconds since the Unix epoch (the SDK \
             documents seconds, the service sends milliseconds); the `*_at` timestamps read values of \
             10^11 and above as milliseconds, smaller ones as seconds.",
        ),
    ];
    attributes.extend(data_source::common_attributes());
    Schema {
        version: 0,
        description: "Lists the secrets of CSMS (API `ListSecrets`), reading every page, sorted by name, with \
            every field, times as RFC 3339 and rotation periods in seconds. To judge whether rotating secrets \
            rotate on schedule, use `csms_secret_rotations`.",
        attributes,
    }
}

fn secret_attributes() -> Vec<Attribute> {
    let field = |name, ty, description| {
        Attribute::new(name, AttrType::Plain(ty), Usage::Computed, description)
    };
    let time = |name, what: &'static str| field(name, Type::Number, what);
    vec![
        field("id", Type::String, "Secret ID."),
        field("name", Type::String, "Secret name, unique in the project."),
        field("state", Type::String, "`ENABLED`, `DISABLED`, `PENDING_DELETE` or `FROZEN`."),
        field("kms_key_id", Type::String, "ID of the KMS key that encrypts the secret."),
        field("description", Type::String, "Description."),
        time("create_time", "Creation time as the API returns it; see `created_at`."),
        time("update_time", "Last update as the API returns it; see `updated_at`."),
        time(
            "scheduled_delete_time",
            "Scheduled deletion as the API returns it (0 or null when none); see `scheduled_delete_at`.",
        ),
        field("secret_type", Type::String, "`COMMON`, `RDS-FG` or `GaussDB-FG` (`RDS` is the retired name of `RDS-FG`)."),
        field("auto_rotation", Type::Bool, "Whether automatic rotation is on."),
        field(
            "rotation_period",
            Type::String,
            "Rotation period as the API returns it: a whole number and a unit, `d`, `h`, `m` or `s` (`30d`); \
             see `rotation_period_seconds`.",
        ),
        field(
            "rotation_config",
            Type::String,
            "Rotation configuration; for `RDS-FG` and `GaussDB-FG` a JSON object (`jsondecode()` it).",
        ),
        time("rotation_time", "Last rotation as the API returns it; see `rotated_at`."),
        time("next_rotation_time", "Next scheduled rotation as the API returns it; see `next_rotation_at`."),
        field(
            "event_subscriptions",
            Type::List(Box::new(Type::String)),
            "Names of the events the secret is subscribed to.",
        ),
        field("enterprise_project_id", Type::String, "Enterprise project ID (`0`: the default project)."),
        field("rotation_func_urn", Type::String, "URN of the FunctionGraph function that rotates the secret."),
        field("created_at", Type::String, "`create_time` as an RFC 3339 UTC timestamp; null when the API gives none or 0."),
        field("updated_at", Type::String, "`update_time` as an RFC 3339 UTC timestamp; null when the API gives none or 0."),
        field("rotated_at", Type::String, "`rotation_time` as an RFC 3339 UTC timestamp; null when the API gives none or 0."),
        field(
            "next_rotation_at",
            Type::String,
            "`next_rotation_time` as an RFC 3339 UTC timestamp; null when the API gives none or 0.",
        ),
        field(
            "scheduled_delete_at",
            Type::String,
            "`scheduled_delete_time` as an RFC 3339 UTC timestamp; null when no deletion is scheduled.",
        ),
        field(
            "rotation_period_seconds",
            Type::Number,
            "`rotation_period` in seconds (`30d` is 2592000), for `timeadd()`; null when absent or not a \
             whole number followed by `d`, `h`, `m` or `s`.",
        ),
    ]
}

/// One secret object of [`secret_attributes`].
fn write_secret(o: &mut ObjectWriter<'_, '_>, s: &Secret) {
    o.string("id", s.id.as_deref());
    o.string("name", Some(&s.name));
    o.string("state", s.state.as_deref());
    o.string("kms_key_id", s.kms_key_id.as_deref());
    o.string("description", s.description.as_deref());
    o.int("create_time", s.create_time);
    o.int("update_time", s.update_time);
    o.int("scheduled_delete_time", s.scheduled_delete_time);
    o.string("secret_type", s.secret_type.as_deref());
    o.bool("auto_rotation", s.auto_rotation);
    o.string("rotation_period", s.rotation_period.as_deref());
    o.string("rotation_config", s.rotation_config.as_deref());
    o.int("rotation_time", s.rotation_time);
    o.int("next_rotation_time", s.next_rotation_time);
    o.strings(
        "event_subscriptions",
        s.event_subscriptions.as_ref().map(|e| e.iter()),
    );
    o.string("enterprise_project_id", s.enterprise_project_id.as_deref());
    o.string("rotation_func_urn", s.rotation_func_urn.as_deref());
    o.string("created_at", rfc3339(s.create_time).as_deref());
    o.string("updated_at", rfc3339(s.update_time).as_deref());
    o.string("rotated_at", rfc3339(s.rotation_time).as_deref());
    o.string("next_rotation_at", rfc3339(s.next_rotation_time).as_deref());
    o.string(
        "scheduled_delete_at",
        rfc3339(s.scheduled_delete_time).as_deref(),
    );
    o.int("rotation_period_seconds", s.rotation_period_seconds());
}

/// What this data source's hints name about its listing: ListSecrets has no filter a check
/// needs (`name`, `state` and the others filter on the provider's side) and no page size to set.
pub(crate) const ADVICE: &[Advice] = &[Advice {
    kind: &SECRETS,
    holds: "`secrets`",
    narrow: &[],
    page_size: "",
}];

/// `data "csms_secrets"`, reading with the client its provider configured.
pub struct Secrets {
    client: ClientSlot,
}

impl Secrets {
    pub fn new(client: ClientSlot) -> Self {
        Secrets { client }
    }

    async fn read_secrets(&self, request: ReadRequest<'_>) -> ReadResult {
        let block = Block::read(request.schema, &request.config, filters).map_err(Failed::new)?;
        let client = self.client.get(block.region.as_deref())?;
        let kept = Matching {
            filters: block.own.clone(),
            secrets: Vec::new(),
        };
        let listing = client
            .list(SecretQuery, block.deadline(), &request.cancel, kept)
            .await
            .map_err(|e| diagnostics::listing_failed(&e, &client, ADVICE))?;
        let mut warnings = diagnostics::from_warnings(&listing.warnings, ADVICE);
        if listing.items.secrets.is_empty() {
            warnings.extend(no_such_name(&block.own));
        }
        let state =
            state(request.schema, &block, listing).map_err(|e| diagnostics::state_failed(&e))?;
        Ok(Read { state, warnings })
    }
}

/// A `name` that matched nothing is more often a typo than a fact to assert on: say so, on the
/// attribute.
fn no_such_name(filters: &Filters) -> Option<Diagnostic> {
    let name = filters.name.as_ref()?;
    Some(
        Diagnostic::warning(
            "No secret matched",
            format!(
                "CSMS lists no secret named {name:?} that passes the filters. The name may be misspelled, \
                 or the secret is in another region or project. `secrets` is empty."
            ),
        )
        .at("name"),
    )
}

impl DataSource for Secrets {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<Diagnostic> {
        Block::validate(&schema(), config, filters)
    }

    fn read<'a>(&'a self, request: ReadRequest<'a>) -> BoxFuture<'a, ReadResult> {
        Box::pin(self.read_secrets(request))
    }
}

/// The client-side filters, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub name: Option<String>,
    pub state: Option<String>,
    pub enterprise_project_id: Option<String>,
    pub secret_type: Option<String>,
}

impl Filters {
    fn fields(&self) -> [(&'static str, &Option<String>); 4] {
        [
            ("name", &self.name),
            ("state", &self.state),
            ("enterprise_project_id", &self.enterprise_project_id),
            ("secret_type", &self.secret_type),
        ]
    }

    fn admit(&self, s: &Secret) -> bool {
        let is = |want: &Option<String>, got: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == got)
        };
        is(&self.name, Some(&s.name))
            && is(&self.state, s.state.as_deref())
            && is(
                &self.enterprise_project_id,
                s.enterprise_project_id.as_deref(),
            )
            && is(&self.secret_type, s.secret_type.as_deref())
    }
}

/// Reads the block's own attributes, once its validators passed.
pub fn filters(input: &Input<'_>) -> Result<Filters, Vec<Diagnostic>> {
    Ok(Filters {
        name: input.string("name")?.set(),
        state: input.string("state")?.set(),
        enterprise_project_id: input.string("enterprise_project_id")?.set(),
        secret_type: input.string("secret_type")?.set(),
    })
}

/// Stable for the same filters: the filters themselves, readable in plan output.
pub fn id(filters: &Filters) -> String {
    let pairs: Vec<(String, String)> = filters
        .fields()
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v.clone()?)))
        .collect();
    if pairs.is_empty() {
        "secrets".to_string()
    } else {
        format!("secrets?{}", crate::csms::signer::canonical_query(&pairs))
    }
}

/// The secrets that pass the filters, as they arrive.
pub struct Matching {
    filters: Filters,
    secrets: Vec<Secret>,
}

impl Sink<Secret> for Matching {
    fn take(&mut self, secret: Secret) -> bool {
        let admit = self.filters.admit(&secret);
        if admit {
            self.secrets.push(secret);
        }
        admit
    }
}

/// The data source's state: the echoed filters and configuration and the secrets by name.
pub fn state(
    schema: &Schema,
    block: &Block<Filters>,
    listing: Listing<Matching>,
) -> Result<State, SchemaMismatch> {
    let mut secrets = listing.items.secrets;
    secrets.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    let id = id(&block.own);
    State::write(schema, |o| {
        for (name, value) in block.own.fields() {
            o.string(name, value.as_deref());
        }
        block.echo(o);
        o.string("id", Some(&id));
        o.list("secrets", secrets.iter(), write_secret);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csms::{Page, Pager};
    use crate::plugin::PathStep;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn decoded(config: &[(&str, Value)], secrets: Vec<Secret>) -> Value {
        let schema = schema();
        let block = Block::read(&schema, &schema.config(config), filters).unwrap();
        let kept = Matching {
            filters: block.own.clone(),
            secrets: Vec::new(),
        };
        let mut pager = Pager::new(SecretQuery, kept);
        pager
            .accept(Page {
                items: secrets,
                next_marker: None,
                total: None,
            })
            .unwrap();
        let state = state(&schema, &block, pager.finish(1)).unwrap();
        crate::plugin::codec::decode_msgpack(state.as_bytes()).unwrap()
    }

    fn secret(name: &str, state: &str, kind: &str) -> Secret {
        Secret {
            name: name.into(),
            state: Some(state.into()),
            secret_type: Some(kind.into()),
            enterprise_project_id: Some("0".into()),
            ..Secret::default()
        }
    }

    fn names(v: &Value) -> Vec<String> {
        match v.get("secrets") {
            Value::List(items) => items
                .iter()
                .map(|i| match i.get("name") {
                    Value::String(n) => n.clone(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn secrets_sorted_by_name_and_filtered_on_every_field() {
        let all = || {
            vec![
                secret("c", "ENABLED", "COMMON"),
                secret("a", "DISABLED", "RDS-FG"),
                secret("b", "ENABLED", "RDS-FG"),
            ]
        };
        let v = decoded(&[], all());
        assert_eq!(names(&v), ["a", "b", "c"]);
        assert_eq!(v.get("id"), &s("secrets"));
        let v = decoded(
            &[("state", s("ENABLED")), ("secret_type", s("RDS-FG"))],
            all(),
        );
        assert_eq!(names(&v), ["b"]);
        assert_eq!(v.get("id"), &s("secrets?secret_type=RDS-FG&state=ENABLED"));
        assert_eq!(v.get("state"), &s("ENABLED"));
        assert_eq!(names(&decoded(&[("name", s("c"))], all())), ["c"]);
        assert!(names(&decoded(&[("enterprise_project_id", s("7"))], all())).is_empty());
    }

    #[test]
    fn every_field_with_times_and_period_read() {
        let full = Secret {
            id: Some("i".into()),
            auto_rotation: Some(true),
            rotation_period: Some("30d".into()),
            create_time: Some(1_715_436_899_000),
            update_time: Some(1_715_436_899),
            scheduled_delete_time: Some(0),
            event_subscriptions: Some(vec!["e".into()]),
            ..secret("db", "ENABLED", "COMMON")
        };
        let v = decoded(&[], vec![full]);
        let Value::List(items) = v.get("secrets") else {
            panic!()
        };
        let o = &items[0];
        assert_eq!(o.get("created_at"), &s("2024-05-11T14:14:59Z"));
        assert_eq!(o.get("updated_at"), &s("2024-05-11T14:14:59Z"), "seconds");
        assert_eq!(o.get("scheduled_delete_at"), &Value::Null, "0 is none");
        assert_eq!(o.get("scheduled_delete_time"), &Value::Number(0.0));
        assert_eq!(
            o.get("rotation_period_seconds"),
            &Value::Number(2_592_000.0)
        );
        assert_eq!(o.get("auto_rotation"), &Value::Bool(true));
        assert_eq!(o.get("event_subscriptions"), &Value::List(vec![s("e")]));
        assert_eq!(o.get("rotated_at"), &Value::Null);
        let Value::Object(fields) = o else { panic!() };
        assert_eq!(fields.len(), secret_attributes().len());
    }

    #[test]
    fn a_name_that_matches_nothing_warns_on_its_attribute() {
        let by_name = Filters {
            name: Some("db.password".into()),
            ..Filters::default()
        };
        let w = no_such_name(&by_name).unwrap();
        assert!(!w.is_error());
        assert_eq!(w.path, [PathStep::Attribute("name".into())]);
        assert!(w.detail.contains("\"db.password\""), "{}", w.detail);
        assert!(no_such_name(&Filters::default()).is_none());
    }

    #[test]
    fn bad_filters_are_refused_on_their_attribute() {
        for (name, value) in [
            ("state", "enabled"),
            ("secret_type", "MYSQL"),
            ("name", "bad name"),
        ] {
            let diags =
                Secrets::new(ClientSlot::default()).validate(&schema().config(&[(name, s(value))]));
            assert_eq!(diags.len(), 1, "{name}: {diags:?}");
            assert_eq!(diags[0].path, [PathStep::Attribute(name.into())]);
        }
    }
}
