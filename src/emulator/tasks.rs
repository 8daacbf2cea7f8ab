//! ListSecretTask (`GET /v1/{project_id}/csms/tasks`): the query semantics, independent of HTTP
//! ([`list`], [`page_body`]), and the endpoint that serves them with the faults.
//!
//! - Filters: `secret_name` (exact), `status` (`SUCCESS` or `FAILED`, anything else is 400),
//!   `task_id` (exact; may not be combined with `secret_name` or `status`: 400). An unknown
//!   `task_id` or secret name is not an error, it matches nothing.
//! - `limit`, `marker` and `next_marker` as in [`super::paging`], markers being task ids.
//! - `total`: the number of tasks matching the filters, whatever the marker and limit.
//! - Empty parameter values (`secret_name=`) count as absent; unknown parameters are ignored.

use std::sync::atomic::AtomicBool;

use hyper::Response;

use super::error::ApiError;
use super::faults::{self, FaultyPage};
use super::http::{param, ResBody};
use super::paging::{self};
pub use super::paging::{ListOptions, Listing, DEFAULT_LIMIT};
use super::state::Shared;
pub use crate::csms::task::valid_secret_name;
use crate::csms::task::{SecretTask, TaskPage};

/// Answers one ListSecretTask request for the project holding `data`.
pub(crate) async fn serve(
    shared: &Shared,
    reset: &AtomicBool,
    data: &[SecretTask],
    query: &[(String, String)],
    request_id: &str,
) -> Response<ResBody> {
    let counter = &shared.task_requests;
    faults::serve(shared, reset, counter, request_id, |opts| {
        list(data, query, opts)
    })
    .await
}

impl FaultyPage for TaskPage {
    fn next_marker(&mut self) -> &mut Option<String> {
        &mut self.next_marker
    }

    fn total(&mut self) -> Option<&mut i64> {
        self.total.as_mut()
    }

    fn body(&self) -> Vec<u8> {
        page_body(self)
    }
}

/// The page as the service writes it: `{total, tasks, next_marker}`. The emulator spells the
/// wire names itself rather than reusing the client's serde attributes, so that a client that
/// drifts from the documented names fails against the emulator instead of agreeing with itself.
pub fn page_body(page: &TaskPage) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct WirePage<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<i64>,
        tasks: Vec<WireTask<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_marker: Option<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct WireTask<'a> {
        task_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        secret_name: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rotation_func_urn: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        task_status: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        operate_type: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        task_time: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        attempt_nums: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        task_error_code: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        task_error_msg: Option<&'a str>,
    }
    let tasks = page
        .tasks
        .iter()
        .map(|t| WireTask {
            task_id: &t.task_id,
            secret_name: t.secret_name.as_deref(),
            rotation_func_urn: t.rotation_func_urn.as_deref(),
            task_status: t.task_status.as_deref(),
            operate_type: t.operate_type.as_deref(),
            task_time: t.task_time,
            attempt_nums: t.attempt_nums,
            task_error_code: t.task_error_code.as_deref(),
            task_error_msg: t.task_error_msg.as_deref(),
        })
        .collect();
    serde_json::to_vec(&WirePage {
        total: page.total,
        tasks,
        next_marker: page.next_marker.as_deref(),
    })
    .expect("a page serializes")
}

