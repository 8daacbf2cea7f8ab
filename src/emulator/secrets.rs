//! ListSecrets (`GET /v1/{project_id}/secrets`): the query semantics, independent of HTTP
//! ([`list`], [`page_body`]), and the endpoint that serves them with the faults.
//!
//! - `limit`, `marker` and `next_marker` as in [`super::paging`], markers being secret
//!   names; the answer is `{"secrets": [...], "page_info": {"next_marker", "previous_marker",
//!   "current_count"}}` and has no `total`.
//! - A page may hold fewer secrets than `limit` asked for although more follow, as the service
//!   documents no maximum and may answer with less: [`Config::secrets_per_page`](super::Config).
//! - `event_name` keeps the secrets subscribed to that event; unknown parameters are ignored.

use std::sync::atomic::AtomicBool;

use hyper::Response;

use super::error::ApiError;
use super::faults::{self, FaultyPage};
use super::http::{param, ResBody};
use super::paging::{self, ListOptions, Listing};
use super::state::Shared;
use crate::csms::secret::{PageInfo, Secret, SecretPage};

/// Answers one ListSecrets request for the project holding `data`.
pub(crate) async fn serve(
    shared: &Shared,
    reset: &AtomicBool,
    data: &[Secret],
    query: &[(String, String)],
    request_id: &str,
) -> Response<ResBody> {
    let (counter, per_page) = (&shared.secret_requests, shared.config.secrets_per_page);
    faults::serve(shared, reset, counter, request_id, |opts| {
        list(data, query, opts, per_page)
    })
    .await
}

impl FaultyPage for SecretPage {
    fn next_marker(&mut self) -> &mut Option<String> {
        &mut self
            .page_info
            .get_or_insert_with(PageInfo::default)
            .next_marker
    }

    fn total(&mut self) -> Option<&mut i64> {
        None
    }

    fn body(&self) -> Vec<u8> {
        page_body(self)
    }
}

/// Answers one ListSecrets query over `secrets` (stored order), at most `per_page` secrets per
/// page whatever the `limit`.
pub fn list(
    secrets: &[Secret],
    query: &[(String, String)],
    opts: ListOptions,
    per_page: Option<u32>,
) -> Result<Listing<SecretPage>, ApiError> {
    let limit = paging::limit(param(query, "limit"), opts.max_limit)?;
    let limit = per_page.map_or(limit, |cap| limit.min(cap.max(1) as usize));
    let event = param(query, "event_name");
    let marker = param(query, "marker");
    let w = paging::window(
        secrets,
        |s| &s.name,
        |s| event.is_none_or(|e| s.event_subscriptions.iter().flatten().any(|sub| sub == e)),
        marker,
        limit,
        opts.last_page_marker,
        "no secret has this name",
    )?;
    let secrets: Vec<Secret> = w.items.into_iter().cloned().collect();
    Ok(Listing {
        page: SecretPage {
            page_info: Some(PageInfo {
                next_marker: w.next_marker,
                previous_marker: marker.map(str::to_string),
                current_count: Some(secrets.len() as i64),
            }),
            secrets,
        },
        marker: w.listing.marker,
        first_page_end: w.listing.first_page_end,
        is_last: w.listing.is_last,
    })
}

