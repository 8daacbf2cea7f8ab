//! The API's `SecretTask`, shared by the client (decoding) and the emulator (encoding) so that
//! both speak exactly the documented field names.

use serde::{Deserialize, Serialize};

/// One rotation task as ListSecretTask returns it. Every field but `task_id` is optional on the
/// wire: the API publishes no list of required fields, and absent fields must not fail a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
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
