//! The one place where CSMS client errors become Terraform diagnostics: a short summary, then a
//! detail with everything the service said and what the user can do about it.

use crate::csms::credentials::Source;
use crate::csms::error::{GaveUp, TlsTrouble};
use crate::csms::retry::MAX_THROTTLED_RETRIES;
use crate::csms::secrets::SECRETS;
use crate::csms::tasks::TASKS;
use crate::csms::{text, Client, Error, ItemKind, ListingWarning, ServiceError};
use crate::plugin::{Diagnostic, Failed, SchemaMismatch};

/// What the hints of one data source may tell its user about a listing of `kind`: that data
/// source's own attributes, so that a hint never names one the block being read does not have
/// (`csms_rotation_tasks` narrows its task listing with `since` and `secret_name`,
/// `csms_secret_rotations` the same listing with `secret_names`). Each data source states its
/// advice once, beside its schema; a kind it does not list gets no attribute named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advice {
    pub kind: &'static ItemKind,
    /// The attribute that holds the listed items, for the warnings about them: ``"`tasks`"``;
    /// empty when the data source folds them into something else.
    pub holds: &'static str,
    /// The ways to list or keep fewer items, each a phrase that names its attributes: ``"`since`
    /// keeps only recent tasks"``; for a listing too slow or too large.
    pub narrow: &'static [&'static str],
    /// The attribute that sets the page size, for when the service refuses the default one:
    /// ``"`page_size`"``; empty when none does.
    pub page_size: &'static str,
}

impl Advice {
    /// Nothing to name: for a kind the data source has no advice on.
    const fn none(kind: &'static ItemKind) -> Advice {
        Advice {
            kind,
            holds: "",
            narrow: &[],
            page_size: "",
        }
    }

    /// The entry of `advice` on `kind`.
    fn on(advice: &[Advice], kind: &'static ItemKind) -> Advice {
        advice
            .iter()
            .find(|a| a.kind == kind)
            .copied()
            .unwrap_or(Advice::none(kind))
    }

    /// How to make the listing smaller, as a sentence after a space, or nothing.
    fn narrowing(&self) -> String {
        match self.narrow {
            [] => String::new(),
            ways => format!(" Narrow the data source: {}.", ways.join("; ")),
        }
    }
}

/// A client error met before any key was used (configuration), or where the keys' origin is
/// not known, outside any data source.
pub fn from_error(err: &Error) -> Diagnostic {
    from_read_error(err, None, &[])
}

/// A client error; `keys` (where the signing keys came from) goes into the hint of a 401 or 403,
/// `advice` (the reading data source's) into the hints about a listing. Every text is cleaned
/// once more here, the last step before Terraform.
pub fn from_read_error(err: &Error, keys: Option<&Source>, advice: &[Advice]) -> Diagnostic {
    let d = render(err, keys, advice);
    Diagnostic {
        summary: text::clean(&d.summary).into_owned(),
        detail: text::clean(&d.detail).into_owned(),
        ..d
    }
}

