//! The all-pages listing rules of `../shared/design.md` ("Listing every page"), as a state
//! machine with no I/O: [`TaskPager`] says which query to send next and judges each page. The
//! client drives it over HTTP; the unit tests below drive it with hand-made pages.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use super::error::{Error, ServiceError};
use super::task::{clean_task, AlteredTasks, SecretTask, TaskPage};
use super::text::or_dash;

/// Page size asked for when the caller sets none: the documented maximum.
pub const DEFAULT_PAGE_SIZE: u32 = 1000;
/// Page size after the service refused [`DEFAULT_PAGE_SIZE`]: the API's own default.
pub const FALLBACK_PAGE_SIZE: u32 = 50;
/// Largest page size the API documents.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Hard cap on pages of one listing (100 million tasks at 1000 per page), so a server that keeps
/// inventing markers cannot hold a plan for ever. Lowered to `total + 10` once the service
/// reports `total`, since every page that makes progress brings at least one new task.
pub const MAX_PAGES: u32 = 100_000;
/// Default cap on the tasks one listing keeps. At about 1 KB of provider memory per kept task
/// (its encoded state, the copy gRPC makes of it, the index), this keeps the provider near a
/// quarter of a GB; Terraform itself needs several times more for a state that size. Narrow the
/// listing with `since`, `secret_name` or `status` instead of raising it.
pub const MAX_KEPT_TASKS: usize = 250_000;
/// Cap on the distinct tasks one listing reads, kept or not: each costs 16 bytes of
/// de-duplication state, and a service that invents tasks for ever must not grow it for ever.
pub const MAX_LISTED_TASKS: usize = 2_000_000;

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
    /// still read, and [`Listing::latest`] still covers every task.
    pub since: Option<i64>,
}

/// Where a listing puts the tasks it keeps, as they arrive: a `Vec`, or a caller's compact store
/// (the provider encodes each task for Terraform at once instead of holding the decoded one).
pub trait TaskSink {
    fn keep(&mut self, task: SecretTask);
}

impl TaskSink for Vec<SecretTask> {
    fn keep(&mut self, task: SecretTask) {
        self.push(task);
    }
}

/// Whether `a` is newer than `b`: later `task_time` (a task without one is oldest), ties by the
/// smaller `task_id`, the order the provider lists tasks in.
pub fn newer(a: &SecretTask, b: &SecretTask) -> bool {
    (a.task_time, std::cmp::Reverse(&a.task_id)) > (b.task_time, std::cmp::Reverse(&b.task_id))
}

/// The API's rule for `limit`: a whole number from 1 to [`MAX_PAGE_SIZE`].
pub fn page_size(n: f64) -> Option<u32> {
    (n.fract() == 0.0 && (1.0..=f64::from(MAX_PAGE_SIZE)).contains(&n)).then_some(n as u32)
}

/// Every task of a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing<S = Vec<SecretTask>> {
    /// The tasks kept (all, or those in the `since` window), in service order, without repeats
    /// (first occurrence of each `task_id` kept).
    pub tasks: S,
    /// The newest task of each secret over every task listed, in or out of the window, by
    /// secret name. Tasks without a `secret_name` are in none.
    pub latest: BTreeMap<String, SecretTask>,
    /// Distinct tasks the service listed, kept or not.
    pub listed: usize,
    /// `total` as the service reported it on the first page that had one.
    pub total: Option<i64>,
    /// Pages read (successful responses).
    pub pages: u32,
    /// HTTP requests sent to CSMS for this listing, retries and the page-size fallback included
    /// (the IAM project lookup is not counted).
    pub requests: u32,
    /// Things the caller should tell the user.
    pub warnings: Vec<ListingWarning>,
}

/// A listing that succeeded but deserves the user's attention.
#[derive(Debug, Clone, PartialEq)]
pub enum ListingWarning {
    /// The service refused the default page size; the listing went on with a smaller one.
    PageSizeRefused {
        refused: u32,
        used: u32,
        error: ServiceError,
    },
    /// Tasks that came back on more than one page were dropped (first occurrence kept).
    DuplicatesDropped(u64),
    /// The service's `total` disagrees with the distinct tasks it listed.
    TotalMismatch { reported: i64, listed: usize },
    /// Text fields held terminal controls or invisible formatting characters, replaced by
    /// U+FFFD before reaching Terraform.
    ServiceTextReplaced(AlteredTasks),
    /// A `task_time` outside what RFC 3339 can express: `created_at` is null for those tasks.
    TaskTimeOutOfRange(AlteredTasks),
}

