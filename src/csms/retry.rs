//! Which failures are worth another try, how long to wait (exponential backoff with full
//! jitter, or the service's `Retry-After` plus jitter), and the loop that applies it within an
//! overall deadline while honouring cancellation.
//!
//! The incumbents retry too little (the Python SDK: never) or too slowly (the Go provider sleeps
//! minutes on 429 and never retries 5xx). Here: seconds, bounded by `max_retries` and a deadline.
//! Throttling that names its wait (429 with `Retry-After`) is the service pacing its clients, not
//! failing: it is waited out within the deadline, up to [`MAX_THROTTLED_RETRIES`] times, without
//! using up `max_retries`.

use std::future::Future;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::{Error, GaveUp};

/// HTTP statuses worth retrying: throttling and transient server or gateway faults.
pub const RETRYABLE_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// Retries of one request answered 429 with `Retry-After`, on top of `max_retries`: generous,
/// since each such wait is what the service asked for, and bounded so that a service that
/// throttles for ever ends in an error (with `Retry-After: 1`, after about a minute).
pub const MAX_THROTTLED_RETRIES: u32 = 50;

/// Smallest jitter ceiling added to a `Retry-After` wait, so that even `Retry-After: 0` spreads
/// parallel reads apart.
pub const RETRY_AFTER_JITTER_FLOOR: Duration = Duration::from_millis(100);

pub fn is_retryable_status(status: u16) -> bool {
    RETRYABLE_STATUSES.contains(&status)
}

