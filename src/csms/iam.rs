//! The project id: configured, or looked up through `GET {iam}/v3/projects?name={region}`,
//! signed like every request, as the official SDKs and the Go provider do when no project id is
//! configured.

use reqwest::Url;
use serde::Deserialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::project_id_problem;
use super::error::Error;
use super::text;
use super::transport::{decode, Budget, Client, Get};

impl Client {
    /// The project id: from the configuration, else looked up once through IAM and cached.
    pub async fn project_id(&self) -> Result<String, Error> {
        self.project_id_within(Instant::now() + self.deadline, &CancellationToken::new())
            .await
    }

    /// [`project_id`](Self::project_id), with the lookup (if one is needed) bounded by
    /// `deadline` and `cancel`: the calling read's own.
    pub(crate) async fn project_id_within(
        &self,
        deadline: Instant,
        cancel: &CancellationToken,
    ) -> Result<String, Error> {
        self.project_id
            .get_or_try_init(|| async {
                let Some((iam, region)) = &self.iam else {
                    unreachable!(
                        "with_credentials refuses a client with neither project_id nor region"
                    )
                };
                lookup_project(self, iam, region, deadline, cancel).await
            })
            .await
            .cloned()
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
async fn lookup_project(
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
    fn the_project_id_future_is_send() {
        fn is_send<T: Send>(_: T) {}
        let client = Client::new(crate::csms::ClientConfig {
            region: Some("cn-north-4".into()),
            access_key: "AK".into(),
            secret_key: "SK".into(),
            ..crate::csms::ClientConfig::default()
        })
        .unwrap();
        is_send(client.project_id());
    }
}
