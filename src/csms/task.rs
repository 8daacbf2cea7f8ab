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

/// A ListSecretTask response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskPage {
    #[serde(default)]
    pub total: Option<i64>,
    /// Required: a 2xx body without it (`{}`, `[]`, a proxy's JSON) is not a page, and reading
    /// it as an empty one would return an empty list as if complete.
    pub tasks: Vec<SecretTask>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}
