//! The `csms-emulator` command line, parsed into a [`Config`]. Kept in the library so that it is
//! tested like the rest; the binary only calls [`parse`] and [`run`](super::run).

use std::path::PathBuf;
use std::time::Duration;

use super::accounts::AccountsFile;
use super::{data, Config, DataSpec, InstanceAgency, MetadataTokens};

pub const USAGE: &str = "\
csms-emulator: a local Huawei Cloud CSMS (ListSecretTask, ListSecrets and the IAM project
lookup), with the credential services around it: ECS metadata keys and IAM's assume-role exchange

USAGE: csms-emulator [OPTIONS]

Prints `listening on http://ADDR:PORT` as its first line, logs one line per request to stderr,
and stops cleanly on Ctrl-C or SIGTERM.

Server:
  --listen ADDR            address to listen on [default: 127.0.0.1:0]
  --project-id ID          the project served [default: 0123456789abcdef0123456789abcdef]
  --region NAME            the region the IAM lookup maps to the project [default: cn-north-4]
  --access-key AK          with --secret-key: require requests signed with this AK/SK
  --secret-key SK          (without both, unsigned requests act as the default account)
  --max-limit N            largest accepted `limit` [default: 1000]
  --last-page-marker       send next_marker on the last page too
  --secrets-per-page N     at most N secrets per ListSecrets page, whatever its limit
                           [default: as many as asked]

