//! `data "csms_rotation_tasks"`: every rotation task matching a query, newest first, plus the
//! newest task per secret, so that `postcondition` and `check` blocks can assert on them.

use super::data_source::{self, Block};
use super::diagnostics::{self, Advice};
use super::ClientSlot;
use crate::csms::tasks::{MAX_PAGE_SIZE, TASKS};
use crate::csms::{Listing, SecretTask, TaskQuery, TaskSink, Tasks};
use crate::plugin::{
    AttrType, Attribute, BoxFuture, DataSource, Diagnostic, Failed, Fragment, Fragments, Input,
    Nesting, ObjectWriter, Read, ReadRequest, ReadResult, Rule, Schema, SchemaMismatch, State,
    Type, Usage, Validator, Value,
};

pub const TYPE_NAME: &str = "csms_rotation_tasks";

const STATUSES: [&str; 2] = ["SUCCESS", "FAILED"];

pub fn schema() -> Schema {
    let optional = |name, ty, description| {
        Attribute::new(name, AttrType::Plain(ty), Usage::Optional, description)
    };
    let computed = |name, ty, description| {
        Attribute::new(name, AttrType::Plain(ty), Usage::Computed, description)
    };
    let mut attributes = vec![
        optional("secret_name", Type::String, "Only tasks of this secret (API `secret_name`).")
            .validate(Validator::Rule(data_source::SECRET_NAME)),
        optional("status", Type::String, "Only tasks with this status (API `status`).")
            .validate(Validator::OneOf(&STATUSES)),
        optional("task_id", Type::String, "Only this task (API `task_id`).")
            .validate(Validator::Rule(Rule {
                prose: "1 to 128 characters, no control characters.",
                check: check_task_id,
            }))
            .validate(Validator::ConflictsWith {
                others: &["secret_name", "status"],
                why: "task_id selects one task and the API accepts no other criteria with it.",
            }),
        optional(
            "page_size",
            Type::Number,
            "Tasks per request (API `limit`). Unset: 1000, falling back to 50 if the service \
             rejects it. Every page is read either way; this only trades requests for response size.",
        )
        .validate(Validator::IntRange {
            min: 1,
            max: i64::from(MAX_PAGE_SIZE),
        }),
        optional(
            "since",
            Type::String,
            "Keep in `tasks` only the tasks created at or after this time, e.g. \
             `timeadd(plantimestamp(), \"-720h\")`. Every page is still read and `latest` still covers every \
             secret, with its newest task even when that is older (so a freshness check on `latest` fails \
             instead of passing on nothing); `total` stays the service's count. Large accounts: the plan \
             then carries only the window.",
        )
        .validate(Validator::Rfc3339),
        computed("id", Type::String, "Identifies the query; the same for the same filters."),
        computed("total", Type::Number, "Number of tasks the service reports for the query; 0 when the filters match nothing."),
        Attribute::new(
            "tasks",
            AttrType::Nested(Nesting::List, task_attributes()),
            Usage::Computed,
            "Every task matching the query, newest first (`task_time` descending, then `task_id`).",
        ),
        Attribute::new(
            "latest",
            AttrType::Nested(Nesting::Map, task_attributes()),
            Usage::Computed,
            "The newest task of each secret *among the tasks matching the filters*, keyed by `secret_name`. \
             With `status = \"SUCCESS\"` it holds each secret's newest success, so asserting on it always \
             passes: filter by `secret_name` alone to ask whether the newest rotation succeeded. A secret \
             without a matching task (never rotated, or a wrong name) has no entry: read it with `try()` or \
             `lookup()`.",
        ),
        Attribute::new(
            "latest_success",
            AttrType::Nested(Nesting::Map, task_attributes()),
            Usage::Computed,
            "The newest `SUCCESS` task of each secret among the tasks matching the filters, keyed by \
             `secret_name`, over every task like `latest` (`since` does not narrow it). A failed attempt does \
             not count as a rotation here, so `timecmp(latest_success[s].created_at, cutoff)` asks when `s` last \
             rotated successfully; a secret that never succeeded has no entry.",
        ),
    ];
    attributes.extend(data_source::common_attributes());
    Schema {
        version: 0,
        description: "Lists the secret rotation tasks of CSMS (API `ListSecretTask`), reading every page, newest \
            first. Use `latest` in a `postcondition` or `check` block to fail or warn when the newest rotation of \
            a secret did not succeed.",
        attributes,
    }
}

