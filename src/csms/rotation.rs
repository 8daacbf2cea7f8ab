//! Is a secret rotating on schedule? The verdict of one secret from its settings and the history
//! of its rotation tasks, at an instant, with a grace period. Pure: no I/O and no Terraform.
//!
//! The history is folded as tasks stream past ([`Histories`]): per secret only the newest task
//! and the newest successful one are kept, so memory grows with secrets, never with tasks.
//!
//! Due time: the service's `next_rotation_time` when it gives one; otherwise the newest of (the
//! newest successful task, `rotation_time`, `create_time`) plus `rotation_period`. The verdict
//! is the first that applies of [`Verdict::ALL`]'s order.

use std::collections::HashMap;
use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::pager::Sink;
use super::secret::{self, Secret};
use super::task::SecretTask;
pub use super::tasks::History;

/// A secret's standing, in the order they are tried: the first that applies is the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// A name the check asked for that no secret has.
    Missing,
    /// The secret exists but the service does not rotate it: `auto_rotation` off or the secret
    /// not `ENABLED`.
    NotRotating,
    /// Neither `next_rotation_time` nor a readable `rotation_period` with a time to count from.
    Unknown,
    /// The newest rotation task failed.
    Failed,
    /// Later than due plus the grace period.
    Overdue,
    Healthy,
}

impl Verdict {
    pub const ALL: [Verdict; 6] = [
        Verdict::Missing,
        Verdict::NotRotating,
        Verdict::Unknown,
        Verdict::Failed,
        Verdict::Overdue,
        Verdict::Healthy,
    ];

    /// The name users compare against (`"OVERDUE"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Missing => "MISSING",
            Verdict::NotRotating => "NOT_ROTATING",
            Verdict::Unknown => "UNKNOWN",
            Verdict::Failed => "FAILED",
            Verdict::Overdue => "OVERDUE",
            Verdict::Healthy => "HEALTHY",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The histories of every secret named by the tasks folded in so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histories {
    pub by_secret: HashMap<String, History>,
}

impl Histories {
    /// Folds `task` into its secret's history; a task without `secret_name` belongs to none and
    /// is left out. True when the task opened a secret's history: what memory grows with.
    pub fn add(&mut self, task: SecretTask) -> bool {
        let Some(name) = &task.secret_name else {
            return false;
        };
        match self.by_secret.get_mut(name) {
            Some(history) => {
                history.add(task);
                false
            }
            None => {
                let name = name.clone();
                self.by_secret.entry(name).or_default().add(task);
                true
            }
        }
    }
}

/// A task listing folds into the histories as it streams: a task counts as kept (against the
/// listing's cap) only when it opens a secret's history.
impl Sink<SecretTask> for Histories {
    fn take(&mut self, task: SecretTask) -> bool {
        self.add(task)
    }
}

/// The verdict on one secret and what it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// When the next rotation is (or was) due; `None` when it cannot be told.
    pub due: Option<OffsetDateTime>,
    /// How far `as_of` is past due plus grace, in whole seconds; 0 unless [`Verdict::Overdue`].
    pub overdue_seconds: i64,
    /// One sentence a person can act on: what, since when, and for a failure the task's error.
    pub reason: String,
}

/// What a check asks: at which instant, with how much grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub as_of: OffsetDateTime,
    pub grace: Duration,
}

impl Check {
    /// The verdict on the secret named `name`: `secret` is what ListSecrets said of it (`None`:
    /// no such secret), `history` its tasks.
    pub fn judge(&self, name: &str, secret: Option<&Secret>, history: &History) -> Judgement {
        let Some(secret) = secret else {
            return Judgement::new(
                Verdict::Missing,
                None,
                format!(
                    "No secret named {name:?} exists in this project: check the name, the \
                     region and the project."
                ),
            );
        };
        let due = due(secret, history);
        if !secret.rotates() {
            return Judgement::new(Verdict::NotRotating, due.ok(), not_rotating(secret));
        }
        let due = match due {
            Ok(due) => due,
            Err(why) => return Judgement::new(Verdict::Unknown, None, why),
        };
        let last_success = match history.last_success.as_ref().and_then(task_time) {
            Some(t) => format!("the last successful rotation was at {}", rfc3339(t)),
            None => "no rotation task has succeeded".to_string(),
        };
        if let Some(latest) = history
            .latest
            .as_ref()
            .filter(|t| t.task_status.as_deref() == Some("FAILED"))
        {
            let at = task_time(latest).map_or_else(
                || "at an unknown time".into(),
                |t| format!("at {}", rfc3339(t)),
            );
            let error = match (&latest.task_error_code, &latest.task_error_msg) {
                (Some(code), Some(msg)) => format!("{code}: {}", one_line(msg)),
                (Some(code), None) => code.clone(),
                (None, Some(msg)) => one_line(msg),
                (None, None) => "no error code or message".into(),
            };
            return Judgement::new(
                Verdict::Failed,
                Some(due),
                format!(
                    "The newest rotation (task {}, {at}) failed with {error}; {last_success}.",
                    latest.task_id
                ),
            );
        }
        let deadline = due.checked_add(self.grace).unwrap_or(due);
        if self.as_of > deadline {
            let late = self.as_of - deadline;
            let mut j = Judgement::new(
                Verdict::Overdue,
                Some(due),
                format!(
                    "Rotation was due at {} and is {} past it beyond the {} grace period; \
                     {last_success}.",
                    rfc3339(due),
                    human(late),
                    human(self.grace)
                ),
            );
            j.overdue_seconds = late.whole_seconds();
            return j;
        }
        Judgement::new(
            Verdict::Healthy,
            Some(due),
            format!("Next rotation due at {}.", rfc3339(due)),
        )
    }
}

