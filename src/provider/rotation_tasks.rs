//! `data "csms_rotation_tasks"`: every rotation task matching a query, newest first, plus the
//! newest task per secret, so that `postcondition` and `check` blocks can assert on them.

use std::collections::BTreeMap;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::csms::{Listing, SecretTask, TaskQuery};
use crate::plugin::{Attr, AttrType, Attribute, Diagnostic, Nesting, Schema, Type, Usage, Value};

pub const TYPE_NAME: &str = "csms_rotation_tasks";

/// The API's own ceiling for `limit`.
pub const MAX_PAGE_SIZE: u32 = 1000;

const STATUSES: [&str; 2] = ["SUCCESS", "FAILED"];

pub fn schema() -> Schema {
    let optional = |name, ty, description| {
        Attribute::new(name, AttrType::Plain(ty), Usage::Optional, description)
    };
    let computed = |name, ty, description| {
        Attribute::new(name, AttrType::Plain(ty), Usage::Computed, description)
    };
    Schema {
        version: 0,
        description: "Lists the secret rotation tasks of CSMS (API `ListSecretTask`), reading every page, newest \
            first. Use `latest` in a `postcondition` or `check` block to fail or warn when the newest rotation of \
            a secret did not succeed.",
        attributes: vec![
            optional(
                "secret_name",
                Type::String,
                "Only tasks of this secret (API `secret_name`); 1 to 64 characters of `a-z A-Z 0-9 _ -`.",
            ),
            optional("status", Type::String, "Only tasks with this status: `SUCCESS` or `FAILED` (API `status`)."),
            optional(
                "task_id",
                Type::String,
                "Only this task (API `task_id`). Cannot be combined with `secret_name` or `status`.",
            ),
            optional(
                "page_size",
                Type::Number,
                "Tasks per request, 1 to 1000 (API `limit`). Unset: 1000, falling back to 50 if the service \
                 rejects it. Every page is read either way; this only trades requests for response size.",
            ),
            computed("id", Type::String, "Identifies the query; the same for the same filters."),
            computed("total", Type::Number, "Number of tasks the service reports for the query."),
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
                "The newest task of each secret, keyed by `secret_name`.",
            ),
        ],
    }
}

fn task_attributes() -> Vec<Attribute> {
    let field = |name, ty, description| {
        Attribute::new(name, AttrType::Plain(ty), Usage::Computed, description)
    };
    vec![
        field("task_id", Type::String, "Task ID."),
        field("secret_name", Type::String, "Name of the rotated secret."),
        field("rotation_func_urn", Type::String, "URN of the FunctionGraph function that performs the rotation."),
        field("task_status", Type::String, "Task status as the service reports it, e.g. `SUCCESS` or `FAILED`."),
        field("operate_type", Type::String, "Rotation type as the service reports it, e.g. `MULTI_USER`."),
        field("task_time", Type::Number, "Creation time of the task in milliseconds since the Unix epoch, as the API returns it."),
        field(
            "created_at",
            Type::String,
            "Creation time as an RFC 3339 UTC timestamp (the same instant as `task_time`), for `timecmp()`.",
        ),
        field("attempt_nums", Type::Number, "Number of rotation attempts."),
        field("task_error_code", Type::String, "Error code of a failed task; null when absent."),
        field("task_error_msg", Type::String, "Error message of a failed task; null when absent."),
    ]
}

/// The query a data source block asks for, checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    pub secret_name: Option<String>,
    pub status: Option<String>,
    pub task_id: Option<String>,
    pub page_size: Option<u32>,
}