fn render(err: &Error, keys: Option<&Source>, advice: &[Advice]) -> Diagnostic {
    let (summary, hint) = match err {
        Error::Service(e) => return service("CSMS API error", e, "", keys, advice),
        Error::ProjectLookup { source, .. } => match (err.service(), source.as_deref()) {
            (Some(e), _) => {
                return service("Project lookup failed", e, &format!("{err}."), keys, advice)
            }
            // The hint about project_id would only move the failure to the CSMS host.
            (None, Some(unknown @ Error::UnknownHost { .. })) => {
                return render(unknown, keys, advice)
            }
            (None, Some(Error::Decode { .. })) => ("Unexpected answer from IAM", ""),
            (None, _) => ("Cannot determine the project ID", ""),
        },
        Error::UnknownHost { .. } => (
            "Unknown host",
            " The host comes from `region` and `cloud` (https://kms.{region}.{cloud}, and \
             https://iam.{region}.{cloud} for the project lookup) unless `endpoint` or `iam_endpoint` is \
             set: check the region's spelling against the known regions in the provider's documentation, \
             then `cloud` (HW_CLOUD; `myhuaweicloud.eu` for Europe), then `endpoint` (HW_CSMS_ENDPOINT).",
        ),
        Error::Redirect(_) => (
            "CSMS API answered with a redirect",
            " A signed request is never sent to another URL. Set `endpoint` (HW_CSMS_ENDPOINT) or \
             `iam_endpoint` (HW_IAM_ENDPOINT) to the URL that answers without redirecting.",
        ),
        Error::Unreadable { .. } => (
            "Unreadable answer from the CSMS API",
            " The server answered, but not with HTTP the provider can read; this is not a network \
             outage and was not retried. A proxy or a server other than the CSMS API may be answering: \
             check `endpoint` (HW_CSMS_ENDPOINT).",
        ),
        Error::Tls { trouble, .. } => ("TLS connection to the CSMS API refused", tls_hint(*trouble)),
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
        Error::DeadlineExceeded { listing, .. } => {
            let (summary, narrow) = match listing {
                Some(kind) => (
                    format!("Reading {} timed out", kind.title),
                    Advice::on(advice, kind).narrowing(),
                ),
                None => ("Request timed out".to_string(), String::new()),
            };
            let hint = format!(
                " The service is slow or unreachable; try again later, or allow more time with \
                 `timeouts {{ read = \"...\" }}` (default 5m).{narrow}"
            );
            return Diagnostic::error(summary, format!("{}.{hint}", capitalize(&err.to_string())));
        }
        Error::TooManyItems { kind, .. } => {
            let hint = format!(
                "{} No partial list is returned.",
                Advice::on(advice, kind).narrowing()
            );
            return Diagnostic::error(
                format!("Too many {}", kind.title),
                format!("{}.{hint}", capitalize(&err.to_string())),
            );
        }
        Error::Cancelled => ("Read cancelled", " Terraform asked the provider to stop before every page was read."),
        Error::Config(_) => ("Invalid provider configuration", " Fix the provider block or the HW_* environment variables."),
        Error::Request { .. } => (
            "Cannot build the request",
            " A value the request must carry has characters HTTP does not allow; nothing was sent.",
        ),
    };
    Diagnostic::error(summary, format!("{}.{hint}", capitalize(&err.to_string())))
}

/// What to do about a refused TLS handshake: about certificate trust, never about proxies.
fn tls_hint(trouble: TlsTrouble) -> &'static str {
    match trouble {
        TlsTrouble::Untrusted => {
            " The provider trusts the certificate authorities of this machine's trust store. If the \
             endpoint uses a private CA (or a proxy re-signs TLS), add that CA to the system trust store, \
             or point SSL_CERT_FILE at a PEM bundle that contains it (it then replaces the system store). \
             `insecure = true` skips the check; use it only against a test endpoint."
        }
        TlsTrouble::Expired | TlsTrouble::NotYetValid => {
            " Check this machine's clock first; if it is right, the server's certificate must be renewed."
        }
        TlsTrouble::WrongName => {
            " Check the host in `endpoint` (HW_CSMS_ENDPOINT) or `iam_endpoint`: it must be a name the \
             certificate was issued for."
        }
        TlsTrouble::Refused | TlsTrouble::Handshake => {
            " Check that `endpoint` (HW_CSMS_ENDPOINT) is the CSMS API over HTTPS and not another server."
        }
    }
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

/// A read's listing that failed, as the read's failure; the hint names where `client`'s keys
/// came from, and only the attributes of the data source whose `advice` it is.
pub fn listing_failed(err: &Error, client: &Client, advice: &[Advice]) -> Failed {
    Failed::from(from_read_error(err, Some(client.key_source()), advice))
}

/// A read's state that its schema refuses, as the read's failure.
pub fn state_failed(err: &SchemaMismatch) -> Failed {
    Failed::from(provider_bug(err))
}

/// The warnings of a read's listings, with the reading data source's `advice`.
pub fn from_warnings<'a>(
    warnings: impl IntoIterator<Item = &'a ListingWarning>,
    advice: &[Advice],
) -> Vec<Diagnostic> {
    warnings
        .into_iter()
        .map(|w| from_warning(w, advice))
        .collect()
}