impl Judgement {
    fn new(verdict: Verdict, due: Option<OffsetDateTime>, reason: String) -> Self {
        Judgement {
            verdict,
            due,
            overdue_seconds: 0,
            reason,
        }
    }
}

/// The due time, or why there is none (a sentence for [`Verdict::Unknown`]).
pub fn due(secret: &Secret, history: &History) -> Result<OffsetDateTime, String> {
    if let Some(next) = secret.next_rotation_time.and_then(secret::instant) {
        return Ok(next);
    }
    let period = match secret.rotation_period.as_deref() {
        None => {
            return Err(
                "The service gives no next rotation time and the secret has no \
                 rotation_period, so when it is due is unknown: set a rotation period."
                    .into(),
            )
        }
        Some(p) => secret::rotation_period_seconds(p).ok_or_else(|| {
            format!(
                "The rotation_period {p:?} is not a whole number followed by d, h, m or s and \
                 the service gives no next rotation time, so when it is due is unknown: set a \
                 valid rotation period."
            )
        })?,
    };
    let since = [
        history.last_success.as_ref().and_then(task_time),
        secret.rotation_time.and_then(secret::instant),
        secret.create_time.and_then(secret::instant),
    ]
    .into_iter()
    .flatten()
    .max()
    .ok_or_else(|| {
        "The service gives no next rotation time and the secret has no rotation, creation or \
         successful task time to count its rotation_period from, so when it is due is unknown."
            .to_string()
    })?;
    since
        .checked_add(Duration::seconds(period))
        .filter(|t| t.year() <= 9999)
        .ok_or_else(|| {
            format!(
                "The rotation_period {:?} puts the next rotation beyond the year 9999, so when \
                 it is due is unknown: set a valid rotation period.",
                secret.rotation_period.as_deref().unwrap_or_default()
            )
        })
}

fn not_rotating(secret: &Secret) -> String {
    if secret.auto_rotation != Some(true) {
        return "Automatic rotation is off for this secret: turn it on, or stop checking this \
                name."
            .into();
    }
    match secret.state.as_deref() {
        Some(state) => format!(
            "The secret is {state}, not ENABLED, so the service does not rotate it: enable it, \
             or stop checking this name."
        ),
        None => "The service gives no state for this secret, so it is not known to rotate: \
                 check the secret, or stop checking this name."
            .into(),
    }
}

