//! How one read of a source becomes stored reservations, a read record and a report: pulled
//! reads through debounce and the shrink and growth guards, pushed (webhook) reads as they
//! stand. Pure, like the plan: the read phase stores what it returns.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::plan::{Policy, ReadKind};
use super::reads::{merge_fresh, merge_unchanged, upcoming};
use super::report::SourceReport;
use crate::model::{
    ReadFailure, ReadStatus, Reservation, ShrinkHold, SourceReadRecord, StoredReservation,
};
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
        } => pushed(stored, &reservations, snapshot, record, &guard),
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
        let shrink = assess_shrink(shrink, &guard, now);
        let growth = self.growth(input, record.growth_hold.as_ref());
        report.upcoming = after;
        report.hold = shrink.hold.as_ref().map(|h| h.reason.clone());
        report.creates_held = growth.hold.as_ref().map(|h| h.reason.clone());
        report.released = both_released(shrink.released, growth.released);
        record.hold = shrink.hold;
        record.growth_hold = growth.hold;
        Absorbed {
            merged,
            record,
            report,
        }
    }

    /// The growth guard's verdict on a successful read of any kind of source (pulled or
    /// pushed): a runaway holds the source's creates.
    fn growth(&self, input: GuardInput<'_>, previous: Option<&ShrinkHold>) -> Verdict {
        if self.first_read {
            return Verdict {
                hold: None,
                released: None,
            };
        }
        let input = GuardInput { previous, ..input };
        assess_growth(input, &self.policy.guard(), self.now)
    }
}

/// Why holds ended in this read, both said once.
fn both_released(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) if a != b => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}

/// What a pushed source stands for, for the growth guard's "the same for
/// `shrink_confirm_hours`": its current reservations by key and version.
fn pushed_fingerprint(merged: &[StoredReservation]) -> String {
    let mut rows: Vec<(&str, &str)> = (merged.iter())
        .filter(|row| row.misses == 0)
        .map(|row| (row.reservation.key.as_str(), row.fingerprint.as_str()))
        .collect();
    rows.sort_unstable();
    let mut hasher = Sha256::new();
    for (key, version) in rows {
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(version.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..16])
}

/// A pushed (webhook) source: its stored confirmed bookings are its whole desired state, so
/// a booking that left it (cancelled) goes at once, without debounce or shrink guard. What
/// became of its snapshot changes none of that: an unknown snapshot is only reported, a held
/// one (it would cancel too many at once) is kept until it is released like a calendar's
/// shrink. A source that grows too much at once (a snapshot or a flood of events) has its
/// creates held like a calendar's.
fn pushed(
    stored: &[StoredReservation],
    reservations: &[Reservation],
    snapshot: SnapshotRead,
    mut record: SourceReadRecord,
    guard: &Guarded<'_>,
) -> Absorbed {
    let (policy, now) = (guard.policy, guard.now);
    let before = upcoming(stored, policy, now);
    let mut merged = merge_fresh(stored, reservations, &[], now);
    for row in merged.iter_mut().filter(|row| row.misses > 0) {
        row.misses = row.misses.max(policy.debounce_reads);
    }
    record.last_outcome = ReadStatus::Fresh;
    record.last_success_at = Some(now);
    record.last_fresh_at = Some(now);
    record.content_fingerprint = None;
    record.fetch_memo = None;
    let mut report = SourceReport::new(&record.source, ReadKind::Pushed, 0);
    report.upcoming = upcoming(&merged, policy, now);
    let content = pushed_fingerprint(&merged);
    let input = GuardInput {
        source: guard.name,
        previous: None,
        before,
        after: report.upcoming,
        content: &content,
        confirmed: guard.confirmed,
    };
    let growth = guard.growth(input, record.growth_hold.as_ref());
    report.creates_held = growth.hold.as_ref().map(|h| h.reason.clone());
    record.growth_hold = growth.hold;
    report.released = growth.released;
    match snapshot {
        SnapshotRead::NotTaken => {}
        SnapshotRead::Applied { released } => {
            record.hold = None;
            report.released = both_released(released, report.released.take());
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
