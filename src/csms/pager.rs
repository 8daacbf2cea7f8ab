//! The listing engine: the all-pages rules of `../shared/design.md` ("Listing every page") for
//! any marker-paged endpoint, as the aws-sdk paginators do it: one pager owns the loop.
//!
//! An [`Endpoint`] states only what is its own: its path and filters, its page sizes, where a
//! page keeps its items, next marker and total, an item's id, and how to make an item's text
//! inert. [`Pager`] does the rest without I/O: markers, the page-size fallback, the stop rules
//! (a marker that does not advance, an empty page that claims more, repeated ids dropped), the
//! caps on pages and items, and the warnings. [`Client::list`] drives it over HTTP within a
//! deadline, with cancellation and retries, and hands every new item to a [`Sink`], where the
//! endpoint's caller aggregates (so memory follows what the sink keeps, not what was listed).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::{Error, ItemKind, ServiceError};
use super::text::or_dash;
use super::transport::{decode, Budget, Client, Get};

/// Hard cap on pages of one listing (100 million items at 1000 per page), so a server that keeps
/// inventing markers cannot hold a plan for ever. Lowered to `total + 10` once the service
/// reports `total`, since every page that makes progress brings at least one new item.
pub const MAX_PAGES: u32 = 100_000;
/// Cap on the items one listing's sink keeps. At about 1 KB of provider memory per kept task
/// (its encoded state, the copy gRPC makes of it, the index), this keeps the provider near a
/// quarter of a GB; Terraform itself needs several times more for a state that size. Narrow the
/// listing instead of raising it.
pub const MAX_KEPT_ITEMS: usize = 250_000;
/// Cap on the distinct items one listing reads, kept or not: each costs 16 bytes of
/// de-duplication state, and a service that invents items for ever must not grow it for ever.
pub const MAX_LISTED_ITEMS: usize = 2_000_000;

/// One marker-paged list operation of the API under `/v1/{project_id}/`. The value is the
/// query: what its filters are and how large its pages.
pub trait Endpoint: Send + Sync {
    /// A page's body as the service sends it.
    type Body: DeserializeOwned + Send;
    /// One listed item.
    type Item: Send;
    /// How errors, warnings and logs name the items.
    const KIND: &'static ItemKind;
    /// The path after `/v1/{project_id}/`, one decoded segment each: `["csms", "tasks"]`.
    const PATH: &'static [&'static str];

    /// The query pairs of every request besides `limit` and `marker` (its filters).
    fn filters(&self) -> Vec<(String, String)>;
    /// The `limit` to ask for, and what to ask for once if the service refuses it.
    fn page_size(&self) -> PageSize;
    /// Whether the filters name one item (e.g. `task_id`): they are then sent alone, without
    /// `limit` or `marker`, and one page is read whatever it says about more.
    fn single_item(&self) -> bool {
        false
    }
    /// Where a page keeps its items, its next marker and (if the endpoint has one) its total.
    fn page(body: Self::Body) -> Page<Self::Item>;
    /// The item's id: repeats of an id are dropped, warnings name items by it.
    fn id(item: &Self::Item) -> &str;
    /// Makes the item's text inert (see [`super::text`]) and says what did not pass unchanged.
    fn clean(item: &mut Self::Item) -> Inspection;
}

/// The `limit` of a listing's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize {
    pub limit: u32,
    /// Asked for once, when the service answers 400 to the first request: only when the caller
    /// left the page size to the endpoint's default.
    pub fallback: Option<u32>,
}

/// One page as the engine reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Empty or absent ends the listing.
    pub next_marker: Option<String>,
    /// The count of all items the service reports, if the endpoint reports one.
    pub total: Option<i64>,
}

/// What cleaning an item changed, for the warnings that say so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspection {
    /// Text fields in which characters were replaced by U+FFFD.
    pub replaced: Vec<&'static str>,
    /// Time fields the service sent outside what RFC 3339 can express, each with the timestamp
    /// made from it that is therefore null: `("task_time", "created_at")`.
    pub out_of_range: Vec<(&'static str, &'static str)>,
}

