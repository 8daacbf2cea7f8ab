//! IAM's project lookup (`GET /v3/projects?name=`): the caller's account's projects by region.

use hyper::{Response, StatusCode};

use super::accounts::Entry;
use super::http::{json_response, ResBody};

/// The caller's account's projects named `name` (the region), all of them when `name` is absent.
pub(crate) fn serve(account: &Entry, query: &[(String, String)]) -> Response<ResBody> {
    // `name=` (empty) matches no project, unlike the listings' empty filters.
    let name = query
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.as_str());
    let projects: Vec<_> = account
        .projects
        .iter()
        .filter(|p| name.is_none_or(|n| n == p.region))
        .map(|p| {
            serde_json::json!({
                "id": p.project_id,
                "name": p.region,
                "domain_id": account.domain_id,
                "parent_id": account.domain_id,
                "is_domain": false,
                "enabled": true,
                "description": "",
                "links": { "self": format!("/v3/projects/{}", p.project_id) },
            })
        })
        .collect();
    let body = serde_json::json!({
        "projects": projects,
        "links": { "self": "/v3/projects", "next": null, "previous": null },
    });
    json_response(StatusCode::OK, body.to_string().into())
}
