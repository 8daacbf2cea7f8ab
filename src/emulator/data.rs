//! Data sets: generated (deterministic per seed), the demo set, or a JSON file; tasks and the
//! secrets they rotate.
//!
//! Stored order is never time order nor name order: clients must sort, as they must against the
//! real service. Secrets' times are milliseconds, as the service's examples show, except where a
//! demo secret uses seconds, as the SDK documents, so that clients read both.

use crate::csms::secret::Secret;
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

/// The secrets of the demo set, one per verdict a rotation check can give at the data set's
/// `now_ms` with the default one-hour grace:
///
/// | secret | rotation | verdict |
/// |---|---|---|
/// | `prod-db-password` (RDS-FG), `staging-db-password` (times in seconds), `payments-api-key` | weekly or monthly, last success a day or two ago | HEALTHY |
/// | `legacy-api-key` | weekly; its newest task FAILED | FAILED |
/// | `ldap-bind-password` | monthly, last rotated 60 days ago, no task since and no `next_rotation_time`: the schedule silently stopped | OVERDUE |
/// | `reporting_readonly` | `rotation_period` `"1mo"`, which is no period, and no `next_rotation_time` | UNKNOWN |
/// | `smtp-relay-password` | `auto_rotation` off | NOT_ROTATING |
/// | `ci-deploy-token` | rotation on but the secret `DISABLED` | NOT_ROTATING |
///
/// A name that is not here (`does-not-exist`) is MISSING when a check names it.
pub fn demo_secrets(spec: &DataSpec) -> Vec<Secret> {
    let tasks = demo(spec);
    let last_success = |name: &str| {
        tasks
            .iter()
            .filter(|t| {
                t.secret_name.as_deref() == Some(name)
                    && t.task_status.as_deref() == Some("SUCCESS")
            })
            .filter_map(|t| t.task_time)
            .max()
    };
    let mut rng = fastrand::Rng::with_seed(0x5EC2);
    let now = spec.now_ms;
    let mut rotating = |name: &str, period: &str, period_ms: i64| {
        let rotated = last_success(name).expect("demo secrets with tasks have a success");
        let mut s = secret(&mut rng, spec, name, now - 200 * DAY_MS);
        s.auto_rotation = Some(true);
        s.rotation_period = Some(period.into());
        s.rotation_time = Some(rotated);
        s.next_rotation_time = Some(rotated + period_ms);
        s
    };
    let mut prod = rotating("prod-db-password", "7d", 7 * DAY_MS);
    prod.secret_type = Some("RDS-FG".into());
    prod.rotation_config = Some(
        r#"{"InstanceId":"6c1a2b3c4d5e4f60a1b2c3d4e5f60718in01","SecretSubType":"MultiUser"}"#
            .into(),
    );
    prod.event_subscriptions = Some(vec!["prod-rotation-events".into()]);
    let mut staging = rotating("staging-db-password", "168h", 7 * DAY_MS);
    for t in [
        &mut staging.create_time,
        &mut staging.update_time,
        &mut staging.rotation_time,
        &mut staging.next_rotation_time,
    ] {
        *t = t.map(|ms| ms / 1000);
    }
    let payments = rotating("payments-api-key", "30d", 30 * DAY_MS);
    let legacy = rotating("legacy-api-key", "7d", 7 * DAY_MS);
    let mut reporting = rotating("reporting_readonly", "1mo", 0);
    reporting.next_rotation_time = None;
    let mut ldap = secret(&mut rng, spec, "ldap-bind-password", now - 400 * DAY_MS);
    ldap.auto_rotation = Some(true);
    ldap.rotation_period = Some("30d".into());
    ldap.rotation_time = Some(now - 60 * DAY_MS);
    let mut smtp = secret(&mut rng, spec, "smtp-relay-password", now - 90 * DAY_MS);
    smtp.auto_rotation = Some(false);
    let mut ci = secret(&mut rng, spec, "ci-deploy-token", now - 30 * DAY_MS);
    ci.auto_rotation = Some(true);
    ci.rotation_period = Some("30d".into());
    ci.state = Some("DISABLED".into());
    ci.next_rotation_time = Some(0);
    let mut secrets = vec![prod, legacy, staging, payments, reporting, ldap, smtp, ci];
    rng.shuffle(&mut secrets);
    secrets
}

/// One secret per secret name of `tasks`, rotating weekly and consistent with them: rotated at
/// its newest successful task (or created a year before `spec.now_ms` when it has none), next
/// rotation a week later. What the verdicts then are follows from the tasks.
pub fn secrets_for(tasks: &[SecretTask], spec: &DataSpec) -> Vec<Secret> {
    let mut last_success = std::collections::BTreeMap::new();
    for t in tasks {
        if let Some(name) = &t.secret_name {
            let entry = last_success.entry(name.as_str()).or_insert(None);
            if t.task_status.as_deref() == Some("SUCCESS") {
                *entry = (*entry).max(t.task_time);
            }
        }
    }
    let mut rng = fastrand::Rng::with_seed(0x5EC3);
    last_success
        .into_iter()
        .map(|(name, rotated)| {
            let created = spec.now_ms - 365 * DAY_MS;
            let mut s = secret(&mut rng, spec, name, created);
            s.auto_rotation = Some(true);
            s.rotation_period = Some("7d".into());
            s.rotation_time = rotated;
            s.next_rotation_time = Some(rotated.unwrap_or(created) + 7 * DAY_MS);
            s
        })
        .collect()
}