/// Reads and checks the block. Unknown values skip their checks (validate may see them; a read
/// never does). No request is ever sent for a block that fails here.
pub fn query(config: &Value) -> Result<Query, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut string = |name: &str| match config.string_attr(name) {
        Ok(attr) => attr,
        Err(e) => {
            diags.push(Diagnostic::error(format!("Invalid {name}"), e.to_string()).at(name));
            Attr::Null
        }
    };
    let (secret_name, status, task_id) =
        (string("secret_name"), string("status"), string("task_id"));
    if let Attr::Set(name) = &secret_name {
        if !valid_secret_name(name) {
            diags.push(
                Diagnostic::error(
                    "Invalid secret_name",
                    format!(
                        "{:?} is not a secret name: CSMS secret names are 1 to 64 characters of letters, digits, `_` and `-`.",
                        name
                    ),
                )
                .at("secret_name"),
            );
        }
    }
    if let Attr::Set(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            diags.push(
                Diagnostic::error(
                    "Invalid status",
                    format!("status is {s:?}; it must be \"SUCCESS\" or \"FAILED\" (upper case)."),
                )
                .at("status"),
            );
        }
    }
    if let Attr::Set(id) = &task_id {
        if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
            diags.push(
                Diagnostic::error(
                    "Invalid task_id",
                    "task_id must be a task ID: 1 to 128 characters, no control characters.",
                )
                .at("task_id"),
            );
        }
        let others: Vec<&str> = [("secret_name", &secret_name), ("status", &status)]
            .into_iter()
            .filter(|(_, a)| !matches!(a, Attr::Null))
            .map(|(n, _)| n)
            .collect();
        if !others.is_empty() {
            diags.push(
                Diagnostic::error(
                    "Conflicting filters",
                    format!(
                        "task_id selects one task and the API accepts no other criteria with it. Remove {} or task_id.",
                        others.join(" and ")
                    ),
                )
                .at("task_id"),
            );
        }
    }
    let page_size = match config.number_attr("page_size") {
        Ok(Attr::Set(n)) if n.fract() == 0.0 && (1.0..=f64::from(MAX_PAGE_SIZE)).contains(&n) => {
            Some(n as u32)
        }
        Ok(Attr::Set(n)) => {
            diags.push(
                Diagnostic::error(
                    "Invalid page_size",
                    format!("page_size is {n}; it must be a whole number from 1 to {MAX_PAGE_SIZE}, or unset."),
                )
                .at("page_size"),
            );
            None
        }
        Ok(_) => None,
        Err(e) => {
            diags.push(Diagnostic::error("Invalid page_size", e.to_string()).at("page_size"));
            None
        }
    };
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Query {
        secret_name: secret_name.set(),
        status: status.set(),
        task_id: task_id.set(),
        page_size,
    })
}

