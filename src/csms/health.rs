//! [`Health`]: the client's shared, expiring verdict that an endpoint is down.
//!
//! Terraform reads every data source of a plan through one provider process, so one [`Client`]
//! serves them all. When one request has found an endpoint unreachable or silent (its retries
//! spent on refused connections or on waits for a response that never came), every other read
//! would wait the same timeouts out only to fail the same way: instead they fail at once, with
//! that cause, until the verdict expires or a request to the endpoint succeeds.
//!
//! [`Client`]: super::Client

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::error::Error;

/// Verdicts per endpoint origin (`scheme://host:port`), each lasting `down_for`.
#[derive(Debug)]
pub(crate) struct Health {
    down_for: Duration,
    verdicts: Mutex<HashMap<String, Verdict>>,
}

/// Why an endpoint is considered down, and since when.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    /// The failure as the request that found it reported it (without its URL).
    message: String,
    timeout: bool,
    since: Instant,
    down_for: Duration,
}

impl Health {
    pub(crate) fn new(down_for: Duration) -> Health {
        Health {
            down_for,
            verdicts: Mutex::new(HashMap::new()),
        }
    }

    /// The verdict on `origin` while it lasts.
    pub(crate) fn verdict(&self, origin: &str) -> Option<Verdict> {
        let mut verdicts = self.verdicts.lock().unwrap_or_else(|e| e.into_inner());
        match verdicts.get(origin) {
            Some(v) if v.since.elapsed() < self.down_for => Some(v.clone()),
            Some(_) => {
                verdicts.remove(origin);
                None
            }
            None => None,
        }
    }

    /// Records that a request to `origin` ended in `error` without any answer.
    pub(crate) fn down(&self, origin: &str, error: &Error) {
        let Error::Transport {
            message, timeout, ..
        } = error
        else {
            return;
        };
        if self.down_for.is_zero() {
            return;
        }
        tracing::debug!(origin, error = %error, "endpoint considered down");
        let verdict = Verdict {
            message: message.clone(),
            timeout: *timeout,
            since: Instant::now(),
            down_for: self.down_for,
        };
        self.verdicts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(origin.to_string(), verdict);
    }

    /// A request to `origin` got an answer: whatever was said about it no longer holds.
    pub(crate) fn up(&self, origin: &str) {
        let mut verdicts = self.verdicts.lock().unwrap_or_else(|e| e.into_inner());
        if verdicts.remove(origin).is_some() {
            tracing::debug!(origin, "endpoint answered again");
        }
    }
}

impl Verdict {
    /// The error of a request to `url` not sent because of this verdict: the same cause, and
    /// why it was not tried.
    pub(crate) fn error(&self, url: &str) -> Error {
        Error::Transport {
            url: url.to_string(),
            message: format!(
                "{}; not sent: another request to this endpoint ended this way {:.0}s ago, so requests \
                 to it fail at once for {}s unless one gets through",
                self.message,
                self.since.elapsed().as_secs_f64(),
                self.down_for.as_secs()
            ),
            timeout: self.timeout,
            retries: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://kms.example.com";

    fn refused() -> Error {
        Error::Transport {
            url: format!("{ORIGIN}/v1/p/csms/tasks"),
            message: "cannot connect: connection refused".into(),
            timeout: false,
            retries: 5,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_verdict_gives_the_cause_to_other_requests_until_it_expires() {
        let health = Health::new(Duration::from_secs(60));
        assert!(health.verdict(ORIGIN).is_none());
        health.down(ORIGIN, &refused());
        tokio::time::sleep(Duration::from_secs(59)).await;
        let e = health.verdict(ORIGIN).expect("still down").error("u");
        let Error::Transport {
            url,
            message,
            timeout,
            retries,
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!((url.as_str(), *timeout, *retries), ("u", false, 0));
        assert!(
            message.starts_with("cannot connect: connection refused; not sent:"),
            "{message}"
        );
        assert!(
            message.contains("59s ago") && message.contains("60s"),
            "{message}"
        );
        assert!(health.verdict("https://other.example.com").is_none());
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(health.verdict(ORIGIN).is_none(), "expired");
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_clears_the_verdict() {
        let health = Health::new(Duration::from_secs(60));
        health.down(ORIGIN, &refused());
        assert!(health.verdict(ORIGIN).is_some());
        health.up(ORIGIN);
        assert!(health.verdict(ORIGIN).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn only_failures_without_an_answer_make_a_verdict() {
        let health = Health::new(Duration::from_secs(60));
        health.down(ORIGIN, &Error::Paging("x".into()));
        assert!(health.verdict(ORIGIN).is_none());
        let off = Health::new(Duration::ZERO);
        off.down(ORIGIN, &refused());
        assert!(
            off.verdict(ORIGIN).is_none(),
            "down_for 0 turns verdicts off"
        );
    }
}