/// Secrets and their rotation tasks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataSet {
    pub secrets: Vec<Secret>,
    pub tasks: Vec<SecretTask>,
}

/// A large account, the same for the same `seed` and `spec`: `secrets` secrets (names from the
/// pool with a number, `prod-db-password-00042`) and `tasks` tasks among the rotating ones, each
/// secret's tasks one rotation period apart back from its newest. About 85% rotate (the rest have
/// `auto_rotation` off or are `DISABLED`), periods of 7, 30 or 90 days; about 5% of the rotating
/// secrets stalled (newest task older than period + grace), 5% with a FAILED newest task, 1% with
/// an unreadable period, and a fifth without `next_rotation_time` (due time from the history).
/// Both lists in random stored order.
pub fn generate_account(secrets: usize, tasks: usize, seed: u64, spec: &DataSpec) -> DataSet {
    let mut rng = fastrand::Rng::with_seed(seed);
    let now = spec.now_ms;
    let mut all = Vec::with_capacity(secrets);
    for i in 0..secrets {
        let name = format!("{}-{i:05}", SECRET_POOL[i % SECRET_POOL.len()]);
        let created = now - rng.i64(400..800) * DAY_MS;
        let mut s = secret(&mut rng, spec, &name, created);
        s.auto_rotation = Some(rng.u8(..100) >= 10);
        if rng.u8(..100) < 5 {
            s.state = Some("DISABLED".into());
        }
        let (period, days) = [("7d", 7), ("30d", 30), ("90d", 90), ("720h", 30)][rng.usize(..4)];
        s.rotation_period = Some(if rng.u8(..100) == 0 { "1mo" } else { period }.into());
        all.push((s, days * DAY_MS));
    }
    let rotating: Vec<usize> = (0..all.len()).filter(|&i| all[i].0.rotates()).collect();
    let mut out = Vec::with_capacity(tasks);
    for (k, &i) in rotating.iter().enumerate() {
        let count = tasks / rotating.len() + usize::from(k < tasks % rotating.len());
        let (s, period_ms) = &mut all[i];
        let stalled = rng.u8(..100) < 5;
        let newest = if stalled {
            now - *period_ms - rng.i64(2..30) * DAY_MS
        } else {
            now - rng.i64(0..*period_ms)
        };
        let newest_failed = rng.u8(..100) < 5;
        let mut rotated = None;
        for j in 0..count {
            let time = newest - j as i64 * *period_ms;
            let time = time - time.rem_euclid(1000);
            let failed = if j == 0 {
                newest_failed
            } else {
                rng.u8(..7) == 0
            };
            if !failed {
                rotated = rotated.max(Some(time));
            }
            out.push(task(&mut rng, spec, &s.name, failed, time));
        }
        s.rotation_time = rotated;
        if rng.u8(..5) != 0 {
            s.next_rotation_time =
                Some(rotated.unwrap_or(s.create_time.unwrap_or(now)) + *period_ms);
        }
    }
    let mut secrets: Vec<Secret> = all.into_iter().map(|(s, _)| s).collect();
    rng.shuffle(&mut secrets);
    rng.shuffle(&mut out);
    DataSet {
        secrets,
        tasks: out,
    }
}

/// A secret named `name` created at `created_ms`: `ENABLED`, `COMMON`, in the default enterprise
/// project, rotated by a FunctionGraph function named after it; no rotation settings yet.
fn secret(rng: &mut fastrand::Rng, spec: &DataSpec, name: &str, created_ms: i64) -> Secret {
    Secret {
        id: Some(uuid(rng)),
        name: name.into(),
        state: Some("ENABLED".into()),
        kms_key_id: Some(uuid(rng)),
        description: Some(format!("{name}, managed by the platform team")),
        create_time: Some(created_ms),
        update_time: Some(created_ms + DAY_MS),
        scheduled_delete_time: Some(0),
        secret_type: Some("COMMON".into()),
        auto_rotation: None,
        rotation_period: None,
        rotation_config: None,
        rotation_time: None,
        next_rotation_time: None,
        event_subscriptions: None,
        enterprise_project_id: Some("0".into()),
        rotation_func_urn: Some(function_urn(spec, name)),
    }
}

fn uuid(rng: &mut fastrand::Rng) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        rng.u32(..),
        rng.u16(..),
        rng.u16(..0x1000),
        0x8000 | rng.u16(..0x4000),
        rng.u64(..1 << 48)
    )
}

fn function_urn(spec: &DataSpec, secret: &str) -> String {
    format!(
        "urn:fss:{}:{}:function:default:rotate-{secret}:latest",
        spec.region, spec.project_id
    )
}

