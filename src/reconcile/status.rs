//! What `flexysync status` (and the daemon's status page) shows, gathered from the ledger
//! alone: each source's freshness and held deletions, each object's upcoming arrivals (those
//! within 24 hours without a confirmed booking flagged), the last pass, open journal entries,
//! and what needs someone's attention (what makes `status` exit 1).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::plan::{PlanInput, Policy, ReadKind, SourceState, plan};
use crate::config::{Config, SourceKind};
use crate::ledger::{
    BookingState, JournalState, Ledger, LedgerError, PassRecord, SourceReadRecord, WriteKind,
};

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub now: DateTime<Utc>,
    pub sources: Vec<SourceStatus>,
    pub objects: Vec<ObjectStatus>,
    pub last_pass: Option<PassRecord>,
    pub open_journal: Vec<OpenWrite>,
    /// Arrivals within 24 hours without a confirmed booking, over all objects.
    pub flagged_arrivals: u32,
    /// What monitoring should page someone for; empty when all is well.
    pub attention: Vec<Attention>,
}

/// A source failing for longer than this needs someone.
pub const FAILING_ATTENTION_AFTER: Duration = Duration::hours(1);

/// One reason for `status` to exit 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attention {
    pub kind: AttentionKind,
    pub source: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionKind {
    /// An arrival within 24 hours (or a stay in progress) has no confirmed booking.
    UnconfirmedArrival,
    /// A source's reads have failed, and none has succeeded for over an hour (or ever).
    SourceFailing,
    /// A source's deletions are held: by the shrink guard, or because it left the config.
    DeletionsHeld,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub name: String,
    pub kind: &'static str,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<String>,
    pub last_reason: Option<String>,
    pub last_fresh_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// Why its deletions are held by the shrink guard, if they are.
    pub shrink_hold: Option<String>,
    pub held_deletions: Vec<HeldBooking>,
    pub upcoming_reservations: u32,
}