/// A listing that succeeded with something the user should know.
pub fn from_warning(warning: &ListingWarning, advice: &[Advice]) -> Diagnostic {
    let (summary, hint) = match warning {
        ListingWarning::PageSizeRefused { kind, .. } => (
            "Page size reduced".to_string(),
            match Advice::on(advice, kind).page_size {
                "" => " Every page was still read.".to_string(),
                page_size => format!(
                    " Every page was still read. Set {page_size} to a value the service accepts to \
                     skip the refused first request."
                ),
            },
        ),
        ListingWarning::DuplicatesDropped { kind, .. } => (
            format!("Duplicate {} dropped", kind.plural),
            match Advice::on(advice, kind).holds {
                "" => format!(
                    " Each {} counts once; the service repeated some across pages.",
                    kind.singular
                ),
                holds => format!(
                    " Each {} appears once in {holds}; the service repeated some across pages.",
                    kind.singular
                ),
            },
        ),
        ListingWarning::TotalMismatch { kind, .. } => (
            format!("{} count differs from the reported total", capitalize(kind.singular)),
            format!(
                " Every page the service offered was read{}. {} created or deleted during the read \
                 cause this; if it persists, the service's `total` is wrong.",
                match Advice::on(advice, kind).holds {
                    "" => String::new(),
                    holds => format!("; {holds} holds what it returned"),
                },
                capitalize(kind.plural)
            ),
        ),
        ListingWarning::ServiceTextReplaced(items) => (
            format!("Unprintable characters replaced in {} data", items.kind.singular),
            " Such characters can rewrite what a terminal shows (escape sequences, carriage returns) or \
             hide text (bidi overrides, zero-width characters); the provider never passes them on. The \
             other characters of those fields are as the service sent them. A proxy between you and \
             the service may have altered the answer."
                .to_string(),
        ),
        ListingWarning::TimeOutOfRange { items, nulled } => (
            format!("{} time out of range", capitalize(items.kind.singular)),
            format!(
                " {} the number the service sent; conditions that use {} with `timecmp()` fail on null \
                 for these {}, so wrap them in `try()` if they must tolerate it.",
                match items.fields.len() {
                    1 => format!("{} keeps", quoted(&items.fields)),
                    _ => format!("{} keep", quoted(&items.fields)),
                },
                quoted(nulled),
                items.kind.plural
            ),
        ),
    };
    Diagnostic::warning(
        summary,
        format!("{}.{hint}", capitalize(&warning.to_string())),
    )
}

/// Field names in backticks, joined by "or".
fn quoted<'a>(names: impl IntoIterator<Item = &'a &'static str>) -> String {
    let names: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    names.join(" or ")
}

fn service(
    summary: &str,
    e: &ServiceError,
    context: &str,
    keys: Option<&Source>,
    advice: &[Advice],
) -> Diagnostic {
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
    match (e.status, e.gave_up) {
        (_, GaveUp::Deadline { wait, left, asked }) => detail.push_str(&deadline_hint(wait, left, asked)),
        (401 | 403, _) => detail.push_str(&rejected_hint(e, keys, advice)),
        (404, _) => detail.push_str(" Check `project_id` (HW_PROJECT_ID) and `region`: the project must exist in that region."),
        (429, GaveUp::Throttling) => detail.push_str(&format!(
            " The service kept throttling: it named a wait (Retry-After) {MAX_THROTTLED_RETRIES} times in a row, \
             as often as the provider waits for one. Read fewer data sources at once, or try again later."
        )),
        (429, _) => detail.push_str(" The service is throttling requests and every retry `max_retries` allows was spent. Raise \
             `max_retries`, read fewer data sources at once, or try again later."),
        (400, _) => detail.push_str(" The service refused the query; check the data source's filters."),
        (500..=599, _) => detail.push_str(" The service failed; try again later."),
        _ => {}
    }
    Diagnostic::error(format!("{summary} (HTTP {})", e.status), detail)
}

/// The advice when the next wait would have passed the read's deadline: what the service asked
/// for (or the backoff), what was left, and the setting that bounds it; never `max_retries`,
/// which cannot help.
fn deadline_hint(wait: f64, left: f64, asked: bool) -> String {
    let waiting = if asked {
        format!(
            "The service asked to wait {} (Retry-After) before another try",
            span(wait)
        )
    } else {
        format!("The next retry was due in {}", span(wait))
    };
    format!(
        " {waiting}, longer than the {} left of the read, which `timeouts {{ read }}` bounds (default \
         5m). Try again later, or allow the read more time with `timeouts {{ read = \"...\" }}`.",
        span(left)
    )
}

/// Seconds as a person reads them, with a rough larger unit beyond two hours
/// (`1000000000s, about 31 years`).
fn span(secs: f64) -> String {
    let exact = if secs >= 10.0 || secs.fract() == 0.0 {
        format!("{}s", secs.round())
    } else {
        format!("{secs:.1}s")
    };
    let rough = [
        (365.25 * 86400.0, "years"),
        (86400.0, "days"),
        (3600.0, "hours"),
    ]
    .into_iter()
    .find(|(unit, _)| secs >= 2.0 * unit)
    .map(|(unit, name)| format!(", about {} {name}", (secs / unit).floor()));
    format!("{exact}{}", rough.unwrap_or_default())
}

