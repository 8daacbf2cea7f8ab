//! Data sets: generated (deterministic per seed), the demo set, or a JSON file.
//!
//! Stored order is never time order: clients must sort, as they must against the real service.

use crate::csms::task::SecretTask;

/// Project id used when none is configured (32 hex digits, like a real one).
pub const DEFAULT_PROJECT_ID: &str = "0123456789abcdef0123456789abcdef";
/// Region used when none is configured.
pub const DEFAULT_REGION: &str = "cn-north-4";

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Secrets the generator draws from; names follow `^[a-zA-Z0-9_-]{1,64}$`.
const SECRET_POOL: &[&str] = &[
    "prod-db-password",
    "staging-db-password",
    "payments-api-key",
    "reporting_readonly",
    "redis-auth-token",
    "ci-deploy-token",
    "ldap-bind-password",
    "kafka-sasl-secret",
    "smtp-relay-password",
    "analytics_warehouse",
    "oauth-client-secret",
    "legacy-api-key",
];

/// `(task_error_code, task_error_msg)` of failed rotations. The service publishes no list of
/// these; they are plausible FunctionGraph and CSMS failures.
const FAILURES: &[(&str, &str)] = &[
    (
        "FSS.0500",
        "The rotation function returned an error: connection to the database timed out.",
    ),
    (
        "CSMS.0701",
        "The rotation function did not set the new secret version to SYSCURRENT.",
    ),
    (
        "FSS.0429",
        "The rotation function was throttled by FunctionGraph; retries exhausted.",
    ),
    (
        "CSMS.0702",
        "Rotation failed: the new credentials were rejected by the target service.",
    ),
];

/// Where the generated tasks live, and the instant they lead up to.
#[derive(Debug, Clone)]
pub struct DataSpec {
    pub region: String,
    pub project_id: String,
    /// The newest possible `task_time`, epoch milliseconds.
    pub now_ms: i64,
    /// How many days before `now_ms` generated tasks spread over: a year of history shows what
    /// a `since` window saves.
    pub span_days: u32,
}

impl Default for DataSpec {
    /// Default region and project; `now_ms` is the current time rounded down to the hour, so
    /// that the same seed gives the same data for an hour while "the past weeks" stay recent.
    fn default() -> Self {
        let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        DataSpec {
            region: DEFAULT_REGION.into(),
            project_id: DEFAULT_PROJECT_ID.into(),
            now_ms: now - now.rem_euclid(HOUR_MS),
            span_days: 28,
        }
    }
}

/// `n` tasks for [`DataSpec::default`]; see [`generate_with`].
pub fn generate(n: usize, seed: u64) -> Vec<SecretTask> {
    generate_with(n, seed, &DataSpec::default())
}

/// `n` tasks, the same for the same `seed` and `spec`: a few secrets (3 to 12, more for larger
/// `n`), about one task in five FAILED with an error code and message, `task_time` spread over
/// the `spec.span_days` days before `spec.now_ms` (whole seconds), stored in random order.
pub fn generate_with(n: usize, seed: u64, spec: &DataSpec) -> Vec<SecretTask> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let secrets = (n / 15).clamp(3, SECRET_POOL.len()).min(n.max(1));
    let mut pool: Vec<&str> = SECRET_POOL.to_vec();
    rng.shuffle(&mut pool);
    pool.truncate(secrets);
    (0..n)
        .map(|_| {
            let secret = pool[rng.usize(..pool.len())];
            let failed = rng.u8(..5) == 0;
            let time = spec.now_ms - rng.i64(0..i64::from(spec.span_days.max(1)) * DAY_MS);
            task(&mut rng, spec, secret, failed, time - time.rem_euclid(1000))
        })
        .collect()
}

/// The demo data set: a handful of well-known secrets rotated weekly over the past weeks, in
/// shuffled order. The latest rotation of `prod-db-password` SUCCEEDED and the latest rotation
/// of `legacy-api-key` FAILED (both also have older tasks of the other status); the demo's
/// postconditions rely on exactly these two facts.
pub fn demo(spec: &DataSpec) -> Vec<SecretTask> {
    use Outcome::{Failed as F, Success as S};
    // Oldest first; the last entry is the latest rotation.
    let history: &[(&str, &[Outcome])] = &[
        ("prod-db-password", &[S, S, F, S, S]),
        ("legacy-api-key", &[S, S, S, F, F]),
        ("staging-db-password", &[S, S, S, S]),
        ("payments-api-key", &[S, F, S]),
        ("reporting_readonly", &[S, S]),
    ];
    let mut rng = fastrand::Rng::with_seed(0xDE30);
    let mut tasks = Vec::new();
    for (i, (secret, outcomes)) in history.iter().enumerate() {
        // The latest rotation of each secret happened 1 to 2 days ago, weekly before that.
        let latest = spec.now_ms - DAY_MS - (i as i64) * 3 * HOUR_MS;
        for (age, outcome) in outcomes.iter().rev().enumerate() {
            let time = latest - (age as i64) * 7 * DAY_MS;
            let failed = matches!(outcome, Outcome::Failed);
            tasks.push(task(
                &mut rng,
                spec,
                secret,
                failed,
                time - time.rem_euclid(1000),
            ));
        }
    }
    rng.shuffle(&mut tasks);
    tasks
}

