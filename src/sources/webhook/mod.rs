//! Webhook sources: booking platforms push signed events to `POST /hooks/{source}`; each is
//! stored in the ledger before it is acknowledged, and the latest applied state of every
//! booking makes the source's reservations. An optional snapshot URL gives the full truth that
//! corrects lost or missed events. See `docs/webhooks.md` for the payload.

mod endpoint;
mod normalize;
pub mod payload;
pub mod signature;
mod snapshot;
mod store;
mod writer;

use chrono::{DateTime, Duration, Utc};

pub use endpoint::{MAX_BODY_BYTES, WebhookSources, WebhookState, routes};
pub use normalize::parse_time;
pub use snapshot::{SnapshotError, apply_snapshot, cancelled_by, fetch_snapshot, sync_snapshot};
pub use store::{StoreError, WebhookStore};

use super::{Credentials, Reservation};
use crate::config::{SourceConfig, SourceKind};
use crate::model::WebhookBooking;
use crate::when::whole_seconds;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("source {0:?} is not a webhook source")]
    NotWebhook(String),
    #[error("source {name}: {error}")]
    Store { name: String, error: StoreError },
}

/// The reservations of a webhook source: every stored booking whose latest applied state is
/// confirmed and that ends after `now` − 1 day. Keys are `<source>/<booking id>`.
pub async fn webhook_reservations(
    store: &impl WebhookStore,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> Result<Vec<Reservation>, WebhookError> {
    if source.kind != SourceKind::Webhook {
        return Err(WebhookError::NotWebhook(source.name.clone()));
    }
    let cutoff = now - Duration::days(1);
    let bookings = store
        .confirmed_bookings(&source.name, cutoff)
        .await
        .map_err(|error| WebhookError::Store {
            name: source.name.clone(),
            error,
        })?;
    Ok(bookings
        .iter()
        .filter_map(|booking| reservation_of(source, booking))
        .collect())
}

fn reservation_of(source: &SourceConfig, booking: &WebhookBooking) -> Option<Reservation> {
    let (Some(resource), Some(start), Some(end)) = (&booking.resource, booking.start, booking.end)
    else {
        tracing::warn!(
            source = %source.name,
            booking_id = %booking.booking_id,
            "stored confirmed booking lacks resource or times; skipped"
        );
        return None;
    };
    let Some(&booking_object_id) = source.objects.get(resource) else {
        // The config no longer maps this resource (it was removed since the event came).
        tracing::warn!(
            source = %source.name,
            booking_id = %booking.booking_id,
            resource = %resource,
            "booking's resource is not in `objects`; skipped"
        );
        return None;
    };
    // FlexyKey keeps whole seconds: a fraction would make the booking never equal its listing.
    let (start, end) = (whole_seconds(start), whole_seconds(end));
    if end <= start {
        tracing::warn!(
            source = %source.name,
            booking_id = %booking.booking_id,
            "stored confirmed booking lasts less than a second; skipped"
        );
        return None;
    }
    if let Some(reason) = super::overlong_stay(source, start, end) {
        tracing::warn!(
            source = %source.name,
            booking_id = %booking.booking_id,
            "{reason}; skipped"
        );
        return None;
    }
    Some(Reservation {
        source: source.name.clone(),
        key: format!("{}/{}", source.name, booking.booking_id),
        booking_object_id,
        start,
        end,
        credentials: Credentials {
            phones: booking.phones.iter().map(|p| p.as_str().into()).collect(),
            code: booking.code.as_deref().map(Into::into),
            rfid: booking.rfid.clone(),
        },
        label: booking
            .name
            .clone()
            .unwrap_or_else(|| booking.booking_id.clone()),
    })
}