/// The page as the service writes it. Like the task page, the wire names are spelled here rather
/// than taken from the client's serde attributes, so a client that drifts from them fails.
pub fn page_body(page: &SecretPage) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct WirePage<'a> {
        secrets: Vec<WireSecret<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        page_info: Option<WireInfo<'a>>,
    }
    #[derive(serde::Serialize)]
    struct WireInfo<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        next_marker: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        previous_marker: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        current_count: Option<i64>,
    }
    #[derive(serde::Serialize)]
    struct WireSecret<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        state: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        kms_key_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        create_time: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        update_time: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        scheduled_delete_time: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        secret_type: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        auto_rotation: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rotation_period: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rotation_config: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rotation_time: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_rotation_time: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        event_subscriptions: Option<&'a [String]>,
        #[serde(skip_serializing_if = "Option::is_none")]
        enterprise_project_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rotation_func_urn: Option<&'a str>,
    }
    let secrets = page
        .secrets
        .iter()
        .map(|s| WireSecret {
            id: s.id.as_deref(),
            name: &s.name,
            state: s.state.as_deref(),
            kms_key_id: s.kms_key_id.as_deref(),
            description: s.description.as_deref(),
            create_time: s.create_time,
            update_time: s.update_time,
            scheduled_delete_time: s.scheduled_delete_time,
            secret_type: s.secret_type.as_deref(),
            auto_rotation: s.auto_rotation,
            rotation_period: s.rotation_period.as_deref(),
            rotation_config: s.rotation_config.as_deref(),
            rotation_time: s.rotation_time,
            next_rotation_time: s.next_rotation_time,
            event_subscriptions: s.event_subscriptions.as_deref(),
            enterprise_project_id: s.enterprise_project_id.as_deref(),
            rotation_func_urn: s.rotation_func_urn.as_deref(),
        })
        .collect();
    let page_info = page.page_info.as_ref().map(|i| WireInfo {
        next_marker: i.next_marker.as_deref(),
        previous_marker: i.previous_marker.as_deref(),
        current_count: i.current_count,
    });
    serde_json::to_vec(&WirePage { secrets, page_info }).expect("a page serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::paging::tests::{q, OPTS};

    /// s1..s7 in stored order; s2 and s5 subscribe to `e`.
    fn data() -> Vec<Secret> {
        (1..=7)
            .map(|i| Secret {
                name: format!("s{i}"),
                event_subscriptions: (i % 3 == 2).then(|| vec!["e".to_string()]),
                ..Secret::default()
            })
            .collect()
    }

    fn names(l: &Listing<SecretPage>) -> Vec<&str> {
        l.page.secrets.iter().map(|s| s.name.as_str()).collect()
    }

    fn next(l: &Listing<SecretPage>) -> Option<&str> {
        l.page.next_marker()
    }

    #[test]
    fn pages_follow_names_as_exclusive_markers_without_a_total() {
        let d = data();
        let p1 = list(&d, &q(&[("limit", "3")]), OPTS, None).unwrap();
        assert_eq!(names(&p1), ["s1", "s2", "s3"]);
        assert_eq!(next(&p1), Some("s3"));
        let info = p1.page.page_info.as_ref().unwrap();
        assert_eq!(
            (info.current_count, info.previous_marker.as_deref()),
            (Some(3), None)
        );
        let p3 = list(&d, &q(&[("limit", "3"), ("marker", "s6")]), OPTS, None).unwrap();
        assert_eq!(names(&p3), ["s7"]);
        assert_eq!(next(&p3), None);
        let body: serde_json::Value = serde_json::from_slice(&page_body(&p3.page)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"secrets": [{"name": "s7"}],
                               "page_info": {"previous_marker": "s6", "current_count": 1}})
        );
        assert!(body.get("total").is_none());
        let all = list(&d, &[], OPTS, None).unwrap();
        assert_eq!(names(&all).len(), 7, "default limit 50");
    }

    #[test]
    fn a_page_may_hold_fewer_than_the_limit_although_more_follow() {
        let d = data();
        let p = list(&d, &q(&[("limit", "5")]), OPTS, Some(2)).unwrap();
        assert_eq!(names(&p), ["s1", "s2"]);
        assert_eq!(next(&p), Some("s2"));
    }

    #[test]
    fn event_name_filters_and_bad_parameters_are_400() {
        let l = list(&data(), &q(&[("event_name", "e")]), OPTS, None).unwrap();
        assert_eq!(names(&l), ["s2", "s5"]);
        for query in [
            &[("limit", "0")][..],
            &[("limit", "1001")],
            &[("marker", "nope")],
        ] {
            let e = list(&data(), &q(query), OPTS, None).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (400, "CSMS.0002"), "{query:?}");
        }
        let e = list(&data(), &q(&[("marker", "nope")]), OPTS, None).unwrap_err();
        assert!(
            e.message.contains("no secret has this name"),
            "{}",
            e.message
        );
    }

    #[test]
    fn last_page_marker_toggle_names_the_last_secret() {
        let opts = ListOptions {
            last_page_marker: true,
            ..OPTS
        };
        let p = list(&data(), &q(&[("marker", "s5")]), opts, None).unwrap();
        assert_eq!(next(&p), Some("s7"));
        let after = list(&data(), &q(&[("marker", "s7")]), opts, None).unwrap();
        assert!(after.page.secrets.is_empty());
        assert_eq!(next(&after), None);
    }
}
