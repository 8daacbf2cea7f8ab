//! A client's listing, bounded: a test that hangs would otherwise hold the whole suite.

use std::time::Duration;

use csms_provider::csms::{Client, Error, Listing, TaskQuery, Tasks};
use tokio_util::sync::CancellationToken;

/// Lists with `query`, failing the test if the listing has not ended within 30 s.
pub async fn list(client: &Client, query: TaskQuery) -> Result<Listing<Tasks>, Error> {
    tokio::time::timeout(
        Duration::from_secs(30),
        client.list_tasks(&query, &CancellationToken::new()),
    )
    .await
    .expect("listing must end within 30 s")
}

/// [`list`] without filters.
pub async fn list_all(client: &Client) -> Result<Listing<Tasks>, Error> {
    list(client, TaskQuery::default()).await
}