/// Gateway codes that the API Gateway documents for a signature out of its 15-minute window:
/// `APIGW.0301`/`APIG.0301` ("Incorrect IAM authentication information", whose remedies include
/// checking that X-Sdk-Date is within 15 minutes of the server's time) and `APIGW.0303`/
/// `APIG.0303` ("signature expired": X-Sdk-Date more than 15 minutes from server time).
const CLOCK_CODES: [&str; 4] = ["APIGW.0301", "APIG.0301", "APIGW.0303", "APIG.0303"];
/// "The token must be updated": the temporary credentials' token has expired.
const TOKEN_CODES: [&str; 2] = ["APIGW.0307", "APIG.0307"];

/// The hint of a 401 or 403: which keys to check (named by where they came from), the clock
/// only for the codes that mean a time problem, the token for the codes about it.
fn rejected_hint(e: &ServiceError, keys: Option<&Source>, advice: &[Advice]) -> String {
    let keys = match keys {
        Some(source) => format!("the access key and secret key from {source}"),
        None => "the access key and secret key (`access_key`/`secret_key` or HW_ACCESS_KEY/HW_SECRET_KEY)"
            .to_string(),
    };
    let code = e.code.as_deref().unwrap_or_default();
    // The actions of the listings the reading data source makes; outside a read, every one.
    let mut kinds: Vec<&ItemKind> = advice.iter().map(|a| a.kind).collect();
    if kinds.is_empty() {
        kinds = vec![&SECRETS, &TASKS];
    }
    kinds.dedup();
    let actions: Vec<&str> = kinds.iter().map(|k| k.action).collect();
    let mut hint = format!(
        " Check {keys}, that a security token of temporary credentials has not expired, and that the user \
         may call {}.",
        actions.join(" and ")
    );
    if CLOCK_CODES.contains(&code) {
        hint.push_str(
            " The gateway also refuses a signature whose time (X-Sdk-Date) is more than 15 minutes from \
             its own: check that this machine's clock is right.",
        );
    }
    if TOKEN_CODES.contains(&code) {
        hint.push_str(
            " The gateway says the security token has expired: get fresh temporary credentials.",
        );
    }
    hint
}

