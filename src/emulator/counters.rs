//! Counters of the credential endpoints and of temporary-key use, so tests can assert which
//! path a client took (metadata with or without a token, an assumed agency, ...).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) metadata_tokens: AtomicU64,
    pub(crate) metadata_keys: AtomicU64,
    pub(crate) assumed_keys: AtomicU64,
    pub(crate) assume_role_refusals: AtomicU64,
    pub(crate) temporary_key_requests: AtomicU64,
    pub(crate) temporary_key_rejections: AtomicU64,
    by_account: Mutex<BTreeMap<String, u64>>,
}

/// A snapshot of [`Counters`], part of [`Stats`](super::Stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialStats {
    /// Session tokens issued by `PUT /meta-data/latest/api/token`.
    pub metadata_tokens: u64,
    /// Keys issued by `GET /openstack/latest/securitykey`.
    pub metadata_keys: u64,
    /// Keys issued by assume-role (`POST /v3.0/OS-CREDENTIAL/securitytokens`, 201).
    pub assumed_keys: u64,
    /// Assume-role requests refused (400 or 403).
    pub assume_role_refusals: u64,
    /// Requests accepted with a temporary key and its token.
    pub temporary_key_requests: u64,
    /// Requests signed with a temporary key and refused: token missing or wrong, key expired,
    /// or a bad signature.
    pub temporary_key_rejections: u64,
    /// Authenticated tasks, projects and assume-role requests per account (domain name).
    pub by_account: BTreeMap<String, u64>,
}

impl Counters {
    pub(crate) fn count_account(&self, domain_name: &str) {
        *self
            .by_account
            .lock()
            .unwrap()
            .entry(domain_name.to_string())
            .or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> CredentialStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CredentialStats {
            metadata_tokens: get(&self.metadata_tokens),
            metadata_keys: get(&self.metadata_keys),
            assumed_keys: get(&self.assumed_keys),
            assume_role_refusals: get(&self.assume_role_refusals),
            temporary_key_requests: get(&self.temporary_key_requests),
            temporary_key_rejections: get(&self.temporary_key_rejections),
            by_account: self.by_account.lock().unwrap().clone(),
        }
    }
}
