//! Marker paging as both listing endpoints do it, independent of HTTP and of the item type:
//! `limit` validation, an exclusive marker naming an item of the stored order, and the page's
//! `next_marker`.
//!
//! - `limit`: default 50, `1..=max_limit`; 0, negative, non-numeric or above the maximum is 400.
//! - `marker`: exclusive; the page starts after the item with that id in stored order. A marker
//!   that is no item's id is 400. A marker naming an item the filters exclude still works (the
//!   page starts after its stored position), as a database cursor would.
//! - `next_marker`: the id of the page's last item when more items follow; absent on the last
//!   page unless [`ListOptions::last_page_marker`] is set (the real service may send it there
//!   too, so clients must also stop on an empty page).

use super::error::ApiError;

/// The API's default page size.
pub const DEFAULT_LIMIT: u32 = 50;

/// Server-side knobs of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOptions {
    /// Largest accepted `limit`.
    pub max_limit: u32,
    /// Send `next_marker` on the last (non-empty) page too.
    pub last_page_marker: bool,
}

/// A page plus what the marker faults need to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<P> {
    pub page: P,
    /// The `marker` of the request, if any.
    pub marker: Option<String>,
    /// Id of the last item of the first page of this query (the marker of page 2).
    pub first_page_end: Option<String>,
    /// Whether no matching item follows this page.
    pub is_last: bool,
}

/// One page cut from `items` (stored order): the matching items after `marker`, at most `limit`.
pub(crate) struct Window<'a, T> {
    pub(crate) items: Vec<&'a T>,
    pub(crate) next_marker: Option<String>,
    /// How many items match, whatever the marker and limit.
    pub(crate) matching: usize,
    pub(crate) listing: Listing<()>,
}

/// `limit` as the request gives it (already without empty values), checked against `max_limit`.
pub(crate) fn limit(raw: Option<&str>, max_limit: u32) -> Result<usize, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT as usize),
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n >= 1 && n <= i64::from(max_limit) => Ok(n as usize),
            _ => Err(ApiError::invalid_parameter(
                "limit",
                &format!("expected an integer from 1 to {max_limit}"),
            )),
        },
    }
}

/// The page of `items` after `marker` (an id, its `id`), of the items `matches` keeps.
/// `noun` names an item in the error for an unknown marker ("task", "secret").
pub(crate) fn window<'a, T>(
    items: &'a [T],
    id: impl Fn(&T) -> &str,
    matches: impl Fn(&T) -> bool,
    marker: Option<&str>,
    limit: usize,
    last_page_marker: bool,
    unknown_marker: &str,
) -> Result<Window<'a, T>, ApiError> {
    let start = match marker {
        None => 0,
        Some(m) => match items.iter().position(|t| id(t) == m) {
            Some(i) => i + 1,
            None => return Err(ApiError::invalid_parameter("marker", unknown_marker)),
        },
    };
    let matching = items.iter().filter(|t| matches(t)).count();
    let first_page_end = items
        .iter()
        .filter(|t| matches(t))
        .take(limit)
        .last()
        .map(|t| id(t).to_string());
    let mut rest = items[start..].iter().filter(|t| matches(t));
    let page: Vec<&T> = rest.by_ref().take(limit).collect();
    let is_last = rest.next().is_none();
    let next_marker = match page.last() {
        Some(t) if !is_last || last_page_marker => Some(id(t).to_string()),
        _ => None,
    };
    Ok(Window {
        items: page,
        next_marker,
        matching,
        listing: Listing {
            page: (),
            marker: marker.map(str::to_string),
            first_page_end,
            is_last,
        },
    })
}

/// What the listing endpoints' tests share.
#[cfg(test)]
pub(crate) mod tests {
    use super::ListOptions;

    /// The documented maximum, no marker on the last page.
    pub(crate) const OPTS: ListOptions = ListOptions {
        max_limit: 1000,
        last_page_marker: false,
    };

    /// A query as the server parses it.
    pub(crate) fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}