Accounts and credentials (the flags above describe the default account). The key that
signs a request decides its account. Keys issued by the metadata service or by assume-role
(POST /v3.0/OS-CREDENTIAL/securitytokens, agencies from --accounts) need their
X-Security-Token and expire:
  --domain-name NAME       the default account's domain name [default: csms-emulator]
  --accounts FILE          JSON: more regions of the default account, more accounts (keys,
                           projects per region, tasks) and agencies between them, e.g.
                           {\"regions\": [{\"region\": \"cn-south-1\", \"project_id\": \"p2\",
                                         \"generate\": 40, \"seed\": 1}],
                            \"accounts\": [{\"domain_name\": \"team-b\", \"domain_id\": \"b1\",
                                          \"access_key\": \"AKB\", \"secret_key\": \"SKB\",
                                          \"projects\": [{\"region\": \"cn-north-4\",
                                                        \"project_id\": \"pb\",
                                                        \"tasks\": [...]}]}],
                            \"agencies\": [{\"name\": \"audit\", \"domain_name\": \"team-b\",
                                          \"trusted_domain_name\": \"csms-emulator\"}]}
                           (keys are optional; a project without tasks or generate gets
                           the demo set; \"secrets\": [...] gives a project's secrets)
  --metadata MODE          ECS metadata at /meta-data/latest/api/token and
                           /openstack/latest/securitykey: token (session token required),
                           optional, no-token (PUT answers 404), no-token-405, off
                           [default: token]
  --instance-agency NAME   whose keys the metadata hands out: a domain name, or `none`
                           [default: the default account]
  --temporary-key-lifetime S
                           lifetime of issued keys (metadata, assume-role) in seconds
                           [default: 3600 for metadata, duration_seconds for assume-role]

Data (one of; default --demo):
  --demo                   the demo set: prod-db-password's latest rotation SUCCEEDED,
                           legacy-api-key's latest rotation FAILED, ldap-bind-password
                           overdue, and a secret for every other rotation verdict
  --generate N             N generated tasks (deterministic for a --seed and the hour), with
                           a weekly rotating secret per secret name
  --secrets M              with --generate: M generated secrets (names numbered), the N
                           tasks one rotation period apart among the rotating ones
  --seed S                 generator seed [default: 42]
  --span-days D            generated tasks spread over the D days before now [default: 28]
  --data FILE              a JSON array of SecretTask objects (no secrets unless
                           --secrets-data)
  --secrets-data FILE      with --data: a JSON array of Secret objects

Faults (ListSecretTask and ListSecrets; N counts each one's requests from 1; composable):
  --fail-every N[:STATUS]  answer every Nth request with STATUS [default status: 500]
  --html-errors            ... with an HTML page instead of a JSON error body
  --throttle-every N       every Nth request: 429 APIGW.0308 with Retry-After
  --throttle-percent P     each request with probability P% (1..100): the same 429
  --retry-after S          Retry-After seconds of throttled responses [default: 1]
  --latency-ms MS          delay every request by MS milliseconds
  --sticky-marker          next_marker never advances
  --looping-marker         next_marker points back to an earlier page
  --truncate-every N       every Nth request: half the body, then the connection closes
  --reset-every N          every Nth request: half the body, then the connection is reset
  --empty-every N          every Nth request: 200 with an empty body
  --total-delta K          add K (may be negative) to every task page's `total`

Wire (every response):
  --no-gzip                never compress [default: gzip when Accept-Encoding allows it]
  --bandwidth-kbps N       pace each connection's writes at N kilobits per second
  --gzip-unasked           fault: gzip every response, even when not asked to
  --gzip-bomb MIB          fault: every listing page is a gzip bomb, MIB MiB of JSON
                           once decompressed (about MIB KiB sent)

  -h, --help               this text
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Help,
    Run { listen: String, config: Box<Config> },
}

enum Source {
    Demo,
    Generate(usize),
    File(PathBuf),
}

/// Parses the arguments (without the program name). Errors are one-line messages.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut listen = "127.0.0.1:0".to_string();
    let mut config = Config::default();
    let (mut ak, mut sk) = (None, None);
    let mut source: Option<Source> = None;
    let mut seed = 42u64;
    let mut span_days = 28u32;
    let mut accounts = None;
    let mut generated_secrets: Option<usize> = None;
    let mut secrets_file: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let faults = &mut config.faults;
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--listen" => listen = value()?,
            "--project-id" => config.project_id = value()?,
            "--region" => config.region = value()?,
            "--access-key" => ak = Some(value()?),
            "--secret-key" => sk = Some(value()?),
            "--max-limit" => config.max_limit = positive(&flag, &value()?)?,
            "--last-page-marker" => config.last_page_marker = true,
            "--secrets-per-page" => config.secrets_per_page = Some(positive(&flag, &value()?)?),
            "--domain-name" => config.domain_name = value()?,
            "--accounts" => accounts = Some(PathBuf::from(value()?)),
            "--metadata" => {
                let mode = value()?;
                let tokens = match mode.as_str() {
                    "token" => Some(MetadataTokens::Required),
                    "optional" => Some(MetadataTokens::Optional),
                    "no-token" => Some(MetadataTokens::Unsupported(404)),
                    "no-token-405" => Some(MetadataTokens::Unsupported(405)),
                    "off" => None,
                    _ => return Err(format!("{flag}: unknown mode {mode:?} (see --help)")),
                };
                config.metadata.enabled = tokens.is_some();
                config.metadata.tokens = tokens.unwrap_or(MetadataTokens::Required);
            }
            "--instance-agency" => {
                config.metadata.agency = match value()?.as_str() {
                    "none" => InstanceAgency::Missing,
                    name => InstanceAgency::Domain(name.to_string()),
                }
            }
            "--temporary-key-lifetime" => {
                let secs = positive(&flag, &value()?)?;
                config.temporary_key_lifetime = Some(Duration::from_secs(secs.into()));
            }
            "--demo" => set_source(&mut source, Source::Demo)?,
            "--generate" => {
                let n = number(&flag, &value()?)?;
                set_source(&mut source, Source::Generate(n))?
            }
            "--secrets" => generated_secrets = Some(positive(&flag, &value()?)? as usize),
            "--secrets-data" => secrets_file = Some(value()?.into()),
            "--seed" => seed = number(&flag, &value()?)?,
            "--span-days" => span_days = positive(&flag, &value()?)?,
            "--data" => set_source(&mut source, Source::File(value()?.into()))?,
            "--fail-every" => {
                let v = value()?;
                let (n, status) = v.split_once(':').unwrap_or((&v, "500"));
                let status: u16 = number(&flag, status)?;
                if !(400..=599).contains(&status) {
                    return Err(format!("{flag}: status {status} is not 400..599"));
                }
                faults.fail_every = Some((positive(&flag, n)?, status));
            }
            "--html-errors" => faults.html_errors = true,
            "--throttle-every" => faults.throttle_every = Some(positive(&flag, &value()?)?),
            "--throttle-percent" => {
                faults.throttle_percent = match number::<u8>(&flag, &value()?)? {
                    p @ 1..=100 => Some(p),
                    p => return Err(format!("{flag}: {p} is not 1..100")),
                }
            }
            "--retry-after" => faults.retry_after_secs = number(&flag, &value()?)?,
            "--latency-ms" => faults.latency = Duration::from_millis(number(&flag, &value()?)?),
            "--sticky-marker" => faults.sticky_marker = true,
            "--looping-marker" => faults.looping_marker = true,
            "--truncate-every" => faults.truncate_every = Some(positive(&flag, &value()?)?),
            "--reset-every" => faults.reset_every = Some(positive(&flag, &value()?)?),
            "--empty-every" => faults.empty_every = Some(positive(&flag, &value()?)?),
            "--total-delta" => faults.total_delta = number(&flag, &value()?)?,
            "--no-gzip" => config.wire.gzip = false,
            "--gzip-unasked" => config.wire.gzip_unasked = true,
            "--gzip-bomb" => config.wire.gzip_bomb_mib = Some(positive(&flag, &value()?)?),
            "--bandwidth-kbps" => config.wire.bandwidth_kbps = Some(positive(&flag, &value()?)?),
            _ => return Err(format!("unknown argument {arg:?} (see --help)")),
        }
        if inline.is_some() && !takes_value(&flag) {
            return Err(format!("{flag} takes no value"));
        }
    }
    if config.faults.retry_after_secs == 0 {
        config.faults.retry_after_secs = 1;
    }
    config.credentials = match (ak, sk) {
        (Some(ak), Some(sk)) => Some((ak, sk)),
        (None, None) => None,
        _ => return Err("--access-key and --secret-key go together".into()),
    };
    let spec = DataSpec {
        region: config.region.clone(),
        project_id: config.project_id.clone(),
        span_days,
        ..DataSpec::default()
    };
    let source = source.unwrap_or(Source::Demo);
    match (&source, generated_secrets, &secrets_file) {
        (Source::Generate(_), _, None)
        | (Source::File(_), None, _)
        | (Source::Demo, None, None) => {}
        (_, Some(_), _) => return Err("--secrets goes with --generate".into()),
        (_, _, Some(_)) => return Err("--secrets-data goes with --data".into()),
    }
    (config.tasks, config.secrets) = match source {
        Source::Demo => (data::demo(&spec), data::demo_secrets(&spec)),
        Source::Generate(n) => match generated_secrets {
            Some(m) => {
                let set = data::generate_account(m, n, seed, &spec);
                (set.tasks, set.secrets)
            }
            None => {
                let tasks = data::generate_with(n, seed, &spec);
                let secrets = data::secrets_for(&tasks, &spec);
                (tasks, secrets)
            }
        },
        Source::File(path) => (
            data::load(&path)?,
            match secrets_file {
                Some(path) => data::load_secrets(&path)?,
                None => Vec::new(),
            },
        ),
    };
    if let Some(path) = accounts {
        AccountsFile::load(&path)?.apply(&mut config)?;
    }
    Ok(Command::Run {
        listen,
        config: Box::new(config),
    })
}