/// How many times and how long to wait between tries.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first try (so at most `max_retries + 1` requests), throttling with
    /// `Retry-After` aside.
    pub max_retries: u32,
    /// Ceiling of the first backoff; doubles with each retry.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
    /// Largest `Retry-After` honoured: a gateway asking for an hour must not hold a plan.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            retry_after_cap: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the backoff before retry number `retry` (0-based): `min(cap, base * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter: a uniform point of `[0, ceiling(retry)]`, `unit` being a sample of `[0, 1)`.
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        self.ceiling(retry).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// The wait before retry number `retry`: the server's `Retry-After` (capped) plus
    /// [`retry_after_jitter`](Self::retry_after_jitter) when given, else the jittered backoff.
    /// A `Retry-After` of zero (or a date in the past) is no wait the service named: it is a
    /// normal backoff step, so that a service answering it at once is not asked again at once.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        match retry_after.filter(|d| !d.is_zero()) {
            Some(d) => {
                let d = d.min(self.retry_after_cap);
                d + Self::retry_after_jitter(d, unit)
            }
            None => self.backoff(retry, unit),
        }
    }

    /// Jitter added to a server-named wait `d`: uniform in `[0, max(d / 2, 100 ms)]`. Readers
    /// throttled together are told the same wait; without jitter they would come back together
    /// and be throttled together again.
    pub fn retry_after_jitter(d: Duration, unit: f64) -> Duration {
        (d / 2)
            .max(RETRY_AFTER_JITTER_FLOOR)
            .mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (a date in the past is zero).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // Some gateways send fractional seconds; accept them rather than ignore the hint.
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How one try failed.
#[derive(Debug)]
pub enum Failure {
    /// Worth another try, after at least `retry_after` when the server said so.
    Retryable {
        error: Error,
        retry_after: Option<Duration>,
    },
    /// 429 with `Retry-After`: retried after that wait (plus jitter) within the deadline, up to
    /// [`MAX_THROTTLED_RETRIES`] times, without counting against `max_retries`.
    Throttled { error: Error, retry_after: Duration },
    /// No connection or no response at all (refused, unreachable, silent): retried like
    /// [`Failure::Retryable`], and evidence that the endpoint is down if it persists.
    Unreachable(Error),
    /// Final (e.g. 400, 401, 404, a malformed body).
    Fatal(Error),
}

/// Why [`run`] stopped without a value, before the error is built.
pub enum Interrupted {
    Cancelled,
    Deadline,
}

/// Calls `attempt(tries)` (`tries`: the requests already made) until it succeeds, fails finally,
/// retries run out, the next wait would cross `deadline`, or `cancel` fires. Cancellation and the
/// deadline also interrupt an attempt in flight and a wait. The final request error carries the
/// retry count.
///
/// `on_interrupt` builds the error for a cancellation or a passed deadline (the caller knows how
/// many pages and requests it has done).
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    deadline: Instant,
    cancel: &CancellationToken,
    mut attempt: F,
    on_interrupt: impl Fn(Interrupted) -> Error,
) -> Result<T, Error>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let (mut retries, mut throttled) = (0u32, 0u32);
    loop {
        if cancel.is_cancelled() {
            return Err(on_interrupt(Interrupted::Cancelled));
        }
        if Instant::now() >= deadline {
            return Err(on_interrupt(Interrupted::Deadline));
        }
        let tries = retries + throttled;
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(on_interrupt(Interrupted::Cancelled)),
            _ = tokio::time::sleep_until(deadline) => return Err(on_interrupt(Interrupted::Deadline)),
            r = attempt(tries) => r,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let (error, wait, counter, limit, exhausted) = match outcome {
            Ok(value) => return Ok(value),
            Err(Failure::Fatal(e)) => return Err(e.with_retries(tries, GaveUp::Final)),
            // A wait the service asks for that outlasts the deadline fails now: waiting part of
            // it and asking again early would only be throttled again.
            Err(Failure::Throttled { error, retry_after }) if retry_after >= left => {
                let gave_up = GaveUp::Deadline {
                    wait: retry_after.as_secs_f64(),
                    left: left.as_secs_f64(),
                    asked: true,
                };
                return Err(error.with_retries(tries, gave_up));
            }
            Err(Failure::Throttled { error, retry_after }) => {
                let wait = policy.delay(throttled, Some(retry_after), fastrand::f64());
                let throttling = GaveUp::Throttling;
                (
                    error,
                    wait,
                    &mut throttled,
                    MAX_THROTTLED_RETRIES,
                    throttling,
                )
            }
            Err(Failure::Retryable { error, retry_after }) => {
                let wait = policy.delay(retries, retry_after, fastrand::f64());
                let spent = GaveUp::MaxRetries;
                (error, wait, &mut retries, policy.max_retries, spent)
            }
            Err(Failure::Unreachable(error)) => {
                let wait = policy.delay(retries, None, fastrand::f64());
                let spent = GaveUp::MaxRetries;
                (error, wait, &mut retries, policy.max_retries, spent)
            }
        };
        if *counter >= limit {
            return Err(error.with_retries(tries, exhausted));
        }
        if wait >= left {
            tracing::warn!(
                retries = tries,
                wait_ms = wait.as_millis() as u64,
                "not retrying: the wait would pass the deadline"
            );
            let gave_up = GaveUp::Deadline {
                wait: wait.as_secs_f64(),
                left: left.as_secs_f64(),
                asked: exhausted == GaveUp::Throttling,
            };
            return Err(error.with_retries(tries, gave_up));
        }
        *counter += 1;
        tracing::debug!(
            retry = tries + 1,
            wait_ms = wait.as_millis() as u64,
            error = %error,
            "retrying after a transient failure"
        );
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(on_interrupt(Interrupted::Cancelled)),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csms::error::ServiceError;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn svc(status: u16) -> Error {
        Error::Service(ServiceError {
            status,
            code: Some("X.1".into()),
            message: Some("m".into()),
            request_id: Some("rid".into()),
            retries: 0,
            gave_up: GaveUp::Final,
        })
    }

    fn interrupted(i: Interrupted) -> Error {
        match i {
            Interrupted::Cancelled => Error::Cancelled,
            Interrupted::Deadline => Error::DeadlineExceeded {
                deadline: Duration::ZERO,
                pages: 0,
                requests: 0,
                listing: None,
            },
        }
    }

    /// Runs [`run`] with tries that all fail with `failure()`, for `within`: the error, the
    /// number of tries, and the time it took.
    async fn always_failing(
        p: &RetryPolicy,
        within: Duration,
        failure: impl Fn() -> Failure,
    ) -> (Error, u32, Duration) {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let err = run(
            p,
            start + within,
            &CancellationToken::new(),
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                let f = failure();
                async move { Err::<(), _>(f) }
            },
            interrupted,
        )
        .await
        .unwrap_err();
        (err, calls.load(Ordering::SeqCst), start.elapsed())
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 501] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_grows_exponentially_within_cap_and_jitter_bounds() {
        let p = RetryPolicy::default();
        assert_eq!(p.ceiling(0), Duration::from_millis(500));
        assert_eq!(p.ceiling(1), Duration::from_secs(1));
        assert_eq!(p.ceiling(3), Duration::from_secs(4));
        assert_eq!(p.ceiling(6), Duration::from_secs(30));
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(30));
        let mut rng = fastrand::Rng::with_seed(7);
        for retry in 0..40 {
            for _ in 0..50 {
                let d = p.backoff(retry, rng.f64());
                assert!(d <= p.ceiling(retry) && d <= p.cap, "{retry}: {d:?}");
            }
        }
        assert_eq!(p.backoff(2, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(2, 0.5), Duration::from_secs(1));
    }

    #[test]
    fn retry_after_wins_over_backoff_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(7)), 0.0),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600)), 0.0),
            Duration::from_secs(60)
        );
        assert_eq!(p.delay(1, None, 0.5), Duration::from_millis(500));
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = httpdate::parse_http_date("Tue, 02 Jan 2024 03:04:05 GMT").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Tue, 02 Jan 2024 03:04:15 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Tue, 02 Jan 2024 03:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-4", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_then_succeeds_within_backoff_bounds() {
        let p = RetryPolicy::default();
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let r = run(
            &p,
            start + Duration::from_secs(600),
            &CancellationToken::new(),
            |_| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 3 {
                        Err(Failure::Retryable {
                            error: svc(503),
                            retry_after: None,
                        })
                    } else {
                        Ok(n)
                    }
                }
            },
            interrupted,
        )
        .await
        .unwrap();
        assert_eq!((r, calls.load(Ordering::SeqCst)), (3, 4), "value and tries");
        // Waits are at most 0.5 + 1 + 2 seconds.
        assert!(
            start.elapsed() <= Duration::from_millis(3500),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after() {
        let p = RetryPolicy::default();
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        run(
            &p,
            start + Duration::from_secs(600),
            &CancellationToken::new(),
            |_| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        Err(Failure::Retryable {
                            error: svc(503),
                            retry_after: Some(Duration::from_secs(7)),
                        })
                    } else {
                        Ok(())
                    }
                }
            },
            interrupted,
        )
        .await
        .unwrap();
        // Seven seconds, plus at most half of them as jitter.
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(7) && waited <= Duration::from_millis(10_500),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_retries_keeping_the_error_and_count() {
        let p = RetryPolicy {
            max_retries: 3,
            ..RetryPolicy::default()
        };
        let (err, calls, _) = always_failing(&p, Duration::from_secs(600), || Failure::Retryable {
            error: svc(502),
            retry_after: None,
        })
        .await;
        assert_eq!(calls, 4);
        let s = err.service().unwrap();
        assert_eq!(
            (
                s.status,
                s.retries,
                s.code.as_deref(),
                s.request_id.as_deref()
            ),
            (502, 3, Some("X.1"), Some("rid"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn fatal_errors_are_not_retried() {
        let (err, calls, _) =
            always_failing(&RetryPolicy::default(), Duration::from_secs(600), || {
                Failure::Fatal(svc(401))
            })
            .await;
        assert_eq!(calls, 1);
        assert_eq!(err.service().unwrap().retries, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_deadline_returns_the_last_error_now() {
        let start = Instant::now();
        let err = run(
            &RetryPolicy::default(),
            start + Duration::from_secs(10),
            &CancellationToken::new(),
            |_| async {
                Err::<(), _>(Failure::Retryable {
                    error: svc(429),
                    retry_after: Some(Duration::from_secs(30)),
                })
            },
            interrupted,
        )
        .await
        .unwrap_err();
        assert_eq!(err.service().unwrap().status, 429);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_interrupts_a_slow_attempt() {
        let start = Instant::now();
        let err = run(
            &RetryPolicy::default(),
            start + Duration::from_secs(10),
            &CancellationToken::new(),
            |_| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            },
            interrupted,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::DeadlineExceeded { .. }), "{err}");
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_interrupts_a_backoff_wait() {
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            c2.cancel();
        });
        let start = Instant::now();
        let err = run(
            &RetryPolicy::default(),
            start + Duration::from_secs(600),
            &cancel,
            |_| async {
                Err::<(), _>(Failure::Retryable {
                    error: svc(503),
                    retry_after: Some(Duration::from_secs(50)),
                })
            },
            interrupted,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err}");
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_gets_jitter_of_half_its_wait_with_a_floor() {
        let p = RetryPolicy::default();
        let one = Duration::from_secs(1);
        assert_eq!(p.delay(0, Some(one), 0.0), one);
        assert_eq!(p.delay(0, Some(one), 1.0), Duration::from_millis(1500));
        assert_eq!(
            p.delay(0, Some(Duration::from_millis(1)), 1.0),
            Duration::from_millis(1) + RETRY_AFTER_JITTER_FLOOR
        );
        // Capped waits get jitter on the capped value.
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600)), 1.0),
            Duration::from_secs(90)
        );
        // Parallel readers told the same wait come back spread out, never before it.
        let mut rng = fastrand::Rng::with_seed(11);
        let waits: Vec<Duration> = (0..50).map(|_| p.delay(0, Some(one), rng.f64())).collect();
        assert!(waits
            .iter()
            .all(|w| *w >= one && *w <= Duration::from_millis(1500)));
        let mut distinct = waits.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 40, "{} distinct waits", distinct.len());
    }

    #[test]
    fn a_zero_retry_after_is_a_backoff_step() {
        let p = RetryPolicy::default();
        for retry in 0..6 {
            assert_eq!(
                p.delay(retry, Some(Duration::ZERO), 0.5),
                p.backoff(retry, 0.5)
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_asked_beyond_the_deadline_fails_at_once_naming_it() {
        let asked = Duration::from_secs(1_000_000_000);
        let (err, calls, took) =
            always_failing(&RetryPolicy::default(), Duration::from_secs(300), || {
                Failure::Throttled {
                    error: svc(429),
                    retry_after: asked,
                }
            })
            .await;
        assert_eq!((calls, took), (1, Duration::ZERO));
        assert_eq!(
            err.service().unwrap().gave_up,
            GaveUp::Deadline {
                wait: asked.as_secs_f64(),
                left: 300.0,
                asked: true
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_reached_is_recorded() {
        let p = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        let within = Duration::from_secs(3600);
        let retryable = || Failure::Retryable {
            error: svc(503),
            retry_after: None,
        };
        let (err, ..) = always_failing(&p, within, retryable).await;
        assert_eq!(err.service().unwrap().gave_up, GaveUp::MaxRetries);
        let (err, calls, _) = always_failing(&p, within, throttled).await;
        assert_eq!(calls, MAX_THROTTLED_RETRIES + 1);
        assert_eq!(err.service().unwrap().gave_up, GaveUp::Throttling);
        let (err, ..) = always_failing(&p, within, || Failure::Fatal(svc(401))).await;
        assert_eq!(err.service().unwrap().gave_up, GaveUp::Final);
    }

    fn throttled() -> Failure {
        Failure::Throttled {
            error: svc(429),
            retry_after: Duration::from_secs(1),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_with_retry_after_does_not_use_up_max_retries() {
        let p = RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        };
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let tries = run(
            &p,
            start + Duration::from_secs(600),
            &CancellationToken::new(),
            |tries| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    assert_eq!(tries, n, "attempt numbers count every request");
                    if n < 10 {
                        Err(throttled())
                    } else {
                        Ok(tries)
                    }
                }
            },
            interrupted,
        )
        .await
        .unwrap();
        assert_eq!(tries, 10);
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(10) && waited <= Duration::from_secs(15),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn endless_throttling_ends_at_its_cap_or_the_deadline() {
        let p = RetryPolicy::default();
        let (err, calls, _) = always_failing(&p, Duration::from_secs(3600), throttled).await;
        assert_eq!(calls, MAX_THROTTLED_RETRIES + 1);
        assert_eq!(err.service().unwrap().retries, MAX_THROTTLED_RETRIES);

        let (err, calls, took) = always_failing(&p, Duration::from_secs(10), throttled).await;
        assert_eq!(err.service().unwrap().status, 429);
        assert!(took < Duration::from_secs(10), "{took:?}");
        // 1 to 1.5 s per wait: between 6 and 10 requests fit in 10 s.
        assert!((6..=10).contains(&calls), "{calls}");
    }

    #[tokio::test(start_paused = true)]
    async fn unreachable_is_retried_and_counted_like_other_failures() {
        let p = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        let (err, calls, _) = always_failing(&p, Duration::from_secs(600), || {
            Failure::Unreachable(Error::Transport {
                url: "u".into(),
                message: "refused".into(),
                timeout: false,
                retries: 0,
            })
        })
        .await;
        assert_eq!(calls, 3);
        assert!(matches!(err, Error::Transport { retries: 2, .. }), "{err}");
    }
}