impl std::fmt::Display for ListingWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListingWarning::PageSizeRefused { refused, used, error } => write!(
                f,
                "the service refused limit={refused} ({error}); listing with limit={used} instead"
            ),
            ListingWarning::DuplicatesDropped(n) => write!(
                f,
                "dropped {n} tasks that the service returned more than once (same task_id on several pages)"
            ),
            ListingWarning::TotalMismatch { reported, listed } => write!(
                f,
                "the service reported total={reported} but {listed} distinct tasks were listed"
            ),
            ListingWarning::ServiceTextReplaced(tasks) => write!(
                f,
                "the service sent terminal control or invisible formatting characters in {tasks}; \
                 each was replaced by U+FFFD (\u{fffd})"
            ),
            ListingWarning::TaskTimeOutOfRange(tasks) => write!(
                f,
                "the service sent a task_time outside the years 0000 to 9999 in {tasks}, so their \
                 created_at is null"
            ),
        }
    }
}

/// Makes `task` inert for Terraform ([`clean_task`]) and notes in the listing's warnings what
/// did not pass unchanged: one warning for replaced text, one for times `created_at` cannot
/// express, each naming the first few tasks.
fn inspect(task: &mut SecretTask, warnings: &mut Vec<ListingWarning>) {
    let cleaned = clean_task(task);
    if !cleaned.is_empty() {
        note(
            warnings,
            ListingWarning::ServiceTextReplaced,
            &task.task_id,
            &cleaned,
        );
    }
    if task.time_out_of_range() {
        note(
            warnings,
            ListingWarning::TaskTimeOutOfRange,
            &task.task_id,
            &["task_time"],
        );
    }
}

