//! The KooCLI (`hcloud`) configuration file, `~/.hcloud/config.json`: a `current` profile name
//! and a list of profiles, each in a mode that says where its keys are.
//!
//! ```json
//! {"current": "default",
//!  "profiles": [{"name": "default", "mode": "AKSK", "accessKeyId": "...", "secretAccessKey": "...",
//!                "securityToken": "", "region": "cn-north-4", "projectId": "",
//!                "agencyName": "", "agencyDomainName": "", "agencyDomainId": "",
//!                "ssoAuth": {"stsToken": {"accessKeyId": "...", "secretAccessKey": "...",
//!                                         "securityToken": "..."}}}]}
//! ```
//! Keys KooCLI does not need here are ignored, so files written by newer versions still load.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::agency::{AgencyDomain, AgencySettings};
use super::error::CredentialError;
use super::wire::json_problem;
use super::Credentials;

/// Where KooCLI keeps its configuration, relative to the home directory.
pub const DEFAULT_RELATIVE_PATH: &str = ".hcloud/config.json";

/// Largest configuration file read: a real one is a few KB; this stops `/dev/zero` and friends.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Which file and profile to read. The file is read only when `path` or `profile` is set.
#[derive(Debug, Clone, Default)]
pub struct SharedFileSettings {
    /// `shared_config_file` / `HW_SHARED_CONFIG_FILE`.
    pub path: Option<PathBuf>,
    /// `profile` / `HW_PROFILE`; else the file's `current`.
    pub profile: Option<String>,
    /// The home directory (`HOME`), for the default path; injected so tests need no real home.
    pub home: Option<PathBuf>,
}

impl SharedFileSettings {
    /// `HW_SHARED_CONFIG_FILE`, `HW_PROFILE` and `HOME`.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        SharedFileSettings {
            path: set("HW_SHARED_CONFIG_FILE").map(PathBuf::from),
            profile: set("HW_PROFILE"),
            home: set("HOME").map(PathBuf::from),
        }
    }

    /// True when the user asked for the file, by path or by profile.
    pub fn is_set(&self) -> bool {
        self.path.is_some() || self.profile.is_some()
    }

    /// `~/.hcloud/config.json`, when the home directory is known.
    pub fn default_path(&self) -> Option<PathBuf> {
        self.home.as_ref().map(|h| h.join(DEFAULT_RELATIVE_PATH))
    }

    /// The file to read: the one named, else the default.
    pub fn file(&self) -> Option<PathBuf> {
        self.path.clone().or_else(|| self.default_path())
    }
}

/// Something the user should fix that does not stop the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The file holds keys and group or others may read it.
    SharedFileReadable { path: PathBuf, mode: u32 },
    /// A file or profile was named but keys came from an earlier source, so it was not read.
    SharedFileNotRead {
        path: Option<PathBuf>,
        used: super::Source,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::SharedFileReadable { path, mode } => write!(
                f,
                "the shared configuration file {} holds keys and is readable by group or others \
                 (mode {:03o}); restrict it with `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ),
            Warning::SharedFileNotRead { path, used } => write!(
                f,
                "the shared configuration file{} was not read: keys came from {used}, which \
                 comes first",
                path.as_ref()
                    .map(|p| format!(" {}", p.display()))
                    .unwrap_or_default()
            ),
        }
    }
}

/// What a profile says.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub keys: ProfileKeys,
    /// Non-empty `region`, to fill a gap the block and environment leave.
    pub region: Option<String>,
    /// Non-empty `projectId`, likewise.
    pub project_id: Option<String>,
    /// `agencyName` with `agencyDomainName` (or `agencyDomainId`): assume this agency.
    pub agency: Option<AgencySettings>,
}

/// Where a profile's keys are.
#[derive(Debug, Clone)]
pub enum ProfileKeys {
    /// `AKSK` (temporary with a `securityToken`) or `SSO` (its `ssoAuth.stsToken`).
    Keys(Credentials),
    /// `ecsAgency`: the ECS metadata service.
    EcsMetadata,
}

