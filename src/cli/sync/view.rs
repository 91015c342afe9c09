//! How `sync` and `status` print: plain words for an operator, or JSON for scripts. Codes and
//! phone numbers are never printed.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::super::zone::{ObjectZones, show_time};
use crate::ledger::PassCounts;
use crate::reconcile::pass::{PassReport, SourceReport};
use crate::reconcile::status::StatusReport;
use crate::reconcile::{Action, Category, Operation};
use crate::text::{
    ARRIVAL, BOOKING, FOREIGN, OPERATION, OWNED_BOOKING, TIME, UPCOMING, WRITE_CALL, count,
    pad_right,
};

#[derive(Debug, Serialize)]
pub struct SyncJson<'a> {
    pub dry_run: bool,
    pub converged: bool,
    pub started_at: DateTime<Utc>,
    pub sources: &'a [SourceReport],
    pub operations: Vec<OperationJson<'a>>,
    pub held: Vec<HeldJson<'a>>,
    /// Creates held by the growth guard.
    pub held_creates: Vec<HeldCreateJson<'a>>,
    pub notes: &'a [String],
    pub counts: PassCounts,
    pub vanished: &'a [i64],
    pub foreign_bookings: u32,
    pub failures: Vec<&'a str>,
    pub warnings: &'a [String],
}

#[derive(Debug, Serialize)]
pub struct OperationJson<'a> {
    pub kind: &'static str,
    pub category: Category,
    pub booking_object_id: i64,
    pub reservation_key: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The bookings this operation deletes.
    pub deletes: Vec<i64>,
    pub reason: &'a str,
}

#[derive(Debug, Serialize)]
pub struct HeldJson<'a> {
    pub booking_id: i64,
    pub booking_object_id: i64,
    pub source: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: &'a str,
}

#[derive(Debug, Serialize)]
pub struct HeldCreateJson<'a> {
    pub reservation_key: &'a str,
    pub booking_object_id: i64,
    pub source: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: &'a str,
}

impl<'a> From<&'a PassReport> for SyncJson<'a> {
    fn from(report: &'a PassReport) -> Self {
        SyncJson {
            dry_run: report.dry_run,
            converged: report.converged,
            started_at: report.started_at,
            sources: &report.sources,
            operations: report.plan.operations.iter().map(operation_json).collect(),
            held: report
                .plan
                .held
                .iter()
                .map(|h| HeldJson {
                    booking_id: h.booking.booking_id,
                    booking_object_id: h.booking.booking_object_id,
                    source: &h.booking.source,
                    start: h.booking.start,
                    end: h.booking.end,
                    reason: &h.reason,
                })
                .collect(),
            held_creates: report
                .plan
                .held_creates
                .iter()
                .map(|h| HeldCreateJson {
                    reservation_key: &h.reservation.key,
                    booking_object_id: h.reservation.booking_object_id,
                    source: &h.reservation.source,
                    start: h.reservation.start,
                    end: h.reservation.end,
                    reason: &h.reason,
                })
                .collect(),
            notes: &report.plan.notes,
            counts: report.counts(),
            vanished: &report.vanished,
            foreign_bookings: report.foreign,
            failures: report.failures().map(|f| f.text.as_str()).collect(),
            warnings: &report.warnings,
        }
    }
}

fn operation_json(op: &Operation) -> OperationJson<'_> {
    let (kind, key, start, end, deletes) = match &op.action {
        Action::Create {
            reservation, start, ..
        } => ("create", &reservation.key, *start, reservation.end, vec![]),
        Action::Replace {
            reservation,
            start,
            old,
            ..
        } => (
            "replace",
            &reservation.key,
            *start,
            reservation.end,
            old.iter().map(|b| b.booking_id).collect(),
        ),
        Action::Delete { booking } => (
            "delete",
            &booking.reservation_key,
            booking.start,
            booking.end,
            vec![booking.booking_id],
        ),
    };
    OperationJson {
        kind,
        category: op.category,
        booking_object_id: op.action.booking_object_id(),
        reservation_key: key,
        start,
        end,
        deletes,
        reason: &op.reason,
    }
}

