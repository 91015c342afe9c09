//! How one read of a source becomes stored reservations, a read record and a report: pulled
//! reads through debounce and the shrink and growth guards, pushed (webhook) reads as they
//! stand. Pure, like the plan: the read phase stores what it returns.

use chrono::{DateTime, Utc};

use super::plan::{Policy, ReadKind};
use super::reads::{merge_fresh, merge_unchanged, upcoming};
use super::report::SourceReport;
use crate::model::{ReadFailure, ReadStatus, Reservation, SourceReadRecord, StoredReservation};
use crate::sources::guard::{GuardInput, Verdict, assess_growth, assess_shrink};
use crate::sources::{ReadOutcome, SnapshotRead};

/// One read of a source and what the ledger knew before it.
pub(super) struct ReadInput<'a> {
    pub name: &'a str,
    pub outcome: ReadOutcome,
    pub memo: Option<String>,
    pub stored: &'a [StoredReservation],
    pub previous: Option<&'a SourceReadRecord>,
    /// The operator ran `sync --confirm SOURCE`.
    pub confirmed: bool,
}

pub(super) struct Absorbed {
    pub merged: Vec<StoredReservation>,
    pub record: SourceReadRecord,
    pub report: SourceReport,
}

/// Folds one read into the source's stored reservations, its read record and its report.
pub(super) fn absorb(input: ReadInput<'_>, policy: &Policy, now: DateTime<Utc>) -> Absorbed {
    let ReadInput {
        name,
        outcome,
        memo,
        stored,
        previous,
        confirmed,
    } = input;
    let before = upcoming(stored, policy, now);
    let mut record = next_record(name, previous, memo, now);
    let mut report = SourceReport::new(name, ReadKind::Failed, before);
    let guard = Guarded {
        name,
        confirmed,
        // A source's first successful read has nothing to grow from: it is its import.
        first_read: previous.and_then(|p| p.last_success_at).is_none(),
        policy,
        now,
    };
    match outcome {
        ReadOutcome::Failed(failure) => {
            failed(&mut record, &mut report, failure, previous);
            Absorbed {
                merged: stored.to_vec(),
                record,
                report,
            }
        }
        ReadOutcome::Pushed {
            reservations,
            snapshot,
        } => pushed(stored, &reservations, snapshot, record, policy, now),
        ReadOutcome::Fresh {
            reservations,
            content_fingerprint,
            warnings,
            unreadable,
        } => {
            record.last_outcome = ReadStatus::Fresh;
            record.last_fresh_at = Some(now);
            report.read = ReadKind::Fresh;
            report.warnings = warnings;
            let merged = merge_fresh(stored, &reservations, &unreadable, now);
            guard.apply(merged, content_fingerprint, record, report)
        }
        ReadOutcome::Unchanged => {
            record.last_outcome = ReadStatus::Unchanged;
            report.read = ReadKind::Unchanged;
            let content = record.content_fingerprint.clone().unwrap_or_default();
            let merged = merge_unchanged(stored, now);
            guard.apply(merged, content, record, report)
        }
    }
}

/// The record after this read, before its outcome is known: the previous one carried over.
fn next_record(
    name: &str,
    previous: Option<&SourceReadRecord>,
    memo: Option<String>,
    now: DateTime<Utc>,
) -> SourceReadRecord {
    SourceReadRecord {
        source: name.to_owned(),
        last_attempt_at: now,
        last_outcome: ReadStatus::Fresh,
        last_reason: None,
        last_success_at: previous.and_then(|p| p.last_success_at),
        last_fresh_at: previous.and_then(|p| p.last_fresh_at),
        content_fingerprint: previous.and_then(|p| p.content_fingerprint.clone()),
        consecutive_failures: 0,
        // As the reader returned it: none after a failure, so the next fetch is unconditional.
        fetch_memo: memo,
        hold: previous.and_then(|p| p.hold.clone()),
        growth_hold: previous.and_then(|p| p.growth_hold.clone()),
    }
}

