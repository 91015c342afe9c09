//! One interface over every kind of source: the pass asks a [`SourceReader`] what a source
//! says and gets a [`ReadOutcome`] that carries its certainty. Which kind of source it is
//! (a pulled calendar, pushed webhooks), which zone its times are read in and how its keypad
//! codes stay distinct are the reader's business, not the pass's.

use std::future::Future;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use super::codes::distinct_across_sources;
use super::fetch::{FetchMemo, ReadContext, read_source};
use super::guard::{GuardInput, GuardPolicy, assess_shrink};
use super::webhook::{
    WebhookStore, apply_snapshot, cancelled_by, fetch_snapshot, webhook_reservations,
};
use crate::config::{CodePolicy, SourceConfig, SourceKind};
use crate::model::{
    FailureKind, ReadFailure, Reservation, ShrinkHold, StoredReservation, WebhookBooking,
};

/// How one read of a source ended. A failed read is *unknown*, never *empty*: it yields no
/// reservations and no deletions (DESIGN.md invariant 2).
#[derive(Debug, Clone)]
pub enum ReadOutcome {
    /// Fetched and parsed: this is the source's whole desired state, except the UIDs in
    /// `unreadable`, which are unknown.
    Fresh {
        reservations: Vec<Reservation>,
        /// Hash of the fetched content, to tell "unchanged since" apart.
        content_fingerprint: String,
        /// Components skipped or repaired, with their UID and line.
        warnings: Vec<String>,
        /// Key prefixes (`source/UID/`) of VEVENTs that could not be read: what the ledger
        /// holds under them is kept as it was.
        unreadable: Vec<String>,
    },
    /// The server said 304 Not Modified: the last fresh read still holds.
    Unchanged,
    /// A pushed source: the signed events stored so far are its desired state, whatever
    /// became of its snapshot.
    Pushed {
        reservations: Vec<Reservation>,
        snapshot: SnapshotRead,
    },
    /// Nothing is known about this source's reservations.
    Failed(ReadFailure),
}

/// What became of a pushed source's snapshot in this read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotRead {
    /// The source has no `snapshot_url`, or this pass changes nothing (dry run).
    NotTaken,
    /// Applied: the stored events now agree with the sender's full list. `released` says why
    /// an earlier hold ended, if one did.
    Applied { released: Option<String> },
    /// Fetched but not applied: it would cancel too many bookings at once (shrink guard).
    Held(ShrinkHold),
    /// Not read or not stored: unknown, so nothing changes from it (signed events still apply).
    Unknown(ReadFailure),
}

/// What the pass knows of a source before reading it.
#[derive(Debug, Clone, Copy)]
pub struct ReadRequest<'a> {
    pub source: &'a SourceConfig,
    /// The reader's own memo from the last read (conditional-fetch state), as stored.
    pub memo: Option<&'a str>,
    /// The source's hold in force (a pushed source's held snapshot).
    pub hold: Option<&'a ShrinkHold>,
    pub guard: GuardPolicy,
    /// The operator ran `sync --confirm SOURCE`.
    pub confirmed: bool,
    /// Change nothing anywhere: no snapshot is applied.
    pub dry_run: bool,
}

/// The name of a source's kind, as the status page and `flexysync status` label it.
pub fn kind_label(source: &SourceConfig) -> &'static str {
    match source.kind {
        SourceKind::Ical => "ical",
        SourceKind::Webhook => "webhook",
    }
}

/// True when a source's reservations are pushed to flexysync (signed events): a successful
/// read of it is [`ReadOutcome::Pushed`], and its hold is its snapshot's, which holds no
/// deletion.
pub fn is_pushed(source: &SourceConfig) -> bool {
    source.kind == SourceKind::Webhook
}

/// Where a booking object's time zone comes from (FlexyKey's unit, or the zone kept from an
/// earlier lookup).
pub trait ZoneLookup: Sync {
    /// The zone of the object's unit; the error says why it is unknown.
    fn object_zone(&self, object: i64) -> impl Future<Output = Result<Tz, String>> + Send;
}

/// Reads sources of every kind.
pub trait SourceReader: Sync {
    /// Reads one source; the memo returned is the one to store for the next read.
    fn read(
        &self,
        request: ReadRequest<'_>,
        zones: &impl ZoneLookup,
    ) -> impl Future<Output = (ReadOutcome, Option<String>)> + Send;

    /// Keeps `merged`'s keypad codes distinct from those of `earlier` (other sources' stays)
    /// on the same door, where the source derives them; returns warnings for what cannot be
    /// mended.
    fn distinct_codes(
        &self,
        source: &SourceConfig,
        merged: &mut [StoredReservation],
        earlier: &[StoredReservation],
    ) -> Vec<String>;
}

/// The reader of real sources: calendars over HTTP or from files, webhooks from their store.
pub struct Reader<S> {
    http: reqwest::Client,
    store: S,
    now: DateTime<Utc>,
    horizon_days: u32,
    code_secret: Vec<u8>,
}

impl<S: WebhookStore> Reader<S> {
    pub fn new(
        http: reqwest::Client,
        store: S,
        now: DateTime<Utc>,
        horizon_days: u32,
        code_secret: Vec<u8>,
    ) -> Self {
        Reader {
            http,
            store,
            now,
            horizon_days,
            code_secret,
        }
    }

