//! Accounts, their regional projects and the agencies between them.
//!
//! The emulator's [`Config`] describes one account directly (its `project_id`, `region`,
//! `credentials` and `tasks`): the *default account*, so that single-account tests and the CLI
//! stay as they were. Further projects of that account and further accounts are added with
//! [`Config::regions`] and [`Config::accounts`]; [`Directory`] indexes all of them for the server,
//! which decides the caller's account by the access key that signed the request.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use super::data::{self, DataSpec};
use super::metadata::InstanceAgency;
use super::Config;
use crate::csms::secret::Secret;
use crate::csms::task::SecretTask;
use crate::csms::Signer;

/// Domain (account) name of the default account when none is configured.
pub const DEFAULT_DOMAIN_NAME: &str = "csms-emulator";
/// Domain (account) id of the default account: 32 hex digits, like a real one.
pub const DEFAULT_DOMAIN_ID: &str = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";

/// One project: the secrets and rotation tasks of one account in one region.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Project {
    /// The region, also the project's name in IAM (`GET /v3/projects?name=`).
    pub region: String,
    pub project_id: String,
    /// The rotation tasks, in stored (response) order.
    pub tasks: Vec<SecretTask>,
    /// The secrets, in stored (response) order; names are unique.
    pub secrets: Vec<Secret>,
}

/// An account (IAM domain) besides the default one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Unique among accounts; what `assume_role.domain_name` names.
    pub domain_name: String,
    pub domain_id: String,
    /// Permanent `(access key, secret key)`. `None`: reachable only through an agency or ECS
    /// metadata, as a team's account a central security team audits.
    pub credentials: Option<(String, String)>,
    pub projects: Vec<Project>,
}

/// An IAM agency: account `domain_name` lets account `trusted_domain_name` act in it under the
/// name `name` (`POST /v3.0/OS-CREDENTIAL/securitytokens` with `assume_role`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    pub name: String,
    /// The trusting account, whose keys the exchange issues.
    pub domain_name: String,
    /// The account whose keys may assume the agency.
    pub trusted_domain_name: String,
}

/// Index of an account in a [`Directory`]; 0 is the default account.
pub(crate) type AccountId = usize;

/// An account as the server sees it.
pub(crate) struct Entry {
    pub(crate) domain_name: String,
    pub(crate) domain_id: String,
    /// `None` for the default account means "open": unsigned requests are accepted as it.
    pub(crate) signer: Option<Signer>,
    pub(crate) projects: Vec<Project>,
}

/// Every account, indexed by access key, domain name and project id. Built once at start.
pub(crate) struct Directory {
    pub(crate) accounts: Vec<Entry>,
    by_access_key: HashMap<String, AccountId>,
    by_project: HashMap<String, (AccountId, usize)>,
    agencies: Vec<Agency>,
}