/// `s` with its first letter in upper case, as a sentence starts; a sentence that starts with a
/// URL keeps it as written (`http://`, not `Http://`).
pub(super) fn capitalize(s: &str) -> String {
    let first_word = s.split_whitespace().next().unwrap_or_default();
    if first_word.contains("://") {
        return s.to_string();
    }
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{rotation_tasks, secret_rotations, secrets};

    fn service_error(status: u16) -> ServiceError {
        ServiceError {
            status,
            code: Some("APIGW.0301".into()),
            message: Some("Incorrect IAM authentication information".into()),
            request_id: Some("req-1".into()),
            retries: 0,
            gave_up: GaveUp::Final,
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
    fn the_clock_is_mentioned_only_for_the_gateway_codes_about_time() {
        for code in ["APIGW.0301", "APIG.0303"] {
            let e = ServiceError {
                code: Some(code.into()),
                ..service_error(401)
            };
            let d = from_error(&Error::Service(e));
            assert!(d.detail.contains("X-Sdk-Date"), "{code}: {}", d.detail);
        }
        for code in [Some("APIGW.0302"), Some("CSMS.0403"), None] {
            let e = ServiceError {
                code: code.map(String::from),
                ..service_error(403)
            };
            let d = from_error(&Error::Service(e));
            assert!(!d.detail.contains("clock"), "{code:?}: {}", d.detail);
            assert!(d.detail.contains("csms:task:list"), "{}", d.detail);
        }
        let e = ServiceError {
            code: Some("APIGW.0307".into()),
            ..service_error(401)
        };
        let d = from_error(&Error::Service(e));
        assert!(
            d.detail.contains("security token has expired") && !d.detail.contains("clock"),
            "{}",
            d.detail
        );
    }

    #[test]
    fn the_key_hint_names_where_the_keys_came_from() {
        let e = Error::Service(service_error(401));
        let block = from_read_error(&e, Some(&Source::Block), &[]).detail;
        assert!(
            block.contains("from the provider block (access_key, secret_key)"),
            "{block}"
        );
        let env = from_read_error(&e, Some(&Source::Environment), &[]).detail;
        assert!(
            env.contains("from the environment (HW_ACCESS_KEY, HW_SECRET_KEY)"),
            "{env}"
        );
    }

    /// A refused listing names the IAM actions of what the reading data source lists, and only
    /// those: ListSecrets needs csms:secret:list, which the task listing's hint never named.
    #[test]
    fn the_permission_hint_names_the_actions_of_the_data_source() {
        let refused = Error::Service(service_error(403));
        let hint = |advice| from_read_error(&refused, None, advice).detail;
        let secrets = hint(secrets::ADVICE);
        assert!(secrets.contains("may call csms:secret:list."), "{secrets}");
        assert!(!secrets.contains("csms:task:list"), "{secrets}");
        let tasks = hint(rotation_tasks::ADVICE);
        assert!(tasks.contains("may call csms:task:list."), "{tasks}");
        let both = hint(secret_rotations::ADVICE);
        assert!(
            both.contains("may call csms:secret:list and csms:task:list."),
            "{both}"
        );
    }

    #[test]
    fn tls_hints_talk_about_certificates_not_proxies() {
        for (trouble, needle) in [
            (TlsTrouble::Untrusted, "trust store"),
            (TlsTrouble::Expired, "clock"),
            (TlsTrouble::NotYetValid, "clock"),
            (TlsTrouble::WrongName, "issued for"),
            (TlsTrouble::Handshake, "HTTPS"),
        ] {
            let d = from_error(&Error::Tls {
                url: "https://kms.example.com/v1/p/csms/tasks".into(),
                trouble,
                detail: "invalid peer certificate".into(),
            });
            assert_eq!(d.summary, "TLS connection to the CSMS API refused");
            assert!(d.detail.contains(needle), "{trouble:?}: {}", d.detail);
            assert!(!d.detail.contains("HTTPS_PROXY"), "{}", d.detail);
        }
    }

    #[test]
    fn every_rendered_text_is_cleaned_once_more() {
        let d = from_error(&Error::Paging("marker \u{1b}[2J\u{202e}".into()));
        assert!(
            d.detail.contains("marker \u{fffd}[2J\u{fffd}"),
            "{}",
            d.detail
        );
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
                kind: &TASKS,
                refused: 1000,
                used: 50,
                error: service_error(400),
            },
            ListingWarning::DuplicatesDropped {
                kind: &TASKS,
                count: 2,
            },
            ListingWarning::TotalMismatch {
                kind: &TASKS,
                reported: 127,
                listed: 120,
            },
        ];
        let summaries: Vec<String> = warnings
            .iter()
            .map(|w| from_warning(w, &[]).summary)
            .collect();
        assert_eq!(
            summaries,
            [
                "Page size reduced",
                "Duplicate tasks dropped",
                "Task count differs from the reported total"
            ]
        );
        let d = from_warning(&warnings[2], &[]);
        assert!(!d.is_error());
        assert!(
            d.detail
                .starts_with("The service reported total=127 but 120"),
            "{}",
            d.detail
        );
    }

    /// A refused page size points at the attribute that sets it only where the data source
    /// being read has one: the task listing of `csms_secret_rotations` has none.
    #[test]
    fn a_refused_page_size_names_page_size_only_where_it_exists() {
        let warning = |advice| {
            from_warning(
                &ListingWarning::PageSizeRefused {
                    kind: &TASKS,
                    refused: 1000,
                    used: 50,
                    error: service_error(400),
                },
                advice,
            )
            .detail
        };
        assert!(warning(rotation_tasks::ADVICE).contains("Set `page_size`"));
        let rotations = warning(secret_rotations::ADVICE);
        assert!(
            rotations.contains("Every page was still read.") && !rotations.contains("page_size"),
            "{rotations}"
        );
    }

    /// The same task listing, too slow or too large, is narrowed by the attributes of the data
    /// source that reads it, and never by another one's: `since`, `secret_name` and `status`
    /// in `csms_rotation_tasks`, `secret_names` in `csms_secret_rotations`; and the warnings
    /// name `tasks` only where that attribute exists.
    #[test]
    fn listing_hints_name_only_the_reading_data_sources_attributes() {
        let slow = Error::DeadlineExceeded {
            deadline: std::time::Duration::from_secs(5),
            pages: 2,
            requests: 3,
            listing: Some(&TASKS),
        };
        let too_many = Error::TooManyItems {
            kind: &TASKS,
            cap: 250_000,
            kept: true,
        };
        let duplicates = ListingWarning::DuplicatesDropped {
            kind: &TASKS,
            count: 2,
        };
        let total = ListingWarning::TotalMismatch {
            kind: &TASKS,
            reported: 12,
            listed: 10,
        };
        for err in [&slow, &too_many] {
            let tasks = from_read_error(err, None, rotation_tasks::ADVICE).detail;
            for attribute in ["`since`", "`secret_name`", "`status`"] {
                assert!(tasks.contains(attribute), "{attribute}: {tasks}");
            }
            let rotations = from_read_error(err, None, secret_rotations::ADVICE).detail;
            assert!(
                rotations.contains("Narrow the data source: `secret_names`"),
                "{rotations}"
            );
            for foreign in [
                "`since`",
                "`secret_name`",
                "`status`",
                "`page_size`",
                "`tasks`",
            ] {
                assert!(!rotations.contains(foreign), "{foreign}: {rotations}");
            }
        }
        for warning in [&duplicates, &total] {
            let tasks = from_warning(warning, rotation_tasks::ADVICE).detail;
            assert!(tasks.contains("`tasks`"), "{tasks}");
            let rotations = from_warning(warning, secret_rotations::ADVICE).detail;
            assert!(!rotations.contains("`tasks`"), "{rotations}");
        }
    }

    #[test]
    fn a_sentence_that_starts_with_a_url_keeps_it_as_written() {
        assert_eq!(capitalize("http://x/y answered"), "http://x/y answered");
        assert_eq!(capitalize("https://x answered"), "https://x answered");
        assert_eq!(capitalize("the service"), "The service");
        assert_eq!(capitalize(""), "");
    }

    #[test]
    fn the_advice_names_the_limit_reached() {
        let gave_up = |status: u16, gave_up: GaveUp| {
            let e = ServiceError {
                retries: 3,
                gave_up,
                ..service_error(status)
            };
            from_error(&Error::Service(e)).detail
        };
        let deadline = gave_up(
            429,
            GaveUp::Deadline {
                wait: 1e9,
                left: 299.6,
                asked: true,
            },
        );
        assert!(
            deadline.contains(
                "The service asked to wait 1000000000s, about 31 years (Retry-After) before \
                 another try, longer than the 300s left of the read, which `timeouts { read }` bounds"
            ) && !deadline.contains("max_retries"),
            "{deadline}"
        );
        let backoff = gave_up(
            503,
            GaveUp::Deadline {
                wait: 2.5,
                left: 1.0,
                asked: false,
            },
        );
        assert!(
            backoff.contains("The next retry was due in 2.5s, longer than the 1s left"),
            "{backoff}"
        );
        let throttling = gave_up(429, GaveUp::Throttling);
        assert!(
            throttling.contains("50 times in a row") && !throttling.contains("max_retries"),
            "{throttling}"
        );
        assert!(gave_up(429, GaveUp::MaxRetries).contains("Raise `max_retries`"));
    }

    /// Listing errors and warnings are worded from the item kind: a second endpoint needs no
    /// edit here.
    #[test]
    fn listing_diagnostics_name_the_item_kind() {
        use crate::csms::secrets::SECRETS;
        let too_many = from_error(&Error::TooManyItems {
            kind: &SECRETS,
            cap: 5,
            kept: true,
        });
        assert_eq!(too_many.summary, "Too many secrets");
        assert_eq!(
            too_many.detail,
            "The listing would keep more than 5 secrets; stopped reading. No partial list is returned."
        );
        let slow = from_error(&Error::DeadlineExceeded {
            deadline: std::time::Duration::from_secs(5),
            pages: 2,
            requests: 3,
            listing: Some(&SECRETS),
        });
        assert_eq!(slow.summary, "Reading secrets timed out");
        assert!(slow.detail.ends_with("(default 5m)."), "{}", slow.detail);
        let repeated = from_warning(
            &ListingWarning::DuplicatesDropped {
                kind: &SECRETS,
                count: 1,
            },
            crate::provider::secrets::ADVICE,
        );
        assert_eq!(repeated.summary, "Duplicate secrets dropped");
        assert!(
            repeated.detail.contains("same name on several pages")
                && repeated
                    .detail
                    .contains("Each secret appears once in `secrets`"),
            "{}",
            repeated.detail
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