/// Records a task in the warning `kind` builds, adding that warning on first use.
fn note(
    warnings: &mut Vec<ListingWarning>,
    kind: fn(AlteredTasks) -> ListingWarning,
    task_id: &str,
    fields: &[&'static str],
) {
    let probe = kind(AlteredTasks::default());
    let same = |w: &ListingWarning| std::mem::discriminant(w) == std::mem::discriminant(&probe);
    let at = match warnings.iter().position(same) {
        Some(at) => at,
        None => {
            warnings.push(probe);
            warnings.len() - 1
        }
    };
    if let ListingWarning::ServiceTextReplaced(tasks) | ListingWarning::TaskTimeOutOfRange(tasks) =
        &mut warnings[at]
    {
        tasks.record(task_id, fields);
    }
}

/// The paging state of one listing, and the aggregation of what it keeps: tasks go to the sink
/// `S` as pages arrive, so memory follows the tasks kept plus one entry per secret.
#[derive(Debug)]
pub struct TaskPager<S = Vec<SecretTask>> {
    query: TaskQuery,
    limit: u32,
    /// Whether a 400 on the first request may still be answered by asking for 50.
    fallback_allowed: bool,
    marker: Option<String>,
    /// Markers already sent, with the page number they were sent for.
    used_markers: HashMap<String, u32>,
    /// 128-bit hashes of the task ids listed (two independently keyed hashes: a collision,
    /// which would drop a task, is as unlikely as a hash can make it).
    seen: HashSet<u128>,
    hashers: (RandomState, RandomState),
    tasks: S,
    kept: usize,
    latest: HashMap<String, SecretTask>,
    max_kept: usize,
    max_listed: usize,
    total: Option<i64>,
    pages: u32,
    duplicates: u64,
    warnings: Vec<ListingWarning>,
    max_pages: u32,
    done: bool,
}

impl TaskPager {
    pub fn new(query: TaskQuery) -> Self {
        TaskPager::with_sink(query, Vec::new())
    }
}

impl<S: TaskSink> TaskPager<S> {
    /// A pager that hands the tasks it keeps to `tasks`.
    pub fn with_sink(query: TaskQuery, tasks: S) -> Self {
        let single = query.task_id.is_some();
        TaskPager {
            limit: query.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
            fallback_allowed: query.page_size.is_none() && !single,
            query,
            marker: None,
            used_markers: HashMap::new(),
            seen: HashSet::new(),
            hashers: (RandomState::new(), RandomState::new()),
            tasks,
            kept: 0,
            latest: HashMap::new(),
            max_kept: MAX_KEPT_TASKS,
            max_listed: MAX_LISTED_TASKS,
            total: None,
            pages: 0,
            duplicates: 0,
            warnings: Vec::new(),
            max_pages: MAX_PAGES,
            done: false,
        }
    }

    /// Lowers the page cap (tests, or callers with tighter budgets).
    pub fn with_max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Lowers or raises the caps on tasks kept and listed.
    #[cfg(test)]
    pub fn with_caps(mut self, max_kept: usize, max_listed: usize) -> Self {
        self.max_kept = max_kept;
        self.max_listed = max_listed;
        self
    }

    /// Pages accepted so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// The query pairs of the next request, or `None` when the listing is complete.
    pub fn next_query(&self) -> Option<Vec<(String, String)>> {
        if self.done {
            return None;
        }
        if let Some(id) = &self.query.task_id {
            return Some(vec![("task_id".into(), id.clone())]);
        }
        let mut q = Vec::with_capacity(4);
        if let Some(name) = &self.query.secret_name {
            q.push(("secret_name".into(), name.clone()));
        }
        if let Some(status) = &self.query.status {
            q.push(("status".into(), status.clone()));
        }
        q.push(("limit".into(), self.limit.to_string()));
        if let Some(m) = &self.marker {
            q.push(("marker".into(), m.clone()));
        }
        Some(q)
    }

    /// The service answered `err` to the current request. Returns `true` when the pager falls
    /// back to [`FALLBACK_PAGE_SIZE`] and the caller should ask again: only for a 400 on the
    /// first request of a listing whose page size the caller left unset, and only once.
    pub fn limit_rejected(&mut self, err: &ServiceError) -> bool {
        if err.status != 400 || !self.fallback_allowed || self.pages > 0 {
            return false;
        }
        self.fallback_allowed = false;
        let warning = ListingWarning::PageSizeRefused {
            refused: self.limit,
            used: FALLBACK_PAGE_SIZE,
            error: err.clone(),
        };
        // Logged with the listing's other warnings when it finishes.
        self.warnings.push(warning);
        self.limit = FALLBACK_PAGE_SIZE;
        true
    }

    /// Takes in the page answered to [`next_query`](Self::next_query). Errors on a marker that
    /// does not advance and on the page cap.
    pub fn accept(&mut self, page: TaskPage) -> Result<(), Error> {
        self.pages += 1;
        self.fallback_allowed = false;
        if self.total.is_none() {
            self.total = page.total;
        }
        let received = page.tasks.len();
        let mut added = 0usize;
        for mut task in page.tasks {
            let id = &task.task_id;
            let hash = (u128::from(self.hashers.0.hash_one(id)) << 64)
                | u128::from(self.hashers.1.hash_one(id));
            if !self.seen.insert(hash) {
                self.duplicates += 1;
                continue;
            }
            added += 1;
            if self.seen.len() > self.max_listed {
                return Err(Error::TooManyTasks {
                    cap: self.max_listed,
                    kept: false,
                });
            }
            inspect(&mut task, &mut self.warnings);
            self.take(task)?;
        }
        let next = page.next_marker.filter(|m| !m.is_empty());
        tracing::debug!(
            page = self.pages,
            count = received,
            new = added,
            marker = %or_dash(self.marker.as_deref()),
            next_marker = %or_dash(next.as_deref()),
            total = %or_dash(page.total),
            "read a page of rotation tasks"
        );
        if let Some(m) = self.marker.take() {
            self.used_markers.insert(m, self.pages);
        }
        let listed = self.seen.len();
        let collected_all = self.total.is_some_and(|t| listed as i64 >= t);
        let short = self.total.filter(|&t| listed < t as usize && t >= 0);
        if let (0, Some(_), Some(total), None) = (received, &next, short, &self.query.task_id) {
            // Ending here would return a partial list as if complete; going on would trust a
            // marker that brought nothing.
            return Err(Error::Paging(format!(
                "page {} was empty but named a next_marker while total={total} says {} more tasks \
                 remain; no partial list is returned",
                self.pages,
                total as usize - listed,
            )));
        }
        // A full page that names a next marker may hide more tasks even when `total` says
        // everything has been collected: a `total` that lies low must not cut the list short.
        // One more request settles it (an honest service answers it with an empty page).
        let full = received >= self.limit as usize;
        let next = match next {
            Some(m) if received > 0 && (!collected_all || full) && self.query.task_id.is_none() => {
                m
            }
            _ => {
                self.done = true;
                return Ok(());
            }
        };
        if let Some(&used_for) = self.used_markers.get(&next) {
            let what = if used_for == self.pages {
                "the marker this page was requested with"
            } else {
                "a marker already used"
            };
            return Err(Error::Paging(format!(
                "the marker did not advance: page {} returned next_marker {next:?}, {what} (page {used_for}); \
                 the service is repeating pages, stopped after {} distinct tasks",
                self.pages,
                self.seen.len()
            )));
        }
        let cap = self.cap();
        if self.pages >= cap {
            return Err(Error::Paging(format!(
                "page cap reached: read {} pages ({} distinct tasks{}) and the service still returns a next_marker; \
                 cap {cap} pages{}",
                self.pages,
                self.seen.len(),
                self.total.map(|t| format!(" of total {t}")).unwrap_or_default(),
                if self.total.is_some() { ", derived from total" } else { "" },
            )));
        }
        self.marker = Some(next);
        Ok(())
    }

    fn cap(&self) -> u32 {
        match self.total {
            Some(t) if t >= 0 => self
                .max_pages
                .min(t.saturating_add(10).min(u32::MAX as i64) as u32),
            _ => self.max_pages,
        }
    }

    /// Keeps `task` if it is in the window, and makes it its secret's newest if it is.
    fn take(&mut self, task: SecretTask) -> Result<(), Error> {
        let in_window = match self.query.since {
            Some(since) => task.task_time.is_some_and(|t| t >= since),
            None => true,
        };
        if let Some(name) = task.secret_name.as_deref() {
            match self.latest.get_mut(name) {
                Some(newest) if newer(&task, newest) => *newest = task.clone(),
                Some(_) => {}
                None => {
                    self.latest.insert(name.to_string(), task.clone());
                }
            }
        }
        if in_window {
            if self.kept == self.max_kept {
                return Err(Error::TooManyTasks {
                    cap: self.max_kept,
                    kept: true,
                });
            }
            self.kept += 1;
            self.tasks.keep(task);
        }
        Ok(())
    }

    /// Whether no request is left to send.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The listing, with its warnings; `requests` is the caller's count of HTTP requests.
    pub fn finish(mut self, requests: u32) -> Listing<S> {
        if self.duplicates > 0 {
            self.warnings
                .push(ListingWarning::DuplicatesDropped(self.duplicates));
        }
        let listed = self.seen.len();
        if let Some(t) = self.total {
            if t != listed as i64 {
                self.warnings.push(ListingWarning::TotalMismatch {
                    reported: t,
                    listed,
                });
            }
        }
        for w in &self.warnings {
            tracing::warn!("{w}");
        }
        Listing {
            tasks: self.tasks,
            latest: self.latest.into_iter().collect(),
            listed,
            total: self.total,
            pages: self.pages,
            requests,
            warnings: self.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str) -> SecretTask {
        SecretTask {
            task_id: id.into(),
            ..SecretTask::default()
        }
    }

    fn page(ids: &[&str], next: Option<&str>, total: Option<i64>) -> TaskPage {
        TaskPage {
            total,
            tasks: ids.iter().map(|i| task(i)).collect(),
            next_marker: next.map(String::from),
        }
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ids(l: &Listing) -> Vec<&str> {
        l.tasks.iter().map(|t| t.task_id.as_str()).collect()
    }

    #[test]
    fn task_id_is_sent_alone_and_reads_one_page() {
        let mut p = TaskPager::new(TaskQuery {
            task_id: Some("t-1".into()),
            secret_name: Some("s".into()),
            status: Some("FAILED".into()),
            page_size: Some(10),
            since: None,
        });
        assert_eq!(p.next_query(), Some(q(&[("task_id", "t-1")])));
        p.accept(page(&["t-1"], Some("t-1"), Some(1))).unwrap();
        assert_eq!(p.next_query(), None);
    }

    #[test]
    fn limit_is_always_sent_and_marker_with_it_after_the_first_page() {
        let mut p = TaskPager::new(TaskQuery {
            secret_name: Some("db".into()),
            status: Some("SUCCESS".into()),
            ..TaskQuery::default()
        });
        assert_eq!(
            p.next_query(),
            Some(q(&[
                ("secret_name", "db"),
                ("status", "SUCCESS"),
                ("limit", "1000")
            ]))
        );
        p.accept(page(&["a", "b"], Some("b"), None)).unwrap();
        assert_eq!(
            p.next_query(),
            Some(q(&[
                ("secret_name", "db"),
                ("status", "SUCCESS"),
                ("limit", "1000"),
                ("marker", "b")
            ]))
        );
        let mut p = TaskPager::new(TaskQuery {
            page_size: Some(2),
            ..TaskQuery::default()
        });
        assert_eq!(p.next_query(), Some(q(&[("limit", "2")])));
        p.accept(page(&["a", "b"], Some("b"), None)).unwrap();
        assert_eq!(p.next_query(), Some(q(&[("limit", "2"), ("marker", "b")])));
    }

    /// An empty page that names a next marker ends nothing while `total` says more remain.
    #[test]
    fn an_empty_page_with_a_marker_short_of_total_is_an_error() {
        let mut p = TaskPager::new(TaskQuery::default());
        let e = p.accept(page(&[], Some("m"), Some(1_000_000))).unwrap_err();
        assert!(e.to_string().contains("1000000 more tasks remain"), "{e}");
        let mut p = TaskPager::new(TaskQuery::default());
        p.accept(page(&["a"], Some("a"), Some(2))).unwrap();
        assert!(p.accept(page(&[], Some("a2"), Some(2))).is_err());
    }

    #[test]
    fn caps_on_tasks_kept_and_listed_stop_the_listing() {
        let mut p = TaskPager::new(TaskQuery::default()).with_caps(2, 10);
        let e = p
            .accept(page(&["a", "b", "c"], Some("c"), None))
            .unwrap_err();
        assert!(
            matches!(e, Error::TooManyTasks { cap: 2, kept: true }),
            "{e}"
        );
        let windowed = TaskQuery {
            since: Some(5),
            ..TaskQuery::default()
        };
        let mut p = TaskPager::new(windowed).with_caps(2, 3);
        let e = p
            .accept(page(&["a", "b", "c", "d"], Some("d"), None))
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooManyTasks {
                    cap: 3,
                    kept: false
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn stops_on_empty_page_absent_or_empty_marker_or_total_reached() {
        for (last, expect_pages) in [
            (page(&[], Some("zz"), None), 2),
            (page(&["c"], None, None), 2),
            (page(&["c"], Some(""), None), 2),
        ] {
            let mut p = TaskPager::new(TaskQuery::default());
            p.accept(page(&["a", "b"], Some("b"), None)).unwrap();
            p.accept(last).unwrap();
            assert!(p.is_done());
            assert_eq!(p.finish(2).pages, expect_pages);
        }
        let mut p = TaskPager::new(TaskQuery::default());
        p.accept(page(&["a", "b"], Some("b"), Some(3))).unwrap();
        p.accept(page(&["c"], Some("c"), Some(3))).unwrap();
        assert!(p.is_done(), "total reached");
        let l = p.finish(2);
        assert_eq!(ids(&l), ["a", "b", "c"]);
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    }

    #[test]
    fn sticky_marker_is_a_paging_error() {
        let mut p = TaskPager::new(TaskQuery::default());
        p.accept(page(&["a"], Some("a"), None)).unwrap();
        let e = p.accept(page(&["b"], Some("a"), None)).unwrap_err();
        assert!(matches!(e, Error::Paging(_)));
        assert!(e.to_string().contains("did not advance"), "{e}");
        assert!(e.to_string().contains("requested with"), "{e}");
    }

    #[test]
    fn looping_marker_is_a_paging_error() {
        let mut p = TaskPager::new(TaskQuery::default());
        p.accept(page(&["a"], Some("A"), None)).unwrap();
        p.accept(page(&["b"], Some("B"), None)).unwrap();
        let e = p.accept(page(&["c"], Some("A"), None)).unwrap_err();
        assert!(e.to_string().contains("did not advance"), "{e}");
        assert!(e.to_string().contains("already used (page 2)"), "{e}");
    }

    #[test]
    fn overlapping_pages_are_deduplicated_with_a_warning() {
        let mut p = TaskPager::new(TaskQuery::default());
        p.accept(page(&["a", "b"], Some("b"), Some(4))).unwrap();
        p.accept(page(&["b", "c"], Some("c"), Some(4))).unwrap();
        p.accept(page(&["c", "d"], Some("d"), Some(4))).unwrap();
        assert!(p.is_done());
        let l = p.finish(3);
        assert_eq!(ids(&l), ["a", "b", "c", "d"]);
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert_eq!(l.warnings, [ListingWarning::DuplicatesDropped(2)]);
    }

    #[test]
    fn a_total_that_lies_low_does_not_cut_the_list_short() {
        let mut p = TaskPager::new(TaskQuery {
            page_size: Some(2),
            ..TaskQuery::default()
        });
        p.accept(page(&["a", "b"], Some("b"), Some(1))).unwrap();
        assert!(!p.is_done(), "a full page with a marker is followed");
        p.accept(page(&["c"], Some("c"), Some(1))).unwrap();
        assert!(p.is_done(), "a short page past total ends the listing");
        let l = p.finish(2);
        assert_eq!(ids(&l), ["a", "b", "c"]);
        assert_eq!(
            l.warnings[0].to_string(),
            "the service reported total=1 but 3 distinct tasks were listed"
        );
    }

    #[test]
    fn total_mismatch_is_a_warning() {
        let mut p = TaskPager::new(TaskQuery::default());
        p.accept(page(&["a"], Some("a"), Some(5))).unwrap();
        p.accept(page(&[], None, Some(5))).unwrap();
        let l = p.finish(2);
        assert_eq!(l.total, Some(5));
        assert_eq!(
            l.warnings,
            [ListingWarning::TotalMismatch {
                reported: 5,
                listed: 1
            }]
        );
    }

    #[test]
    fn empty_result() {
        let mut p = TaskPager::new(TaskQuery::default());
        p.accept(page(&[], None, Some(0))).unwrap();
        let l = p.finish(1);
        assert!(l.tasks.is_empty() && l.warnings.is_empty());
        assert_eq!((l.pages, l.total), (1, Some(0)));
    }

    #[test]
    fn page_cap_without_total() {
        let mut p = TaskPager::new(TaskQuery::default()).with_max_pages(5);
        for i in 0..4 {
            p.accept(page(&[&format!("t{i}")], Some(&format!("m{i}")), None))
                .unwrap();
        }
        let e = p.accept(page(&["t4"], Some("m4"), None)).unwrap_err();
        assert!(
            e.to_string().contains("page cap reached: read 5 pages"),
            "{e}"
        );
    }

    #[test]
    fn page_cap_derived_from_total_stops_pages_of_repeats() {
        let mut p = TaskPager::new(TaskQuery::default());
        let mut err = None;
        for i in 0..100 {
            if let Err(e) = p.accept(page(&["same"], Some(&format!("m{i}")), Some(3))) {
                err = Some((i, e));
                break;
            }
        }
        let (i, e) = err.expect("the cap must stop the listing");
        assert_eq!(i + 1, 13, "cap = total + 10");
        assert!(e.to_string().contains("derived from total"), "{e}");
    }

    #[test]
    fn limit_fallback_only_for_unset_page_size_first_request_400_once() {
        let bad = ServiceError {
            status: 400,
            ..ServiceError::default()
        };
        let mut p = TaskPager::new(TaskQuery::default());
        assert!(p.limit_rejected(&bad));
        assert_eq!(p.next_query(), Some(q(&[("limit", "50")])));
        assert!(!p.limit_rejected(&bad), "only once");
        let l = p.finish(2);
        assert!(
            l.warnings[0].to_string().contains("limit=1000"),
            "{:?}",
            l.warnings
        );

        let mut p = TaskPager::new(TaskQuery {
            page_size: Some(1000),
            ..TaskQuery::default()
        });
        assert!(!p.limit_rejected(&bad), "explicit page_size is kept");

        let mut p = TaskPager::new(TaskQuery::default());
        assert!(!p.limit_rejected(&ServiceError {
            status: 401,
            ..ServiceError::default()
        }));
        p.accept(page(&["a"], Some("a"), None)).unwrap();
        assert!(!p.limit_rejected(&bad), "not after the first page");
    }

    #[test]
    fn page_size_rule() {
        for (n, ok) in [
            (0.0, None),
            (1.0, Some(1)),
            (1000.0, Some(1000)),
            (1001.0, None),
            (10.5, None),
            (-1.0, None),
        ] {
            assert_eq!(page_size(n), ok, "{n}");
        }
    }
}