impl SourceStatus {
    /// A source the ledger holds no read of.
    fn unread(name: String, kind: &'static str) -> SourceStatus {
        SourceStatus {
            name,
            kind,
            last_attempt_at: None,
            last_outcome: None,
            last_reason: None,
            last_fresh_at: None,
            consecutive_failures: 0,
            shrink_hold: None,
            held_deletions: vec![],
            upcoming_reservations: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HeldBooking {
    pub booking_id: i64,
    pub booking_object_id: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectStatus {
    pub booking_object_id: i64,
    /// Owned bookings that have not ended.
    pub owned_bookings: u32,
    /// Arrivals in the next 7 days (and stays in progress), soonest first.
    pub arrivals: Vec<Arrival>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Arrival {
    pub reservation_key: String,
    pub source: String,
    pub label: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// An owned booking of exactly this reservation version exists.
    pub confirmed: bool,
    /// Starts within 24 hours (or is in progress) and is not confirmed.
    pub flagged: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenWrite {
    pub id: i64,
    pub kind: WriteKind,
    pub state: JournalState,
    pub booking_object_id: i64,
    pub booking_id: Option<i64>,
    pub reservation_key: String,
    pub error: Option<String>,
    pub intended_at: DateTime<Utc>,
}

/// Gathers the status at `now` from the ledger.
pub async fn status_report(
    config: &Config,
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Result<StatusReport, LedgerError> {
    let policy = Policy::from_config(&config.sync);
    let reservations = ledger.reservations().await?;
    let owned = ledger.owned_bookings().await?;
    let reads: HashMap<String, _> = ledger
        .source_reads()
        .await?
        .into_iter()
        .map(|r| (r.source.clone(), r))
        .collect();
    // The plan over what the ledger knows says which deletions are held and why.
    let states: HashMap<String, SourceState> = config
        .sources
        .iter()
        .map(|s| {
            let read = reads.get(&s.name);
            let mut state = SourceState::new(match read.map(|r| r.last_outcome.as_str()) {
                Some("failed") => ReadKind::Failed,
                _ if s.kind == SourceKind::Webhook => ReadKind::Pushed,
                _ => ReadKind::Fresh,
            });
            state.failure = read.and_then(|r| r.last_reason.clone());
            state.hold = read.and_then(|r| r.hold.as_ref().map(|h| h.reason.clone()));
            (s.name.clone(), state)
        })
        .collect();
    let planned = plan(PlanInput {
        reservations: &reservations,
        owned: &owned,
        sources: &states,
        policy: &policy,
        now,
    });
    let mut sources: Vec<SourceStatus> = config
        .sources
        .iter()
        .map(|s| {
            let read = reads.get(&s.name);
            SourceStatus {
                name: s.name.clone(),
                kind: match s.kind {
                    SourceKind::Ical => "ical",
                    SourceKind::Webhook => "webhook",
                },
                last_attempt_at: read.map(|r| r.last_attempt_at),
                last_outcome: read.map(|r| r.last_outcome.clone()),
                last_reason: read.and_then(|r| r.last_reason.clone()),
                last_fresh_at: read.and_then(|r| r.last_fresh_at),
                consecutive_failures: read.map_or(0, |r| r.consecutive_failures),
                shrink_hold: read.and_then(|r| r.hold.as_ref().map(|h| h.reason.clone())),
                held_deletions: vec![],
                upcoming_reservations: super::reads::upcoming(
                    reservations
                        .iter()
                        .filter(|r| r.reservation.source == s.name),
                    &policy,
                    now,
                ),
            }
        })
        .collect();
    for held in &planned.held {
        let entry = HeldBooking {
            booking_id: held.booking.booking_id,
            booking_object_id: held.booking.booking_object_id,
            start: held.booking.start,
            end: held.booking.end,
            reason: held.reason.clone(),
        };
        match sources.iter_mut().find(|s| s.name == held.booking.source) {
            Some(source) => source.held_deletions.push(entry),
            None => sources.push(SourceStatus {
                held_deletions: vec![entry],
                ..SourceStatus::unread(held.booking.source.clone(), "removed from the config")
            }),
        }
    }

    let mut objects: BTreeMap<i64, ObjectStatus> = BTreeMap::new();
    let object = |objects: &mut BTreeMap<i64, ObjectStatus>, id: i64| {
        objects.entry(id).or_insert_with(|| ObjectStatus {
            booking_object_id: id,
            owned_bookings: 0,
            arrivals: vec![],
        });
    };
    for booking in owned
        .iter()
        .filter(|b| b.state == BookingState::Active && b.end > now)
    {
        object(&mut objects, booking.booking_object_id);
        if let Some(o) = objects.get_mut(&booking.booking_object_id) {
            o.owned_bookings += 1;
        }
    }
    let week = now + Duration::days(7);
    let day = now + Duration::hours(24);
    let mut flagged_arrivals = 0;
    for stored in &reservations {
        let r = &stored.reservation;
        if stored.misses >= policy.debounce_reads || r.end <= now || r.start > week {
            continue;
        }
        let confirmed = owned.iter().any(|b| {
            b.state == BookingState::Active
                && b.reservation_key == r.key
                && b.fingerprint == stored.fingerprint
        });
        let flagged = !confirmed && r.start <= day;
        flagged_arrivals += u32::from(flagged);
        object(&mut objects, r.booking_object_id);
        if let Some(o) = objects.get_mut(&r.booking_object_id) {
            o.arrivals.push(Arrival {
                reservation_key: r.key.clone(),
                source: r.source.clone(),
                label: r.label.clone(),
                start: r.start,
                end: r.end,
                confirmed,
                flagged,
            });
        }
    }
    for o in objects.values_mut() {
        o.arrivals
            .sort_by(|a, b| (a.start, &a.reservation_key).cmp(&(b.start, &b.reservation_key)));
    }
    let open_journal = ledger
        .open_journal()
        .await?
        .into_iter()
        .map(|e| OpenWrite {
            id: e.id,
            kind: e.kind,
            state: e.state,
            booking_object_id: e.booking_object_id,
            booking_id: e.booking_id,
            reservation_key: e.reservation_key,
            error: e.error,
            intended_at: e.intended_at,
        })
        .collect();
    let objects: Vec<ObjectStatus> = objects.into_values().collect();
    let attention = attention(&sources, &objects, &reads, now);
    Ok(StatusReport {
        now,
        attention,
        sources,
        objects,
        last_pass: ledger.recent_passes(1).await?.into_iter().next(),
        open_journal,
        flagged_arrivals,
    })
}

/// Every reason the status needs someone: arrivals first (a guest at the door), then failing
/// sources, then held deletions.
fn attention(
    sources: &[SourceStatus],
    objects: &[ObjectStatus],
    reads: &HashMap<String, SourceReadRecord>,
    now: DateTime<Utc>,
) -> Vec<Attention> {
    let mut found = vec![];
    for object in objects {
        for arrival in object.arrivals.iter().filter(|a| a.flagged) {
            found.push(Attention {
                kind: AttentionKind::UnconfirmedArrival,
                source: arrival.source.clone(),
                detail: format!(
                    "{} ({}) from {} has no confirmed booking on object {}",
                    arrival.label,
                    arrival.reservation_key,
                    arrival.start.format("%Y-%m-%dT%H:%M:%SZ"),
                    object.booking_object_id
                ),
            });
        }
    }
    for source in sources {
        let Some(read) = reads.get(&source.name) else {
            continue;
        };
        let failing_long = read.last_outcome == "failed"
            && read
                .last_success_at
                .is_none_or(|success| now - success > FAILING_ATTENTION_AFTER);
        if failing_long {
            let since = read.last_success_at.map_or_else(
                || "has never been read".to_owned(),
                |at| format!("not read since {}", at.format("%Y-%m-%dT%H:%M:%SZ")),
            );
            found.push(Attention {
                kind: AttentionKind::SourceFailing,
                source: source.name.clone(),
                detail: format!(
                    "{since}; {} failed read(s) in a row: {}",
                    read.consecutive_failures,
                    read.last_reason.as_deref().unwrap_or("no reason recorded")
                ),
            });
        }
    }
    for source in sources {
        if source.held_deletions.is_empty() && source.shrink_hold.is_none() {
            continue;
        }
        let why = source
            .shrink_hold
            .clone()
            .or_else(|| source.held_deletions.first().map(|h| h.reason.clone()))
            .unwrap_or_default();
        found.push(Attention {
            kind: AttentionKind::DeletionsHeld,
            source: source.name.clone(),
            detail: format!(
                "{} deletion(s) held: {why}; `flexysync sync --confirm {}` lets them through",
                source.held_deletions.len(),
                source.name
            ),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str) -> SourceStatus {
        SourceStatus::unread(name.to_owned(), "ical")
    }

    fn read(name: &str, outcome: &str, success: Option<DateTime<Utc>>) -> SourceReadRecord {
        SourceReadRecord {
            source: name.to_owned(),
            last_attempt_at: Utc::now(),
            last_outcome: outcome.to_owned(),
            last_reason: Some("HTTP status 503".to_owned()),
            last_success_at: success,
            last_fresh_at: success,
            content_fingerprint: None,
            consecutive_failures: 4,
            fetch_memo: None,
            hold: None,
        }
    }

    #[test]
    fn a_source_needs_attention_once_it_has_failed_for_over_an_hour_or_never_worked() {
        let now = Utc::now();
        let cases = [
            ("long", "failed", Some(now - Duration::minutes(61))),
            ("never", "failed", None),
            ("recent", "failed", Some(now - Duration::minutes(59))),
            ("fine", "unchanged", Some(now - Duration::hours(5))),
        ];
        let sources: Vec<SourceStatus> = cases.iter().map(|(name, ..)| source(name)).collect();
        let reads = cases
            .iter()
            .map(|(name, outcome, success)| (name.to_string(), read(name, outcome, *success)))
            .collect();
        let found = attention(&sources, &[], &reads, now);
        let failing: Vec<&str> = found
            .iter()
            .filter(|a| a.kind == AttentionKind::SourceFailing)
            .map(|a| a.source.as_str())
            .collect();
        assert_eq!(failing, ["long", "never"]);
        assert!(found[0].detail.contains("HTTP status 503"), "{found:?}");
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn held_deletions_of_a_source_need_attention() {
        let mut held = source("cabin");
        held.held_deletions.push(HeldBooking {
            booking_id: 7,
            booking_object_id: 1,
            start: Utc::now(),
            end: Utc::now(),
            reason: "the feed shrank from 4 to 1".to_owned(),
        });
        let found = attention(&[held, source("other")], &[], &HashMap::new(), Utc::now());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, AttentionKind::DeletionsHeld);
        assert!(
            found[0].detail.contains("sync --confirm cabin"),
            "{found:?}"
        );
    }
}