/// Where a listing puts the items: each new item (cleaned, its id not seen before in this
/// listing) as its page arrives. The sink decides what to keep: a `Vec`, a window, the newest
/// per group, a caller's compact encoding.
pub trait Sink<T> {
    /// Takes `item`; returns whether it was kept, which counts against [`MAX_KEPT_ITEMS`].
    fn take(&mut self, item: T) -> bool;
}

impl<T> Sink<T> for Vec<T> {
    fn take(&mut self, item: T) -> bool {
        self.push(item);
        true
    }
}

/// Every item of a query, as its sink holds them, and how the listing went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing<S> {
    /// The sink, holding what it kept.
    pub items: S,
    /// Distinct items the service listed, kept or not.
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

impl<S> Listing<S> {
    /// The same listing with its sink turned into what the caller wants to hold.
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> Listing<T> {
        Listing {
            items: f(self.items),
            listed: self.listed,
            total: self.total,
            pages: self.pages,
            requests: self.requests,
            warnings: self.warnings,
        }
    }
}

/// A listing that succeeded but deserves the user's attention.
#[derive(Debug, Clone, PartialEq)]
pub enum ListingWarning {
    /// The service refused the default page size; the listing went on with a smaller one.
    PageSizeRefused {
        kind: &'static ItemKind,
        refused: u32,
        used: u32,
        error: ServiceError,
    },
    /// Items that came back on more than one page were dropped (first occurrence kept).
    DuplicatesDropped { kind: &'static ItemKind, count: u64 },
    /// The service's `total` disagrees with the distinct items it listed.
    TotalMismatch {
        kind: &'static ItemKind,
        reported: i64,
        listed: usize,
    },
    /// Text fields held terminal controls or invisible formatting characters, replaced by
    /// U+FFFD before reaching Terraform.
    ServiceTextReplaced(AlteredItems),
    /// Times outside what RFC 3339 can express: the timestamps made from them (`nulled`) are
    /// null for those items.
    TimeOutOfRange {
        items: AlteredItems,
        nulled: BTreeSet<&'static str>,
    },
}

impl fmt::Display for ListingWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListingWarning::PageSizeRefused {
                refused,
                used,
                error,
                ..
            } => write!(
                f,
                "the service refused limit={refused} ({error}); listing with limit={used} instead"
            ),
            ListingWarning::DuplicatesDropped { kind, count } => write!(
                f,
                "dropped {count} {} that the service returned more than once (same {} on several pages)",
                kind.plural, kind.id_field
            ),
            ListingWarning::TotalMismatch {
                kind,
                reported,
                listed,
            } => write!(
                f,
                "the service reported total={reported} but {listed} distinct {} were listed",
                kind.plural
            ),
            ListingWarning::ServiceTextReplaced(items) => write!(
                f,
                "the service sent terminal control or invisible formatting characters in {items}; \
                 each was replaced by U+FFFD (\u{fffd})"
            ),
            ListingWarning::TimeOutOfRange { items, nulled } => {
                let fields: Vec<&str> = items.fields.iter().copied().collect();
                let nulled: Vec<&str> = nulled.iter().copied().collect();
                write!(
                    f,
                    "the service sent a {} outside the years 0000 to 9999 in {items}, so their {} {} null",
                    fields.join(" or "),
                    nulled.join(" and "),
                    if nulled.len() == 1 { "is" } else { "are" }
                )
            }
        }
    }
}

/// Item ids a warning names before it says "and N more".
pub const IDS_SHOWN: usize = 5;

/// Items of one listing that reached Terraform other than as the service sent them: how many,
/// the first few ids (already cleaned), and which fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlteredItems {
    pub kind: &'static ItemKind,
    pub count: usize,
    /// The first [`IDS_SHOWN`] ids, in the order the service listed them.
    pub first_ids: Vec<String>,
    pub fields: BTreeSet<&'static str>,
}

impl AlteredItems {
    pub fn new(kind: &'static ItemKind) -> Self {
        AlteredItems {
            kind,
            count: 0,
            first_ids: Vec::new(),
            fields: BTreeSet::new(),
        }
    }

