//! The API's `SecretTask`, shared by the client (decoding) and the emulator (encoding) so that
//! both speak exactly the documented field names.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::text;

/// One rotation task as ListSecretTask returns it. Every field but `task_id` is optional on the
/// wire: the API publishes no list of required fields, and absent fields must not fail a plan.
///
/// Only a JSON object is a task: serde's derived decoder would also read an array by position
/// (`["t-1", "db", ...]`) into a valid-looking task, so the derived code is kept under
/// `remote = "Self"` and the trait impls below route decoding through objects only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(remote = "Self")]
pub struct SecretTask {
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_func_urn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operate_type: Option<String>,
    /// Creation time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_nums: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_error_msg: Option<String>,
}

impl Serialize for SecretTask {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SecretTask::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for SecretTask {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TaskObject)
    }
}

/// Accepts a task as a map only; anything else is an "invalid type" error naming the rule.
struct TaskObject;

impl<'de> Visitor<'de> for TaskObject {
    type Value = SecretTask;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a task as a JSON object (tasks are read by field name, never by position)")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SecretTask, A::Error> {
        SecretTask::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

impl SecretTask {
    /// The text fields, in the order of [`FIELD_BOUNDS`].
    pub fn text_fields(&self) -> [Option<&String>; 7] {
        [
            Some(&self.task_id),
            self.secret_name.as_ref(),
            self.rotation_func_urn.as_ref(),
            self.task_status.as_ref(),
            self.operate_type.as_ref(),
            self.task_error_code.as_ref(),
            self.task_error_msg.as_ref(),
        ]
    }

    /// `task_time` as an RFC 3339 UTC timestamp; `None` when absent or outside what RFC 3339
    /// can write (years 0000 to 9999).
    pub fn created_at(&self) -> Option<String> {
        instant(self.task_time?)?.format(&Rfc3339).ok()
    }

    /// True when the service sent a `task_time` that [`created_at`](Self::created_at) cannot
    /// express, so `created_at` is null although the time is not.
    pub fn time_out_of_range(&self) -> bool {
        self.task_time.is_some_and(|ms| instant(ms).is_none())
    }
}

/// Epoch milliseconds as an instant RFC 3339 can write: `time` itself stops at year 9999, and
/// RFC 3339 has no years before 0000.
fn instant(millis: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .filter(|t| t.year() >= 0)
}

/// The most bytes of each text field that reach Terraform; longer values are cut and say so
/// ([`text::bound_in_place`]). Real values are far shorter (ids 36 bytes, names 64, statuses and
/// codes a few dozen); the bounds keep one hostile string from costing Terraform many times its
/// size in memory (a 50 MB `task_error_msg` cost a 1.3 GB peak). SECURITY.md lists them.
pub const FIELD_BOUNDS: [(&str, usize); 7] = [
    ("task_id", 256),
    ("secret_name", 256),
    ("rotation_func_urn", 1024),
    ("task_status", 64),
    ("operate_type", 64),
    ("task_error_code", 256),
    ("task_error_msg", 4096),
];

/// Makes every text field of `task` inert and bounded, and returns the names of the fields whose
/// characters were replaced (see [`text::clean`]), for the warning that says so; a cut value
/// says so itself, with the length the service sent ([`FIELD_BOUNDS`]). Only `task_error_msg`
/// may keep newlines (a multi-line message is plausible), its lines after the first indented
/// ([`text::indent_lines`]); ids, names, codes and statuses are one line, so a newline in them
/// could only forge a line of output.
pub fn clean_task(task: &mut SecretTask) -> Vec<&'static str> {
    let SecretTask {
        task_id,
        secret_name,
        rotation_func_urn,
        task_status,
        operate_type,
        task_error_code,
        task_error_msg,
        ..
    } = task;
    let fields: [(Option<&mut String>, text::Cleaner); 7] = [
        (Some(task_id), text::clean_line),
        (secret_name.as_mut(), text::clean_line),
        (rotation_func_urn.as_mut(), text::clean_line),
        (task_status.as_mut(), text::clean_line),
        (operate_type.as_mut(), text::clean_line),
        (task_error_code.as_mut(), text::clean_line),
        (task_error_msg.as_mut(), text::clean),
    ];
    let mut altered = Vec::new();
    for ((field, clean), (name, bound)) in fields.into_iter().zip(FIELD_BOUNDS) {
        let Some(field) = field else { continue };
        text::bound_in_place(field, bound);
        if text::clean_in_place(field, clean) {
            altered.push(name);
        }
    }
    if let Some(message) = task_error_msg {
        text::indent_lines(message);
    }
    altered
}

/// `^[a-zA-Z0-9._-]{1,64}$`: CreateSecret's rule for secret names. The ListSecretTask page
/// leaves out the period, but a name CSMS lets you create must be listable, so the wider rule
/// wins and the service judges the rest.
pub fn valid_secret_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A ListSecretTask response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(try_from = "RawTaskPage")]
pub struct TaskPage {
    #[serde(default)]
    pub total: Option<i64>,
    pub tasks: Vec<SecretTask>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// The body as it arrives. `tasks` may be absent only when `total` says there is nothing to
/// list: a 2xx body without either (`{}`, a proxy's JSON) is not a page, and reading it as an
/// empty one would return an empty list as if complete.
#[derive(Deserialize)]
struct RawTaskPage {
    #[serde(default)]
    total: Option<i64>,
    #[serde(default)]
    tasks: Option<Vec<SecretTask>>,
    #[serde(default)]
    next_marker: Option<String>,
}

impl TryFrom<RawTaskPage> for TaskPage {
    type Error = &'static str;

