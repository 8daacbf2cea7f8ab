//! The task listing (ListSecretTask, `GET /v1/{project_id}/csms/tasks`) on the listing engine:
//! [`TaskQuery`] is its [`Endpoint`], and [`Tasks`] its aggregation (the `since` window, the
//! newest task per secret), a [`Sink`] in front of the caller's [`TaskSink`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::error::{Error, ItemKind};
use super::pager::{Endpoint, Inspection, Listing, Page, PageSize, Sink};
use super::task::{clean_task, SecretTask, TaskPage};
use super::transport::Client;

/// Page size asked for when the caller sets none: the documented maximum.
pub const DEFAULT_PAGE_SIZE: u32 = 1000;
/// Page size after the service refused [`DEFAULT_PAGE_SIZE`]: the API's own default.
pub const FALLBACK_PAGE_SIZE: u32 = 50;
/// Largest page size the API documents.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Rotation tasks, as errors and warnings name them.
pub const TASKS: ItemKind = ItemKind {
    singular: "task",
    plural: "tasks",
    id_field: "task_id",
    title: "rotation tasks",
    action: "csms:task:list",
};

/// What to list. With `task_id`, only `task_id` is sent (the API allows no other criteria with
/// it; the provider refuses such configurations before calling).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskQuery {
    pub secret_name: Option<String>,
    /// `SUCCESS` or `FAILED`.
    pub status: Option<String>,
    pub task_id: Option<String>,
    /// 1..=1000 (API `limit`). Unset: 1000, falling back to 50 if the service refuses it.
    pub page_size: Option<u32>,
    /// Keep only tasks created at or after this instant (epoch milliseconds). Every page is
    /// still read, and [`Tasks::latest`] still covers every task.
    pub since: Option<i64>,
}

impl Endpoint for TaskQuery {
    type Body = TaskPage;
    type Item = SecretTask;
    const KIND: &'static ItemKind = &TASKS;
    const PATH: &'static [&'static str] = &["csms", "tasks"];

    fn filters(&self) -> Vec<(String, String)> {
        if let Some(id) = &self.task_id {
            return vec![("task_id".into(), id.clone())];
        }
        [("secret_name", &self.secret_name), ("status", &self.status)]
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.clone()?)))
            .collect()
    }

    fn page_size(&self) -> PageSize {
        match self.page_size {
            Some(limit) => PageSize {
                limit,
                fallback: None,
            },
            None => PageSize {
                limit: DEFAULT_PAGE_SIZE,
                fallback: Some(FALLBACK_PAGE_SIZE),
            },
        }
    }

    fn single_item(&self) -> bool {
        self.task_id.is_some()
    }

    fn page(body: TaskPage) -> Page<SecretTask> {
        Page {
            items: body.tasks,
            next_marker: body.next_marker,
            total: body.total,
        }
    }

    fn id(task: &SecretTask) -> &str {
        &task.task_id
    }

    fn clean(task: &mut SecretTask) -> Inspection {
        Inspection {
            replaced: clean_task(task),
            out_of_range: if task.time_out_of_range() {
                vec![("task_time", "created_at")]
            } else {
                Vec::new()
            },
        }
    }
}

/// Where a task listing puts the tasks it keeps, as they arrive: a `Vec`, or a caller's compact
/// store (the provider encodes each task for Terraform at once instead of holding the decoded
/// one).
pub trait TaskSink {
    fn keep(&mut self, task: SecretTask);
}

impl TaskSink for Vec<SecretTask> {
    fn keep(&mut self, task: SecretTask) {
        self.push(task);
    }
}

/// The rotation history of one secret as far as its checks need it, folded as tasks stream past
/// so that memory grows with secrets, never with tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The newest task, whatever its status.
    pub latest: Option<SecretTask>,
    /// The newest task with `task_status` `SUCCESS`.
    pub last_success: Option<SecretTask>,
}

impl History {
    /// Folds `task` in; "newest" is [`newer`]'s order, the one the task listing uses.
    pub fn add(&mut self, task: SecretTask) {
        if task.task_status.as_deref() == Some("SUCCESS")
            && self.last_success.as_ref().is_none_or(|s| newer(&task, s))
        {
            self.last_success = Some(task.clone());
        }
        if self.latest.as_ref().is_none_or(|l| newer(&task, l)) {
            self.latest = Some(task);
        }
    }
}

