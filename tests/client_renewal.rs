//! The client asks its credential provider for keys before every request, so a listing that
//! outlives temporary keys keeps signing with valid ones: proven against the emulator, whose
//! metadata keys here live 3 seconds while the listing takes longer.

use crate::common;

use std::time::{Duration, Instant};

use common::listing::list;
use common::terraform::{AK, SK};
use csms_provider::csms::credentials::{resolve, ChainInputs, MetadataSettings, RefreshSettings};
use csms_provider::csms::{Client, ClientConfig, RetryPolicy, TaskQuery};
use csms_provider::emulator::{generate, Config, Emulator, Faults};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_longer_than_its_keys_renews_them_between_pages() {
    let lifetime = Duration::from_secs(3);
    let emu = Emulator::start(Config {
        credentials: Some((AK.into(), SK.into())),
        tasks: generate(12, 5),
        temporary_key_lifetime: Some(lifetime),
        faults: Faults {
            latency: Duration::from_millis(400),
            ..Faults::default()
        },
        ..Config::default()
    })
    .await
    .unwrap();
    let resolved = resolve(ChainInputs {
        metadata: MetadataSettings {
            endpoint: emu.base_url(),
            timeout: Duration::from_secs(3),
        },
        // Keys are renewed once they have 2 s left, so none is sent within a page's latency of
        // its expiry.
        refresh: RefreshSettings {
            margin: Duration::from_secs(2),
            retry_interval: Duration::ZERO,
        },
        ..ChainInputs::default()
    })
    .await
    .unwrap();
    let client = Client::with_credentials(
        ClientConfig {
            endpoint: Some(emu.base_url()),
            project_id: Some(emu.project_id().into()),
            retry: RetryPolicy {
                max_retries: 0,
                ..RetryPolicy::default()
            },
            ..ClientConfig::default()
        },
        resolved.credentials,
    )
    .unwrap();
    let started = Instant::now();
    let query = TaskQuery {
        page_size: Some(1),
        ..TaskQuery::default()
    };
    let listing = list(&client, query).await.unwrap();

    assert_eq!(listing.items.tasks.len(), 12);
    assert!(
        started.elapsed() > lifetime,
        "the listing must outlive the first keys to prove anything"
    );
    let stats = emu.stats().credentials;
    assert!(stats.metadata_keys >= 2, "keys were renewed: {stats:?}");
    assert_eq!(stats.temporary_key_rejections, 0, "{stats:?}");
    assert_eq!(stats.temporary_key_requests, 12, "{stats:?}");
}