impl Directory {
    /// Indexes `config`'s accounts; refuses duplicate access keys, domain names or project ids
    /// and agencies or an instance agency that name an unknown account.
    pub(crate) fn new(config: &Config) -> Result<Directory, String> {
        let mut default_projects = vec![Project {
            region: config.region.clone(),
            project_id: config.project_id.clone(),
            tasks: config.tasks.clone(),
            secrets: config.secrets.clone(),
        }];
        default_projects.extend(config.regions.iter().cloned());
        let default = Entry {
            domain_name: config.domain_name.clone(),
            domain_id: DEFAULT_DOMAIN_ID.into(),
            signer: signer(&config.credentials),
            projects: default_projects,
        };
        let others = config.accounts.iter().map(|a| Entry {
            domain_name: a.domain_name.clone(),
            domain_id: a.domain_id.clone(),
            signer: signer(&a.credentials),
            projects: a.projects.clone(),
        });
        let mut dir = Directory {
            accounts: std::iter::once(default).chain(others).collect(),
            by_access_key: HashMap::new(),
            by_project: HashMap::new(),
            agencies: config.agencies.clone(),
        };
        let mut names = HashSet::new();
        for (id, account) in dir.accounts.iter().enumerate() {
            if !names.insert(account.domain_name.as_str()) {
                return Err(format!(
                    "domain name {:?} is used by two accounts",
                    account.domain_name
                ));
            }
            if let Some(s) = &account.signer {
                if dir
                    .by_access_key
                    .insert(s.access_key().to_string(), id)
                    .is_some()
                {
                    return Err(format!(
                        "access key {:?} is used by two accounts",
                        s.access_key()
                    ));
                }
            }
            for (i, p) in account.projects.iter().enumerate() {
                if dir
                    .by_project
                    .insert(p.project_id.clone(), (id, i))
                    .is_some()
                {
                    return Err(format!("project id {:?} is used twice", p.project_id));
                }
                let mut secret_names = HashSet::new();
                if let Some(s) = p.secrets.iter().find(|s| !secret_names.insert(&s.name)) {
                    return Err(format!(
                        "project {:?} has two secrets named {:?} (markers need unique names)",
                        p.project_id, s.name
                    ));
                }
            }
        }
        for a in &dir.agencies {
            for domain in [&a.domain_name, &a.trusted_domain_name] {
                if dir.by_domain_name(domain).is_none() {
                    return Err(format!(
                        "agency {:?} names the unknown account {domain:?}",
                        a.name
                    ));
                }
            }
        }
        if let InstanceAgency::Domain(domain) = &config.metadata.agency {
            if dir.by_domain_name(domain).is_none() {
                return Err(format!(
                    "the instance agency names the unknown account {domain:?}"
                ));
            }
        }
        Ok(dir)
    }

    pub(crate) fn account(&self, id: AccountId) -> &Entry {
        &self.accounts[id]
    }

    /// The account whose permanent key is `access_key`, with its signer.
    pub(crate) fn by_access_key(&self, access_key: &str) -> Option<(AccountId, &Signer)> {
        let id = *self.by_access_key.get(access_key)?;
        Some((id, self.accounts[id].signer.as_ref()?))
    }

    pub(crate) fn by_domain_name(&self, name: &str) -> Option<AccountId> {
        self.accounts.iter().position(|a| a.domain_name == name)
    }

    /// The owner of `project_id` and the project.
    pub(crate) fn project(&self, project_id: &str) -> Option<(AccountId, &Project)> {
        let &(id, i) = self.by_project.get(project_id)?;
        Some((id, &self.accounts[id].projects[i]))
    }

    /// The trusting account of agency `name` in the domain named `domain_name` or with id
    /// `domain_id`, when `caller` is the account it trusts.
    pub(crate) fn agency(
        &self,
        name: &str,
        domain: &DomainRef<'_>,
        caller: AccountId,
    ) -> Result<AccountId, AgencyRefusal> {
        let trusting = self
            .accounts
            .iter()
            .position(|a| match domain {
                DomainRef::Name(n) => a.domain_name == *n,
                DomainRef::Id(i) => a.domain_id == *i,
            })
            .ok_or(AgencyRefusal::UnknownDomain)?;
        let agency = self
            .agencies
            .iter()
            .find(|a| a.name == name && a.domain_name == self.accounts[trusting].domain_name)
            .ok_or(AgencyRefusal::UnknownAgency)?;
        if agency.trusted_domain_name != self.accounts[caller].domain_name {
            return Err(AgencyRefusal::NotTrusted);
        }
        Ok(trusting)
    }
}

/// How an assume-role request names the trusting account.
pub(crate) enum DomainRef<'a> {
    Name(&'a str),
    Id(&'a str),
}

/// Why an agency cannot be assumed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AgencyRefusal {
    UnknownDomain,
    UnknownAgency,
    NotTrusted,
}

fn signer(credentials: &Option<(String, String)>) -> Option<Signer> {
    credentials.as_ref().map(|(ak, sk)| Signer::new(ak, sk))
}

