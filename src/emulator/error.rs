//! The errors the emulator answers with, and the codes it uses.
//!
//! Every error body is `{"error_code", "error_msg", "request_id"}`, the shape of the real service
//! and its API gateway; the request id is also sent as `X-Request-Id`. The codes come from Huawei
//! Cloud's public documentation where one is published (DEW/CSMS error-code table, API gateway
//! FAQ); the rest are chosen by the emulator and marked so below.

/// 400: a query parameter has an invalid value (`status`, `limit`, `marker`, `secret_name`).
/// Published CSMS code: "The value of parameter is invalid."
pub const INVALID_PARAMETER: &str = "CSMS.0002";
/// 400: the request is invalid as a whole; used for `task_id` combined with `secret_name` or
/// `status`. Published CSMS code: "The request is invalid."
pub const INVALID_REQUEST: &str = "CSMS.0003";
/// 404: the project id in the path is not the emulator's project. The code is the published
/// CSMS "resource does not exist" code; the real service's answer for a foreign project is not
/// documented, the 404 status is the emulator's choice.
pub const RESOURCE_NOT_FOUND: &str = "CSMS.0005";
/// 404: no API at this method and path (the gateway's code).
pub const API_NOT_FOUND: &str = "APIGW.0101";
/// 401: missing or malformed `Authorization`, unknown AK, wrong signature, an `X-Sdk-Date`
/// that is missing, unparseable or more than 15 minutes off, or a temporary key without its
/// `X-Security-Token`, with another one, or expired (the gateway's IAM-auth code).
pub const AUTH_FAILED: &str = "APIGW.0301";
/// 403: the key is valid but its account does not own the project in the path (the gateway's
/// "IAM user is not authorized" code; the real answer for another account's project is not
/// documented).
pub const NOT_AUTHORIZED: &str = "APIGW.0302";
/// 429: throttled (the gateway's code), sent with `Retry-After`.
pub const THROTTLED: &str = "APIGW.0308";
/// 502/503 injected by `fail_every` (the gateway's "backend unavailable").
pub const BACKEND_UNAVAILABLE: &str = "APIGW.0201";
/// 504 injected by `fail_every` (the gateway's "backend timeout").
pub const BACKEND_TIMEOUT: &str = "APIGW.0202";

/// An error response: HTTP status, `error_code`, `error_msg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid_parameter(name: &str, why: &str) -> Self {
        ApiError::new(
            400,
            INVALID_PARAMETER,
            format!("The value of parameter {name} is invalid: {why}."),
        )
    }

    pub(crate) fn auth(detail: impl std::fmt::Display) -> Self {
        ApiError::new(
            401,
            AUTH_FAILED,
            format!("Incorrect IAM authentication information: {detail}"),
        )
    }

    /// The error `fail_every` injects for `status`. 429, 502, 503 and 504 use the gateway's
    /// codes; any other status gets `CSMS.0{status}` (e.g. `CSMS.0500`), an emulator-chosen code.
    pub fn injected(status: u16) -> Self {
        match status {
            429 => ApiError::new(
                429,
                THROTTLED,
                "The throttling threshold has been reached: policy user over ratelimit",
            ),
            502 | 503 => ApiError::new(status, BACKEND_UNAVAILABLE, "Backend unavailable"),
            504 => ApiError::new(status, BACKEND_TIMEOUT, "Backend timeout"),
            _ => ApiError::new(
                status,
                &format!("CSMS.0{status}"),
                "Internal service error (injected by the emulator).",
            ),
        }
    }

    /// The JSON body for this error.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        serde_json::json!({
            "error_code": self.code,
            "error_msg": self.message,
            "request_id": request_id,
        })
    }
}
