//! What the server shares between connections: the configuration, the account directory, the
//! keys it issued, and the counters behind [`Stats`]. Endpoints read it; it knows no endpoint.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::accounts::Directory;
use super::counters::Counters;
use super::keys::KeyStore;
use super::wire::WireState;
use super::{metadata, Config, Stats};

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) directory: Directory,
    pub(crate) keys: KeyStore,
    pub(crate) metadata_tokens: metadata::Tokens,
    pub(crate) counters: Counters,
    pub(crate) connections: AtomicU64,
    pub(crate) requests: AtomicU64,
    /// Requests of each listing endpoint, which the `*_every` faults count.
    pub(crate) task_requests: AtomicU64,
    pub(crate) secret_requests: AtomicU64,
    pub(crate) by_path: Mutex<BTreeMap<String, u64>>,
    pub(crate) wire: WireState,
}

impl Shared {
    pub(crate) fn new(config: Config) -> io::Result<Self> {
        Ok(Shared {
            directory: Directory::new(&config)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
            keys: KeyStore::default(),
            metadata_tokens: metadata::Tokens::default(),
            counters: Counters::default(),
            config,
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            task_requests: AtomicU64::new(0),
            secret_requests: AtomicU64::new(0),
            by_path: Mutex::new(BTreeMap::new()),
            wire: WireState::default(),
        })
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            connections: self.connections.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            by_path: self.by_path.lock().unwrap().clone(),
            credentials: self.counters.snapshot(),
            bytes_sent: self.wire.bytes_sent.load(Ordering::Relaxed),
            gzipped_responses: self.wire.gzipped.load(Ordering::Relaxed),
        }
    }
}
