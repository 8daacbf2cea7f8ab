//! The one place where CSMS client errors become Terraform diagnostics: a short summary, then a
//! detail with everything the service said and what the user can do about it.

use crate::csms::{Error, ListingWarning, ServiceError};
use crate::plugin::{Diagnostic, SchemaMismatch};

pub fn from_error(err: &Error) -> Diagnostic {
    let (summary, hint) = match err {
        Error::Service(e) => return service("CSMS API error", e, ""),
        Error::ProjectLookup { .. } => match err.service() {
            Some(e) => return service("Project lookup failed", e, &format!("{err}.")),
            None => ("Cannot determine the project ID", ""),
        },
        Error::Transport { .. } => (
            "Cannot reach the CSMS API",
            " Check `endpoint` (HW_CSMS_ENDPOINT) or `region`, the network path and any HTTPS_PROXY setting.",
        ),
        Error::Decode { .. } => (
            "Unexpected response from the CSMS API",
            " The body is not the documented JSON; a proxy or gateway may have answered instead of the service. \
             Check `endpoint`.",
        ),
        Error::Paging(_) => (
            "Inconsistent pages from the CSMS API",
            " No partial list is returned, so that no assertion runs on incomplete data. Try again later; \
             if it persists, report it to the service's support.",
        ),
        Error::DeadlineExceeded { .. } => (
            "Reading rotation tasks timed out",
            " The service is slow or unreachable; try again later, allow more time with `timeouts { read = \"...\" }` \
             (default 5m), or narrow the query with `secret_name` or `status`.",
        ),
        Error::TooManyTasks { .. } => (
            "Too many rotation tasks",
            " Narrow the data source: `since` keeps only recent tasks (while `latest` still covers every \
             secret), `secret_name` or `status` filter on the service's side. No partial list is returned.",
        ),
        Error::Cancelled => ("Read cancelled", " Terraform asked the provider to stop before every page was read."),
        Error::Config(_) => ("Invalid provider configuration", " Fix the provider block or the HW_* environment variables."),
        Error::Request { .. } => (
            "Cannot build the request",
            " A value the request must carry came from the service or the configuration with characters \
             HTTP does not allow; nothing was sent. Check `project_id` (HW_PROJECT_ID), or set it to skip \
             the IAM lookup.",
        ),
    };
    Diagnostic::error(summary, format!("{}.{hint}", capitalize(&err.to_string())))
}

/// The provider wrote a state its own schema does not declare.
pub fn provider_bug(err: &SchemaMismatch) -> Diagnostic {
    Diagnostic::error(
        "Provider bug",
        format!(
            "The csms provider produced a state that does not match its schema ({err}). Nothing is wrong \
             with your configuration; please report this with the output of TF_LOG_PROVIDER=DEBUG."
        ),
    )
}

/// A listing that succeeded with something the user should know.
pub fn from_warning(warning: &ListingWarning) -> Diagnostic {
    let (summary, hint) = match warning {
        ListingWarning::PageSizeRefused { .. } => (
            "Page size reduced",
            " Every page was still read. Set `page_size` to a value the service accepts to skip the \
             refused first request.",
        ),
        ListingWarning::DuplicatesDropped(_) => (
            "Duplicate tasks dropped",
            " Each task appears once in `tasks`; the service repeated some across pages.",
        ),
        ListingWarning::TotalMismatch { .. } => (
            "Task count differs from the reported total",
            " Every page the service offered was read; `tasks` holds what it returned. Tasks created \
             or deleted during the read cause this; if it persists, the service's `total` is wrong.",
        ),
    };
    Diagnostic::warning(
        summary,
        format!("{}.{hint}", capitalize(&warning.to_string())),
    )
}