/// Reads a JSON array of `SecretTask` objects (the API's field names).
pub fn load(path: &std::path::Path) -> Result<Vec<SecretTask>, String> {
    load_unique(
        path,
        "SecretTask",
        |t: &SecretTask| t.task_id.clone(),
        "task_id",
    )
}

/// Reads a JSON array of `Secret` objects (the API's field names).
pub fn load_secrets(path: &std::path::Path) -> Result<Vec<Secret>, String> {
    load_unique(path, "Secret", |s: &Secret| s.name.clone(), "name")
}

/// A JSON array of `kind` objects whose `key` (`id_name`) is unique: markers name items by it.
fn load_unique<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    kind: &str,
    key: impl Fn(&T) -> String,
    id_name: &str,
) -> Result<Vec<T>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let items: Vec<T> = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a JSON array of {kind} objects: {e}",
            path.display()
        )
    })?;
    let mut seen = std::collections::HashSet::new();
    for item in &items {
        let id = key(item);
        if !seen.insert(id.clone()) {
            return Err(format!(
                "{}: {id_name} {id:?} appears twice (markers need unique ids)",
                path.display(),
            ));
        }
    }
    Ok(items)
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
    let task_id = uuid(rng);
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
        rotation_func_urn: Some(function_urn(spec, secret)),
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
    use crate::csms::rotation::{Check, Histories, Verdict};
    use crate::emulator::tasks::valid_secret_name;
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

    /// Judges every secret of `secrets` over `tasks` at `spec.now_ms` with an hour's grace.
    fn verdicts(
        secrets: &[Secret],
        tasks: &[SecretTask],
        spec: &DataSpec,
    ) -> std::collections::BTreeMap<String, Verdict> {
        let mut histories = Histories::default();
        for t in tasks {
            histories.add(t.clone());
        }
        let check = Check {
            as_of: time::OffsetDateTime::from_unix_timestamp(spec.now_ms / 1000).unwrap(),
            grace: time::Duration::hours(1),
        };
        secrets
            .iter()
            .map(|s| {
                let h = histories
                    .by_secret
                    .get(&s.name)
                    .cloned()
                    .unwrap_or_default();
                (s.name.clone(), check.judge(&s.name, Some(s), &h).verdict)
            })
            .collect()
    }

    #[test]
    fn demo_secrets_cover_every_verdict_but_missing() {
        use Verdict::*;
        let s = spec();
        let got = verdicts(&demo_secrets(&s), &demo(&s), &s);
        let want = [
            ("ci-deploy-token", NotRotating),
            ("ldap-bind-password", Overdue),
            ("legacy-api-key", Failed),
            ("payments-api-key", Healthy),
            ("prod-db-password", Healthy),
            ("reporting_readonly", Unknown),
            ("smtp-relay-password", NotRotating),
            ("staging-db-password", Healthy),
        ];
        assert_eq!(
            got.iter()
                .map(|(n, v)| (n.as_str(), *v))
                .collect::<Vec<_>>(),
            want
        );
        let staging = demo_secrets(&s)
            .into_iter()
            .find(|x| x.name == "staging-db-password")
            .unwrap();
        assert!(
            staging.create_time.unwrap() < crate::csms::secret::MILLIS_FROM,
            "seconds"
        );
        assert_eq!(demo_secrets(&s), demo_secrets(&s), "deterministic");
    }

    #[test]
    fn generated_accounts_scale_and_mix_the_verdicts() {
        let s = spec();
        let set = generate_account(10_000, 100_000, 9, &s);
        assert_eq!((set.secrets.len(), set.tasks.len()), (10_000, 100_000));
        let names: HashSet<_> = set.secrets.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names.len(), 10_000, "names are unique");
        assert!(names.iter().all(|n| valid_secret_name(n)));
        let ids: HashSet<_> = set.tasks.iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(ids.len(), 100_000, "task ids are unique");
        let small = generate_account(600, 6_000, 9, &s);
        assert_eq!(small, generate_account(600, 6_000, 9, &s));
        let mut counts: HashMap<Verdict, usize> = HashMap::new();
        for v in verdicts(&small.secrets, &small.tasks, &s).into_values() {
            *counts.entry(v).or_default() += 1;
        }
        for v in [
            Verdict::Healthy,
            Verdict::Failed,
            Verdict::Overdue,
            Verdict::Unknown,
            Verdict::NotRotating,
        ] {
            assert!(counts.get(&v).is_some_and(|n| *n > 0), "{v}: {counts:?}");
        }
        assert!(counts[&Verdict::Healthy] > 600 / 2, "{counts:?}");
    }

    #[test]
    fn secrets_for_generated_tasks_name_every_secret_once() {
        let s = spec();
        let tasks = generate_with(200, 4, &s);
        let secrets = secrets_for(&tasks, &s);
        let from_tasks: HashSet<_> = tasks
            .iter()
            .filter_map(|t| t.secret_name.as_deref())
            .collect();
        let named: HashSet<_> = secrets.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(from_tasks, named);
        assert!(secrets.iter().all(Secret::rotates));
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
