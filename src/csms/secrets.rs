//! The secret listing (ListSecrets, `GET /v1/{project_id}/secrets`) on the listing engine:
//! [`SecretQuery`] is its [`Endpoint`]. Markers are secret names and there is no `total`: the
//! engine follows every page that names a next marker, however few secrets it holds.

use super::error::ItemKind;
use super::pager::{Endpoint, Inspection, Page, PageSize};
use super::secret::{self, clean_secret, Secret, SecretPage};

/// Secrets, as errors and warnings name them.
pub const SECRETS: ItemKind = ItemKind {
    singular: "secret",
    plural: "secrets",
    id_field: "name",
    title: "secrets",
    action: "csms:secret:list",
};

/// Page size asked for: the tasks' documented maximum, as ListSecrets documents none; a service
/// that answers fewer is followed page by page, one that refuses it is asked for its default.
pub const PAGE_SIZE: u32 = 1000;
/// The API's default page size, asked for after a refusal of [`PAGE_SIZE`].
pub const FALLBACK_PAGE_SIZE: u32 = 50;

/// Every secret of the project. The API's only filter (`event_name`) is not one a check needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecretQuery;

impl Endpoint for SecretQuery {
    type Body = SecretPage;
    type Item = Secret;
    const KIND: &'static ItemKind = &SECRETS;
    const PATH: &'static [&'static str] = &["secrets"];

    fn filters(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    fn page_size(&self) -> PageSize {
        PageSize {
            limit: PAGE_SIZE,
            fallback: Some(FALLBACK_PAGE_SIZE),
        }
    }

    fn page(body: SecretPage) -> Page<Secret> {
        let next_marker = body.next_marker().map(str::to_string);
        Page {
            items: body.secrets,
            next_marker,
            total: None,
        }
    }

    fn id(secret: &Secret) -> &str {
        &secret.name
    }

    fn clean(secret: &mut Secret) -> Inspection {
        let out_of_range = [
            ("create_time", "created_at", secret.create_time),
            ("update_time", "updated_at", secret.update_time),
            ("rotation_time", "rotated_at", secret.rotation_time),
            (
                "next_rotation_time",
                "next_rotation_at",
                secret.next_rotation_time,
            ),
            (
                "scheduled_delete_time",
                "scheduled_delete_at",
                secret.scheduled_delete_time,
            ),
        ]
        .into_iter()
        .filter(|(_, _, raw)| raw.is_some_and(|t| t != 0 && secret::instant(t).is_none()))
        .map(|(field, nulled, _)| (field, nulled))
        .collect();
        Inspection {
            replaced: clean_secret(secret),
            out_of_range,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csms::pager::{ListingWarning, Pager};

    fn secret(name: &str) -> Secret {
        Secret {
            name: name.into(),
            ..Secret::default()
        }
    }

    fn page(names: &[&str], next: Option<&str>) -> Page<Secret> {
        SecretQuery::page(SecretPage {
            secrets: names.iter().map(|n| secret(n)).collect(),
            page_info: Some(crate::csms::secret::PageInfo {
                next_marker: next.map(str::to_string),
                ..Default::default()
            }),
        })
    }

    /// Pages smaller than the limit are followed; the listing ends on an empty marker; a
    /// repeated name is dropped; a marker that does not advance is an error naming secrets.
    #[test]
    fn pages_follow_names_and_stop_on_an_empty_marker() {
        let mut pager = Pager::new(SecretQuery, Vec::new());
        assert!(pager
            .next_query()
            .unwrap()
            .contains(&("limit".to_string(), "1000".to_string())));
        pager.accept(page(&["a", "b"], Some("b"))).unwrap();
        assert!(
            pager
                .next_query()
                .unwrap()
                .contains(&("marker".to_string(), "b".to_string())),
            "two secrets of 1000 asked, but a next marker"
        );
        pager.accept(page(&["b", "c"], Some(""))).unwrap();
        assert!(pager.next_query().is_none(), "an empty marker ends it");
        let listing = pager.finish(2);
        let names: Vec<&str> = listing.items.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(listing.total, None);
        assert!(listing
            .warnings
            .iter()
            .any(|w| matches!(w, ListingWarning::DuplicatesDropped { count: 1, .. })));

        let mut stuck = Pager::new(SecretQuery, Vec::new());
        stuck.accept(page(&["a"], Some("a"))).unwrap();
        let err = stuck
            .accept(page(&["b"], Some("a")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("secret"), "{err}");
    }

    #[test]
    fn clean_reports_replaced_text_and_unwritable_times() {
        let mut s = Secret {
            name: "db\u{1b}".into(),
            create_time: Some(i64::MAX),
            update_time: Some(0),
            rotation_time: Some(1_715_436_899_000),
            ..Secret::default()
        };
        let i = SecretQuery::clean(&mut s);
        assert_eq!(i.replaced, ["name"]);
        assert_eq!(i.out_of_range, [("create_time", "created_at")]);
    }
}