/// `^[a-zA-Z0-9_-]{1,64}$`, the API's rule for secret names.
fn valid_secret_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Query {
    pub fn to_task_query(&self) -> TaskQuery {
        TaskQuery {
            secret_name: self.secret_name.clone(),
            status: self.status.clone(),
            task_id: self.task_id.clone(),
            page_size: self.page_size,
        }
    }

    /// Stable for the same filters: the filters themselves, readable in plan output.
    /// `page_size` is left out because it does not change the result.
    pub fn id(&self) -> String {
        let filters: Vec<(String, String)> = [
            ("secret_name", &self.secret_name),
            ("status", &self.status),
            ("task_id", &self.task_id),
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
}

/// The data source's state: tasks newest first, the newest per secret, and the echoed config.
pub fn state(query: &Query, listing: Listing) -> Value {
    let Listing {
        mut tasks, total, ..
    } = listing;
    sort_newest_first(&mut tasks);
    let mut latest = BTreeMap::new();
    for task in &tasks {
        if let Some(name) = &task.secret_name {
            latest
                .entry(name.clone())
                .or_insert_with(|| task_value(task));
        }
    }
    let total = total.map_or(tasks.len() as f64, |t| t as f64);
    Value::object([
        ("secret_name", Value::opt_string(query.secret_name.clone())),
        ("status", Value::opt_string(query.status.clone())),
        ("task_id", Value::opt_string(query.task_id.clone())),
        ("page_size", Value::opt_number(query.page_size)),
        ("id", Value::String(query.id())),
        ("total", Value::Number(total)),
        ("tasks", Value::List(tasks.iter().map(task_value).collect())),
        ("latest", Value::Object(latest)),
    ])
}

/// Newest first by `task_time`, ties (and tasks without a time, which go last) by `task_id`, so
/// the order never depends on the order pages arrived in.
pub fn sort_newest_first(tasks: &mut [SecretTask]) {
    tasks.sort_by(|a, b| {
        b.task_time
            .cmp(&a.task_time)
            .then_with(|| a.task_id.cmp(&b.task_id))
    });
}

fn task_value(t: &SecretTask) -> Value {
    let as_f64 = |n: Option<i64>| n.map(|n| n as f64);
    Value::object([
        ("task_id", Value::String(t.task_id.clone())),
        ("secret_name", Value::opt_string(t.secret_name.clone())),
        (
            "rotation_func_urn",
            Value::opt_string(t.rotation_func_urn.clone()),
        ),
        ("task_status", Value::opt_string(t.task_status.clone())),
        ("operate_type", Value::opt_string(t.operate_type.clone())),
        ("task_time", Value::opt_number(as_f64(t.task_time))),
        (
            "created_at",
            Value::opt_string(t.task_time.and_then(rfc3339)),
        ),
        ("attempt_nums", Value::opt_number(as_f64(t.attempt_nums))),
        (
            "task_error_code",
            Value::opt_string(t.task_error_code.clone()),
        ),
        (
            "task_error_msg",
            Value::opt_string(t.task_error_msg.clone()),
        ),
    ])
}

/// Epoch milliseconds as RFC 3339 UTC; `None` for instants `time` cannot represent.
fn rfc3339(millis: i64) -> Option<String> {
    let instant = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()?;
    instant.format(&Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::PathStep;

    fn block(pairs: &[(&str, Value)]) -> Value {
        schema().config(pairs)
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
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
    fn valid_block_becomes_a_query() {
        let q = query(&block(&[
            ("secret_name", s("prod-db_1")),
            ("status", s("FAILED")),
            ("page_size", Value::Number(50.0)),
        ]))
        .unwrap();
        assert_eq!(
            q,
            Query {
                secret_name: Some("prod-db_1".into()),
                status: Some("FAILED".into()),
                task_id: None,
                page_size: Some(50)
            }
        );
        assert_eq!(q.id(), "tasks?secret_name=prod-db_1&status=FAILED");
        assert_eq!(Query::default().id(), "tasks");
    }

    #[test]
    fn tasks_newest_first_and_latest_per_secret() {
        let listing = Listing {
            tasks: vec![
                task("b", "db", Some(1_000), "SUCCESS"),
                task("c", "api", Some(3_000), "FAILED"),
                task("a", "db", Some(2_000), "FAILED"),
                task("z", "db", None, "SUCCESS"),
                task("d", "api", Some(3_000), "SUCCESS"),
            ],
            total: Some(5),
            ..Listing::default()
        };
        let state = state(&Query::default(), listing);
        let ids: Vec<&Value> = match state.get("tasks") {
            Value::List(items) => items.iter().map(|t| t.get("task_id")).collect(),
            other => panic!("tasks is {other:?}"),
        };
        assert_eq!(ids, [&s("c"), &s("d"), &s("a"), &s("b"), &s("z")]);
        assert_eq!(state.get("latest").get("db").get("task_id"), &s("a"));
        assert_eq!(state.get("latest").get("api").get("task_id"), &s("c"));
        assert_eq!(state.get("total"), &Value::Number(5.0));
    }

    #[test]
    fn created_at_is_rfc3339_of_task_time() {
        let t = task_value(&task("x", "s", Some(1_715_436_899_000), "SUCCESS"));
        assert_eq!(t.get("created_at"), &s("2024-05-11T14:14:59Z"));
        assert_eq!(t.get("task_time"), &Value::Number(1_715_436_899_000.0));
        assert_eq!(t.get("task_error_msg"), &Value::Null);
        assert_eq!(rfc3339(1_500), Some("1970-01-01T00:00:01.5Z".into()));
    }

    #[test]
    fn state_object_has_every_schema_attribute() {
        let state = state(&Query::default(), Listing::default());
        let Value::Object(fields) = &state else {
            panic!()
        };
        let names: Vec<&str> = schema().attributes.iter().map(|a| a.name).collect();
        assert_eq!(
            fields.keys().map(String::as_str).collect::<Vec<_>>().len(),
            names.len()
        );
        for name in names {
            assert!(fields.contains_key(name), "{name} missing");
        }
        let task = task_value(&SecretTask::default());
        let Value::Object(task_fields) = &task else {
            panic!()
        };
        assert_eq!(task_fields.len(), task_attributes().len());
    }
}