fn check_task_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
        Err("task_id must be a task ID: 1 to 128 characters, no control characters.".into())
    } else {
        Ok(())
    }
}

/// The task object, shared by every data source that shows a task.
pub fn task_attributes() -> Vec<Attribute> {
    let field = |name, ty, description| {
        Attribute::new(name, AttrType::Plain(ty), Usage::Computed, description)
    };
    vec![
        field("task_id", Type::String, "Task ID."),
        field("secret_name", Type::String, "Name of the rotated secret."),
        field("rotation_func_urn", Type::String, "URN of the FunctionGraph function that performs the rotation."),
        field("task_status", Type::String, "Task status: `SUCCESS` or `FAILED`, the values the API documents and filters on."),
        field("operate_type", Type::String, "Rotation type as the service reports it, e.g. `MULTI_USER`; the API documents no list of values."),
        field("task_time", Type::Number, "Creation time of the task in milliseconds since the Unix epoch, as the API returns it."),
        field(
            "created_at",
            Type::String,
            "When the rotation started (the task's creation; the API reports no finish time), as an RFC 3339 \
             UTC timestamp: the same instant as `task_time`, for `timecmp()`.",
        ),
        field("attempt_nums", Type::Number, "Number of rotation attempts."),
        field("task_error_code", Type::String, "Error code of a failed task; null on success and whenever the service leaves it out (wrap it in \
             `coalesce()` inside an `error_message`)."),
        field("task_error_msg", Type::String, "Error message of a failed task; null on success and whenever the service leaves it out (wrap it \
             in `coalesce()` inside an `error_message`). Its lines after the first are indented by two spaces, and a message \
             longer than 4 KiB is cut there, ending with a note of its original length."),
    ]
}

/// What this data source's hints name about its listing.
pub(crate) const ADVICE: &[Advice] = &[Advice {
    kind: &TASKS,
    holds: "`tasks`",
    narrow: &[
        "`since` keeps only recent tasks (while `latest` still covers every secret)",
        "`secret_name` or `status` filter on the service's side",
    ],
    page_size: "`page_size`",
}];

/// The hints of a block that sets `since` already: it lowers what is kept, never what is
/// listed, so naming it again would advise what was done.
const ADVICE_WITH_SINCE: &[Advice] = &[Advice {
    narrow: &["`secret_name` or `status` filter on the service's side"],
    ..ADVICE[0]
}];

/// `data "csms_rotation_tasks"`, reading with the client its provider configured.
pub struct RotationTasks {
    client: ClientSlot,
}

impl RotationTasks {
    pub fn new(client: ClientSlot) -> Self {
        RotationTasks { client }
    }

    async fn read_tasks(&self, request: ReadRequest<'_>) -> ReadResult {
        let block = Block::read(request.schema, &request.config, filters).map_err(Failed::new)?;
        let client = self.client.get(block.region.as_deref())?;
        let kept = Kept::new(request.schema).map_err(|e| diagnostics::state_failed(&e))?;
        let query = &block.own.query;
        let advice = match block.own.since {
            Some(_) => ADVICE_WITH_SINCE,
            None => ADVICE,
        };
        let listing = client
            .list_tasks_into(query, block.deadline(), &request.cancel, kept)
            .await
            .map_err(|e| diagnostics::listing_failed(&e, &client, advice))?;
        let mut warnings = diagnostics::from_warnings(&listing.warnings, advice);
        if listing.listed == 0 {
            warnings.extend(nothing_matched(query));
        }
        let state =
            state(request.schema, &block, listing).map_err(|e| diagnostics::state_failed(&e))?;
        Ok(Read { state, warnings })
    }
}

impl DataSource for RotationTasks {
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
        Box::pin(self.read_tasks(request))
    }
}

/// The block's own part: the query, and `since` as written, for the state's echo.
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    pub query: TaskQuery,
    pub since: Option<String>,
}

/// Reads the block's own attributes, once its validators passed. Unknown values (validate
/// may see them) read as unset.
pub fn filters(input: &Input<'_>) -> Result<Filters, Vec<Diagnostic>> {
    let since = input.string("since")?.set();
    Ok(Filters {
        query: TaskQuery {
            secret_name: input.string("secret_name")?.set(),
            status: input.string("status")?.set(),
            task_id: input.string("task_id")?.set(),
            page_size: input
                .integer("page_size")?
                .set()
                .and_then(|n| u32::try_from(n).ok()),
            since: input
                .timestamp("since")?
                .set()
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64),
        },
        since,
    })
}