fn service(summary: &str, e: &ServiceError, context: &str) -> Diagnostic {
    let mut detail = String::new();
    if !context.is_empty() {
        detail.push_str(&capitalize(context));
        detail.push(' ');
    }
    detail.push_str(&format!("The service answered HTTP {}", e.status));
    if let Some(code) = &e.code {
        detail.push_str(&format!(" with error code {code}"));
    }
    if let Some(message) = &e.message {
        detail.push_str(&format!(": {message}"));
    }
    detail.push('.');
    if let Some(id) = &e.request_id {
        detail.push_str(&format!(" Request ID: {id}."));
    }
    match e.retries {
        0 => {}
        1 => detail.push_str(" The request was retried once."),
        n => detail.push_str(&format!(" The request was retried {n} times.")),
    }
    detail.push_str(match e.status {
        401 | 403 => {
            " Check the access key and secret key (`access_key`/`secret_key` or HW_ACCESS_KEY/HW_SECRET_KEY), \
             that a security token of temporary credentials has not expired, that the user may call \
             csms:task:list, and that this machine's clock is right (signatures more than 15 minutes off are refused)."
        }
        404 => " Check `project_id` (HW_PROJECT_ID) and `region`: the project must exist in that region.",
        429 => " The service is throttling requests. Raise `max_retries`, read fewer data sources at once, or try again later.",
        400 => " The service refused the query; check the data source's filters.",
        500..=599 => " The service failed; try again later.",
        _ => "",
    });
    Diagnostic::error(format!("{summary} (HTTP {})", e.status), detail)
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service_error(status: u16) -> ServiceError {
        ServiceError {
            status,
            code: Some("APIGW.0301".into()),
            message: Some("Incorrect IAM authentication information".into()),
            request_id: Some("req-1".into()),
            retries: 0,
        }
    }

    #[test]
    fn service_error_names_status_code_message_request_id_and_hint() {
        let d = from_error(&Error::Service(service_error(401)));
        assert_eq!(d.summary, "CSMS API error (HTTP 401)");
        for part in [
            "HTTP 401",
            "APIGW.0301",
            "Incorrect IAM authentication information",
            "req-1",
            "clock",
        ] {
            assert!(d.detail.contains(part), "{part} missing from {}", d.detail);
        }
    }

    #[test]
    fn throttling_says_how_often_it_retried() {
        let e = ServiceError {
            retries: 5,
            ..service_error(429)
        };
        let d = from_error(&Error::Service(e));
        assert!(
            d.detail.contains("retried 5 times") && d.detail.contains("max_retries"),
            "{}",
            d.detail
        );
    }

    #[test]
    fn not_found_points_at_project_and_region() {
        assert!(from_error(&Error::Service(service_error(404)))
            .detail
            .contains("project_id"));
    }

    #[test]
    fn project_lookup_rejected_keeps_the_credential_hint() {
        let err = Error::ProjectLookup {
            region: "cn-north-4".into(),
            reason: "IAM refused the request".into(),
            source: Some(Box::new(Error::Service(service_error(401)))),
        };
        let d = from_error(&err);
        assert!(
            d.summary.starts_with("Project lookup failed"),
            "{}",
            d.summary
        );
        assert!(
            d.detail.contains("cn-north-4") && d.detail.contains("secret key"),
            "{}",
            d.detail
        );
    }

    #[test]
    fn each_warning_has_its_own_summary() {
        let warnings = [
            ListingWarning::PageSizeRefused {
                refused: 1000,
                used: 50,
                error: service_error(400),
            },
            ListingWarning::DuplicatesDropped(2),
            ListingWarning::TotalMismatch {
                reported: 127,
                listed: 120,
            },
        ];
        let summaries: Vec<String> = warnings.iter().map(|w| from_warning(w).summary).collect();
        assert_eq!(
            summaries,
            [
                "Page size reduced",
                "Duplicate tasks dropped",
                "Task count differs from the reported total"
            ]
        );
        let d = from_warning(&warnings[2]);
        assert!(!d.is_error());
        assert!(
            d.detail
                .starts_with("The service reported total=127 but 120"),
            "{}",
            d.detail
        );
    }

    #[test]
    fn paging_fault_says_no_partial_list() {
        let d = from_error(&Error::Paging("the marker did not advance".into()));
        assert!(
            d.detail
                .starts_with("Paging stopped: the marker did not advance."),
            "{}",
            d.detail
        );
        assert!(d.detail.contains("No partial list"));
    }
}