    pub fn record(&mut self, id: &str, fields: impl IntoIterator<Item = &'static str>) {
        self.count += 1;
        if self.first_ids.len() < IDS_SHOWN {
            self.first_ids.push(id.to_string());
        }
        self.fields.extend(fields);
    }
}

impl fmt::Display for AlteredItems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.count == 1 {
            self.kind.singular
        } else {
            self.kind.plural
        };
        write!(f, "{} {noun} (", self.count)?;
        for (i, id) in self.first_ids.iter().enumerate() {
            write!(f, "{}{id:?}", if i > 0 { ", " } else { "" })?;
        }
        let more = self.count - self.first_ids.len();
        if more > 0 {
            write!(f, " and {more} more")?;
        }
        let fields: Vec<&str> = self.fields.iter().copied().collect();
        write!(f, "; fields: {})", fields.join(", "))
    }
}

/// The paging state of one listing of `E`, handing new items to the sink `S`.
#[derive(Debug)]
pub struct Pager<E, S> {
    endpoint: E,
    limit: u32,
    /// The page size still to fall back to on a 400 to the first request.
    fallback: Option<u32>,
    marker: Option<String>,
    /// Markers already sent, with the page number they were sent for.
    used_markers: HashMap<String, u32>,
    /// 128-bit hashes of the ids listed (two independently keyed hashes: a collision, which
    /// would drop an item, is as unlikely as a hash can make it).
    seen: HashSet<u128>,
    hashers: (RandomState, RandomState),
    sink: S,
    kept: usize,
    max_kept: usize,
    max_listed: usize,
    total: Option<i64>,
    pages: u32,
    duplicates: u64,
    warnings: Vec<ListingWarning>,
    max_pages: u32,
    done: bool,
}

impl<E: Endpoint, S: Sink<E::Item>> Pager<E, S> {
    /// A pager for the query `endpoint`, handing the items it lists to `sink`.
    pub fn new(endpoint: E, sink: S) -> Self {
        let size = endpoint.page_size();
        Pager {
            limit: size.limit,
            fallback: size.fallback.filter(|_| !endpoint.single_item()),
            endpoint,
            marker: None,
            used_markers: HashMap::new(),
            seen: HashSet::new(),
            hashers: (RandomState::new(), RandomState::new()),
            sink,
            kept: 0,
            max_kept: MAX_KEPT_ITEMS,
            max_listed: MAX_LISTED_ITEMS,
            total: None,
            pages: 0,
            duplicates: 0,
            warnings: Vec::new(),
            max_pages: MAX_PAGES,
            done: false,
        }
    }