    fn try_from(raw: RawTaskPage) -> Result<Self, Self::Error> {
        let tasks = match (raw.tasks, raw.total) {
            (Some(tasks), _) => tasks,
            (None, Some(0)) => Vec::new(),
            (None, _) => return Err("missing field `tasks`"),
        };
        Ok(TaskPage {
            total: raw.total,
            tasks,
            next_marker: raw.next_marker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(json: &str) -> Result<TaskPage, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn tasks_may_be_absent_only_from_an_empty_result() {
        assert_eq!(
            page(r#"{"total":0}"#).unwrap(),
            TaskPage {
                total: Some(0),
                ..TaskPage::default()
            }
        );
        for not_a_page in ["{}", r#"{"total":3}"#, r#"{"next_marker":"x"}"#] {
            let err = page(not_a_page).unwrap_err().to_string();
            assert!(err.contains("missing field `tasks`"), "{not_a_page}: {err}");
        }
        assert!(page("[]").is_err());
    }

    #[test]
    fn a_task_sent_as_an_array_is_refused_by_name() {
        let err = page(r#"{"total":1,"tasks":[["t-1","db","urn","SUCCESS","MULTI_USER",1,1]]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid type: sequence")
                && err.contains("a task as a JSON object")
                && err.contains("never by position"),
            "{err}"
        );
        let err = serde_json::from_str::<SecretTask>("7")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a task as a JSON object"), "{err}");
        let t: SecretTask = serde_json::from_str(r#"{"task_id":"t","x":[1]}"#).unwrap();
        assert_eq!(t.task_id, "t");
    }

    #[test]
    fn clean_task_replaces_controls_and_names_the_fields() {
        let mut t = SecretTask {
            task_id: "t-1\u{1b}]0;x\u{7}".into(),
            secret_name: Some("db\nError: forged".into()),
            task_error_msg: Some("fine\nsecond line\r\nError: forged".into()),
            operate_type: Some("MULTI\u{202e}USER".into()),
            ..SecretTask::default()
        };
        assert_eq!(
            clean_task(&mut t),
            ["task_id", "secret_name", "operate_type", "task_error_msg"]
        );
        assert_eq!(t.task_id, "t-1\u{fffd}]0;x\u{fffd}");
        assert_eq!(
            t.task_error_msg.as_deref(),
            Some("fine\n  second line\u{fffd}\n  Error: forged")
        );
        assert_eq!(t.secret_name.as_deref(), Some("db\u{fffd}Error: forged"));
        assert!(
            clean_task(&mut t).is_empty(),
            "cleaning twice changes nothing"
        );
    }

    #[test]
    fn each_field_is_cut_at_its_own_bound() {
        let long = |bound: usize| Some("y".repeat(bound + 1));
        let bound = |name: &str| FIELD_BOUNDS.iter().find(|(n, _)| *n == name).unwrap().1;
        let mut t = SecretTask {
            task_id: "y".repeat(bound("task_id") + 1),
            secret_name: long(bound("secret_name")),
            rotation_func_urn: long(bound("rotation_func_urn")),
            task_status: long(bound("task_status")),
            operate_type: long(bound("operate_type")),
            task_error_code: long(bound("task_error_code")),
            task_error_msg: long(bound("task_error_msg")),
            ..SecretTask::default()
        };
        assert!(clean_task(&mut t).is_empty(), "a cut is not a replacement");
        for ((name, bound), value) in FIELD_BOUNDS.iter().zip(t.text_fields()) {
            let expected = format!(
                "{}... [cut by the provider: the service sent {} bytes]",
                "y".repeat(*bound),
                bound + 1
            );
            assert_eq!(value, Some(&expected), "{name}");
        }
    }

    #[test]
    fn created_at_is_rfc3339_or_none_out_of_range() {
        let at = |ms| SecretTask {
            task_time: Some(ms),
            ..SecretTask::default()
        };
        assert_eq!(
            at(1_715_436_899_000).created_at().as_deref(),
            Some("2024-05-11T14:14:59Z")
        );
        assert_eq!(
            at(1_500).created_at().as_deref(),
            Some("1970-01-01T00:00:01.5Z")
        );
        for out in [i64::MAX, i64::MIN, 253_402_300_800_000, -62_167_219_200_001] {
            assert!(at(out).time_out_of_range(), "{out}");
        }
        assert!(!at(0).time_out_of_range());
        assert!(!SecretTask::default().time_out_of_range());
    }

    #[test]
    fn a_page_reads_the_documented_example() {
        let p = page(
            r#"{"total":1,"tasks":[{"task_id":"xxxx","secret_name":"xxxx","rotation_func_urn":"urn:fss:cn-north-4:xxxxxxxx:function:default:xxxx:xxxxx","task_status":"SUCCESS","attempt_nums":3,"operate_type":"MULTI_USER","task_time":1715436899000}],"next_marker":"xxxxxx"}"#,
        )
        .unwrap();
        assert_eq!(
            (p.total, p.tasks.len(), p.next_marker.as_deref()),
            (Some(1), 1, Some("xxxxxx"))
        );
        assert_eq!(p.tasks[0].task_time, Some(1_715_436_899_000));
        assert_eq!(p.tasks[0].task_error_msg, None);
    }
}
