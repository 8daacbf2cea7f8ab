//! [`CredentialProvider`]: the credentials in use, renewed from their source shortly before
//! they expire, so a listing that outlives one-hour keys keeps signing with valid ones.
//!
//! Callers ask for [`CredentialProvider::current`] before each request. Renewal happens under a
//! lock, so when many requests find the keys about to expire, one of them fetches and the others
//! wait for and share the result. A failed renewal keeps the old keys while they are still valid
//! (and tries again only after [`RefreshSettings::retry_interval`]); once they have expired the
//! failure is returned.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::agency::AgencyClient;
use super::error::CredentialError;
use super::metadata::MetadataClient;
use super::{Credentials, Source};

/// Renew keys this long before they expire: the Go provider's margin. ECS replaces its keys 10
/// minutes before expiry, so a renewal in that window gets the new ones.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(10 * 60);
/// After a renewal, wait this long before another: it stops a source whose fresh keys are
/// already within the margin from being asked before every request.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(60);

/// When to renew.
#[derive(Debug, Clone, Copy)]
pub struct RefreshSettings {
    pub margin: Duration,
    pub retry_interval: Duration,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        RefreshSettings {
            margin: DEFAULT_MARGIN,
            retry_interval: DEFAULT_RETRY_INTERVAL,
        }
    }
}

/// How fresh keys are fetched.
#[derive(Debug)]
pub(super) enum Fetcher {
    /// Keys given by the user: nothing to renew them from.
    Fixed,
    Metadata(MetadataClient),
    /// Assume the agency again with the (themselves renewed) base keys.
    Agency {
        base: Arc<CredentialProvider>,
        client: AgencyClient,
    },
}

#[derive(Debug)]
struct State {
    credentials: Arc<Credentials>,
    last_fetch: Instant,
}

/// The credentials in use and how to renew them. Share it (`Arc`) between requests.
#[derive(Debug)]
pub struct CredentialProvider {
    source: Source,
    fetcher: Fetcher,
    settings: RefreshSettings,
    state: Mutex<State>,
}

impl CredentialProvider {
    /// Keys that are never renewed (block, environment, shared file).
    pub fn fixed(source: Source, credentials: Credentials) -> Self {
        Self::new(
            source,
            credentials,
            Fetcher::Fixed,
            RefreshSettings::default(),
        )
    }

    pub(super) fn new(
        source: Source,
        credentials: Credentials,
        fetcher: Fetcher,
        settings: RefreshSettings,
    ) -> Self {
        CredentialProvider {
            source,
            fetcher,
            settings,
            state: Mutex::new(State {
                credentials: Arc::new(credentials),
                last_fetch: Instant::now(),
            }),
        }
    }

    /// Where the keys come from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Valid keys for the next request: the ones held, or fresh ones when those expire within
    /// the margin.
    pub async fn current(&self) -> Result<Arc<Credentials>, CredentialError> {
        let mut state = self.state.lock().await;
        let now = OffsetDateTime::now_utc();
        let held = state.credentials.clone();
        if matches!(self.fetcher, Fetcher::Fixed) || !held.expires_within(self.settings.margin, now)
        {
            return Ok(held);
        }
        let expired = held.expires_within(Duration::ZERO, now);
        if !expired && state.last_fetch.elapsed() < self.settings.retry_interval {
            return Ok(held);
        }
        state.last_fetch = Instant::now();
        match self
            .fetch(&held)
            .await
            .and_then(|fresh| unexpired(&self.source, fresh))
        {
            Ok(fresh) => {
                tracing::info!(
                    source = %self.source,
                    expires_at = ?fresh.expires_at,
                    "renewed temporary credentials before they expire"
                );
                state.credentials = Arc::new(fresh);
                Ok(state.credentials.clone())
            }
            Err(e) if !expired => {
                tracing::warn!(
                    source = %self.source,
                    error = %e,
                    "cannot renew temporary credentials; using the current ones until they expire"
                );
                Ok(held)
            }
            Err(e) => Err(e),
        }
    }

    async fn fetch(&self, held: &Credentials) -> Result<Credentials, CredentialError> {
        match &self.fetcher {
            Fetcher::Fixed => Ok(held.clone()),
            Fetcher::Metadata(client) => Ok(client.fetch().await?),
            Fetcher::Agency { base, client } => {
                let base = Box::pin(base.current()).await?;
                Ok(client.assume(&base).await?)
            }
        }
    }
}

/// `keys` as fetched from `source`, unless they have already expired: a source that hands out
/// dead keys (a wrong clock, a stuck renewal) is named with their `expires_at`, instead of every
/// request failing with the gateway's 401.
pub(super) fn unexpired(
    source: &Source,
    keys: Credentials,
) -> Result<Credentials, CredentialError> {
    let now = OffsetDateTime::now_utc();
    match keys.expires_at {
        Some(expires_at) if expires_at <= now => Err(CredentialError::Expired {
            from: source.clone(),
            expires_at,
            now,
        }),
        _ => Ok(keys),
    }
}