fn takes_value(flag: &str) -> bool {
    !matches!(
        flag,
        "--last-page-marker"
            | "--demo"
            | "--html-errors"
            | "--sticky-marker"
            | "--looping-marker"
            | "--no-gzip"
            | "--gzip-unasked"
    )
}

fn set_source(source: &mut Option<Source>, new: Source) -> Result<(), String> {
    if source.replace(new).is_some() {
        return Err("--demo, --generate and --data exclude each other".into());
    }
    Ok(())
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag}: {v:?} is not a valid number"))
}

fn positive(flag: &str, v: &str) -> Result<u32, String> {
    match number::<u32>(flag, v)? {
        0 => Err(format!("{flag}: must be at least 1")),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<(String, Config), String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run { listen, config } => Ok((listen, *config)),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults_serve_the_demo_set_openly() {
        let (listen, c) = run(&[]).unwrap();
        assert_eq!(listen, "127.0.0.1:0");
        assert!(c.credentials.is_none());
        assert_eq!(c.max_limit, 1000);
        assert!(c
            .tasks
            .iter()
            .any(|t| t.secret_name.as_deref() == Some("legacy-api-key")));
    }

    #[test]
    fn flags_fill_the_config() {
        let (listen, c) = run(&[
            "--listen=127.0.0.1:8080",
            "--project-id",
            "p1",
            "--access-key",
            "AK",
            "--secret-key",
            "SK",
            "--generate",
            "30",
            "--seed",
            "9",
            "--fail-every",
            "3:503",
            "--throttle-every=4",
            "--retry-after",
            "2",
            "--latency-ms",
            "15",
            "--sticky-marker",
            "--total-delta",
            "-2",
            "--max-limit",
            "100",
        ])
        .unwrap();
        assert_eq!(listen, "127.0.0.1:8080");
        assert_eq!(c.project_id, "p1");
        assert_eq!(c.credentials, Some(("AK".into(), "SK".into())));
        assert_eq!(c.tasks.len(), 30);
        assert!(c.tasks[0]
            .rotation_func_urn
            .as_deref()
            .unwrap()
            .contains(":p1:"));
        assert_eq!(c.faults.fail_every, Some((3, 503)));
        assert_eq!(c.faults.throttle_every, Some(4));
        assert_eq!(c.faults.retry_after_secs, 2);
        assert_eq!(c.faults.latency, Duration::from_millis(15));
        assert!(c.faults.sticky_marker);
        assert_eq!(c.faults.total_delta, -2);
        assert_eq!(c.max_limit, 100);
        assert_eq!(
            run(&["--fail-every", "2"]).unwrap().1.faults.fail_every,
            Some((2, 500))
        );
        assert_eq!(
            run(&["--throttle-percent", "30"])
                .unwrap()
                .1
                .faults
                .throttle_percent,
            Some(30)
        );
        for bad in ["0", "101", "x"] {
            assert!(run(&["--throttle-percent", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_flags_fill_the_config() {
        let (_, c) = run(&[]).unwrap();
        assert!(c.secrets.iter().any(|s| s.name == "ldap-bind-password"));
        assert_eq!(c.secrets_per_page, None);
        let (_, c) = run(&["--generate", "50", "--secrets-per-page", "7"]).unwrap();
        assert_eq!(c.secrets_per_page, Some(7));
        let names: std::collections::BTreeSet<_> = c
            .tasks
            .iter()
            .filter_map(|t| t.secret_name.clone())
            .collect();
        let secrets: std::collections::BTreeSet<_> =
            c.secrets.iter().map(|s| s.name.clone()).collect();
        assert_eq!(names, secrets, "one secret per generated secret name");
        let (_, c) = run(&["--generate", "300", "--secrets", "40", "--seed", "3"]).unwrap();
        assert_eq!((c.secrets.len(), c.tasks.len()), (40, 300));
        let dir = tempfile::tempdir().unwrap();
        let (tasks, secrets) = (dir.path().join("t.json"), dir.path().join("s.json"));
        std::fs::write(&tasks, r#"[{"task_id":"t1","secret_name":"db"}]"#).unwrap();
        std::fs::write(&secrets, r#"[{"name":"db","auto_rotation":true}]"#).unwrap();
        let (_, c) = run(&[
            "--data",
            tasks.to_str().unwrap(),
            "--secrets-data",
            secrets.to_str().unwrap(),
        ])
        .unwrap();
        assert_eq!(c.secrets[0].auto_rotation, Some(true));
        std::fs::write(&secrets, r#"[{"name":"db"},{"name":"db"}]"#).unwrap();
        let e = run(&[
            "--data",
            tasks.to_str().unwrap(),
            "--secrets-data",
            secrets.to_str().unwrap(),
        ]);
        assert!(e.unwrap_err().contains("twice"));
    }

    #[test]
    fn wire_flags() {
        let (_, c) = run(&[]).unwrap();
        assert!(c.wire.gzip && !c.wire.gzip_unasked);
        assert_eq!((c.wire.gzip_bomb_mib, c.wire.bandwidth_kbps), (None, None));
        let (_, c) = run(&[
            "--no-gzip",
            "--gzip-unasked",
            "--gzip-bomb",
            "512",
            "--bandwidth-kbps=20000",
        ])
        .unwrap();
        assert!(!c.wire.gzip && c.wire.gzip_unasked);
        assert_eq!(
            (c.wire.gzip_bomb_mib, c.wire.bandwidth_kbps),
            (Some(512), Some(20000))
        );
        for (args, needle) in [
            (&["--bandwidth-kbps", "0"][..], "at least 1"),
            (&["--gzip-bomb", "x"][..], "not a valid number"),
            (&["--no-gzip=1"][..], "takes no value"),
        ] {
            let e = run(args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
        assert!(USAGE.contains("--bandwidth-kbps") && USAGE.contains("--no-gzip"));
    }

    #[test]
    fn bad_arguments_are_refused_with_a_message() {
        for (args, needle) in [
            (&["--access-key", "AK"][..], "go together"),
            (&["--generate", "5", "--demo"][..], "exclude"),
            (&["--generate", "x"][..], "not a valid number"),
            (&["--fail-every", "0"][..], "at least 1"),
            (&["--fail-every", "2:200"][..], "400..599"),
            (&["--bogus"][..], "unknown argument"),
            (&["--listen"][..], "needs a value"),
            (&["--demo=1"][..], "takes no value"),
            (&["--data", "/nonexistent/x.json"][..], "cannot read"),
            (&["--secrets", "5"][..], "goes with --generate"),
            (
                &["--generate", "5", "--secrets-data", "x"][..],
                "goes with --data",
            ),
            (&["--secrets-per-page", "0"][..], "at least 1"),
        ] {
            let e = run(args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
        assert!(matches!(parse(["--help".to_string()]), Ok(Command::Help)));
    }

    #[test]
    fn credential_flags_fill_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.json");
        std::fs::write(
            &path,
            r#"{"accounts": [{"domain_name": "team-b", "domain_id": "idb",
                              "projects": [{"region": "cn-north-4", "project_id": "pb"}]}]}"#,
        )
        .unwrap();
        let (_, c) = run(&[
            "--domain-name",
            "central",
            "--accounts",
            path.to_str().unwrap(),
            "--metadata=no-token-405",
            "--instance-agency",
            "team-b",
            "--temporary-key-lifetime",
            "5",
        ])
        .unwrap();
        assert_eq!(c.domain_name, "central");
        assert_eq!(c.accounts[0].projects[0].project_id, "pb");
        assert!(c.metadata.enabled);
        assert_eq!(c.metadata.tokens, MetadataTokens::Unsupported(405));
        assert_eq!(c.metadata.agency, InstanceAgency::Domain("team-b".into()));
        assert_eq!(c.temporary_key_lifetime, Some(Duration::from_secs(5)));

        let (_, c) = run(&["--metadata", "off", "--instance-agency", "none"]).unwrap();
        assert!(!c.metadata.enabled);
        assert_eq!(c.metadata.agency, InstanceAgency::Missing);
        let (_, c) = run(&[]).unwrap();
        assert_eq!(c.metadata, crate::emulator::Metadata::default());
        for (args, needle) in [
            (&["--metadata", "v2"][..], "unknown mode"),
            (&["--temporary-key-lifetime", "0"][..], "at least 1"),
            (&["--accounts", "/nonexistent/a.json"][..], "cannot read"),
        ] {
            let e = run(args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
    }
}
