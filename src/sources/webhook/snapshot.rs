//! `snapshot_url`: the sender's full list of bookings, fetched with a signed GET. A snapshot
//! that was read whole replaces the source's stored state; one that was not changes nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::payload::{PayloadError, ReadRules, parse_booking};
use super::signature::{SIGNATURE_HEADER, sign};
use super::store::{StoreError, WebhookStore};
use crate::config::{SourceConfig, SourceKind, check_transport, redact_url};
use crate::model::{BookingStatus, SnapshotChanges, WebhookBooking};

/// The whole request, body included.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("source {name}: has no `snapshot_url`")]
    NotConfigured { name: String },
    #[error("source {name}: key `snapshot_url`: {reason}")]
    Transport { name: String, reason: String },
    #[error("source {name}: snapshot {url}: request failed: {reason}")]
    Request {
        name: String,
        url: String,
        reason: String,
    },
    #[error("source {name}: snapshot {url}: answered HTTP {status}")]
    Status {
        name: String,
        url: String,
        status: u16,
    },
    #[error("source {name}: snapshot {url}: larger than {limit} bytes (config key `max_bytes`)")]
    TooLarge {
        name: String,
        url: String,
        limit: u64,
    },
    #[error("source {name}: snapshot {url}: {error}")]
    Payload {
        name: String,
        url: String,
        error: PayloadError,
    },
    /// The snapshot would cancel too many upcoming bookings at once: a sender's outage looks
    /// exactly like this, so it is held as an unknown read (DESIGN.md invariant 2).
    #[error(
        "source {name}: snapshot would cancel {dropped} of {upcoming} upcoming bookings at once; \
         nothing applied until it is confirmed with `flexysync sync --confirm {name}`"
    )]
    Shrink {
        name: String,
        dropped: usize,
        upcoming: usize,
    },
    #[error("source {name}: snapshot could not be stored: {error}")]
    Store { name: String, error: StoreError },
}

/// GETs the source's snapshot, signed like a delivery over an empty body, and reads it whole:
/// a JSON array of booking objects. Bookings of resources the source does not map are left
/// out. Any error means nothing is known: the caller must change nothing.
///
/// `http` should have a connect timeout; the whole request is bounded here.
pub async fn fetch_snapshot(
    http: &reqwest::Client,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> Result<Vec<WebhookBooking>, SnapshotError> {
    let name = source.name.clone();
    let url = match (&source.kind, &source.snapshot_url) {
        (SourceKind::Webhook, Some(url)) => url.0.clone(),
        _ => return Err(SnapshotError::NotConfigured { name }),
    };
    check_transport(&url).map_err(|reason| SnapshotError::Transport {
        name: name.clone(),
        reason,
    })?;
    let shown = redact_url(&url);
    let request_failed = |err: reqwest::Error| SnapshotError::Request {
        name: name.clone(),
        url: shown.clone(),
        reason: crate::net_error::describe(err),
    };
    let secret = source
        .secret
        .as_ref()
        .map(|s| s.expose_secret().as_bytes().to_vec())
        .unwrap_or_default();
    let mut response = http
        .get(url.clone())
        .header(SIGNATURE_HEADER, sign(&secret, now.timestamp(), b""))
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(request_failed)?;
    if response.url() != &url {
        crate::sources::fetch::check_redirect(Some(&url), response.url()).map_err(|reason| {
            SnapshotError::Transport {
                name: name.clone(),
                reason,
            }
        })?;
    }
    if !response.status().is_success() {
        return Err(SnapshotError::Status {
            name,
            url: shown,
            status: response.status().as_u16(),
        });
    }
    let limit = source.max_bytes;
    let too_large = || SnapshotError::TooLarge {
        name: name.clone(),
        url: shown.clone(),
        limit,
    };
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request_failed)? {
        if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    parse_snapshot(&body, source).map_err(|error| SnapshotError::Payload {
        name: name.clone(),
        url: shown.clone(),
        error,
    })
}

/// Reads a snapshot body: every entry must be valid, or the whole snapshot is refused.
pub(crate) fn parse_snapshot(
    body: &[u8],
    source: &SourceConfig,
) -> Result<Vec<WebhookBooking>, PayloadError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|err| PayloadError::Json(err.to_string()))?;
    let Value::Array(items) = value else {
        return Err(PayloadError::Field {
            field: "body".into(),
            reason: "expected a JSON array of booking objects".into(),
        });
    };
    let rules = ReadRules::of(source);
    let mut seen = BTreeSet::new();
    let mut bookings = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let prefix = format!("[{index}]");
        let booking = parse_booking(item, &prefix, rules, false)?;
        if !seen.insert(booking.booking_id.clone()) {
            return Err(PayloadError::Field {
                field: format!("{prefix}.id"),
                reason: "this booking id is listed twice".into(),
            });
        }
        match &booking.resource {
            Some(resource) if !source.objects.contains_key(resource) => {
                tracing::debug!(
                    source = %source.name, booking_id = %booking.booking_id,
                    "snapshot booking of an unmapped resource left out"
                );
            }
            _ => bookings.push(booking),
        }
    }
    Ok(bookings)
}

/// Makes a fetched snapshot (taken at `taken_at`, the time the request was sent) the stored
/// state of `source`: listed bookings take the listed state, the others become cancelled.
pub async fn apply_snapshot(
    store: &impl WebhookStore,
    source: &SourceConfig,
    bookings: &[WebhookBooking],
    taken_at: DateTime<Utc>,
) -> Result<SnapshotChanges, SnapshotError> {
    let changes = store
        .replace_bookings(&source.name, bookings, taken_at)
        .await
        .map_err(|error| SnapshotError::Store {
            name: source.name.clone(),
            error,
        })?;
    tracing::info!(
        source = %source.name,
        listed = bookings.len(),
        updated = ?changes.updated,
        cancelled = ?changes.cancelled,
        "webhook snapshot applied"
    );
    Ok(changes)
}

/// How many of the `upcoming` confirmed bookings a snapshot would cancel (they are not
/// confirmed in it).
pub fn cancelled_by(snapshot: &[WebhookBooking], upcoming: &[WebhookBooking]) -> usize {
    let still_confirmed: std::collections::HashSet<&str> = snapshot
        .iter()
        .filter(|b| b.status == BookingStatus::Confirmed)
        .map(|b| b.booking_id.as_str())
        .collect();
    upcoming
        .iter()
        .filter(|b| !still_confirmed.contains(b.booking_id.as_str()))
        .count()
}

/// Fetches and applies the snapshot; on any fetch error the stored state is untouched.
///
/// `max_drop` is the shrink guard: a snapshot that would cancel more than this share of the
/// source's upcoming confirmed bookings is refused and changes nothing (`None`: the operator
/// confirmed it).
pub async fn sync_snapshot(
    http: &reqwest::Client,
    store: &impl WebhookStore,
    source: &SourceConfig,
    now: DateTime<Utc>,
    max_drop: Option<f64>,
) -> Result<SnapshotChanges, SnapshotError> {
    let bookings = fetch_snapshot(http, source, now).await?;
    if let Some(share) = max_drop {
        let upcoming = store
            .confirmed_bookings(&source.name, now)
            .await
            .map_err(|error| SnapshotError::Store {
                name: source.name.clone(),
                error,
            })?;
        let dropped = cancelled_by(&bookings, &upcoming);
        if dropped > 0 && dropped as f64 > share * upcoming.len() as f64 {
            return Err(SnapshotError::Shrink {
                name: source.name.clone(),
                dropped,
                upcoming: upcoming.len(),
            });
        }
    }
    apply_snapshot(store, source, &bookings, now).await
}
