//! `data "csms_secret_rotations"`: a verdict per rotating secret (is it rotating on schedule?),
//! with `unhealthy`, `all_healthy` and `counts`, so that one postcondition covers an account.
//!
//! Secrets and tasks are listed concurrently. Tasks stream into the per-secret fold of
//! [`crate::csms::rotation`] (the newest task and the newest success of each secret), read once
//! for the account, or once per name with `secret_names`. The verdicts are
//! [`Check::judge`]'s; this module only reads the block and writes the state.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::data_source::{self, Block};
use super::diagnostics::{self, Advice};
use super::rotation_tasks::{task_attributes, write_task};
use super::ClientSlot;
use crate::csms::rotation::{rfc3339, Check, Histories, History, Judgement, Verdict};
use crate::csms::secret::Secret;
use crate::csms::secrets::SECRETS;
use crate::csms::tasks::TASKS;
use crate::csms::{Client, Error, Listing, ListingWarning, SecretQuery, Sink, TaskQuery};
use crate::plugin::{
    AttrType, Attribute, BoxFuture, DataSource, Diagnostic, Failed, Input, Nesting, ObjectWriter,
    Read, ReadRequest, ReadResult, Schema, SchemaMismatch, State, Type, Usage, Validator, Value,
};

pub const TYPE_NAME: &str = "csms_secret_rotations";

/// `grace_period` when unset.
pub const DEFAULT_GRACE: &str = "1h";

pub fn schema() -> Schema {
    let computed = |name, ty, description| {
        Attribute::new(name, AttrType::Plain(ty), Usage::Computed, description)
    };
    let mut attributes = vec![
        Attribute::new(
            "as_of",
            AttrType::Plain(Type::String),
            Usage::OptionalComputed,
            "Instant to judge at, e.g. `plantimestamp()`. Unset: the time of the read, which the state then \
             holds.",
        )
        .validate(Validator::Rfc3339),
        Attribute::new(
            "grace_period",
            AttrType::Plain(Type::String),
            Usage::OptionalComputed,
            "How long past its due time a rotation may still be on its way before the secret is `OVERDUE`, \
             in Terraform's duration syntax (`\"90m\"`, `\"1h\"`, `\"720h\"`). Default `\"1h\"`.",
        )
        .validate(Validator::Duration { allow_zero: true }),
        Attribute::new(
            "secret_names",
            AttrType::Plain(Type::Set(Box::new(Type::String))),
            Usage::Optional,
            "Judge exactly these secrets: a name no secret has is `MISSING`, a secret that does not rotate \
             is `NOT_ROTATING`. Their tasks are read with the `secret_name` filter, a few requests per name. \
             Unset: every secret with `auto_rotation` on and state `ENABLED`, over every task of the project.",
        )
        .validate(Validator::DistinctNonEmpty)
        .validate(Validator::Rule(data_source::SECRET_NAME)),
        computed(
            "id",
            Type::String,
            "Identifies the check; the same for the same `secret_names`, `grace_period` and configured `as_of`.",
        ),
        Attribute::new(
            "secrets",
            AttrType::Nested(Nesting::List, rotation_attributes()),
            Usage::Computed,
            "One verdict per secret judged, sorted by name.",
        ),
        computed(
            "unhealthy",
            Type::Map(Box::new(Type::String)),
            "The `reason` of every secret whose verdict is not `HEALTHY`, by name: join it into a \
             postcondition's `error_message`.",
        ),
        computed(
            "all_healthy",
            Type::Bool,
            "Whether every secret judged is `HEALTHY` (true when none is judged).",
        ),
        computed(
            "counts",
            Type::Map(Box::new(Type::Number)),
            "Number of secrets per verdict, every verdict present (zeros included).",
        ),
    ];
    attributes.extend(data_source::common_attributes());
    Schema {
        version: 0,
        description: "Judges whether each rotating secret of CSMS rotated successfully on schedule: `HEALTHY`, \
            `FAILED` (its newest rotation task failed), `OVERDUE` (later than due plus `grace_period`), \
            `UNKNOWN` (no due time can be told), and for names in `secret_names` also `MISSING` and \
            `NOT_ROTATING`; the first that applies in the order `MISSING`, `NOT_ROTATING`, `UNKNOWN`, `FAILED`, \
            `OVERDUE`, `HEALTHY`. A secret is due at the service's `next_rotation_time`, or else at the newest \
            of its last successful task, `rotation_time` and `create_time` plus `rotation_period`. Times \
            of 10^11 and above are read as milliseconds, smaller ones as seconds. Assert \
            `all_healthy` in a `postcondition` or `check` block.",
        attributes,
    }
}