pub fn sync_text(report: &PassReport, zones: &ObjectZones) -> String {
    let mut out = String::new();
    let t = |object: i64, time: DateTime<Utc>| show_time(time, zones.object(object));
    let _ = writeln!(out, "{}", zones.caption());
    if !report.sources.is_empty() {
        let _ = writeln!(out, "Sources:");
    }
    for source in &report.sources {
        let state = match (&source.failure, &source.hold) {
            (Some(why), _) => format!("COULD NOT BE READ: {why}; nothing of it is deleted"),
            (None, Some(hold)) => format!("DELETIONS HELD: {hold}"),
            (None, None) => {
                format!("{:?} read, {} upcoming", source.read, source.upcoming).to_lowercase()
            }
        };
        let _ = writeln!(out, "  {} {state}", pad_right(&source.name, 20));
        if let Some(held) = &source.creates_held {
            let _ = writeln!(out, "  {:<20} CREATES HELD: {held}", "");
        }
        if let Some(released) = &source.released {
            let _ = writeln!(out, "  {:<20} hold released: {released}", "");
        }
        for warning in &source.warnings {
            let _ = writeln!(out, "  {:<20} warning: {warning}", "");
        }
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    let verb = if report.dry_run {
        "Would do"
    } else {
        "Planned"
    };
    if report.plan.operations.is_empty() {
        let _ = writeln!(
            out,
            "Nothing to write: FlexyKey is in step with what is known."
        );
    } else {
        let _ = writeln!(
            out,
            "{verb} {}, {}:",
            count(report.plan.operations.len(), OPERATION),
            count(report.plan.write_calls(), WRITE_CALL)
        );
    }
    for op in &report.plan.operations {
        let j = operation_json(op);
        let target = if j.deletes.is_empty() {
            String::new()
        } else {
            format!(
                " (booking {})",
                j.deletes
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let _ = writeln!(
            out,
            "  {:<8} object {}  {} → {}  {}{target}\n           why: {}",
            j.kind,
            j.booking_object_id,
            t(j.booking_object_id, j.start),
            t(j.booking_object_id, j.end),
            j.reservation_key,
            j.reason
        );
    }
    if !report.plan.held.is_empty() {
        let _ = writeln!(out, "Held deletions ({}):", report.plan.held.len());
        for held in &report.plan.held {
            let object = held.booking.booking_object_id;
            let _ = writeln!(
                out,
                "  booking {} on object {object} ({} → {}): {}",
                held.booking.booking_id,
                t(object, held.booking.start),
                t(object, held.booking.end),
                held.reason
            );
        }
    }
    const SHOWN_NOTES: usize = 10;
    for note in report.plan.notes.iter().take(SHOWN_NOTES) {
        let _ = writeln!(out, "note: {note}");
    }
    if report.plan.notes.len() > SHOWN_NOTES {
        let _ = writeln!(
            out,
            "note: ... and {} more (--json lists them all)",
            report.plan.notes.len() - SHOWN_NOTES
        );
    }
    if !report.dry_run {
        let c = report.counts();
        let _ = writeln!(out, "Result: {}.", counts_text(&c));
    }
    if !report.vanished.is_empty() {
        let _ = writeln!(
            out,
            "Deleted by hand in FlexyWeb (drift): booking {}",
            report
                .vanished
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if report.foreign > 0 {
        let _ = writeln!(
            out,
            "{} on these objects {} not flexysync's; {} left alone.",
            count(report.foreign, BOOKING),
            if report.foreign == 1 { "is" } else { "are" },
            if report.foreign == 1 {
                "it is"
            } else {
                "they are"
            },
        );
    }
    for failure in report.errors.iter().chain(&report.applied.failures) {
        let _ = writeln!(out, "failed: {failure}");
    }
    out
}

pub fn status_text(report: &StatusReport, zones: &ObjectZones) -> String {
    let mut out = String::new();
    let t = |object: i64, time: DateTime<Utc>| show_time(time, zones.object(object));
    let _ = writeln!(out, "{}", zones.caption());
    let _ = writeln!(out, "Sources:");
    for s in &report.sources {
        let source_zone = zones.source(&s.name);
        let ts = |time: DateTime<Utc>| show_time(time, source_zone);
        let fresh = s.last_fresh_at.map_or_else(|| "never".to_owned(), ts);
        let last = match (&s.last_outcome, s.last_attempt_at) {
            (Some(outcome), Some(at)) => format!("last read {} ({outcome})", ts(at)),
            _ => "never read".to_owned(),
        };
        let _ = writeln!(
            out,
            "  {} [{}]: {last}, last fresh read {fresh}, {}",
            s.name,
            s.kind,
            count(s.upcoming_reservations, UPCOMING)
        );
        if s.last_outcome == Some("failed") {
            let _ = writeln!(
                out,
                "    FAILING ({} in a row): {}; its bookings are kept",
                count(s.consecutive_failures, TIME),
                s.last_reason.as_deref().unwrap_or("no reason recorded")
            );
        }
        if let Some(hold) = &s.shrink_hold {
            let _ = writeln!(out, "    DELETIONS HELD: {hold}");
        }
        if let Some(hold) = &s.creates_hold {
            let _ = writeln!(out, "    CREATES HELD: {hold}");
        }
        for held in &s.held_deletions {
            let _ = writeln!(
                out,
                "    held: booking {} on object {} ({} → {}): {}",
                held.booking_id,
                held.booking_object_id,
                t(held.booking_object_id, held.start),
                t(held.booking_object_id, held.end),
                held.reason
            );
        }
    }
    let _ = writeln!(out, "Booking objects:");
    for o in &report.objects {
        let _ = writeln!(
            out,
            "  object {}: {}, {} in the next 7 days",
            o.booking_object_id,
            count(o.owned_bookings, OWNED_BOOKING),
            count(o.arrivals.len(), ARRIVAL)
        );
        for a in o.arrivals.iter().filter(|a| a.flagged) {
            let _ = writeln!(
                out,
                "    NO CONFIRMED BOOKING for an arrival within 24 h: {} ({}) {} → {}",
                a.label,
                a.reservation_key,
                t(o.booking_object_id, a.start),
                t(o.booking_object_id, a.end)
            );
        }
    }
    match &report.last_pass {
        Some(pass) => {
            let c = &pass.counts;
            let _ = writeln!(
                out,
                "Last pass: started {}, {}; {}, {}{}",
                show_time(pass.started_at, zones.common()),
                if pass.finished_at.is_none() {
                    "did not finish"
                } else if pass.converged {
                    "converged"
                } else {
                    "NOT converged"
                },
                counts_text(c),
                count(c.foreign_bookings, FOREIGN),
                if pass.dry_run { " (dry run)" } else { "" }
            );
            for error in &pass.errors {
                let _ = writeln!(out, "  error: {error}");
            }
        }
        None => {
            let _ = writeln!(out, "Last pass: none yet");
        }
    }
    if report.open_journal.is_empty() {
        let _ = writeln!(out, "Open journal entries: none");
    } else {
        let _ = writeln!(
            out,
            "Open journal entries ({}), resolved first by the next pass:",
            report.open_journal.len()
        );
        for e in &report.open_journal {
            let _ = writeln!(
                out,
                "  #{} {:?} on object {} ({}) {:?} since {}{}",
                e.id,
                e.kind,
                e.booking_object_id,
                e.reservation_key,
                e.state,
                t(e.booking_object_id, e.intended_at),
                e.error
                    .as_deref()
                    .map(|err| format!(": {err}"))
                    .unwrap_or_default()
            );
        }
    }
    if report.flagged_arrivals > 0 {
        let _ = writeln!(
            out,
            "ATTENTION: {} within 24 hours {} no confirmed booking.",
            count(report.flagged_arrivals, ARRIVAL),
            if report.flagged_arrivals == 1 {
                "has"
            } else {
                "have"
            }
        );
    }
    out
}

/// "2 created, 1 deleted, 0 adopted, 0 failed, 0 held": the same words in `sync` and `status`.
fn counts_text(c: &PassCounts) -> String {
    format!(
        "{} created, {} deleted, {} adopted, {} failed, {} held",
        c.created, c.deleted, c.adopted, c.failed, c.held
    )
}