    /// Lowers the page cap.
    #[cfg(test)]
    pub fn with_max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Lowers or raises the caps on items kept and listed.
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
        let mut q = self.endpoint.filters();
        if self.endpoint.single_item() {
            return Some(q);
        }
        q.push(("limit".into(), self.limit.to_string()));
        if let Some(m) = &self.marker {
            q.push(("marker".into(), m.clone()));
        }
        Some(q)
    }

    /// The service answered `err` to the current request. Returns `true` when the pager falls
    /// back to the endpoint's smaller page size and the caller should ask again: only for a 400
    /// to the first request, and only once.
    pub fn limit_rejected(&mut self, err: &ServiceError) -> bool {
        if err.status != 400 || self.pages > 0 {
            return false;
        }
        let Some(used) = self.fallback.take() else {
            return false;
        };
        self.warnings.push(ListingWarning::PageSizeRefused {
            kind: E::KIND,
            refused: self.limit,
            used,
            error: err.clone(),
        });
        self.limit = used;
        true
    }

    /// Takes in the page answered to [`next_query`](Self::next_query). Errors on a marker that
    /// does not advance, on an empty page that claims more, and on the caps.
    pub fn accept(&mut self, page: Page<E::Item>) -> Result<(), Error> {
        let kind = E::KIND;
        self.pages += 1;
        self.fallback = None;
        if self.total.is_none() {
            self.total = page.total;
        }
        let received = page.items.len();
        let mut added = 0usize;
        for mut item in page.items {
            let id = E::id(&item);
            let hash = (u128::from(self.hashers.0.hash_one(id)) << 64)
                | u128::from(self.hashers.1.hash_one(id));
            if !self.seen.insert(hash) {
                self.duplicates += 1;
                continue;
            }
            added += 1;
            if self.seen.len() > self.max_listed {
                return Err(Error::TooManyItems {
                    kind,
                    cap: self.max_listed,
                    kept: false,
                });
            }
            let inspection = E::clean(&mut item);
            self.note(E::id(&item), inspection);
            if self.sink.take(item) {
                self.kept += 1;
                if self.kept > self.max_kept {
                    return Err(Error::TooManyItems {
                        kind,
                        cap: self.max_kept,
                        kept: true,
                    });
                }
            }
        }
        let next = page.next_marker.filter(|m| !m.is_empty());
        tracing::debug!(
            page = self.pages,
            count = received,
            new = added,
            marker = %or_dash(self.marker.as_deref()),
            next_marker = %or_dash(next.as_deref()),
            total = %or_dash(page.total),
            "read a page of {}",
            kind.title
        );
        if let Some(m) = self.marker.take() {
            self.used_markers.insert(m, self.pages);
        }
        let single = self.endpoint.single_item();
        let listed = self.seen.len();
        let collected_all = self.total.is_some_and(|t| listed as i64 >= t);
        let short = self.total.filter(|&t| listed < t as usize && t >= 0);
        if let (0, Some(_), Some(total), false) = (received, &next, short, single) {
            // Ending here would return a partial list as if complete; going on would trust a
            // marker that brought nothing.
            return Err(Error::Paging(format!(
                "page {} was empty but named a next_marker while total={total} says {} more {} \
                 remain",
                self.pages,
                total as usize - listed,
                kind.plural,
            )));
        }
        // A full page that names a next marker may hide more items even when `total` says
        // everything has been collected: a `total` that lies low must not cut the list short.
        // One more request settles it (an honest service answers it with an empty page).
        let full = received >= self.limit as usize;
        let next = match next {
            Some(m) if received > 0 && (!collected_all || full) && !single => m,
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
                 the service is repeating pages, stopped after {} distinct {}",
                self.pages,
                self.seen.len(),
                kind.plural,
            )));
        }
        let cap = self.cap();
        if self.pages >= cap {
            return Err(Error::Paging(format!(
                "page cap reached: read {} pages ({} distinct {}{}) and the service still returns a next_marker; \
                 cap {cap} pages{}",
                self.pages,
                self.seen.len(),
                kind.plural,
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

    /// Notes in the warnings what did not pass unchanged: one warning for replaced text, one
    /// for times out of range, each naming the first few items.
    fn note(&mut self, id: &str, inspection: Inspection) {
        if !inspection.replaced.is_empty() {
            let at = self.warning_at(
                |w| matches!(w, ListingWarning::ServiceTextReplaced(_)),
                || ListingWarning::ServiceTextReplaced(AlteredItems::new(E::KIND)),
            );
            if let ListingWarning::ServiceTextReplaced(items) = &mut self.warnings[at] {
                items.record(id, inspection.replaced);
            }
        }
        if !inspection.out_of_range.is_empty() {
            let at = self.warning_at(
                |w| matches!(w, ListingWarning::TimeOutOfRange { .. }),
                || ListingWarning::TimeOutOfRange {
                    items: AlteredItems::new(E::KIND),
                    nulled: BTreeSet::new(),
                },
            );
            if let ListingWarning::TimeOutOfRange { items, nulled } = &mut self.warnings[at] {
                items.record(id, inspection.out_of_range.iter().map(|(field, _)| *field));
                nulled.extend(inspection.out_of_range.iter().map(|(_, made)| *made));
            }
        }
    }

    /// Where the warning `is` finds is, added by `new` on first use.
    fn warning_at(
        &mut self,
        is: impl Fn(&ListingWarning) -> bool,
        new: impl FnOnce() -> ListingWarning,
    ) -> usize {
        match self.warnings.iter().position(is) {
            Some(at) => at,
            None => {
                self.warnings.push(new());
                self.warnings.len() - 1
            }
        }
    }

    /// The listing, with its warnings (logged here, once each); `requests` is the caller's
    /// count of HTTP requests.
    pub fn finish(mut self, requests: u32) -> Listing<S> {
        let kind = E::KIND;
        if self.duplicates > 0 {
            self.warnings.push(ListingWarning::DuplicatesDropped {
                kind,
                count: self.duplicates,
            });
        }
        let listed = self.seen.len();
        if let Some(t) = self.total {
            if t != listed as i64 {
                self.warnings.push(ListingWarning::TotalMismatch {
                    kind,
                    reported: t,
                    listed,
                });
            }
        }
        for w in &self.warnings {
            tracing::warn!("{w}");
        }
        Listing {
            items: self.sink,
            listed,
            total: self.total,
            pages: self.pages,
            requests,
            warnings: self.warnings,
        }
    }
}

impl Client {
    /// Lists every item of the query `endpoint`, page after page (see [`Pager`]), handing each
    /// new item to `sink` as its page arrives, within `timeout`; `cancel` stops it between and
    /// during requests.
    pub async fn list<E: Endpoint, S: Sink<E::Item> + Send>(
        &self,
        endpoint: E,
        timeout: Duration,
        cancel: &CancellationToken,
        sink: S,
    ) -> Result<Listing<S>, Error> {
        self.list_until(endpoint, Instant::now() + timeout, timeout, cancel, sink)
            .await
    }

    /// [`Client::list`] for one of several listings of a read that share its `deadline`: a
    /// deadline that passes names `timeout`, the read's, not what was left of it when this
    /// listing began.
    pub async fn list_until<E: Endpoint, S: Sink<E::Item> + Send>(
        &self,
        endpoint: E,
        deadline: Instant,
        timeout: Duration,
        cancel: &CancellationToken,
        sink: S,
    ) -> Result<Listing<S>, Error> {
        self.list_pages(endpoint, Budget::reporting(deadline, timeout, cancel), sink)
            .await
            .map_err(|e| e.listing(E::KIND))
    }

    async fn list_pages<E: Endpoint, S: Sink<E::Item> + Send>(
        &self,
        endpoint: E,
        budget: Budget<'_>,
        sink: S,
    ) -> Result<Listing<S>, Error> {
        let project = self
            .project_id_within(budget.deadline, budget.cancel)
            .await?;
        let segments: Vec<&str> = ["v1", project.as_str()]
            .into_iter()
            .chain(E::PATH.iter().copied())
            .collect();
        let mut pager = Pager::new(endpoint, sink);
        while let Some(q) = pager.next_query() {
            let request = Get {
                base: &self.endpoint,
                segments: &segments,
                query: &q,
                project: Some(&project),
            };
            let answer = match self.get(&request, &budget).await {
                Ok(a) => a,
                Err(Error::Service(e)) if pager.limit_rejected(&e) => continue,
                Err(e) => return Err(e),
            };
            let body: E::Body = decode(&answer)?;
            drop(answer);
            pager.accept(E::page(body))?;
            budget.pages.store(pager.pages(), Ordering::Relaxed);
        }
        Ok(pager.finish(budget.requests.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csms::text;

    /// An endpoint shaped like ListSecrets: items are names (their own id), no `total` unless a
    /// test gives one, the filters of `filters`.
    struct Names {
        filters: Vec<(String, String)>,
        size: PageSize,
        single: bool,
    }

    impl Endpoint for Names {
        type Body = Vec<String>;
        type Item = String;
        const KIND: &'static ItemKind = &crate::csms::secrets::SECRETS;
        const PATH: &'static [&'static str] = &["secrets"];

        fn filters(&self) -> Vec<(String, String)> {
            self.filters.clone()
        }
        fn page_size(&self) -> PageSize {
            self.size
        }
        fn single_item(&self) -> bool {
            self.single
        }
        fn page(body: Vec<String>) -> Page<String> {
            page(
                &body.iter().map(String::as_str).collect::<Vec<_>>(),
                None,
                None,
            )
        }
        fn id(item: &String) -> &str {
            item
        }
        fn clean(item: &mut String) -> Inspection {
            let mut inspection = Inspection::default();
            if text::clean_in_place(item, text::clean_line) {
                inspection.replaced.push("name");
            }
            if item.starts_with("far") {
                inspection.out_of_range.push(("create_time", "created_at"));
            }
            inspection
        }
    }

    fn names() -> Names {
        Names {
            filters: Vec::new(),
            size: PageSize {
                limit: 1000,
                fallback: Some(50),
            },
            single: false,
        }
    }

    fn sized(limit: u32) -> Names {
        Names {
            size: PageSize {
                limit,
                fallback: None,
            },
            ..names()
        }
    }

    fn pager(endpoint: Names) -> Pager<Names, Vec<String>> {
        Pager::new(endpoint, Vec::new())
    }

    fn page(ids: &[&str], next: Option<&str>, total: Option<i64>) -> Page<String> {
        Page {
            items: ids.iter().map(|i| i.to_string()).collect(),
            next_marker: next.map(String::from),
            total,
        }
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_single_item_query_sends_its_filters_alone_and_reads_one_page() {
        let mut p = pager(Names {
            filters: q(&[("task_id", "t-1")]),
            single: true,
            ..sized(10)
        });
        assert_eq!(p.next_query(), Some(q(&[("task_id", "t-1")])));
        p.accept(page(&["t-1"], Some("t-1"), Some(1))).unwrap();
        assert_eq!(p.next_query(), None);
    }

    #[test]
    fn limit_is_always_sent_and_marker_with_it_after_the_first_page() {
        let mut p = pager(Names {
            filters: q(&[("secret_name", "db"), ("status", "SUCCESS")]),
            ..names()
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
        let mut p = pager(sized(2));
        assert_eq!(p.next_query(), Some(q(&[("limit", "2")])));
        p.accept(page(&["a", "b"], Some("b"), None)).unwrap();
        assert_eq!(p.next_query(), Some(q(&[("limit", "2"), ("marker", "b")])));
    }

    /// ListSecrets has no `total` and may answer fewer items than asked: a short page with a
    /// next marker is followed, and the listing ends on an absent or empty marker.
    #[test]
    fn without_total_short_pages_are_followed_until_the_marker_ends() {
        let mut p = pager(sized(3));
        p.accept(page(&["a"], Some("a"), None)).unwrap();
        assert!(
            p.next_query().is_some(),
            "a short page with a marker is followed"
        );
        p.accept(page(&["b", "c"], Some("c"), None)).unwrap();
        p.accept(page(&["d"], Some(""), None)).unwrap();
        assert!(p.next_query().is_none());
        let l = p.finish(3);
        assert_eq!(l.items, ["a", "b", "c", "d"]);
        assert_eq!((l.listed, l.total, l.pages), (4, None, 3));
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    }

    /// An empty page that names a next marker ends nothing while `total` says more remain.
    #[test]
    fn an_empty_page_with_a_marker_short_of_total_is_an_error() {
        let mut p = pager(names());
        let e = p.accept(page(&[], Some("m"), Some(1_000_000))).unwrap_err();
        assert!(e.to_string().contains("1000000 more secrets remain"), "{e}");
        let mut p = pager(names());
        p.accept(page(&["a"], Some("a"), Some(2))).unwrap();
        assert!(p.accept(page(&[], Some("a2"), Some(2))).is_err());
    }

    /// The sink decides what it keeps; only what it keeps counts against the cap on items
    /// kept, while every distinct item counts against the cap on items listed.
    #[test]
    fn caps_on_items_kept_and_listed_stop_the_listing() {
        let mut p = pager(names()).with_caps(2, 10);
        let e = p
            .accept(page(&["a", "b", "c"], Some("c"), None))
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooManyItems {
                    cap: 2,
                    kept: true,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "the listing would keep more than 2 secrets; stopped reading"
        );

        struct EveryOther(u32);
        impl Sink<String> for EveryOther {
            fn take(&mut self, _: String) -> bool {
                self.0 += 1;
                self.0.is_multiple_of(2)
            }
        }
        let mut p = Pager::new(names(), EveryOther(0)).with_caps(2, 5);
        p.accept(page(&["a", "b", "c", "d", "e"], Some("e"), None))
            .unwrap();
        let e = p.accept(page(&["f"], Some("f"), None)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooManyItems {
                    cap: 5,
                    kept: false,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "the service listed more than 5 secrets; stopped reading"
        );
    }

    #[test]
    fn stops_on_empty_page_absent_or_empty_marker_or_total_reached() {
        for last in [
            page(&[], Some("zz"), None),
            page(&["c"], None, None),
            page(&["c"], Some(""), None),
        ] {
            let mut p = pager(names());
            p.accept(page(&["a", "b"], Some("b"), None)).unwrap();
            p.accept(last).unwrap();
            assert!(p.next_query().is_none());
            assert_eq!(p.finish(2).pages, 2);
        }
        let mut p = pager(names());
        p.accept(page(&["a", "b"], Some("b"), Some(3))).unwrap();
        p.accept(page(&["c"], Some("c"), Some(3))).unwrap();
        assert!(p.next_query().is_none(), "total reached");
        let l = p.finish(2);
        assert_eq!(l.items, ["a", "b", "c"]);
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    }

    #[test]
    fn sticky_marker_is_a_paging_error() {
        let mut p = pager(names());
        p.accept(page(&["a"], Some("a"), None)).unwrap();
        let e = p.accept(page(&["b"], Some("a"), None)).unwrap_err();
        assert!(matches!(e, Error::Paging(_)));
        assert!(e.to_string().contains("did not advance"), "{e}");
        assert!(e.to_string().contains("requested with"), "{e}");
        assert!(e.to_string().contains("after 2 distinct secrets"), "{e}");
    }

    #[test]
    fn looping_marker_is_a_paging_error() {
        let mut p = pager(names());
        p.accept(page(&["a"], Some("A"), None)).unwrap();
        p.accept(page(&["b"], Some("B"), None)).unwrap();
        let e = p.accept(page(&["c"], Some("A"), None)).unwrap_err();
        assert!(e.to_string().contains("did not advance"), "{e}");
        assert!(e.to_string().contains("already used (page 2)"), "{e}");
    }

    #[test]
    fn overlapping_pages_are_deduplicated_with_a_warning() {
        let mut p = pager(names());
        p.accept(page(&["a", "b"], Some("b"), Some(4))).unwrap();
        p.accept(page(&["b", "c"], Some("c"), Some(4))).unwrap();
        p.accept(page(&["c", "d"], Some("d"), Some(4))).unwrap();
        assert!(p.next_query().is_none());
        let l = p.finish(3);
        assert_eq!(l.items, ["a", "b", "c", "d"]);
        assert_eq!(
            l.warnings,
            [ListingWarning::DuplicatesDropped {
                kind: &crate::csms::secrets::SECRETS,
                count: 2
            }]
        );
        assert_eq!(
            l.warnings[0].to_string(),
            "dropped 2 secrets that the service returned more than once (same name on several pages)"
        );
    }

    #[test]
    fn a_total_that_lies_low_does_not_cut_the_list_short() {
        let mut p = pager(sized(2));
        p.accept(page(&["a", "b"], Some("b"), Some(1))).unwrap();
        assert!(
            p.next_query().is_some(),
            "a full page with a marker is followed"
        );
        p.accept(page(&["c"], Some("c"), Some(1))).unwrap();
        assert!(
            p.next_query().is_none(),
            "a short page past total ends the listing"
        );
        let l = p.finish(2);
        assert_eq!(l.items, ["a", "b", "c"]);
        assert_eq!(
            l.warnings[0].to_string(),
            "the service reported total=1 but 3 distinct secrets were listed"
        );
    }

    #[test]
    fn total_mismatch_is_a_warning() {
        let mut p = pager(names());
        p.accept(page(&["a"], Some("a"), Some(5))).unwrap();
        p.accept(page(&[], None, Some(5))).unwrap();
        let l = p.finish(2);
        assert_eq!(l.total, Some(5));
        assert_eq!(
            l.warnings,
            [ListingWarning::TotalMismatch {
                kind: &crate::csms::secrets::SECRETS,
                reported: 5,
                listed: 1
            }]
        );
    }

    #[test]
    fn empty_result() {
        let mut p = pager(names());
        p.accept(page(&[], None, Some(0))).unwrap();
        let l = p.finish(1);
        assert!(l.items.is_empty() && l.warnings.is_empty());
        assert_eq!((l.pages, l.total), (1, Some(0)));
    }

    #[test]
    fn page_cap_without_total() {
        let mut p = pager(names()).with_max_pages(5);
        for i in 0..4 {
            p.accept(page(&[&format!("t{i}")], Some(&format!("m{i}")), None))
                .unwrap();
        }
        let e = p.accept(page(&["t4"], Some("m4"), None)).unwrap_err();
        assert!(
            e.to_string()
                .contains("page cap reached: read 5 pages (5 distinct secrets)"),
            "{e}"
        );
    }

    #[test]
    fn page_cap_derived_from_total_stops_pages_of_repeats() {
        let mut p = pager(names());
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
    fn limit_fallback_only_when_the_endpoint_has_one_first_request_400_once() {
        let bad = ServiceError {
            status: 400,
            ..ServiceError::default()
        };
        let mut p = pager(names());
        assert!(p.limit_rejected(&bad));
        assert_eq!(p.next_query(), Some(q(&[("limit", "50")])));
        assert!(!p.limit_rejected(&bad), "only once");
        let l = p.finish(2);
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert!(
            l.warnings[0].to_string().contains("limit=1000"),
            "{:?}",
            l.warnings
        );

        assert!(
            !pager(sized(1000)).limit_rejected(&bad),
            "no fallback: an explicit page size is kept"
        );
        let single = Names {
            single: true,
            ..names()
        };
        assert!(!pager(single).limit_rejected(&bad), "no limit was sent");

        let mut p = pager(names());
        assert!(!p.limit_rejected(&ServiceError {
            status: 401,
            ..ServiceError::default()
        }));
        p.accept(page(&["a"], Some("a"), None)).unwrap();
        assert!(!p.limit_rejected(&bad), "not after the first page");
    }

    /// Cleaned text and times out of range each make one warning, naming the items by their
    /// cleaned id and the fields involved.
    #[test]
    fn what_cleaning_changed_is_one_warning_per_kind_of_change() {
        let mut p = pager(names());
        p.accept(page(
            &["ok", "a\u{1b}[2J", "far-1", "b\u{202e}", "far-2"],
            None,
            None,
        ))
        .unwrap();
        let l = p.finish(1);
        assert_eq!(l.items[1], "a\u{fffd}[2J");
        let shown: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "the service sent terminal control or invisible formatting characters in 2 \
                 secrets (\"a\u{fffd}[2J\", \"b\u{fffd}\"; fields: name); each was replaced by \
                 U+FFFD (\u{fffd})",
                "the service sent a create_time outside the years 0000 to 9999 in 2 secrets \
                 (\"far-1\", \"far-2\"; fields: create_time), so their created_at is null",
            ]
        );
    }

    #[test]
    fn altered_items_name_the_first_few_and_count_the_rest() {
        let mut a = AlteredItems::new(&crate::csms::secrets::SECRETS);
        for i in 0..7 {
            a.record(&format!("t-{i}"), ["description"]);
        }
        a.record("t-7", ["name"]);
        assert_eq!(
            a.to_string(),
            r#"8 secrets ("t-0", "t-1", "t-2", "t-3", "t-4" and 3 more; fields: description, name)"#
        );
        let mut one = AlteredItems::new(&crate::csms::secrets::SECRETS);
        one.record("x", ["name"]);
        assert_eq!(one.to_string(), r#"1 secret ("x"; fields: name)"#);
    }
}