#[derive(Deserialize)]
struct File {
    current: Option<String>,
    #[serde(default)]
    profiles: Vec<RawProfile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProfile {
    name: Option<String>,
    mode: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    security_token: Option<String>,
    region: Option<String>,
    project_id: Option<String>,
    agency_name: Option<String>,
    agency_domain_name: Option<String>,
    agency_domain_id: Option<String>,
    sso_auth: Option<SsoAuth>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SsoAuth {
    sts_token: Option<StsToken>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StsToken {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    security_token: Option<String>,
}

/// Longest a read of the file may take: a local file takes microseconds; this bounds a stalled
/// network mount, whose blocked read no cancellation can interrupt.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// [`load`] on a blocking thread, given up after [`READ_TIMEOUT`] (the thread is left to finish
/// on its own: a read stuck in the kernel cannot be taken back).
pub async fn load_within(
    path: &Path,
    profile: Option<&str>,
) -> Result<(Profile, Option<Warning>), CredentialError> {
    let (owned_path, owned_profile) = (path.to_path_buf(), profile.map(String::from));
    let task = tokio::task::spawn_blocking(move || load(&owned_path, owned_profile.as_deref()));
    match tokio::time::timeout(READ_TIMEOUT, task).await {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(join)) => Err(CredentialError::SharedFileUnreadable {
            path: path.to_path_buf(),
            message: format!("reading it failed: {join}"),
        }),
        Err(_) => Err(CredentialError::SharedFileUnreadable {
            path: path.to_path_buf(),
            message: format!(
                "reading it did not finish within {}s (a stalled network mount?)",
                READ_TIMEOUT.as_secs()
            ),
        }),
    }
}

/// Reads `path` and returns the profile named `profile` (else the file's `current`), with a
/// warning when the file's permissions let others read the keys.
///
/// Only a regular file is read: a named pipe without a writer, a terminal or a device would
/// block `open` or `read` forever (or never end), so the type is checked before the file is
/// opened, and again on the opened file, which is opened non-blocking so that a pipe put in its
/// place meanwhile cannot block the open either.
pub fn load(
    path: &Path,
    profile: Option<&str>,
) -> Result<(Profile, Option<Warning>), CredentialError> {
    let unreadable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => CredentialError::SharedFileMissing {
            path: path.to_path_buf(),
        },
        _ => CredentialError::SharedFileUnreadable {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    };
    let not_regular = |meta: &std::fs::Metadata| CredentialError::SharedFileUnreadable {
        path: path.to_path_buf(),
        message: format!("it is {}, not a regular file", file_kind(meta)),
    };
    let before = std::fs::metadata(path).map_err(unreadable)?;
    if !before.is_file() {
        return Err(not_regular(&before));
    }
    let file = open_non_blocking(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(unreadable)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(CredentialError::SharedFileUnreadable {
            path: path.to_path_buf(),
            message: format!("it is larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    let profile = parse(path, &text, profile)?;
    Ok((profile, readable_by_others(path, &meta)))
}

#[cfg(unix)]
fn open_non_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_non_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// What a file that is not a regular one is, for the error that refuses it.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path, meta: &std::fs::Metadata) -> Option<Warning> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode();
    (mode & 0o077 != 0).then(|| Warning::SharedFileReadable {
        path: path.to_path_buf(),
        mode,
    })
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path, _: &std::fs::Metadata) -> Option<Warning> {
    None
}

/// The profile `wanted` (else `current`) of the configuration text read from `path`.
pub fn parse(path: &Path, text: &str, wanted: Option<&str>) -> Result<Profile, CredentialError> {
    let file: File = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        CredentialError::SharedFileMalformed {
            path: path.to_path_buf(),
            what: json_problem(&e),
            line: e.line(),
            column: e.column(),
        }
    })?;
    let available = || -> Vec<String> {
        file.profiles
            .iter()
            .filter_map(|p| non_empty(p.name.as_deref()))
            .map(String::from)
            .collect()
    };
    let name = match wanted.or(file.current.as_deref()).map(str::trim) {
        Some(n) if !n.is_empty() => n,
        _ => {
            return Err(CredentialError::NoProfileChosen {
                path: path.to_path_buf(),
                available: available(),
            })
        }
    };
    let raw = file
        .profiles
        .iter()
        .find(|p| p.name.as_deref().map(str::trim) == Some(name))
        .ok_or_else(|| CredentialError::ProfileNotFound {
            path: path.to_path_buf(),
            profile: name.to_string(),
            available: available(),
        })?;
    let mode = non_empty(raw.mode.as_deref()).unwrap_or("AKSK");
    let without_keys = || CredentialError::ProfileWithoutKeys {
        path: path.to_path_buf(),
        profile: name.to_string(),
        mode: mode.to_string(),
    };
    let keys = match mode {
        // KooCLI's AssumeRole mode keeps the base keys as AKSK does, with the agency beside them.
        "AKSK" | "AssumeRole" => ProfileKeys::Keys(
            keys(
                &raw.access_key_id,
                &raw.secret_access_key,
                &raw.security_token,
            )
            .ok_or_else(without_keys)?,
        ),
        "SSO" => {
            let sts = raw
                .sso_auth
                .as_ref()
                .and_then(|s| s.sts_token.as_ref())
                .ok_or_else(without_keys)?;
            ProfileKeys::Keys(
                keys(
                    &sts.access_key_id,
                    &sts.secret_access_key,
                    &sts.security_token,
                )
                .ok_or_else(without_keys)?,
            )
        }
        "ecsAgency" => ProfileKeys::EcsMetadata,
        other => {
            return Err(CredentialError::UnsupportedMode {
                path: path.to_path_buf(),
                profile: name.to_string(),
                mode: other.to_string(),
            })
        }
    };
    let agency = match non_empty(raw.agency_name.as_deref()) {
        None => None,
        Some(agency) => {
            let domain = match (
                non_empty(raw.agency_domain_name.as_deref()),
                non_empty(raw.agency_domain_id.as_deref()),
            ) {
                (Some(d), _) => AgencyDomain::Name(d.to_string()),
                (None, Some(id)) => AgencyDomain::Id(id.to_string()),
                (None, None) => {
                    return Err(CredentialError::InvalidAgency(format!(
                        "profile {name:?} of {} names agency {agency:?} but neither \
                         agencyDomainName nor agencyDomainId",
                        path.display()
                    )))
                }
            };
            Some(AgencySettings::new(agency, domain, None)?)
        }
    };
    Ok(Profile {
        name: name.to_string(),
        keys,
        region: non_empty(raw.region.as_deref()).map(String::from),
        project_id: non_empty(raw.project_id.as_deref()).map(String::from),
        agency,
    })
}

fn keys(ak: &Option<String>, sk: &Option<String>, token: &Option<String>) -> Option<Credentials> {
    let (ak, sk) = (non_empty(ak.as_deref())?, non_empty(sk.as_deref())?);
    Some(Credentials::new(ak, sk, token.as_deref()))
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path() -> &'static Path {
        Path::new("/home/u/.hcloud/config.json")
    }

    fn file(profiles: serde_json::Value) -> String {
        json!({"current": "default", "profiles": profiles}).to_string()
    }

    fn aksk(name: &str) -> serde_json::Value {
        json!({"name": name, "mode": "AKSK", "accessKeyId": format!("AK-{name}"),
               "secretAccessKey": format!("SK-{name}"), "securityToken": "",
               "region": "cn-north-4", "projectId": "", "agencyName": "",
               "someFutureField": {"nested": true}})
    }

    fn keys_of(p: &Profile) -> &Credentials {
        match &p.keys {
            ProfileKeys::Keys(c) => c,
            ProfileKeys::EcsMetadata => panic!("expected keys, got ecsAgency"),
        }
    }

    #[test]
    fn current_profile_by_default_named_profile_when_given() {
        let text = file(json!([aksk("default"), aksk("prod")]));
        let p = parse(path(), &text, None).unwrap();
        assert_eq!(p.name, "default");
        assert_eq!(keys_of(&p).access_key, "AK-default");
        assert_eq!(keys_of(&p).security_token, None);
        assert_eq!(p.region.as_deref(), Some("cn-north-4"));
        assert_eq!(p.project_id, None);
        assert!(p.agency.is_none());
        let p = parse(path(), &text, Some("prod")).unwrap();
        assert_eq!(keys_of(&p).secret_key, "SK-prod");
    }

    #[test]
    fn aksk_with_a_token_is_temporary() {
        let mut prof = aksk("default");
        prof["securityToken"] = json!("TOKEN");
        let p = parse(path(), &file(json!([prof])), None).unwrap();
        assert_eq!(keys_of(&p).security_token.as_deref(), Some("TOKEN"));
    }

    #[test]
    fn sso_keys_come_from_the_sts_token() {
        let prof = json!({"name": "default", "mode": "SSO", "accessKeyId": "",
            "ssoAuth": {"stsToken": {"accessKeyId": "AK-SSO", "secretAccessKey": "SK-SSO",
                                     "securityToken": "TOK-SSO"}}});
        let p = parse(path(), &file(json!([prof])), None).unwrap();
        let c = keys_of(&p);
        assert_eq!(
            (c.access_key.as_str(), c.security_token.as_deref()),
            ("AK-SSO", Some("TOK-SSO"))
        );
    }

    #[test]
    fn ecs_agency_mode_sends_us_to_the_metadata_service() {
        let prof = json!({"name": "default", "mode": "ecsAgency", "projectId": "p-1"});
        let p = parse(path(), &file(json!([prof])), None).unwrap();
        assert!(matches!(p.keys, ProfileKeys::EcsMetadata));
        assert_eq!(p.project_id.as_deref(), Some("p-1"));
    }

    #[test]
    fn agency_fields_mean_assume_that_agency() {
        let mut prof = aksk("default");
        prof["agencyName"] = json!("audit");
        prof["agencyDomainName"] = json!("other-account");
        let p = parse(path(), &file(json!([prof.clone()])), None).unwrap();
        let a = p.agency.unwrap();
        assert_eq!(a.agency_name, "audit");
        assert_eq!(a.domain, AgencyDomain::Name("other-account".into()));
        assert_eq!(a.duration_seconds, 3600);
        prof["agencyDomainName"] = json!("");
        prof["agencyDomainId"] = json!("d-123");
        let p = parse(path(), &file(json!([prof.clone()])), None).unwrap();
        assert_eq!(p.agency.unwrap().domain, AgencyDomain::Id("d-123".into()));
        prof["agencyDomainId"] = json!("");
        let e = parse(path(), &file(json!([prof])), None).unwrap_err();
        assert!(e.to_string().contains("agencyDomainName"), "{e}");
    }

    #[test]
    fn missing_profile_lists_the_names_the_file_has() {
        let text = file(json!([aksk("default"), aksk("prod")]));
        let e = parse(path(), &text, Some("staging")).unwrap_err();
        assert!(
            matches!(e, CredentialError::ProfileNotFound { .. }),
            "{e:?}"
        );
        let m = e.to_string();
        assert!(
            m.contains("\"staging\"") && m.contains("\"default\", \"prod\""),
            "{m}"
        );
        assert!(m.contains("/home/u/.hcloud/config.json"), "{m}");
    }

    #[test]
    fn no_current_and_no_profile_named() {
        let text = json!({"profiles": [aksk("a")]}).to_string();
        let e = parse(path(), &text, None).unwrap_err();
        assert!(
            matches!(e, CredentialError::NoProfileChosen { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("HW_PROFILE"), "{e}");
    }

    #[test]
    fn profile_without_keys_mentions_the_encryption_setting() {
        for prof in [
            json!({"name": "default", "mode": "AKSK", "accessKeyId": "AK", "secretAccessKey": ""}),
            json!({"name": "default"}),
            json!({"name": "default", "mode": "SSO"}),
        ] {
            let e = parse(path(), &file(json!([prof])), None).unwrap_err();
            assert!(
                matches!(e, CredentialError::ProfileWithoutKeys { .. }),
                "{e:?}"
            );
            assert!(
                e.to_string()
                    .contains("hcloud configure set --cli-auth-encrypt=false"),
                "{e}"
            );
        }
    }

    #[test]
    fn unknown_mode_is_refused() {
        let prof = json!({"name": "default", "mode": "WebIdentity"});
        let e = parse(path(), &file(json!([prof])), None).unwrap_err();
        assert!(e.to_string().contains("\"WebIdentity\""), "{e}");
    }

    #[test]
    fn malformed_json_gives_line_and_column_but_no_secret() {
        let text = "{\"current\": \"default\",\n \"profiles\": [{\"name\": \"default\",\n  \"secretAccessKey\": \"SK-SECRET\" \"x\"}]}";
        let e = parse(path(), text, None).unwrap_err();
        match &e {
            CredentialError::SharedFileMalformed { line, what, .. } => {
                assert_eq!((*line, *what), (3, "syntax error"));
            }
            other => panic!("{other:?}"),
        }
        assert!(!e.to_string().contains("SK-SECRET"), "{e}");
        // A secret where an object belongs: serde's own message would quote it.
        let text = r#"{"current": "default", "profiles": "SK-SECRET"}"#;
        let e = parse(path(), text, None).unwrap_err();
        assert!(!e.to_string().contains("SK-SECRET"), "{e}");
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn load_reports_missing_files_and_warns_on_open_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let e = load(&missing, None).unwrap_err();
        assert!(
            matches!(e, CredentialError::SharedFileMissing { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("nope.json"), "{e}");

        let p = dir.path().join("config.json");
        std::fs::write(&p, file(json!([aksk("default")]))).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            let (_, warning) = load(&p, None).unwrap();
            let w = warning.expect("0644 is readable by others");
            assert!(w.to_string().contains("mode 644"), "{w}");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(load(&p, None).unwrap().1, None);
        }
        let e = load(dir.path(), None).unwrap_err();
        assert!(
            matches!(e, CredentialError::SharedFileUnreadable { .. }),
            "{e:?}"
        );
    }

    /// A pipe without a writer blocks a plain `open` forever; a device never ends: each is
    /// refused at once, naming the file and what it is.
    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("config.fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = load(&fifo, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot read the shared configuration file {}: it is a named pipe (FIFO), not a \
                 regular file",
                fifo.display()
            )
        );
        let e = load(Path::new("/dev/zero"), None).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("it is a character device, not a regular file"),
            "{e}"
        );
        let e = load(dir.path(), None).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("it is a directory, not a regular file"),
            "{e}"
        );
    }

    #[test]
    fn default_path_is_under_home_and_only_read_when_asked() {
        let s = SharedFileSettings::from_env(|v| match v {
            "HOME" => Some("/home/u".into()),
            "HW_PROFILE" => Some("".into()),
            _ => None,
        });
        assert!(!s.is_set());
        assert_eq!(s.file(), Some(PathBuf::from("/home/u/.hcloud/config.json")));
        let s = SharedFileSettings {
            profile: Some("prod".into()),
            path: Some("/etc/hcloud.json".into()),
            ..s
        };
        assert!(s.is_set());
        assert_eq!(s.file(), Some(PathBuf::from("/etc/hcloud.json")));
    }
}
