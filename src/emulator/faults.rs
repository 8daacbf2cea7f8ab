//! Faults injected into the listing endpoints (ListSecretTask and ListSecrets), applied the same
//! way to both: before the listing (latency, throttling, failures), to its `next_marker`, and to
//! the answer on its way out (cut, reset, empty, gzip bomb).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_ENCODING, RETRY_AFTER};
use hyper::{Response, StatusCode};

use super::error::ApiError;
use super::http::{cut_response, error_response, html_error, json_response, ResBody};
use super::paging::{ListOptions, Listing};
use super::state::Shared;
use super::wire;

/// What the faults need of a listing endpoint's page.
pub(crate) trait FaultyPage {
    /// The page's `next_marker`, which the marker faults bend.
    fn next_marker(&mut self) -> &mut Option<String>;
    /// The page's `total`, which `total_delta` bends; `None` for an endpoint without one.
    fn total(&mut self) -> Option<&mut i64>;
    /// The page as the service writes it.
    fn body(&self) -> Vec<u8>;
}

/// Serves one listing request: counts it on `counter`, lets the faults answer first where they
/// hit, asks `list` for the page under the configured [`ListOptions`], then bends and sends it.
pub(crate) async fn serve<P: FaultyPage>(
    shared: &Shared,
    reset: &AtomicBool,
    counter: &AtomicU64,
    request_id: &str,
    list: impl FnOnce(ListOptions) -> Result<Listing<P>, ApiError>,
) -> Response<ResBody> {
    let draw = match before(shared, counter, request_id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let opts = ListOptions {
        max_limit: shared.config.max_limit,
        last_page_marker: shared.config.last_page_marker,
    };
    let Listing {
        mut page,
        marker,
        first_page_end,
        is_last,
    } = match list(opts) {
        Ok(l) => l,
        Err(e) => return error_response(&e, request_id),
    };
    let cursor = Listing {
        page: (),
        marker,
        first_page_end,
        is_last,
    };
    let faults = &shared.config.faults;
    let next = page.next_marker().take();
    *page.next_marker() = steer(faults, &cursor, next);
    if let Some(total) = page.total() {
        *total = (*total + faults.total_delta).max(0);
    }
    draw.answer(reset, || page.body()).await
}

/// Faults injected into the listing responses, ListSecretTask and ListSecrets alike (never into
/// the IAM lookup or into error responses the request earns on its own: a bad signature or bad
/// parameter is answered first).
///
/// The `*_every: Some(n)` faults hit requests number n, 2n, 3n, ... of each listing endpoint
/// (counted per endpoint from 1; every request counts, including failed ones). When several hit
/// the same request the first in this order wins: `throttle_every` and `throttle_percent`,
/// `fail_every`, `reset_every`, `truncate_every`, `empty_every`. `latency`, the marker faults and
/// `total_delta` apply to every request (the marker faults and `total_delta` to every successful
/// page).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// `(n, status)`: answer every nth request with `status` and a JSON error body
    /// (429/502/503/504 with the gateway's codes, others with `CSMS.0{status}`).
    pub fail_every: Option<(u32, u16)>,
    /// With `fail_every`: answer with an HTML error page (`text/html`) instead of JSON, as a
    /// load balancer in front of the service would.
    pub html_errors: bool,
    /// Every nth request: 429 `APIGW.0308` with `Retry-After: retry_after_secs`.
    pub throttle_every: Option<u32>,
    /// Each request, independently with this probability in percent (1..=100): the same 429 as
    /// `throttle_every`. A gateway throttling a share of the traffic, not a pattern.
    pub throttle_percent: Option<u8>,
    /// `Retry-After` seconds of throttled responses.
    pub retry_after_secs: u32,
    /// Delay before answering each request.
    pub latency: Duration,
    /// `next_marker` never advances: a page fetched with marker M says `next_marker` M again
    /// (the first page is normal). Takes precedence over `looping_marker`.
    pub sticky_marker: bool,
    /// `next_marker` loops: the third and later pages, and the last page, point back to the end
    /// of the first page, so pages 2, 3, 2, 3, ... repeat forever.
    pub looping_marker: bool,
    /// Every nth request: 200 with the full `Content-Length` but only half the JSON body, then
    /// the connection is closed (FIN).
    pub truncate_every: Option<u32>,
    /// Every nth request: like `truncate_every`, but the connection is reset (RST).
    pub reset_every: Option<u32>,
    /// Every nth request: 200 with an empty body (`Content-Length: 0`).
    pub empty_every: Option<u32>,
    /// Added to every task page's `total` (a lying service); the result is at least 0. ListSecrets
    /// has no `total`.
    pub total_delta: i64,
}

/// One listing request's draw of the faults: which number it is.
struct Draw<'a> {
    shared: &'a Shared,
    n: u64,
}

impl Draw<'_> {
    fn hits(&self, every: Option<u32>) -> bool {
        every.is_some_and(|e| e > 0 && self.n.is_multiple_of(u64::from(e)))
    }
}

/// Counts the request on `counter`, waits the latency, and answers it at once when throttling
/// or `fail_every` hits it.
async fn before<'a>(
    shared: &'a Shared,
    counter: &AtomicU64,
    request_id: &str,
) -> Result<Draw<'a>, Response<ResBody>> {
    let faults = &shared.config.faults;
    let draw = Draw {
        shared,
        n: counter.fetch_add(1, Ordering::Relaxed) + 1,
    };
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let throttled_by_chance = faults
        .throttle_percent
        .is_some_and(|p| fastrand::u8(0..100) < p);
    if draw.hits(faults.throttle_every) || throttled_by_chance {
        let mut r = error_response(&ApiError::injected(429), request_id);
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(faults.retry_after_secs));
        return Err(r);
    }
    if let Some((every, status)) = faults.fail_every {
        if draw.hits(Some(every)) {
            return Err(if faults.html_errors {
                html_error(status)
            } else {
                error_response(&ApiError::injected(status), request_id)
            });
        }
    }
    Ok(draw)
}

/// The page's `next_marker` as the marker faults bend it.
fn steer(faults: &Faults, listing: &Listing<()>, next_marker: Option<String>) -> Option<String> {
    if faults.sticky_marker {
        if let Some(m) = &listing.marker {
            return Some(m.clone());
        }
    } else if faults.looping_marker && listing.marker.is_some() {
        let second_page = listing.marker == listing.first_page_end;
        if !second_page || listing.is_last {
            return listing.first_page_end.clone();
        }
    }
    next_marker
}

impl Draw<'_> {
    /// 200 with the page `body` encodes, unless the gzip bomb or a cut, reset or empty fault takes
    /// its place (the bomb's answer never encodes the page it does not send).
    async fn answer(
        &self,
        reset: &AtomicBool,
        body: impl FnOnce() -> Vec<u8>,
    ) -> Response<ResBody> {
        let (faults, wire_state) = (&self.shared.config.faults, &self.shared.wire);
        if let Some(mib) = self.shared.config.wire.gzip_bomb_mib {
            let mut r = json_response(StatusCode::OK, wire::bomb(wire_state, mib).await);
            wire_state.gzipped.fetch_add(1, Ordering::Relaxed);
            r.headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            return r;
        }
        let json = Bytes::from(body());
        if self.hits(faults.reset_every) {
            reset.store(true, Ordering::Relaxed);
            return cut_response(json);
        }
        if self.hits(faults.truncate_every) {
            return cut_response(json);
        }
        if self.hits(faults.empty_every) {
            return json_response(StatusCode::OK, Bytes::new());
        }
        json_response(StatusCode::OK, json)
    }
}