/// The `--accounts FILE` format: more projects of the default account, more accounts, and the
/// agencies between them. Each project's data is `tasks` (SecretTask objects), `generate` (with
/// an optional `seed`), or, when neither is given, the demo set; its secrets are `secrets`
/// (Secret objects), else those of the demo set or one per generated secret name (none for
/// explicit `tasks`).
///
/// ```json
/// {"regions": [{"region": "cn-south-1", "project_id": "p-south", "generate": 40, "seed": 3}],
///  "accounts": [{"domain_name": "team-b", "domain_id": "b0b0...", "access_key": "AKB",
///                "secret_key": "SKB", "projects": [{"region": "cn-north-4", "project_id": "p-b"}]}],
///  "agencies": [{"name": "csms-audit", "domain_name": "team-b",
///                "trusted_domain_name": "csms-emulator"}]}
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsFile {
    #[serde(default)]
    regions: Vec<ProjectSpec>,
    #[serde(default)]
    accounts: Vec<AccountSpec>,
    #[serde(default)]
    agencies: Vec<AgencySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectSpec {
    region: String,
    project_id: String,
    tasks: Option<Vec<SecretTask>>,
    secrets: Option<Vec<Secret>>,
    generate: Option<usize>,
    #[serde(default = "default_seed")]
    seed: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountSpec {
    domain_name: String,
    domain_id: String,
    access_key: Option<String>,
    secret_key: Option<String>,
    #[serde(default)]
    projects: Vec<ProjectSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgencySpec {
    name: String,
    domain_name: String,
    trusted_domain_name: String,
}

fn default_seed() -> u64 {
    42
}

impl AccountsFile {
    /// Reads and parses `path`. Errors are one-line messages naming the file.
    pub fn load(path: &Path) -> Result<AccountsFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a valid accounts file: {e}", path.display()))
    }

    /// Adds the file's regions, accounts and agencies to `config`.
    pub fn apply(self, config: &mut Config) -> Result<(), String> {
        config
            .regions
            .extend(self.regions.into_iter().map(ProjectSpec::build));
        for a in self.accounts {
            let credentials = match (a.access_key, a.secret_key) {
                (Some(ak), Some(sk)) => Some((ak, sk)),
                (None, None) => None,
                _ => {
                    return Err(format!(
                        "account {:?}: access_key and secret_key go together",
                        a.domain_name
                    ))
                }
            };
            config.accounts.push(Account {
                domain_name: a.domain_name,
                domain_id: a.domain_id,
                credentials,
                projects: a.projects.into_iter().map(ProjectSpec::build).collect(),
            });
        }
        config
            .agencies
            .extend(self.agencies.into_iter().map(|a| Agency {
                name: a.name,
                domain_name: a.domain_name,
                trusted_domain_name: a.trusted_domain_name,
            }));
        Ok(())
    }
}

impl ProjectSpec {
    fn build(self) -> Project {
        let spec = DataSpec {
            region: self.region.clone(),
            project_id: self.project_id.clone(),
            ..DataSpec::default()
        };
        let (tasks, secrets) = match (self.tasks, self.generate) {
            (Some(tasks), _) => (tasks, Vec::new()),
            (None, Some(n)) => {
                let tasks = data::generate_with(n, self.seed, &spec);
                let secrets = data::secrets_for(&tasks, &spec);
                (tasks, secrets)
            }
            (None, None) => (data::demo(&spec), data::demo_secrets(&spec)),
        };
        Project {
            region: self.region,
            project_id: self.project_id,
            tasks,
            secrets: self.secrets.unwrap_or(secrets),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_accounts() -> Config {
        Config {
            credentials: Some(("AKA".into(), "SKA".into())),
            regions: vec![Project {
                region: "cn-south-1".into(),
                project_id: "pa-south".into(),
                ..Project::default()
            }],
            accounts: vec![Account {
                domain_name: "team-b".into(),
                domain_id: "b".repeat(32),
                credentials: None,
                projects: vec![Project {
                    region: "cn-north-4".into(),
                    project_id: "pb".into(),
                    ..Project::default()
                }],
            }],
            agencies: vec![Agency {
                name: "audit".into(),
                domain_name: "team-b".into(),
                trusted_domain_name: DEFAULT_DOMAIN_NAME.into(),
            }],
            ..Config::default()
        }
    }

    #[test]
    fn indexes_keys_projects_and_agencies() {
        let d = Directory::new(&two_accounts()).unwrap();
        assert_eq!(d.by_access_key("AKA").map(|(id, _)| id), Some(0));
        assert!(d.by_access_key("AKB").is_none());
        assert_eq!(
            d.project("pa-south").map(|(id, p)| (id, p.region.as_str())),
            Some((0, "cn-south-1"))
        );
        assert_eq!(d.project("pb").map(|(id, _)| id), Some(1));
        assert_eq!(d.agency("audit", &DomainRef::Name("team-b"), 0), Ok(1));
        assert_eq!(d.agency("audit", &DomainRef::Id(&"b".repeat(32)), 0), Ok(1));
        assert_eq!(
            d.agency("audit", &DomainRef::Name("team-b"), 1),
            Err(AgencyRefusal::NotTrusted)
        );
        assert_eq!(
            d.agency("other", &DomainRef::Name("team-b"), 0),
            Err(AgencyRefusal::UnknownAgency)
        );
        assert_eq!(
            d.agency("audit", &DomainRef::Name("team-c"), 0),
            Err(AgencyRefusal::UnknownDomain)
        );
    }

    #[test]
    fn refuses_ambiguous_or_dangling_accounts() {
        let mut c = two_accounts();
        c.accounts[0].credentials = Some(("AKA".into(), "x".into()));
        assert!(Directory::new(&c).err().unwrap().contains("access key"));
        let mut c = two_accounts();
        c.accounts[0].projects[0].project_id = "pa-south".into();
        assert!(Directory::new(&c).err().unwrap().contains("project id"));
        let mut c = two_accounts();
        c.accounts[0].domain_name = DEFAULT_DOMAIN_NAME.into();
        assert!(Directory::new(&c).err().unwrap().contains("domain name"));
        let mut c = two_accounts();
        let twice = Secret {
            name: "db".into(),
            ..Secret::default()
        };
        c.accounts[0].projects[0].secrets = vec![twice.clone(), twice];
        assert!(Directory::new(&c).err().unwrap().contains("two secrets"));
        let mut c = two_accounts();
        c.agencies[0].trusted_domain_name = "nobody".into();
        assert!(Directory::new(&c)
            .err()
            .unwrap()
            .contains("unknown account"));
    }

    #[test]
    fn accounts_file_fills_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.json");
        std::fs::write(
            &path,
            r#"{"regions": [{"region": "cn-south-1", "project_id": "ps", "generate": 7, "seed": 1}],
                "accounts": [{"domain_name": "team-b", "domain_id": "idb", "access_key": "AKB",
                              "secret_key": "SKB",
                              "projects": [{"region": "cn-north-4", "project_id": "pb",
                                            "tasks": [{"task_id": "t1"}]},
                                           {"region": "cn-east-3", "project_id": "pe"}]}],
                "agencies": [{"name": "audit", "domain_name": "team-b",
                              "trusted_domain_name": "csms-emulator"}]}"#,
        )
        .unwrap();
        let mut c = Config::default();
        AccountsFile::load(&path).unwrap().apply(&mut c).unwrap();
        assert_eq!(c.regions[0].tasks.len(), 7);
        let b = &c.accounts[0];
        assert_eq!(b.credentials, Some(("AKB".into(), "SKB".into())));
        assert_eq!(b.projects[0].tasks[0].task_id, "t1");
        assert!(
            b.projects[1]
                .tasks
                .iter()
                .any(|t| t.secret_name.as_deref() == Some("legacy-api-key")),
            "no data given: the demo set"
        );
        assert_eq!(c.agencies[0].trusted_domain_name, "csms-emulator");
        Directory::new(&c).unwrap();

        std::fs::write(
            &path,
            r#"{"accounts": [{"domain_name": "x", "domain_id": "y", "access_key": "A"}]}"#,
        )
        .unwrap();
        let e = AccountsFile::load(&path)
            .unwrap()
            .apply(&mut Config::default());
        assert!(e.unwrap_err().contains("go together"));
        std::fs::write(&path, r#"{"acounts": []}"#).unwrap();
        assert!(AccountsFile::load(&path)
            .unwrap_err()
            .contains("not a valid accounts file"));
    }
}