fn rotation_attributes() -> Vec<Attribute> {
    let field = |name, ty, description| {
        Attribute::new(name, AttrType::Plain(ty), Usage::Computed, description)
    };
    let text = |name, description| field(name, Type::String, description);
    vec![
        text("name", "Secret name."),
        text("id", "Secret ID; null when `MISSING`."),
        text("state", "State of the secret as the API gives it; null when `MISSING`."),
        text("secret_type", "`COMMON`, `RDS-FG` or `GaussDB-FG`; null when `MISSING`."),
        field("auto_rotation", Type::Bool, "Whether automatic rotation is on; null when `MISSING` or not given."),
        text("rotation_period", "Rotation period as the API gives it (`30d`)."),
        field(
            "rotation_period_seconds",
            Type::Number,
            "`rotation_period` in seconds; null when absent or unreadable.",
        ),
        text("rotation_func_urn", "URN of the FunctionGraph function that rotates the secret."),
        text("enterprise_project_id", "Enterprise project ID."),
        text("rotated_at", "Last rotation (`rotation_time`) as an RFC 3339 UTC timestamp."),
        text(
            "next_rotation_at",
            "Next rotation the service scheduled (`next_rotation_time`) as an RFC 3339 UTC timestamp.",
        ),
        text(
            "due_at",
            "When the next rotation is due, as an RFC 3339 UTC timestamp: `next_rotation_at`, or else the \
             newest of `last_success_at`, `rotated_at` and the creation plus the period; null when it \
             cannot be told.",
        ),
        text(
            "last_success_at",
            "Creation time of the newest successful rotation task, as an RFC 3339 UTC timestamp; null when \
             none succeeded.",
        ),
        Attribute::new(
            "latest_task",
            AttrType::Nested(Nesting::Single, task_attributes()),
            Usage::Computed,
            "The newest rotation task of the secret, the same object as an element of \
             `csms_rotation_tasks.tasks`; null when it has none.",
        ),
        text(
            "verdict",
            "`HEALTHY`, `FAILED`, `OVERDUE`, `UNKNOWN`, `NOT_ROTATING` or `MISSING`.",
        ),
        field(
            "overdue_seconds",
            Type::Number,
            "How far `as_of` is past `due_at` plus `grace_period`, in seconds; 0 unless `OVERDUE`.",
        ),
        text(
            "reason",
            "One sentence a person can act on: what is wrong and since when, with the task's error code \
             and message when `FAILED`.",
        ),
    ]
}

/// What this data source's hints name about its listings: the tasks are folded into each
/// secret's verdict, and only `secret_names` lists fewer of them.
pub(crate) const ADVICE: &[Advice] = &[
    Advice {
        kind: &SECRETS,
        holds: "`secrets`",
        narrow: &[],
        page_size: "",
    },
    Advice {
        kind: &TASKS,
        holds: "",
        narrow: &["`secret_names` reads only the tasks of the secrets it names"],
        page_size: "",
    },
];

/// `data "csms_secret_rotations"`, reading with the client its provider configured.
pub struct SecretRotations {
    client: ClientSlot,
}

impl SecretRotations {
    pub fn new(client: ClientSlot) -> Self {
        SecretRotations { client }
    }

    async fn read_rotations(&self, request: ReadRequest<'_>) -> ReadResult {
        let block = Block::read(request.schema, &request.config, inputs).map_err(Failed::new)?;
        let client = self.client.get(block.region.as_deref())?;
        let names = block.own.secret_names.as_ref();
        let scope = Scope {
            names: names.map(|n| n.iter().cloned().collect()),
            secrets: BTreeMap::new(),
        };
        // One deadline for every listing of the read, as `timeouts { read }` promises.
        let timeout = block.deadline();
        let deadline = Instant::now() + timeout;
        let secrets = client.list_until(SecretQuery, deadline, timeout, &request.cancel, scope);
        let tasks = histories(&client, names, (deadline, timeout), &request.cancel);
        // The first listing to fail ends the other: a partial account is never judged.
        let (secrets, (histories, task_warnings)) = tokio::try_join!(secrets, tasks)
            .map_err(|e| diagnostics::listing_failed(&e, &client, ADVICE))?;
        let warnings =
            diagnostics::from_warnings(secrets.warnings.iter().chain(&task_warnings), ADVICE);
        let state = state(request.schema, &block, &now(), &secrets.items, &histories)
            .map_err(|e| diagnostics::state_failed(&e))?;
        Ok(Read { state, warnings })
    }
}

