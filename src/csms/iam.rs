//! The project id lookup: `GET {iam}/v3/projects?name={region}`, signed like every request, as
//! the official SDKs and the Go provider do when no project id is configured.

use reqwest::Url;
use serde::Deserialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::{decode, Budget, Client, Get};
use super::error::Error;
use super::text;

/// What makes `id` unusable as a project id, or `None` when it is fine. The id becomes one path
/// segment of every request (`/v1/{project_id}/csms/tasks`) and the `X-Project-Id` header: `/`
/// would split the segment, and `.` or `..` would be removed by URL normalisation (also when
/// percent-encoded as `%2E`), moving the signed request to another path such as `/csms/tasks`.
pub fn project_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("is empty")
    } else if id == "." || id == ".." {
        Some("is `.` or `..`, which URL normalisation would remove from the request path")
    } else if id.contains('/') {
        Some("contains `/`, which would split the request path")
    } else if !id.bytes().all(|b| b.is_ascii_graphic()) {
        Some("may only contain printable ASCII characters (no spaces or control characters)")
    } else {
        None
    }
}

/// A project id from IAM as an error may quote it: every unsafe character shown as U+FFFD
/// (not dropped, so the user sees that something was there), cut short.
fn quoted(id: &str) -> String {
    format!("{:?}", text::excerpt(text::clean(id), 80))
}

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
                format!("IAM {iam} failed: {e}; set project_id (HW_PROJECT_ID) to skip the lookup"),
                Some(e),
            ))
        }
    };
    let projects: Projects = match decode(&answer) {
        Ok(p) => p,
        Err(e) => {
            return Err(fail(
                format!(
                    "IAM ({iam}) answered something that is not the documented project list: {e}; \
                     the answer (or a proxy's in its place) is at fault, not the provider \
                     configuration. Set project_id (HW_PROJECT_ID) to skip the lookup"
                ),
                Some(e),
            ))
        }
    };
    match projects.projects.as_slice() {
        [one] if !one.id.is_empty() => match project_id_problem(&one.id) {
            None => {
                tracing::debug!(region, project_id = %one.id, "found the project id through IAM");
                Ok(one.id.clone())
            }
            Some(problem) => Err(fail(
                format!(
                    "IAM ({iam}) answered the project id {}, which {problem}; the answer (or a \
                     proxy's in its place) is at fault, not the provider configuration, and no \
                     request was sent with it. Set project_id (HW_PROJECT_ID) to skip the lookup",
                    quoted(&one.id)
                ),
                None,
            )),
        },
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
                many.iter().map(|p| quoted(&p.id)).collect::<Vec<_>>().join(", ")
            ),
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_that_would_move_or_break_the_path_are_refused() {
        for ok in [
            "0123456789abcdef0123456789abcdef",
            "my-project",
            "a.b",
            "...",
            "%2E",
        ] {
            assert_eq!(project_id_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            (".", "`.` or `..`"),
            ("..", "`.` or `..`"),
            ("a/b", "`/`"),
            ("a b", "printable ASCII"),
            ("p\u{1b}[2J", "printable ASCII"),
            ("projet-é", "printable ASCII"),
        ] {
            let problem = project_id_problem(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(problem.contains(why), "{bad:?}: {problem}");
        }
    }

    /// Why the check is needed: the `url` crate removes dot segments, also percent-encoded
    /// ones, so a project id of `..` would send the signed request to `/v1/csms/tasks`'s parent.
    #[test]
    fn url_normalisation_removes_dot_segments_even_percent_encoded() {
        let mut url = Url::parse("https://kms.example.com/").unwrap();
        for segment in ["..", "%2E%2E", "%2e."] {
            url.set_path(&format!("/v1/{segment}/csms/tasks"));
            assert_eq!(url.path(), "/csms/tasks", "{segment}");
        }
        url.set_path("/v1/%2E%2E%2F/csms/tasks");
        assert_eq!(url.path(), "/v1/%2E%2E%2F/csms/tasks");
    }
}