    async fn read_calendar(
        &self,
        request: ReadRequest<'_>,
        zones: &impl ZoneLookup,
    ) -> (ReadOutcome, Option<String>) {
        let source = request.source;
        let mut zone = None;
        let mut zone_unknown = None;
        if let (None, Some(object)) = (&source.timezone, source.booking_object_id) {
            match zones.object_zone(object).await {
                Ok(tz) => zone = Some(tz),
                Err(why) => zone_unknown = Some(why),
            }
        }
        // A memo that no longer parses only costs one unconditional fetch.
        let previous: Option<FetchMemo> = request
            .memo
            .and_then(|text| serde_json::from_str(text).ok());
        let ctx = ReadContext {
            http: &self.http,
            now: self.now,
            horizon_days: self.horizon_days,
            default_timezone: zone,
            code_secret: &self.code_secret,
        };
        let (mut outcome, memo) = read_source(source, &ctx, previous.as_ref()).await;
        if let (ReadOutcome::Failed(failure), Some(why)) = (&mut outcome, zone_unknown)
            && failure.kind == FailureKind::Zone
        {
            failure.text = format!("{} ({why})", failure.text);
        }
        (outcome, memo.and_then(|m| serde_json::to_string(&m).ok()))
    }

    async fn read_pushed(&self, request: ReadRequest<'_>) -> ReadOutcome {
        let source = request.source;
        let snapshot = match (&source.snapshot_url, request.dry_run) {
            (Some(_), false) => self.take_snapshot(request).await,
            _ => SnapshotRead::NotTaken,
        };
        match webhook_reservations(&self.store, source, self.now).await {
            Ok(reservations) => ReadOutcome::Pushed {
                reservations,
                snapshot,
            },
            Err(err) => ReadOutcome::Failed(ReadFailure::new(FailureKind::Store, err.to_string())),
        }
    }

    /// Fetches the snapshot and applies it, unless it would cancel too many upcoming bookings
    /// at once: then it is held, and released like a calendar's shrink.
    async fn take_snapshot(&self, request: ReadRequest<'_>) -> SnapshotRead {
        let source = request.source;
        let unknown = |kind, text: String| SnapshotRead::Unknown(ReadFailure::new(kind, text));
        let bookings = match fetch_snapshot(&self.http, source, self.now).await {
            Ok(bookings) => bookings,
            Err(err) => return unknown(FailureKind::Snapshot, err.to_string()),
        };
        let upcoming = match self.store.confirmed_bookings(&source.name, self.now).await {
            Ok(upcoming) => upcoming,
            Err(err) => return unknown(FailureKind::Store, err.to_string()),
        };
        let dropped = cancelled_by(&bookings, &upcoming);
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let content = snapshot_fingerprint(&bookings);
        let verdict = assess_shrink(
            GuardInput {
                source: &source.name,
                previous: request.hold,
                before: count(upcoming.len()),
                after: count(upcoming.len() - dropped),
                content: &content,
                confirmed: request.confirmed,
            },
            &request.guard,
            self.now,
        );
        if let Some(hold) = verdict.hold {
            return SnapshotRead::Held(hold);
        }
        match apply_snapshot(&self.store, source, &bookings, self.now).await {
            Ok(_) => SnapshotRead::Applied {
                released: verdict.released,
            },
            Err(err) => unknown(FailureKind::Store, err.to_string()),
        }
    }
}

impl<S: WebhookStore> SourceReader for Reader<S> {
    async fn read(
        &self,
        request: ReadRequest<'_>,
        zones: &impl ZoneLookup,
    ) -> (ReadOutcome, Option<String>) {
        let read = match request.source.kind {
            SourceKind::Ical => self.read_calendar(request, zones).await,
            SourceKind::Webhook => (self.read_pushed(request).await, None),
        };
        // A source read is progress: the watchdog keeps being fed through a long pass.
        crate::progress::mark();
        read
    }

    fn distinct_codes(
        &self,
        source: &SourceConfig,
        merged: &mut [StoredReservation],
        earlier: &[StoredReservation],
    ) -> Vec<String> {
        // Only derived codes can be mended, and only calendars derive them.
        if source.kind != SourceKind::Ical || source.code == CodePolicy::None {
            return vec![];
        }
        distinct_across_sources(merged, earlier, &self.code_secret, source.code_length)
    }
}

/// A hash of a snapshot's content (the order of its entries aside): the same shrunken
/// snapshot for `shrink_confirm_hours` releases its hold.
fn snapshot_fingerprint(bookings: &[WebhookBooking]) -> String {
    let mut lines: Vec<String> = bookings
        .iter()
        .map(|b| {
            format!(
                "{}\u{1f}{}\u{1f}{:?}\u{1f}{:?}\u{1f}{:?}\u{1f}{:?}\u{1f}{}\u{1f}{:?}\u{1f}{:?}",
                b.booking_id,
                b.status.as_str(),
                b.resource,
                b.start,
                b.end,
                b.name,
                b.phones.join(","),
                b.code,
                b.rfid
            )
        })
        .collect();
    lines.sort_unstable();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(kind: &str) -> SourceConfig {
        let mut fields = serde_json::json!({"name": "s", "kind": kind, "booking_object_id": 7});
        if kind == "webhook" {
            fields =
                serde_json::json!({"name": "s", "kind": kind, "secret": "x", "objects": {"a": 7}});
        } else {
            fields["url"] = "https://example.com/s.ics".into();
        }
        serde_json::from_value(fields).unwrap()
    }

    #[test]
    fn the_label_and_the_pushed_flag_follow_the_kind_of_source() {
        let (calendar, hook) = (source("ical"), source("webhook"));
        assert_eq!(
            (kind_label(&calendar), is_pushed(&calendar)),
            ("ical", false)
        );
        assert_eq!((kind_label(&hook), is_pushed(&hook)), ("webhook", true));
    }
}