/// Lists the tasks into the per-secret fold: every task of the project, or, with `names`, each
/// name's tasks with the `secret_name` filter, one listing after another within the read's
/// `deadline`, which is `timeout` after the read began.
async fn histories(
    client: &Client,
    names: Option<&Vec<String>>,
    (deadline, timeout): (Instant, Duration),
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<(Histories, Vec<ListingWarning>), Error> {
    let queries: Vec<TaskQuery> = match names {
        None => vec![TaskQuery::default()],
        Some(names) => names
            .iter()
            .map(|n| TaskQuery {
                secret_name: Some(n.clone()),
                ..TaskQuery::default()
            })
            .collect(),
    };
    let mut histories = Histories::default();
    let mut warnings = Vec::new();
    for query in queries {
        let listing: Listing<Histories> = client
            .list_until(query, deadline, timeout, cancel, histories)
            .await?;
        warnings.extend(listing.warnings);
        histories = listing.items;
    }
    Ok((histories, warnings))
}

impl DataSource for SecretRotations {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Vec<Diagnostic> {
        Block::validate(&schema(), config, inputs)
    }

    fn read<'a>(&'a self, request: ReadRequest<'a>) -> BoxFuture<'a, ReadResult> {
        Box::pin(self.read_rotations(request))
    }
}

/// An instant as configured and as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written<T> {
    pub written: String,
    pub value: T,
}

/// The block's own part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inputs {
    pub as_of: Option<Written<OffsetDateTime>>,
    pub grace_period: Option<Written<time::Duration>>,
    /// Sorted, as a set is.
    pub secret_names: Option<Vec<String>>,
}

/// Reads the block's own attributes, once its validators passed. Unknown values (validate may
/// see them) read as unset.
pub fn inputs(input: &Input<'_>) -> Result<Inputs, Vec<Diagnostic>> {
    let written = |name| input.string(name).map(|a| a.set());
    let as_of = match (written("as_of")?, input.timestamp("as_of")?.set()) {
        (Some(written), Some(value)) => Some(Written { written, value }),
        _ => None,
    };
    let grace_period = match (
        written("grace_period")?,
        input.duration("grace_period")?.set(),
    ) {
        (Some(written), Some(d)) => Some(Written {
            written,
            value: time::Duration::try_from(d).unwrap_or(time::Duration::MAX),
        }),
        _ => None,
    };
    let secret_names = input.strings("secret_names")?.set().map(|names| {
        let set: BTreeSet<String> = names.into_iter().filter_map(|n| n.set()).collect();
        set.into_iter().collect()
    });
    Ok(Inputs {
        as_of,
        grace_period,
        secret_names,
    })
}

/// The time of the read, to the second: `as_of` when unset.
fn now() -> Written<OffsetDateTime> {
    let value = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    Written {
        written: rfc3339(value),
        value,
    }
}

/// Stable for the same inputs: the configured ones, readable in plan output (an unset `as_of`
/// is left out, so that the id does not change with the clock).
pub fn id(inputs: &Inputs) -> String {
    let mut pairs = Vec::new();
    if let Some(a) = &inputs.as_of {
        pairs.push(("as_of".to_string(), a.written.clone()));
    }
    let grace = inputs
        .grace_period
        .as_ref()
        .map_or(DEFAULT_GRACE, |g| g.written.as_str());
    pairs.push(("grace_period".to_string(), grace.to_string()));
    if let Some(names) = &inputs.secret_names {
        pairs.push(("secret_names".to_string(), names.join(",")));
    }
    format!(
        "secret_rotations?{}",
        crate::csms::signer::canonical_query(&pairs)
    )
}

/// The secrets a check judges, as they arrive: the named ones, or every rotating one.
pub struct Scope {
    names: Option<BTreeSet<String>>,
    secrets: BTreeMap<String, Secret>,
}