/// Reads a JSON array of `SecretTask` objects (the API's field names).
pub fn load(path: &std::path::Path) -> Result<Vec<SecretTask>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let tasks: Vec<SecretTask> = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a JSON array of SecretTask objects: {e}",
            path.display()
        )
    })?;
    let mut seen = std::collections::HashSet::new();
    for t in &tasks {
        if !seen.insert(t.task_id.as_str()) {
            return Err(format!(
                "{}: task_id {:?} appears twice (markers need unique ids)",
                path.display(),
                t.task_id
            ));
        }
    }
    Ok(tasks)
}

enum Outcome {
    Success,
    Failed,
}

fn task(
    rng: &mut fastrand::Rng,
    spec: &DataSpec,
    secret: &str,
    failed: bool,
    time_ms: i64,
) -> SecretTask {
    let task_id = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        rng.u32(..),
        rng.u16(..),
        rng.u16(..0x1000),
        0x8000 | rng.u16(..0x4000),
        rng.u64(..1 << 48)
    );
    let operate_type = if secret.contains("password") || secret.contains("readonly") {
        "MULTI_USER"
    } else {
        "SINGLE_USER"
    };
    let (error, attempts) = if failed {
        (Some(FAILURES[rng.usize(..FAILURES.len())]), 3)
    } else {
        (None, if rng.u8(..4) == 0 { 2 } else { 1 })
    };
    SecretTask {
        task_id,
        secret_name: Some(secret.to_string()),
        rotation_func_urn: Some(format!(
            "urn:fss:{}:{}:function:default:rotate-{secret}:latest",
            spec.region, spec.project_id
        )),
        task_status: Some(if failed { "FAILED" } else { "SUCCESS" }.to_string()),
        operate_type: Some(operate_type.to_string()),
        task_time: Some(time_ms),
        attempt_nums: Some(attempts),
        task_error_code: error.map(|(c, _)| c.to_string()),
        task_error_msg: error.map(|(_, m)| m.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::listing::valid_secret_name;
    use std::collections::{HashMap, HashSet};

    fn spec() -> DataSpec {
        DataSpec {
            region: "cn-north-4".into(),
            project_id: "p".repeat(32),
            now_ms: 1_750_000_000_000,
            span_days: 28,
        }
    }

    #[test]
    fn same_seed_same_data_different_seed_different_data() {
        let a = generate_with(237, 7, &spec());
        assert_eq!(a, generate_with(237, 7, &spec()));
        assert_ne!(a, generate_with(237, 8, &spec()));
        assert_eq!(a.len(), 237);
    }

    #[test]
    fn generated_data_is_plausible() {
        let s = spec();
        let tasks = generate_with(500, 1, &s);
        let ids: HashSet<_> = tasks.iter().map(|t| &t.task_id).collect();
        assert_eq!(ids.len(), 500, "task ids are unique");
        let names: HashSet<_> = tasks.iter().filter_map(|t| t.secret_name.clone()).collect();
        assert!(names.len() >= 3, "several secrets: {names:?}");
        assert!(names.iter().all(|n| valid_secret_name(n)));
        let failed: Vec<_> = tasks
            .iter()
            .filter(|t| t.task_status.as_deref() == Some("FAILED"))
            .collect();
        assert!((50..200).contains(&failed.len()), "{} failed", failed.len());
        assert!(failed
            .iter()
            .all(|t| t.task_error_code.is_some() && t.task_error_msg.is_some()));
        for t in &tasks {
            let time = t.task_time.unwrap();
            assert!(time <= s.now_ms && time > s.now_ms - 28 * DAY_MS);
            let urn = t.rotation_func_urn.as_deref().unwrap();
            assert!(urn.starts_with(&format!("urn:fss:cn-north-4:{}:function:", s.project_id)));
        }
        let times: Vec<_> = tasks.iter().map(|t| t.task_time.unwrap()).collect();
        let mut sorted = times.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_ne!(times, sorted, "stored order is not newest first");
    }

    #[test]
    fn demo_latest_rotations_are_as_the_demo_expects() {
        let tasks = demo(&spec());
        let mut latest: HashMap<&str, &SecretTask> = HashMap::new();
        for t in &tasks {
            let name = t.secret_name.as_deref().unwrap();
            if latest.get(name).is_none_or(|l| l.task_time < t.task_time) {
                latest.insert(name, t);
            }
        }
        let status = |n: &str| latest[n].task_status.as_deref().unwrap();
        assert_eq!(status("prod-db-password"), "SUCCESS");
        assert_eq!(status("legacy-api-key"), "FAILED");
        assert!(latest["legacy-api-key"].task_error_code.is_some());
        assert_eq!(demo(&spec()), tasks, "deterministic");
    }

    #[test]
    fn load_rejects_duplicate_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        std::fs::write(&path, r#"[{"task_id":"a"},{"task_id":"a"}]"#).unwrap();
        assert!(load(&path).unwrap_err().contains("twice"));
        std::fs::write(&path, r#"[{"task_id":"a","task_time":5},{"task_id":"b"}]"#).unwrap();
        assert_eq!(load(&path).unwrap().len(), 2);
        std::fs::write(&path, r#"{"tasks":[]}"#).unwrap();
        assert!(load(&path).unwrap_err().contains("JSON array"));
    }
}