fn failed(
    record: &mut SourceReadRecord,
    report: &mut SourceReport,
    failure: ReadFailure,
    previous: Option<&SourceReadRecord>,
) {
    record.last_outcome = ReadStatus::Failed(failure.kind);
    record.last_reason = Some(failure.text.clone());
    record.consecutive_failures = previous
        .map_or(0, |p| p.consecutive_failures)
        .saturating_add(1);
    report.hold = record.hold.as_ref().map(|h| h.reason.clone());
    report.creates_held = record.growth_hold.as_ref().map(|h| h.reason.clone());
    report.failure = Some(failure);
}

/// A successful pulled read, through the shrink guard (deletions) and the growth guard
/// (creates).
struct Guarded<'a> {
    name: &'a str,
    confirmed: bool,
    first_read: bool,
    policy: &'a Policy,
    now: DateTime<Utc>,
}

impl Guarded<'_> {
    fn apply(
        &self,
        merged: Vec<StoredReservation>,
        content: String,
        mut record: SourceReadRecord,
        mut report: SourceReport,
    ) -> Absorbed {
        let now = self.now;
        record.last_success_at = Some(now);
        record.content_fingerprint = Some(content.clone());
        let after = upcoming(&merged, self.policy, now);
        let guard = self.policy.guard();
        let before = report.upcoming;
        let input = GuardInput {
            source: self.name,
            previous: None,
            before,
            after,
            content: &content,
            confirmed: self.confirmed,
        };
        let shrink = GuardInput {
            previous: record.hold.as_ref(),
            ..input
        };
        let growth = GuardInput {
            previous: record.growth_hold.as_ref(),
            ..input
        };
        let shrink = assess_shrink(shrink, &guard, now);
        let growth = match self.first_read {
            true => Verdict {
                hold: None,
                released: None,
            },
            false => assess_growth(growth, &guard, now),
        };
        report.upcoming = after;
        report.hold = shrink.hold.as_ref().map(|h| h.reason.clone());
        report.creates_held = growth.hold.as_ref().map(|h| h.reason.clone());
        report.released = match (shrink.released, growth.released) {
            (Some(a), Some(b)) if a != b => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        record.hold = shrink.hold;
        record.growth_hold = growth.hold;
        Absorbed {
            merged,
            record,
            report,
        }
    }
}

/// A pushed (webhook) source: its stored confirmed bookings are its whole desired state, so
/// a booking that left it (cancelled) goes at once, without debounce or shrink guard. What
/// became of its snapshot changes none of that: an unknown snapshot is only reported, a held
/// one (it would cancel too many at once) is kept until it is released like a calendar's
/// shrink.
fn pushed(
    stored: &[StoredReservation],
    reservations: &[Reservation],
    snapshot: SnapshotRead,
    mut record: SourceReadRecord,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Absorbed {
    let mut merged = merge_fresh(stored, reservations, &[], now);
    for row in merged.iter_mut().filter(|row| row.misses > 0) {
        row.misses = row.misses.max(policy.debounce_reads);
    }
    record.last_outcome = ReadStatus::Fresh;
    record.last_success_at = Some(now);
    record.last_fresh_at = Some(now);
    record.content_fingerprint = None;
    record.fetch_memo = None;
    record.growth_hold = None;
    let mut report = SourceReport::new(&record.source, ReadKind::Pushed, 0);
    report.upcoming = upcoming(&merged, policy, now);
    match snapshot {
        SnapshotRead::NotTaken => {}
        SnapshotRead::Applied { released } => {
            record.hold = None;
            report.released = released;
        }
        SnapshotRead::Held(hold) => {
            report.hold = Some(hold.reason.clone());
            record.last_reason = Some(hold.reason.clone());
            record.hold = Some(hold);
        }
        SnapshotRead::Unknown(failure) => {
            let text = format!(
                "snapshot unknown ({failure}); the signed events received so far apply as they \
                 stand"
            );
            record.last_reason = Some(text.clone());
            report.warnings.push(text);
        }
    }
    Absorbed {
        merged,
        record,
        report,
    }
}

#[cfg(test)]
#[path = "absorb_tests.rs"]
mod tests;