impl Sink<Secret> for Scope {
    fn take(&mut self, secret: Secret) -> bool {
        let judged = match &self.names {
            Some(names) => names.contains(&secret.name),
            None => secret.rotates(),
        };
        if judged {
            self.secrets.insert(secret.name.clone(), secret);
        }
        judged
    }
}

/// The data source's state: inputs echoed (with the defaults used), verdicts by name, and the
/// summaries a postcondition asserts on.
pub fn state(
    schema: &Schema,
    block: &Block<Inputs>,
    now: &Written<OffsetDateTime>,
    scope: &Scope,
    histories: &Histories,
) -> Result<State, SchemaMismatch> {
    let own = &block.own;
    let as_of = own.as_of.as_ref().unwrap_or(now);
    let grace = own.grace_period.as_ref();
    let check = Check {
        as_of: as_of.value,
        grace: grace.map_or(time::Duration::HOUR, |g| g.value),
    };
    let names: Vec<&String> = match &own.secret_names {
        Some(names) => names.iter().collect(),
        None => scope.secrets.keys().collect(),
    };
    let none = History::default();
    let judged: Vec<(&str, Option<&Secret>, &History, Judgement)> = names
        .into_iter()
        .map(|name| {
            let secret = scope.secrets.get(name);
            let history = histories.by_secret.get(name).unwrap_or(&none);
            (
                name.as_str(),
                secret,
                history,
                check.judge(name, secret, history),
            )
        })
        .collect();
    let mut counts: BTreeMap<&str, i64> = Verdict::ALL.iter().map(|v| (v.as_str(), 0)).collect();
    for (.., j) in &judged {
        *counts.entry(j.verdict.as_str()).or_default() += 1;
    }
    let unhealthy: Vec<(&str, &str)> = judged
        .iter()
        .filter(|(.., j)| j.verdict != Verdict::Healthy)
        .map(|(name, .., j)| (*name, j.reason.as_str()))
        .collect();
    let id = id(own);
    State::write(schema, |o| {
        o.string("as_of", Some(&as_of.written));
        o.string(
            "grace_period",
            Some(grace.map_or(DEFAULT_GRACE, |g| g.written.as_str())),
        );
        o.strings("secret_names", own.secret_names.as_ref().map(|n| n.iter()));
        block.echo(o);
        o.string("id", Some(&id));
        o.list("secrets", judged.iter(), |o, (name, secret, history, j)| {
            write_rotation(o, name, *secret, history, j)
        });
        o.string_map("unhealthy", unhealthy.iter().copied());
        o.bool("all_healthy", Some(unhealthy.is_empty()));
        o.int_map("counts", counts.iter().map(|(k, v)| (k, *v)));
    })
}