/// Answers one ListSecretTask query over `tasks` (stored order).
pub fn list(
    tasks: &[SecretTask],
    query: &[(String, String)],
    opts: ListOptions,
) -> Result<Listing<TaskPage>, ApiError> {
    let get = |name: &str| param(query, name);
    let secret_name = get("secret_name");
    let status = get("status");
    let task_id = get("task_id");
    let marker = get("marker");

    if let Some(name) = secret_name {
        if !valid_secret_name(name) {
            return Err(ApiError::invalid_parameter(
                "secret_name",
                "expected 1 to 64 characters of a-z, A-Z, 0-9, '.', '_' or '-'",
            ));
        }
    }
    if let Some(s) = status {
        if s != "SUCCESS" && s != "FAILED" {
            return Err(ApiError::invalid_parameter(
                "status",
                "expected SUCCESS or FAILED",
            ));
        }
    }
    if task_id.is_some() && (secret_name.is_some() || status.is_some()) {
        return Err(ApiError::new(
            400,
            super::error::INVALID_REQUEST,
            "The request is invalid: task_id cannot be combined with other search criteria (secret_name, status).",
        ));
    }
    let limit = paging::limit(get("limit"), opts.max_limit)?;
    let matches = |t: &SecretTask| {
        task_id.is_none_or(|id| t.task_id == id)
            && secret_name.is_none_or(|n| t.secret_name.as_deref() == Some(n))
            && status.is_none_or(|s| t.task_status.as_deref() == Some(s))
    };
    let w = paging::window(
        tasks,
        |t| &t.task_id,
        matches,
        marker,
        limit,
        opts.last_page_marker,
        "no task has this id",
    )?;
    Ok(Listing {
        page: TaskPage {
            total: Some(w.matching as i64),
            tasks: w.items.into_iter().cloned().collect(),
            next_marker: w.next_marker,
        },
        marker: w.listing.marker,
        first_page_end: w.listing.first_page_end,
        is_last: w.listing.is_last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::paging::tests::{q, OPTS};

    fn task(id: &str, name: &str, status: &str) -> SecretTask {
        SecretTask {
            task_id: id.into(),
            secret_name: Some(name.into()),
            task_status: Some(status.into()),
            ..Default::default()
        }
    }

    /// t1..t10, secrets a/b alternating, every third FAILED.
    fn data() -> Vec<SecretTask> {
        (1..=10)
            .map(|i| {
                task(
                    &format!("t{i}"),
                    if i % 2 == 0 { "b" } else { "a" },
                    if i % 3 == 0 { "FAILED" } else { "SUCCESS" },
                )
            })
            .collect()
    }

    fn ids(l: &Listing<TaskPage>) -> Vec<&str> {
        l.page.tasks.iter().map(|t| t.task_id.as_str()).collect()
    }

    fn err(query: &[(&str, &str)]) -> ApiError {
        list(&data(), &q(query), OPTS).unwrap_err()
    }

    #[test]
    fn no_query_returns_everything_in_stored_order_without_next_marker() {
        let l = list(&data(), &[], OPTS).unwrap();
        assert_eq!(ids(&l).len(), 10);
        assert_eq!(ids(&l)[0], "t1");
        assert_eq!(l.page.total, Some(10));
        assert_eq!(l.page.next_marker, None);
        assert!(l.is_last);
    }

    #[test]
    fn default_limit_is_50() {
        let many: Vec<_> = (0..120)
            .map(|i| task(&format!("x{i}"), "a", "SUCCESS"))
            .collect();
        let l = list(&many, &[], OPTS).unwrap();
        assert_eq!(l.page.tasks.len(), 50);
        assert_eq!(l.page.next_marker.as_deref(), Some("x49"));
        assert_eq!(l.page.total, Some(120));
    }

    #[test]
    fn paging_windows_follow_exclusive_markers() {
        let d = data();
        let p1 = list(&d, &q(&[("limit", "4")]), OPTS).unwrap();
        assert_eq!(ids(&p1), ["t1", "t2", "t3", "t4"]);
        assert_eq!(p1.page.next_marker.as_deref(), Some("t4"));
        let p2 = list(&d, &q(&[("limit", "4"), ("marker", "t4")]), OPTS).unwrap();
        assert_eq!(ids(&p2), ["t5", "t6", "t7", "t8"]);
        let p3 = list(&d, &q(&[("limit", "4"), ("marker", "t8")]), OPTS).unwrap();
        assert_eq!(ids(&p3), ["t9", "t10"]);
        assert_eq!(p3.page.next_marker, None);
        assert_eq!(p3.page.total, Some(10), "total ignores marker and limit");
        assert_eq!(p3.first_page_end.as_deref(), Some("t4"));
    }

    #[test]
    fn a_full_last_page_has_no_next_marker() {
        let p = list(&data(), &q(&[("limit", "5"), ("marker", "t5")]), OPTS).unwrap();
        assert_eq!(ids(&p), ["t6", "t7", "t8", "t9", "t10"]);
        assert_eq!(p.page.next_marker, None);
    }

    #[test]
    fn last_page_marker_toggle_sends_next_marker_on_the_last_page() {
        let opts = ListOptions {
            last_page_marker: true,
            ..OPTS
        };
        let p = list(&data(), &q(&[("limit", "4"), ("marker", "t8")]), opts).unwrap();
        assert_eq!(p.page.next_marker.as_deref(), Some("t10"));
        let after = list(&data(), &q(&[("limit", "4"), ("marker", "t10")]), opts).unwrap();
        assert!(after.page.tasks.is_empty());
        assert_eq!(after.page.next_marker, None, "an empty page never has one");
    }

    #[test]
    fn filters_combine_and_total_counts_matches() {
        let l = list(
            &data(),
            &q(&[("secret_name", "a"), ("status", "FAILED")]),
            OPTS,
        )
        .unwrap();
        assert_eq!(ids(&l), ["t3", "t9"]);
        assert_eq!(l.page.total, Some(2));
        let l = list(&data(), &q(&[("secret_name", "b"), ("limit", "2")]), OPTS).unwrap();
        assert_eq!(ids(&l), ["t2", "t4"]);
        assert_eq!(l.page.total, Some(5));
        assert_eq!(l.page.next_marker.as_deref(), Some("t4"));
    }

    #[test]
    fn marker_of_a_filtered_out_task_starts_after_its_position() {
        let l = list(&data(), &q(&[("secret_name", "b"), ("marker", "t5")]), OPTS).unwrap();
        assert_eq!(ids(&l), ["t6", "t8", "t10"]);
    }

    #[test]
    fn task_id_selects_one_task_and_unknown_ids_match_nothing() {
        let l = list(&data(), &q(&[("task_id", "t7")]), OPTS).unwrap();
        assert_eq!(ids(&l), ["t7"]);
        assert_eq!(l.page.total, Some(1));
        let l = list(&data(), &q(&[("task_id", "nope")]), OPTS).unwrap();
        assert!(l.page.tasks.is_empty());
        assert_eq!(l.page.total, Some(0));
    }

    #[test]
    fn task_id_with_other_criteria_is_rejected() {
        for other in [("secret_name", "a"), ("status", "SUCCESS")] {
            let e = err(&[("task_id", "t1"), other]);
            assert_eq!((e.status, e.code.as_str()), (400, "CSMS.0003"));
        }
        // limit and marker are not search criteria
        assert!(list(&data(), &q(&[("task_id", "t1"), ("limit", "5")]), OPTS).is_ok());
    }

    #[test]
    fn invalid_status_is_rejected() {
        for s in ["success", "RUNNING", "FAILED "] {
            let e = err(&[("status", s)]);
            assert_eq!((e.status, e.code.as_str()), (400, "CSMS.0002"), "{s}");
            assert!(e.message.contains("status"));
        }
    }

    #[test]
    fn limit_validation() {
        for bad in ["0", "-1", "abc", "1001", "1.5", "99999999999999999999"] {
            let e = err(&[("limit", bad)]);
            assert_eq!((e.status, e.code.as_str()), (400, "CSMS.0002"), "{bad}");
            assert!(e.message.contains("limit"));
        }
        for good in ["1", "1000"] {
            assert!(
                list(&data(), &q(&[("limit", good)]), OPTS).is_ok(),
                "{good}"
            );
        }
        let small = ListOptions {
            max_limit: 100,
            ..OPTS
        };
        assert!(list(&data(), &q(&[("limit", "101")]), small).is_err());
        assert!(list(&data(), &q(&[("limit", "100")]), small).is_ok());
    }

    #[test]
    fn unknown_marker_is_rejected() {
        let e = err(&[("marker", "does-not-exist")]);
        assert_eq!((e.status, e.code.as_str()), (400, "CSMS.0002"));
        assert!(e.message.contains("marker"));
    }

    #[test]
    fn invalid_secret_name_is_rejected_and_empty_values_are_absent() {
        for bad in ["a b", "a/b", "a*", "ä", "a\n"] {
            let e = err(&[("secret_name", bad)]);
            assert_eq!(e.code, "CSMS.0002", "{bad:?}");
        }
        assert!(err(&[("secret_name", &"x".repeat(65))])
            .message
            .contains("secret_name"));
        let l = list(&data(), &q(&[("secret_name", ""), ("status", "")]), OPTS).unwrap();
        assert_eq!(l.page.total, Some(10));
    }

    /// CreateSecret accepts periods (`^[a-zA-Z0-9._-]{1,64}$`), so a filter on such a name
    /// lists its tasks instead of failing with 400.
    #[test]
    fn secret_names_with_periods_filter_like_any_other() {
        let mut tasks = data();
        tasks.push(task("t11", "db.password", "FAILED"));
        tasks.push(task("t12", "db.password", "SUCCESS"));
        let l = list(&tasks, &q(&[("secret_name", "db.password")]), OPTS).unwrap();
        assert_eq!(ids(&l), ["t11", "t12"]);
        for good in ["db.password", ".", "a-b_c.d", &"x.".repeat(32)] {
            assert!(valid_secret_name(good), "{good:?}");
        }
        assert!(
            !valid_secret_name(&format!("{}x", "x.".repeat(32))),
            "65 characters"
        );
    }
}
