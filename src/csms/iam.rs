//! The project id lookup: `GET {iam}/v3/projects?name={region}`, signed like every request, as
//! the official SDKs and the Go provider do when no project id is configured.

use reqwest::Url;
use serde::Deserialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::{decode, Budget, Client, Get};
use super::error::Error;

#[derive(Debug, Deserialize)]
struct Projects {
    #[serde(default)]
    projects: Vec<Project>,
}

#[derive(Debug, Deserialize)]
struct Project {
    id: String,
}

/// Looks up the id of the project named `region`. Exactly one project must match.
pub(crate) async fn lookup_project(
    client: &Client,
    iam: &Url,
    region: &str,
    deadline: Instant,
    cancel: &CancellationToken,
) -> Result<String, Error> {
    let fail = |reason: String, source: Option<Error>| Error::ProjectLookup {
        region: region.to_string(),
        reason,
        source: source.map(Box::new),
    };
    let query = [("name".to_string(), region.to_string())];
    let request = Get {
        base: iam,
        segments: &["v3", "projects"],
        query: &query,
        project: None,
    };
    let answer = client.get(&request, &Budget::new(deadline, cancel)).await;
    let answer = match answer {
        Ok(a) => a,
        Err(e @ (Error::Cancelled | Error::DeadlineExceeded { .. })) => return Err(e),
        Err(e) => {
            return Err(fail(
                format!(
                    "IAM {} failed: {e}; set project_id (HW_PROJECT_ID) to skip the lookup",
                    iam
                ),
                Some(e),
            ))
        }
    };
    let projects: Projects = match decode(&answer) {
        Ok(p) => p,
        Err(e) => return Err(fail(format!("{e}"), Some(e))),
    };
    match projects.projects.as_slice() {
        [one] if !one.id.is_empty() => {
            tracing::debug!(region, project_id = %one.id, "found the project id through IAM");
            Ok(one.id.clone())
        }
        [] | [_] => Err(fail(
            format!(
                "IAM lists no project named {region:?} for these credentials; \
                 check the region or set project_id (HW_PROJECT_ID)"
            ),
            None,
        )),
        many => Err(fail(
            format!(
                "IAM lists {} projects named {region:?} ({}); set project_id (HW_PROJECT_ID) to pick one",
                many.len(),
                many.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")
            ),
            None,
        )),
    }
}