/// One object of [`rotation_attributes`].
fn write_rotation(
    o: &mut ObjectWriter<'_, '_>,
    name: &str,
    secret: Option<&Secret>,
    history: &History,
    j: &Judgement,
) {
    use crate::csms::secret::rfc3339 as api_time;
    o.string("name", Some(name));
    o.string("id", secret.and_then(|s| s.id.as_deref()));
    o.string("state", secret.and_then(|s| s.state.as_deref()));
    o.string("secret_type", secret.and_then(|s| s.secret_type.as_deref()));
    o.bool("auto_rotation", secret.and_then(|s| s.auto_rotation));
    o.string(
        "rotation_period",
        secret.and_then(|s| s.rotation_period.as_deref()),
    );
    o.int(
        "rotation_period_seconds",
        secret.and_then(Secret::rotation_period_seconds),
    );
    o.string(
        "rotation_func_urn",
        secret.and_then(|s| s.rotation_func_urn.as_deref()),
    );
    o.string(
        "enterprise_project_id",
        secret.and_then(|s| s.enterprise_project_id.as_deref()),
    );
    o.string(
        "rotated_at",
        api_time(secret.and_then(|s| s.rotation_time)).as_deref(),
    );
    o.string(
        "next_rotation_at",
        api_time(secret.and_then(|s| s.next_rotation_time)).as_deref(),
    );
    o.string("due_at", j.due.map(rfc3339).as_deref());
    o.string(
        "last_success_at",
        history
            .last_success
            .as_ref()
            .and_then(|t| t.created_at())
            .as_deref(),
    );
    o.object("latest_task", history.latest.as_ref(), write_task);
    o.string("verdict", Some(j.verdict.as_str()));
    o.int("overdue_seconds", Some(j.overdue_seconds));
    o.string("reason", Some(&j.reason));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csms::SecretTask;
    use crate::plugin::PathStep;
    use time::macros::datetime;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn names(list: &[&str]) -> Value {
        Value::List(list.iter().map(|n| s(n)).collect())
    }

    fn read(config: &[(&str, Value)]) -> Result<Block<Inputs>, Vec<Diagnostic>> {
        Block::read(&schema(), &schema().config(config), inputs)
    }

    const NOW: OffsetDateTime = datetime!(2026-12-05 12:00 UTC);

    fn ms(t: OffsetDateTime) -> i64 {
        (t.unix_timestamp_nanos() / 1_000_000) as i64
    }

    fn secret(name: &str, next: OffsetDateTime) -> Secret {
        Secret {
            id: Some(format!("id-{name}")),
            name: name.into(),
            state: Some("ENABLED".into()),
            auto_rotation: Some(true),
            rotation_period: Some("7d".into()),
            next_rotation_time: Some(ms(next)),
            ..Secret::default()
        }
    }

    /// The state of a check over `secrets` and `tasks` as Terraform will decode it; the read's
    /// own time is `NOW`.
    fn decoded(config: &[(&str, Value)], secrets: Vec<Secret>, tasks: Vec<SecretTask>) -> Value {
        let block = read(config).unwrap();
        let mut scope = Scope {
            names: block
                .own
                .secret_names
                .as_ref()
                .map(|n| n.iter().cloned().collect()),
            secrets: BTreeMap::new(),
        };
        for secret in secrets {
            scope.take(secret);
        }
        let mut histories = Histories::default();
        for t in tasks {
            histories.take(t);
        }
        let now = Written {
            written: rfc3339(NOW),
            value: NOW,
        };
        let state = state(&schema(), &block, &now, &scope, &histories).unwrap();
        crate::plugin::codec::decode_msgpack(state.as_bytes()).unwrap()
    }

    fn verdicts(v: &Value) -> Vec<(String, String)> {
        let Value::List(items) = v.get("secrets") else {
            panic!("{v:?}")
        };
        items
            .iter()
            .map(|i| match (i.get("name"), i.get("verdict")) {
                (Value::String(n), Value::String(v)) => (n.clone(), v.clone()),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn bad_inputs_are_refused_at_validate_on_their_attribute() {
        let ds = SecretRotations::new(ClientSlot::default());
        for (name, value) in [
            ("as_of", s("yesterday")),
            ("as_of", s("2026-12-05 12:00:00")),
            ("grace_period", s("-1h")),
            ("grace_period", s("an hour")),
            ("secret_names", names(&["db", ""])),
            ("secret_names", names(&["db", "db"])),
            ("secret_names", names(&["bad name"])),
        ] {
            let diags = ds.validate(&schema().config(&[(name, value.clone())]));
            assert!(!diags.is_empty(), "{name} = {value:?}");
            for d in &diags {
                assert_eq!(d.path.first(), Some(&PathStep::Attribute(name.into())));
                assert!(d.is_error());
            }
        }
        assert!(ds
            .validate(&schema().config(&[
                ("as_of", s("2026-12-05T12:00:00+01:00")),
                ("grace_period", s("0")),
                ("secret_names", names(&["a.b", "c"])),
            ]))
            .is_empty());
        assert!(ds
            .validate(&schema().config(&[("as_of", Value::Unknown)]))
            .is_empty());
    }

    /// Without names: every rotating secret, sorted, each verdict counted (zeros included),
    /// the unhealthy ones with their reasons; defaults echoed.
    #[test]
    fn every_rotating_secret_judged_with_summaries() {
        let mut off = secret("off", NOW);
        off.auto_rotation = Some(false);
        let failed_task = SecretTask {
            task_id: "t-2".into(),
            secret_name: Some("broken".into()),
            task_status: Some("FAILED".into()),
            task_time: Some(ms(NOW - time::Duration::hours(5))),
            task_error_code: Some("FSS.0500".into()),
            ..SecretTask::default()
        };
        let v = decoded(
            &[],
            vec![
                secret("ok", NOW + time::Duration::days(3)),
                secret("late", NOW - time::Duration::days(2)),
                secret("broken", NOW + time::Duration::days(3)),
                off,
            ],
            vec![failed_task.clone()],
        );
        assert_eq!(
            verdicts(&v),
            [
                ("broken".into(), "FAILED".into()),
                ("late".into(), "OVERDUE".into()),
                ("ok".into(), "HEALTHY".into())
            ]
        );
        assert_eq!(v.get("all_healthy"), &Value::Bool(false));
        let counts = v.get("counts");
        for (verdict, n) in [
            ("HEALTHY", 1.0),
            ("FAILED", 1.0),
            ("OVERDUE", 1.0),
            ("UNKNOWN", 0.0),
            ("NOT_ROTATING", 0.0),
            ("MISSING", 0.0),
        ] {
            assert_eq!(counts.get(verdict), &Value::Number(n), "{verdict}");
        }
        let Value::Object(unhealthy) = v.get("unhealthy") else {
            panic!()
        };
        assert_eq!(unhealthy.keys().collect::<Vec<_>>(), ["broken", "late"]);
        assert!(matches!(&unhealthy["broken"], Value::String(r) if r.contains("FSS.0500")));
        assert_eq!(v.get("as_of"), &s("2026-12-05T12:00:00Z"));
        assert_eq!(v.get("grace_period"), &s("1h"));
        assert_eq!(v.get("id"), &s("secret_rotations?grace_period=1h"));
        let Value::List(items) = v.get("secrets") else {
            panic!()
        };
        assert_eq!(
            items[1].get("overdue_seconds"),
            &Value::Number(47.0 * 3600.0)
        );
        assert_eq!(items[0].get("latest_task").get("task_id"), &s("t-2"));
        assert_eq!(items[2].get("latest_task"), &Value::Null);
        // The latest task is the same object as csms_rotation_tasks' task.
        let Value::Object(task) = items[0].get("latest_task") else {
            panic!()
        };
        let mut want: Vec<&str> = task_attributes().iter().map(|a| a.name).collect();
        want.sort();
        assert_eq!(task.keys().collect::<Vec<_>>(), want);
        let Value::Object(fields) = &items[0] else {
            panic!()
        };
        assert_eq!(fields.len(), rotation_attributes().len());
    }

    /// With names: exactly those, MISSING and NOT_ROTATING included; as_of and grace as given.
    #[test]
    fn named_secrets_judged_at_the_given_instant() {
        let mut disabled = secret("disabled", NOW);
        disabled.state = Some("DISABLED".into());
        let config = [
            ("as_of", s("2026-12-10T12:00:00+00:00")),
            ("grace_period", s("24h")),
            ("secret_names", names(&["ok", "nope", "disabled"])),
        ];
        let v = decoded(
            &config,
            vec![
                secret("ok", NOW + time::Duration::days(3)),
                secret("other", NOW - time::Duration::days(30)),
                disabled,
            ],
            Vec::new(),
        );
        assert_eq!(
            verdicts(&v),
            [
                ("disabled".into(), "NOT_ROTATING".into()),
                ("nope".into(), "MISSING".into()),
                ("ok".into(), "OVERDUE".into())
            ]
        );
        assert_eq!(v.get("as_of"), &s("2026-12-10T12:00:00+00:00"));
        assert_eq!(v.get("grace_period"), &s("24h"));
        assert_eq!(
            v.get("id"),
            &s("secret_rotations?as_of=2026-12-10T12%3A00%3A00%2B00%3A00&grace_period=24h&secret_names=disabled%2Cnope%2Cok")
        );
        let Value::List(items) = v.get("secrets") else {
            panic!()
        };
        assert_eq!(
            items[2].get("overdue_seconds"),
            &Value::Number(0.0 * 3600.0 + 86_400.0)
        );
        assert_eq!(items[1].get("id"), &Value::Null);
        assert_eq!(v.get("counts").get("MISSING"), &Value::Number(1.0));
    }

    #[test]
    fn nothing_to_judge_is_all_healthy() {
        let v = decoded(&[], Vec::new(), Vec::new());
        assert_eq!(v.get("all_healthy"), &Value::Bool(true));
        assert_eq!(v.get("secrets"), &Value::List(Vec::new()));
        assert_eq!(v.get("counts").get("HEALTHY"), &Value::Number(0.0));
    }
}