/// The tasks of a query: those in the `since` window, in service order, and the newest task and
/// newest success of each secret over every task listed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tasks<S = Vec<SecretTask>> {
    /// The tasks kept (all, or those in the `since` window), in service order, without repeats
    /// (first occurrence of each `task_id` kept).
    pub tasks: S,
    /// The newest task of each secret over every task listed, in or out of the window, by
    /// secret name. Tasks without a `secret_name` are in none.
    pub latest: BTreeMap<String, SecretTask>,
    /// The newest `SUCCESS` task of each secret over every task listed, likewise; a secret
    /// without one has no entry.
    pub latest_success: BTreeMap<String, SecretTask>,
}

/// The [`Sink`] of a task listing, [`Tasks`] while the listing runs: each secret's
/// [`History`] in a hash map (faster at 100,000 tasks), sorted once at the end.
#[derive(Debug)]
pub struct Window<S> {
    since: Option<i64>,
    tasks: S,
    histories: HashMap<String, History>,
}

impl<S: TaskSink> Sink<SecretTask> for Window<S> {
    fn take(&mut self, task: SecretTask) -> bool {
        if let Some(name) = task.secret_name.as_deref() {
            match self.histories.get_mut(name) {
                Some(history) => history.add(task.clone()),
                None => {
                    let mut history = History::default();
                    history.add(task.clone());
                    self.histories.insert(name.to_string(), history);
                }
            }
        }
        let in_window = match self.since {
            Some(since) => task.task_time.is_some_and(|t| t >= since),
            None => true,
        };
        if in_window {
            self.tasks.keep(task);
        }
        in_window
    }
}

impl<S> Window<S> {
    /// Keeps in `tasks` the tasks of `query`'s window.
    pub fn new(query: &TaskQuery, tasks: S) -> Self {
        Window {
            since: query.since,
            tasks,
            histories: HashMap::new(),
        }
    }

    pub fn finish(self) -> Tasks<S> {
        let (mut latest, mut latest_success) = (BTreeMap::new(), BTreeMap::new());
        for (name, history) in self.histories {
            if let Some(success) = history.last_success {
                latest_success.insert(name.clone(), success);
            }
            if let Some(task) = history.latest {
                latest.insert(name, task);
            }
        }
        Tasks {
            tasks: self.tasks,
            latest,
            latest_success,
        }
    }
}

/// Whether `a` is newer than `b`: later `task_time` (a task without one is oldest), ties by the
/// smaller `task_id`, the order the provider lists tasks in.
pub fn newer(a: &SecretTask, b: &SecretTask) -> bool {
    (a.task_time, std::cmp::Reverse(&a.task_id)) > (b.task_time, std::cmp::Reverse(&b.task_id))
}

impl Client {
    /// Lists every task matching `query`, page after page, within the configured deadline;
    /// `cancel` stops it between and during requests.
    pub async fn list_tasks(
        &self,
        query: &TaskQuery,
        cancel: &CancellationToken,
    ) -> Result<Listing<Tasks>, Error> {
        self.list_tasks_into(query, self.deadline, cancel, Vec::new())
            .await
    }