/// A name filter that matched nothing is more often a typo, or a secret that never rotated,
/// than a fact to assert on: say so, on the attribute.
fn nothing_matched(query: &TaskQuery) -> Option<Diagnostic> {
    let (attribute, value, what) = match (&query.task_id, &query.secret_name) {
        (Some(id), _) => (
            "task_id",
            id,
            "The task ID may be wrong, or the task was deleted.",
        ),
        (None, Some(name)) => (
            "secret_name",
            name,
            "The secret name may be misspelled, or the secret has never rotated (rotation off, or \
             its first rotation not yet due).",
        ),
        (None, None) => return None,
    };
    let filter = if query.status.is_some() {
        " with this status"
    } else {
        ""
    };
    Some(
        Diagnostic::warning(
            "No rotation task matched",
            format!(
                "CSMS lists no rotation task for {attribute} = {value:?}{filter}. {what} `tasks` is empty and \
                 `latest` has no entry for it."
            ),
        )
        .at(attribute),
    )
}

/// Stable for the same filters: the filters themselves, readable in plan output.
/// `page_size` is left out because it does not change the result.
pub fn id(query: &TaskQuery) -> String {
    let filters: Vec<(String, String)> = [
        ("secret_name", &query.secret_name),
        ("status", &query.status),
        ("task_id", &query.task_id),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
    .collect();
    if filters.is_empty() {
        "tasks".to_string()
    } else {
        format!("tasks?{}", crate::csms::signer::canonical_query(&filters))
    }
}

/// The tasks a read keeps, encoded for the state as they arrive (decoded tasks take about three
/// times the memory), with what sorting them needs.
pub struct Kept {
    fragments: Fragments,
    /// `(task_time, where)`, sorted newest first before the state is written. The task id that
    /// breaks ties is read back from the fragment when a tie occurs (rarely: the same
    /// millisecond), rather than kept for every task: at 100,000 tasks that is 7 MB less.
    index: Vec<(Option<i64>, Fragment)>,
}

impl Kept {
    pub fn new(schema: &Schema) -> Result<Kept, SchemaMismatch> {
        Ok(Kept {
            fragments: Fragments::new(schema, "tasks")?,
            index: Vec::new(),
        })
    }
}

impl TaskSink for Kept {
    fn keep(&mut self, task: SecretTask) {
        let fragment = self.fragments.push(|o| write_task(o, &task));
        self.index.push((task.task_time, fragment));
    }
}

/// The data source's state: the echoed query and configuration, tasks newest first and the
/// newest per secret. The kept tasks are dropped here, before the server encodes its response.
pub fn state(
    schema: &Schema,
    block: &Block<Filters>,
    listing: Listing<Tasks<Kept>>,
) -> Result<State, SchemaMismatch> {
    let query = &block.own.query;
    let Listing {
        items:
            Tasks {
                tasks: mut kept,
                latest,
                latest_success,
            },
        total,
        listed,
        ..
    } = listing;
    kept.fragments.check()?;
    // Newest first, ties by task id, tasks without a time last ([`crate::csms::tasks::newer`]).
    // A tie reads the id back from the fragment, once per tied task: tasks without a time all
    // tie, and decoding in the comparator would decode them O(n log n) times.
    let task_id =
        |f: &Fragment| match crate::plugin::codec::decode_msgpack(kept.fragments.bytes(*f)) {
            Ok(task) => match task.get("task_id") {
                Value::String(id) => Some(id.clone()),
                _ => None,
            },
            Err(_) => None,
        };
    let mut index = std::mem::take(&mut kept.index);
    index.sort_unstable_by_key(|(time, _)| std::cmp::Reverse(*time));
    for tied in index.chunk_by_mut(|a, b| a.0 == b.0) {
        if tied.len() > 1 {
            tied.sort_by_cached_key(|(_, f)| task_id(f));
        }
    }
    let id = id(query);
    State::write(schema, |o| {
        o.string("secret_name", query.secret_name.as_deref());
        o.string("status", query.status.as_deref());
        o.string("task_id", query.task_id.as_deref());
        o.int("page_size", query.page_size.map(i64::from));
        o.string("since", block.own.since.as_deref());
        block.echo(o);
        o.string("id", Some(&id));
        o.int("total", Some(total.unwrap_or(listed as i64)));
        o.list_fragments("tasks", &kept.fragments, index.iter().map(|(_, f)| *f));
        o.map("latest", latest.iter(), write_task);
        o.map("latest_success", latest_success.iter(), write_task);
    })
}

/// One task object of [`task_attributes`].
pub fn write_task(o: &mut ObjectWriter<'_, '_>, t: &SecretTask) {
    o.string("task_id", Some(&t.task_id));
    o.string("secret_name", t.secret_name.as_deref());
    o.string("rotation_func_urn", t.rotation_func_urn.as_deref());
    o.string("task_status", t.task_status.as_deref());
    o.string("operate_type", t.operate_type.as_deref());
    o.int("task_time", t.task_time);
    o.string("created_at", t.created_at().as_deref());
    o.int("attempt_nums", t.attempt_nums);
    o.string("task_error_code", t.task_error_code.as_deref());
    o.string("task_error_msg", t.task_error_msg.as_deref());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csms::tasks::Window;
    use crate::csms::{Page, Pager};
    use crate::plugin::PathStep;

    fn block(pairs: &[(&str, Value)]) -> Value {
        schema().config(pairs)
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn read(config: &Value) -> Result<Block<Filters>, Vec<Diagnostic>> {
        Block::read(&schema(), config, filters)
    }

    fn query(config: &Value) -> Result<TaskQuery, Vec<Diagnostic>> {
        read(config).map(|b| b.own.query)
    }

    fn error_paths(config: &Value) -> Vec<String> {
        query(config)
            .unwrap_err()
            .iter()
            .map(|d| match d.path.as_slice() {
                [PathStep::Attribute(a)] => a.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn task(id: &str, secret: &str, time: Option<i64>, status: &str) -> SecretTask {
        SecretTask {
            task_id: id.into(),
            secret_name: Some(secret.into()),
            task_time: time,
            task_status: Some(status.into()),
            ..SecretTask::default()
        }
    }

    #[test]
    fn each_invalid_attribute_is_named() {
        assert_eq!(error_paths(&block(&[("status", s("failed"))])), ["status"]);
        assert_eq!(
            error_paths(&block(&[("secret_name", s("bad name!"))])),
            ["secret_name"]
        );
        assert_eq!(
            error_paths(&block(&[("secret_name", s(&"a".repeat(65)))])),
            ["secret_name"]
        );
        assert_eq!(
            error_paths(&block(&[("page_size", Value::Number(0.0))])),
            ["page_size"]
        );
        assert_eq!(
            error_paths(&block(&[("page_size", Value::Number(1001.0))])),
            ["page_size"]
        );
        assert_eq!(
            error_paths(&block(&[("page_size", Value::Number(10.5))])),
            ["page_size"]
        );
        assert_eq!(
            error_paths(&block(&[("task_id", s("t")), ("status", s("FAILED"))])),
            ["task_id"]
        );
    }

    #[test]
    fn conflict_names_every_other_filter() {
        let diags = query(&block(&[
            ("task_id", s("t")),
            ("status", s("FAILED")),
            ("secret_name", s("x")),
        ]))
        .unwrap_err();
        assert!(
            diags[0].detail.contains("secret_name and status"),
            "{}",
            diags[0].detail
        );
    }

    #[test]
    fn unknown_values_skip_checks_but_still_conflict() {
        assert!(query(&block(&[
            ("status", Value::Unknown),
            ("page_size", Value::Unknown)
        ]))
        .is_ok());
        assert_eq!(
            error_paths(&block(&[("task_id", s("t")), ("status", Value::Unknown)])),
            ["task_id"]
        );
    }

    #[test]
    fn a_name_that_matches_nothing_warns_on_its_attribute() {
        let by_name = TaskQuery {
            secret_name: Some("db.password".into()),
            ..TaskQuery::default()
        };
        let w = nothing_matched(&by_name).unwrap();
        assert!(!w.is_error());
        assert_eq!(w.path, [PathStep::Attribute("secret_name".into())]);
        assert!(w.detail.contains("never rotated"), "{}", w.detail);
        let by_id = TaskQuery {
            task_id: Some("t-1".into()),
            ..TaskQuery::default()
        };
        assert_eq!(
            nothing_matched(&by_id).unwrap().path,
            [PathStep::Attribute("task_id".into())]
        );
        assert!(nothing_matched(&TaskQuery::default()).is_none());
    }

    #[test]
    fn valid_block_becomes_a_query() {
        let q = query(&block(&[
            ("secret_name", s("prod-db_1")),
            ("status", s("FAILED")),
            ("page_size", Value::Number(50.0)),
        ]))
        .unwrap();
        assert_eq!(
            q,
            TaskQuery {
                secret_name: Some("prod-db_1".into()),
                status: Some("FAILED".into()),
                task_id: None,
                page_size: Some(50),
                since: None,
            }
        );
        assert_eq!(id(&q), "tasks?secret_name=prod-db_1&status=FAILED");
        assert_eq!(id(&TaskQuery::default()), "tasks");
    }

    /// The state as Terraform will decode it.
    /// The state of a read whose one page holds `tasks`, as Terraform will decode it: the tasks
    /// go through the pager into the encoded store, as in a real read.
    fn decoded_state(query: &TaskQuery, tasks: Vec<SecretTask>, total: Option<i64>) -> Value {
        let since = query.since.and_then(|ms| {
            SecretTask {
                task_time: Some(ms),
                ..SecretTask::default()
            }
            .created_at()
        });
        let block = Block {
            own: Filters {
                query: query.clone(),
                since,
            },
            region: None,
            timeouts: None,
        };
        decoded_state_of(&block, tasks, total)
    }

    fn decoded_state_of(
        block: &Block<Filters>,
        tasks: Vec<SecretTask>,
        total: Option<i64>,
    ) -> Value {
        let schema = schema();
        let query = &block.own.query;
        let window = Window::new(query, Kept::new(&schema).unwrap());
        let mut pager = Pager::new(query.clone(), window);
        pager
            .accept(Page {
                items: tasks,
                next_marker: None,
                total,
            })
            .unwrap();
        let listing = pager.finish(1).map(Window::finish);
        let state = state(&schema, block, listing).unwrap();
        crate::plugin::codec::decode_msgpack(state.as_bytes()).unwrap()
    }

    fn decoded_task(t: SecretTask) -> Value {
        match decoded_state(&TaskQuery::default(), vec![t], None).get("tasks") {
            Value::List(items) => items[0].clone(),
            other => panic!("tasks is {other:?}"),
        }
    }

    #[test]
    fn tasks_newest_first_and_latest_per_secret() {
        let tasks = vec![
            task("b", "db", Some(1_000), "SUCCESS"),
            task("c", "api", Some(3_000), "FAILED"),
            task("a", "db", Some(2_000), "FAILED"),
            task("z", "db", None, "SUCCESS"),
            task("d", "api", Some(3_000), "SUCCESS"),
        ];
        let state = decoded_state(&TaskQuery::default(), tasks, Some(5));
        let ids: Vec<&Value> = match state.get("tasks") {
            Value::List(items) => items.iter().map(|t| t.get("task_id")).collect(),
            other => panic!("tasks is {other:?}"),
        };
        assert_eq!(ids, [&s("c"), &s("d"), &s("a"), &s("b"), &s("z")]);
        assert_eq!(state.get("latest").get("db").get("task_id"), &s("a"));
        assert_eq!(state.get("latest").get("api").get("task_id"), &s("c"));
        // The newest success, past a newer failure (db) and a tie lost on the id (api).
        assert_eq!(
            state.get("latest_success").get("db").get("task_id"),
            &s("b")
        );
        assert_eq!(
            state.get("latest_success").get("api").get("task_id"),
            &s("d")
        );
        assert_eq!(state.get("total"), &Value::Number(5.0));
    }

    /// `since` keeps only the window in `tasks`; `latest` still has every secret, with a newest
    /// task older than the window where that is all there is; `total` stays the service's.
    #[test]
    fn since_keeps_the_window_and_latest_covers_every_secret() {
        let tasks = vec![
            task("old-db", "db", Some(1_000), "SUCCESS"),
            task("new-db", "db", Some(5_000), "FAILED"),
            task("old-api", "api", Some(2_000), "SUCCESS"),
            task("edge", "web", Some(4_000), "SUCCESS"),
            task("timeless", "web", None, "SUCCESS"),
        ];
        let query = TaskQuery {
            since: Some(4_000),
            ..TaskQuery::default()
        };
        let state = decoded_state(&query, tasks, Some(5));
        let ids: Vec<&Value> = match state.get("tasks") {
            Value::List(items) => items.iter().map(|t| t.get("task_id")).collect(),
            other => panic!("tasks is {other:?}"),
        };
        assert_eq!(ids, [&s("new-db"), &s("edge")], "at or after since");
        assert_eq!(state.get("latest").get("db").get("task_id"), &s("new-db"));
        assert_eq!(state.get("latest").get("api").get("task_id"), &s("old-api"));
        assert_eq!(state.get("latest").get("web").get("task_id"), &s("edge"));
        assert_eq!(state.get("total"), &Value::Number(5.0));
        assert_eq!(state.get("since"), &s("1970-01-01T00:00:04Z"));
    }

    #[test]
    fn since_must_be_rfc3339() {
        assert_eq!(error_paths(&block(&[("since", s("yesterday"))])), ["since"]);
        assert!(query(&block(&[("since", Value::Unknown)])).is_ok());
        let q = query(&block(&[("since", s("2026-12-01T10:00:00+01:00"))])).unwrap();
        assert_eq!(q.since, Some(1_796_115_600_000));
    }

    #[test]
    fn created_at_is_rfc3339_of_task_time() {
        let t = decoded_task(task("x", "s", Some(1_715_436_899_000), "SUCCESS"));
        assert_eq!(t.get("created_at"), &s("2024-05-11T14:14:59Z"));
        assert_eq!(t.get("task_time"), &Value::Number(1_715_436_899_000.0));
        assert_eq!(t.get("task_error_msg"), &Value::Null);
    }

    /// The configuration's `since`, `region` and `timeouts` come back as written.
    #[test]
    fn state_echoes_the_block_as_configured() {
        let config = block(&[
            ("since", s("2026-12-01T10:00:00+01:00")),
            ("region", s("eu-west-101")),
            ("timeouts", Value::object([("read", s("1h30m"))])),
        ]);
        let state = decoded_state_of(&read(&config).unwrap(), Vec::new(), None);
        assert_eq!(state.get("since"), &s("2026-12-01T10:00:00+01:00"));
        assert_eq!(state.get("region"), &s("eu-west-101"));
        assert_eq!(state.get("timeouts").get("read"), &s("1h30m"));
    }

    #[test]
    fn a_bad_read_timeout_is_refused_at_validation_on_its_attribute() {
        let ds = RotationTasks::new(ClientSlot::default());
        let bad = block(&[("timeouts", Value::object([("read", s("ten minutes"))]))]);
        let diags = ds.validate(&bad);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].path,
            [
                PathStep::Attribute("timeouts".into()),
                PathStep::Attribute("read".into())
            ]
        );
        let unknown = block(&[("timeouts", Value::object([("read", Value::Unknown)]))]);
        assert!(ds.validate(&unknown).is_empty());
    }

    #[test]
    fn state_echoes_the_query_and_has_every_schema_attribute() {
        let query = TaskQuery {
            secret_name: Some("db".into()),
            page_size: Some(20),
            ..TaskQuery::default()
        };
        let state = decoded_state(&query, Vec::new(), None);
        let Value::Object(fields) = &state else {
            panic!("{state:?}")
        };
        let names: Vec<&str> = schema().attributes.iter().map(|a| a.name).collect();
        assert_eq!(fields.keys().collect::<Vec<_>>(), {
            let mut n = names.clone();
            n.sort();
            n
        });
        assert_eq!(state.get("secret_name"), &s("db"));
        assert_eq!(state.get("page_size"), &Value::Number(20.0));
        assert_eq!(state.get("status"), &Value::Null);
        assert_eq!(state.get("id"), &s("tasks?secret_name=db"));
        assert_eq!(state.get("total"), &Value::Number(0.0));
        let Value::Object(task_fields) = decoded_task(SecretTask::default()) else {
            panic!()
        };
        let mut expected: Vec<&str> = task_attributes().iter().map(|a| a.name).collect();
        expected.sort();
        assert_eq!(task_fields.keys().collect::<Vec<_>>(), expected);
    }
}
