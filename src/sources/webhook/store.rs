//! Where webhook sources keep what senders told: an interface, so that the sources depend on
//! no storage (the ledger implements it; see `reconcile::stores`).

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::model::{DeliveryResult, SnapshotChanges, WebhookBooking, WebhookDelivery};

/// A storage failure, in words (the store's own error, already rendered).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// What webhook sources need from durable storage.
pub trait WebhookStore: Clone + Send + Sync + 'static {
    /// Bookings of `source` whose latest applied state is confirmed and that end after
    /// `ending_after`.
    fn confirmed_bookings(
        &self,
        source: &str,
        ending_after: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<WebhookBooking>, StoreError>> + Send;

    /// Makes a snapshot taken at `taken_at` the stored state of `source`.
    fn replace_bookings(
        &self,
        source: &str,
        bookings: &[WebhookBooking],
        taken_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<SnapshotChanges, StoreError>> + Send;

    /// Stores signed deliveries in one transaction; one result each, in order.
    fn record_deliveries(
        &self,
        deliveries: &[WebhookDelivery<'_>],
    ) -> impl Future<Output = Result<Vec<DeliveryResult>, StoreError>> + Send;
}