    /// [`list_tasks`](Self::list_tasks) within `timeout` instead of the configured deadline
    /// (the data source's `timeouts { read }`), handing each task kept to `sink` as its page
    /// arrives.
    pub async fn list_tasks_into<S: TaskSink + Send>(
        &self,
        query: &TaskQuery,
        timeout: Duration,
        cancel: &CancellationToken,
        sink: S,
    ) -> Result<Listing<Tasks<S>>, Error> {
        let window = Window::new(query, sink);
        let listing = self.list(query.clone(), timeout, cancel, window).await?;
        Ok(listing.map(Window::finish))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csms::pager::Pager;
    use crate::csms::ClientConfig;

    fn task(id: &str, secret: &str, time: Option<i64>) -> SecretTask {
        SecretTask {
            task_id: id.into(),
            secret_name: Some(secret.into()),
            task_time: time,
            ..SecretTask::default()
        }
    }

    fn pager(query: TaskQuery) -> Pager<TaskQuery, Window<Vec<SecretTask>>> {
        let window = Window::new(&query, Vec::new());
        Pager::new(query, window)
    }

    fn page(tasks: Vec<SecretTask>, next: Option<&str>) -> Page<SecretTask> {
        TaskQuery::page(TaskPage {
            total: None,
            tasks,
            next_marker: next.map(String::from),
        })
    }

    #[test]
    fn task_id_is_sent_alone() {
        let p = pager(TaskQuery {
            task_id: Some("t-1".into()),
            secret_name: Some("s".into()),
            status: Some("FAILED".into()),
            page_size: Some(10),
            since: None,
        });
        let only_the_id = vec![("task_id".to_string(), "t-1".to_string())];
        assert_eq!(p.next_query(), Some(only_the_id));
    }

    #[test]
    fn filters_then_limit_with_the_documented_default_and_fallback() {
        let query = TaskQuery {
            secret_name: Some("db".into()),
            status: Some("SUCCESS".into()),
            ..TaskQuery::default()
        };
        let sent = pager(query.clone()).next_query().unwrap();
        let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(
            sent,
            [
                ("secret_name", "db"),
                ("status", "SUCCESS"),
                ("limit", "1000")
            ]
        );
        assert_eq!(
            query.page_size(),
            PageSize {
                limit: DEFAULT_PAGE_SIZE,
                fallback: Some(FALLBACK_PAGE_SIZE)
            }
        );
        let explicit = TaskQuery {
            page_size: Some(20),
            ..TaskQuery::default()
        };
        assert_eq!(explicit.page_size().fallback, None);
    }

    /// `latest_success` is each secret's newest SUCCESS over every task, in or out of the
    /// window, whatever came after it; a secret that never succeeded has no entry.
    #[test]
    fn latest_success_is_the_newest_success_of_each_secret() {
        let with = |id: &str, secret: &str, time: Option<i64>, status: &str| SecretTask {
            task_status: Some(status.into()),
            ..task(id, secret, time)
        };
        let query = TaskQuery {
            since: Some(2_000),
            ..TaskQuery::default()
        };
        let mut p = pager(query);
        p.accept(page(
            vec![
                with("db-failed", "db", Some(3_000), "FAILED"),
                with("db-old-success", "db", Some(1_000), "SUCCESS"),
                with("db-older-success", "db", Some(500), "SUCCESS"),
                with("api-failed", "api", Some(2_500), "FAILED"),
                with("web-untimed", "web", None, "SUCCESS"),
                with("web-success", "web", Some(100), "SUCCESS"),
            ],
            None,
        ))
        .unwrap();
        let tasks = p.finish(1).map(Window::finish).items;
        let ids = |m: &BTreeMap<String, SecretTask>| -> Vec<(String, String)> {
            m.iter()
                .map(|(s, t)| (s.clone(), t.task_id.clone()))
                .collect()
        };
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            ids(&tasks.latest_success),
            pairs(&[("db", "db-old-success"), ("web", "web-success")])
        );
        assert_eq!(
            ids(&tasks.latest),
            pairs(&[
                ("api", "api-failed"),
                ("db", "db-failed"),
                ("web", "web-success")
            ])
        );
    }

    /// `since` keeps only the window, but `latest` covers every task and only the window counts
    /// against the cap on tasks kept.
    #[test]
    fn the_window_keeps_recent_tasks_and_latest_covers_all() {
        let query = TaskQuery {
            since: Some(2_000),
            ..TaskQuery::default()
        };
        let mut p = pager(query.clone()).with_caps(1, 10);
        p.accept(page(
            vec![
                task("old", "db", Some(1_000)),
                task("new", "db", Some(3_000)),
                task("api-old", "api", Some(500)),
                task("untimed", "db", None),
            ],
            None,
        ))
        .unwrap();
        let tasks = p.finish(1).map(Window::finish).items;
        let kept: Vec<&str> = tasks.tasks.iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(kept, ["new"]);
        let latest: Vec<(&str, &str)> = tasks
            .latest
            .iter()
            .map(|(s, t)| (s.as_str(), t.task_id.as_str()))
            .collect();
        assert_eq!(latest, [("api", "api-old"), ("db", "new")]);

        let mut p = pager(query).with_caps(1, 10);
        let e = p
            .accept(page(
                vec![task("a", "db", Some(2_000)), task("b", "db", Some(2_001))],
                None,
            ))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the listing would keep more than 1 tasks; stopped reading"
        );
    }

    #[test]
    fn newer_is_later_time_then_smaller_id_and_untimed_is_oldest() {
        assert!(newer(&task("b", "s", Some(2)), &task("a", "s", Some(1))));
        assert!(newer(&task("a", "s", Some(1)), &task("b", "s", Some(1))));
        assert!(newer(&task("z", "s", Some(0)), &task("a", "s", None)));
    }

    #[test]
    fn a_time_out_of_range_is_reported_with_the_timestamp_it_nulls() {
        let mut far = task("far", "db", Some(i64::MAX));
        assert_eq!(
            TaskQuery::clean(&mut far).out_of_range,
            [("task_time", "created_at")]
        );
    }

    #[test]
    fn the_listing_future_is_send() {
        fn is_send<T: Send>(_: T) {}
        let client = Client::new(ClientConfig {
            region: Some("cn-north-4".into()),
            access_key: "AK".into(),
            secret_key: "SK".into(),
            ..ClientConfig::default()
        })
        .unwrap();
        let (query, cancel) = (TaskQuery::default(), CancellationToken::new());
        is_send(client.list_tasks(&query, &cancel));
    }
}