/// A task's `task_time` (epoch milliseconds) as an instant.
fn task_time(task: &SecretTask) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(task.task_time?) * 1_000_000).ok()
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// `2d 3h 5m`, `45s`: whole units, the largest three that are not zero; `0s` for nothing.
fn human(d: Duration) -> String {
    let total = d.whole_seconds().max(0);
    let parts: Vec<String> = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")]
        .iter()
        .scan(total, |rest, &(unit, name)| {
            let n = *rest / unit;
            *rest %= unit;
            Some((n, name))
        })
        .filter(|(n, _)| *n > 0)
        .take(3)
        .map(|(n, name)| format!("{n}{name}"))
        .collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// A message that may span lines, on one line.
/// The service's message as a clause of the reason: on one line, and without the full stop it
/// often ends with, which the reason's own "; ..." would follow.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['.', ' '])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-05 12:00 UTC);
    const DAY_MS: i64 = 86_400_000;

    fn ms(t: OffsetDateTime) -> i64 {
        (t.unix_timestamp_nanos() / 1_000_000) as i64
    }

    fn check() -> Check {
        Check {
            as_of: NOW,
            grace: Duration::hours(1),
        }
    }

    fn rotating(period: &str) -> Secret {
        Secret {
            name: "db".into(),
            state: Some("ENABLED".into()),
            auto_rotation: Some(true),
            rotation_period: Some(period.into()),
            create_time: Some(ms(NOW) - 100 * DAY_MS),
            ..Secret::default()
        }
    }

    fn task(id: &str, status: &str, at: OffsetDateTime) -> SecretTask {
        SecretTask {
            task_id: id.into(),
            secret_name: Some("db".into()),
            task_status: Some(status.into()),
            task_time: Some(ms(at)),
            ..SecretTask::default()
        }
    }

    fn history(tasks: Vec<SecretTask>) -> History {
        let mut h = History::default();
        for t in tasks {
            h.add(t);
        }
        h
    }

    #[test]
    fn history_keeps_the_newest_task_and_the_newest_success() {
        let h = history(vec![
            task("a", "SUCCESS", NOW - Duration::days(9)),
            task("c", "FAILED", NOW - Duration::days(1)),
            task("b", "SUCCESS", NOW - Duration::days(2)),
            task("d", "FAILED", NOW - Duration::days(5)),
        ]);
        assert_eq!(h.latest.unwrap().task_id, "c");
        assert_eq!(h.last_success.unwrap().task_id, "b");
        let mut all = Histories::default();
        assert!(all.add(task("x", "SUCCESS", NOW - Duration::days(1))));
        assert!(!all.add(task("y", "SUCCESS", NOW)), "the same secret again");
        assert!(!all.add(SecretTask {
            task_id: "orphan".into(),
            ..SecretTask::default()
        }));
        assert_eq!(all.by_secret.len(), 1);
        assert_eq!(all.by_secret["db"].latest.as_ref().unwrap().task_id, "y");
    }

    #[test]
    fn missing_comes_first() {
        let j = check().judge("nope", None, &History::default());
        assert_eq!(
            (j.verdict, j.due, j.overdue_seconds),
            (Verdict::Missing, None, 0)
        );
        assert!(j.reason.contains("\"nope\""), "{}", j.reason);
    }

    #[test]
    fn not_rotating_when_off_or_not_enabled_even_if_failed_or_late() {
        let failed = history(vec![task("t", "FAILED", NOW - Duration::days(400))]);
        let mut off = rotating("30d");
        off.auto_rotation = Some(false);
        let j = check().judge("db", Some(&off), &failed);
        assert_eq!(j.verdict, Verdict::NotRotating);
        assert!(
            j.reason.contains("Automatic rotation is off"),
            "{}",
            j.reason
        );
        assert!(j.due.is_some(), "the due time is still reported");
        let mut disabled = rotating("30d");
        disabled.state = Some("PENDING_DELETE".into());
        let j = check().judge("db", Some(&disabled), &failed);
        assert_eq!(j.verdict, Verdict::NotRotating);
        assert!(
            j.reason.contains("PENDING_DELETE, not ENABLED"),
            "{}",
            j.reason
        );
    }

    #[test]
    fn unknown_without_next_rotation_time_and_a_readable_period() {
        let failed = history(vec![task("t", "FAILED", NOW)]);
        for (period, needle) in [
            (Some("1mo"), "\"1mo\" is not a whole number"),
            (Some("30"), "\"30\" is not a whole number"),
            (None, "no rotation_period"),
        ] {
            let mut s = rotating("x");
            s.rotation_period = period.map(str::to_string);
            let j = check().judge("db", Some(&s), &failed);
            assert_eq!((j.verdict, j.due), (Verdict::Unknown, None), "{period:?}");
            assert!(j.reason.contains(needle), "{period:?}: {}", j.reason);
        }
        let mut nothing_to_count_from = rotating("30d");
        nothing_to_count_from.create_time = Some(0);
        let j = check().judge("db", Some(&nothing_to_count_from), &History::default());
        assert_eq!(j.verdict, Verdict::Unknown);
        assert!(
            j.reason.contains("count its rotation_period from"),
            "{}",
            j.reason
        );
        let mut huge = rotating("99999999999d");
        huge.rotation_time = Some(ms(NOW));
        let j = check().judge("db", Some(&huge), &History::default());
        assert_eq!(j.verdict, Verdict::Unknown, "{}", j.reason);
        let mut given = rotating("1mo");
        given.next_rotation_time = Some(ms(NOW + Duration::days(3)));
        assert_eq!(
            check()
                .judge("db", Some(&given), &History::default())
                .verdict,
            Verdict::Healthy,
            "next_rotation_time alone is enough"
        );
    }

    #[test]
    fn failed_when_the_newest_task_failed_with_its_error_in_the_reason() {
        let mut s = rotating("7d");
        s.next_rotation_time = Some(ms(NOW + Duration::days(6)));
        let mut failing = task("t-9", "FAILED", datetime!(2026-12-05 09:30 UTC));
        failing.task_error_code = Some("FSS.0500".into());
        // The service's own full stop does not end up before the reason's "; ...".
        failing.task_error_msg = Some("connection timed out\nafter 3 attempts.".into());
        let h = history(vec![
            task("t-1", "SUCCESS", datetime!(2026-11-28 09:30 UTC)),
            failing,
        ]);
        let j = check().judge("db", Some(&s), &h);
        assert_eq!((j.verdict, j.overdue_seconds), (Verdict::Failed, 0));
        assert_eq!(
            j.reason,
            "The newest rotation (task t-9, at 2026-12-05T09:30:00Z) failed with FSS.0500: \
             connection timed out after 3 attempts; the last successful rotation was at \
             2026-11-28T09:30:00Z."
        );
        let h = history(vec![
            task("t-2", "FAILED", NOW - Duration::days(1)),
            task("t-3", "SUCCESS", NOW),
        ]);
        assert_eq!(
            check().judge("db", Some(&s), &h).verdict,
            Verdict::Healthy,
            "an older failure does not count"
        );
        let bare = history(vec![task("t-4", "FAILED", NOW)]);
        let j = check().judge("db", Some(&s), &bare);
        assert!(
            j.reason.contains("no error code or message")
                && j.reason.contains("no rotation task has succeeded"),
            "{}",
            j.reason
        );
    }

    #[test]
    fn overdue_past_due_plus_grace_counted_in_seconds() {
        let mut s = rotating("7d");
        s.next_rotation_time = Some(ms(NOW - Duration::hours(3)));
        let j = check().judge("db", Some(&s), &History::default());
        assert_eq!(j.verdict, Verdict::Overdue);
        assert_eq!(j.overdue_seconds, 2 * 3600);
        assert_eq!(j.due, Some(NOW - Duration::hours(3)));
        assert_eq!(
            j.reason,
            "Rotation was due at 2026-12-05T09:00:00Z and is 2h past it beyond the 1h grace \
             period; no rotation task has succeeded."
        );
        let within_grace = Check {
            grace: Duration::hours(3),
            ..check()
        };
        let j = within_grace.judge("db", Some(&s), &History::default());
        assert_eq!((j.verdict, j.overdue_seconds), (Verdict::Healthy, 0));
        let exactly = Check {
            as_of: NOW - Duration::hours(2),
            ..check()
        };
        assert_eq!(
            exactly.judge("db", Some(&s), &History::default()).verdict,
            Verdict::Healthy,
            "at due + grace exactly: not later"
        );
    }

    #[test]
    fn due_counts_the_period_from_the_newest_of_success_rotation_and_creation() {
        let mut s = rotating("30d");
        s.create_time = Some(ms(NOW - Duration::days(100)));
        s.rotation_time = Some((ms(NOW - Duration::days(50))) / 1000);
        assert_eq!(
            due(&s, &History::default()),
            Ok(NOW - Duration::days(20)),
            "rotation_time in seconds"
        );
        let h = history(vec![task("t", "SUCCESS", NOW - Duration::days(10))]);
        assert_eq!(due(&s, &h), Ok(NOW + Duration::days(20)));
        s.next_rotation_time = Some(ms(NOW + Duration::days(2)));
        assert_eq!(
            due(&s, &h),
            Ok(NOW + Duration::days(2)),
            "the service's own wins"
        );
        s.next_rotation_time = Some(0);
        assert_eq!(due(&s, &h), Ok(NOW + Duration::days(20)), "0 is none");
        let j = check().judge("db", Some(&rotating("90m")), &h);
        assert_eq!(j.verdict, Verdict::Overdue);
        assert_eq!(j.overdue_seconds, 10 * 86_400 - 150 * 60);
        assert!(j.reason.contains("9d 21h 30m past it"), "{}", j.reason);
    }

    #[test]
    fn healthy_names_the_next_due_time() {
        let mut s = rotating("7d");
        s.next_rotation_time = Some(ms(datetime!(2026-12-09 00:00 UTC)));
        let j = check().judge("db", Some(&s), &history(vec![task("t", "SUCCESS", NOW)]));
        assert_eq!(j.verdict, Verdict::Healthy);
        assert_eq!(j.reason, "Next rotation due at 2026-12-09T00:00:00Z.");
    }

    #[test]
    fn verdict_names_in_order() {
        let names: Vec<&str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(
            names,
            [
                "MISSING",
                "NOT_ROTATING",
                "UNKNOWN",
                "FAILED",
                "OVERDUE",
                "HEALTHY"
            ]
        );
        assert_eq!(human(Duration::seconds(0)), "0s");
        assert_eq!(human(Duration::seconds(90_061)), "1d 1h 1m");
    }
}
