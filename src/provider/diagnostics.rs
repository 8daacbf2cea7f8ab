//! The one place where CSMS client errors become Terraform diagnostics: a short summary, then a
//! detail with everything the service said and what the user can do about it.

use crate::csms::{Error, ServiceError};
use crate::plugin::Diagnostic;

pub fn from_error(err: &Error) -> Diagnostic {
    match err {
        Error::Service(e) => service(e),
        Error::Cancelled => Diagnostic::error("Read cancelled", "Terraform asked the provider to stop before every page was read."),
        other => Diagnostic::error("Error listing CSMS rotation tasks", format!("{other}.")),
    }
}

fn service(e: &ServiceError) -> Diagnostic {
    let mut detail = format!("The CSMS API answered HTTP {}", e.status);
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
    if e.retries > 0 {
        detail.push_str(&format!(" The request was retried {} times.", e.retries));
    }
    let hint = match e.status {
        401 | 403 => {
            " Check the access key and secret key (`access_key`/`secret_key` or HW_ACCESS_KEY/HW_SECRET_KEY), \
             that a security token for temporary credentials has not expired, that the user may call \
             csms:task:list, and that this machine's clock is right (signatures more than 15 minutes off are refused)."
        }
        404 => " Check `project_id` (HW_PROJECT_ID) and `region`: the project must exist in that region.",
        429 => " The service is throttling requests. Raise `max_retries`, read fewer data sources at once, or try again later.",
        400 => " The service refused the query; check the data source's filters.",
        500..=599 => " The service failed; try again later.",
        _ => "",
    };
    detail.push_str(hint);
    Diagnostic::error(format!("CSMS API error (HTTP {})", e.status), detail)
}
