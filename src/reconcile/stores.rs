//! The ledger as the webhook sources' store. It lives here, where sources and the ledger meet,
//! so that neither of them imports the other.

use chrono::{DateTime, Utc};

use crate::ledger::{Ledger, LedgerError};
use crate::model::{DeliveryResult, SnapshotChanges, WebhookBooking, WebhookDelivery};
use crate::sources::webhook::{StoreError, WebhookStore};

fn store_error(error: LedgerError) -> StoreError {
    StoreError(error.to_string())
}

impl WebhookStore for Ledger {
    async fn confirmed_bookings(
        &self,
        source: &str,
        ending_after: DateTime<Utc>,
    ) -> Result<Vec<WebhookBooking>, StoreError> {
        self.webhook_confirmed_bookings(source, ending_after)
            .await
            .map_err(store_error)
    }

    async fn replace_bookings(
        &self,
        source: &str,
        bookings: &[WebhookBooking],
        taken_at: DateTime<Utc>,
    ) -> Result<SnapshotChanges, StoreError> {
        self.replace_webhook_bookings(source, bookings, taken_at)
            .await
            .map_err(store_error)
    }

    async fn record_deliveries(
        &self,
        deliveries: &[WebhookDelivery<'_>],
    ) -> Result<Vec<DeliveryResult>, StoreError> {
        self.record_webhook_deliveries(deliveries)
            .await
            .map_err(store_error)
    }
}
