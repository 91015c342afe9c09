use chrono::{Duration, TimeZone};

use super::*;
use crate::model::{FailureKind, ShrinkHold};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn stay(key: &str, day: i64) -> Reservation {
    Reservation {
        source: "s".into(),
        key: key.into(),
        booking_object_id: 123,
        start: now() + Duration::days(day),
        end: now() + Duration::days(day) + Duration::hours(20),
        credentials: Default::default(),
        label: "Reserved".into(),
    }
}

fn stored(keys: &[&str]) -> Vec<StoredReservation> {
    keys.iter()
        .enumerate()
        .map(|(day, key)| StoredReservation::new(stay(key, day as i64 + 1), now()))
        .collect()
}

fn read(outcome: ReadOutcome, stored: &[StoredReservation]) -> Absorbed {
    read_after(outcome, stored, None, now())
}

fn read_after(
    outcome: ReadOutcome,
    stored: &[StoredReservation],
    previous: Option<&SourceReadRecord>,
    at: DateTime<Utc>,
) -> Absorbed {
    let input = ReadInput {
        name: "s",
        outcome,
        memo: None,
        stored,
        previous,
        confirmed: false,
    };
    absorb(input, &Policy::default(), at)
}

fn fresh(reservations: Vec<Reservation>, content: &str) -> ReadOutcome {
    ReadOutcome::Fresh {
        reservations,
        content_fingerprint: content.into(),
        warnings: vec![],
        unreadable: vec![],
    }
}

#[test]
fn a_failed_read_keeps_everything_and_says_which_step_failed() {
    let before = stored(&["s/a/", "s/b/"]);
    let failure = ReadFailure::new(FailureKind::Zone, "no zone");
    let absorbed = read(ReadOutcome::Failed(failure), &before);
    assert_eq!(absorbed.merged, before);
    assert_eq!(absorbed.report.read, ReadKind::Failed);
    assert_eq!(
        absorbed.record.last_outcome,
        ReadStatus::Failed(FailureKind::Zone)
    );
    assert_eq!(
        absorbed.report.failure.map(|f| f.kind),
        Some(FailureKind::Zone)
    );
}

#[test]
fn a_runaway_read_holds_the_sources_creates_until_released() {
    let before = stored(&["s/a/", "s/b/"]);
    let mut many: Vec<Reservation> = (0..60).map(|n| stay(&format!("s/r{n}/"), 2)).collect();
    many.push(stay("s/a/", 1));
    // A source's first read is its import: nothing to grow from.
    let import = read(fresh(many.clone(), "runaway"), &before);
    assert_eq!(import.report.creates_held, None);
    let earlier = SourceReadRecord {
        last_success_at: Some(now() - Duration::minutes(10)),
        ..import.record
    };
    let absorbed = read_after(
        fresh(many.clone(), "runaway"),
        &before,
        Some(&earlier),
        now(),
    );
    let why = absorbed.report.creates_held.clone().expect("creates held");
    assert!(why.contains("grew from 2 to"), "{why}");
    assert!(absorbed.record.growth_hold.is_some());
    assert!(
        !absorbed.report.settled(),
        "a hold is loud: the pass does not converge"
    );
    // The same content a day later: released.
    let record = absorbed.record.clone();
    let day = now() + Duration::hours(24);
    let later = read_after(fresh(many, "runaway"), &absorbed.merged, Some(&record), day);
    assert_eq!(later.report.creates_held, None);
    assert!(later.report.released.is_some());
    assert_eq!(later.record.growth_hold, None);
}

#[test]
fn a_pushed_source_applies_its_events_whatever_became_of_the_snapshot() {
    let before = stored(&["s/1", "s/2"]);
    // Booking 2 was cancelled by a signed event; the snapshot could not be read.
    let failure = ReadFailure::new(FailureKind::Snapshot, "HTTP 503");
    let outcome = ReadOutcome::Pushed {
        reservations: vec![stay("s/1", 1)],
        snapshot: SnapshotRead::Unknown(failure),
    };
    let absorbed = read(outcome, &before);
    assert_eq!(absorbed.report.read, ReadKind::Pushed);
    assert_eq!(
        absorbed.report.failure, None,
        "an unknown snapshot is no failed source"
    );
    assert!(absorbed.report.warnings[0].contains("snapshot unknown"));
    let gone = absorbed.merged.iter().find(|r| r.reservation.key == "s/2");
    assert!(gone.is_some_and(|r| r.misses >= Policy::default().debounce_reads));

    // A held snapshot: reported and kept, the events still apply.
    let hold = ShrinkHold {
        reason: "would cancel 9 of 10".into(),
        since: now(),
        fingerprint: "f".into(),
        baseline: 10,
    };
    let outcome = ReadOutcome::Pushed {
        reservations: vec![stay("s/1", 1)],
        snapshot: SnapshotRead::Held(hold.clone()),
    };
    let absorbed = read(outcome, &before);
    assert_eq!(
        absorbed.report.hold.as_deref(),
        Some("would cancel 9 of 10")
    );
    assert_eq!(absorbed.record.hold, Some(hold));
    let gone = absorbed.merged.iter().find(|r| r.reservation.key == "s/2");
    assert!(gone.is_some_and(|r| r.misses >= Policy::default().debounce_reads));
}

#[test]
fn a_pushed_source_that_grows_at_once_holds_its_creates_and_still_cancels() {
    let before = stored(&["s/1", "s/2"]);
    // A snapshot (or a flood of events) brings 60 new bookings, and booking 2 is cancelled.
    let mut many: Vec<Reservation> = (0..60).map(|n| stay(&format!("s/r{n}"), 3)).collect();
    many.push(stay("s/1", 1));
    let pushed = |reservations: Vec<Reservation>| ReadOutcome::Pushed {
        reservations,
        snapshot: SnapshotRead::Applied { released: None },
    };
    // A source's first read is its import: nothing to grow from.
    let import = read(pushed(many.clone()), &before);
    assert_eq!(import.report.creates_held, None);
    let earlier = SourceReadRecord {
        last_success_at: Some(now() - Duration::minutes(10)),
        ..import.record
    };
    let absorbed = read_after(pushed(many.clone()), &before, Some(&earlier), now());
    let why = absorbed.report.creates_held.clone().expect("creates held");
    assert!(why.contains("grew from 2 to 61"), "{why}");
    assert!(absorbed.record.growth_hold.is_some());
    assert!(!absorbed.report.settled(), "a hold is loud");
    let gone = absorbed.merged.iter().find(|r| r.reservation.key == "s/2");
    assert!(
        gone.is_some_and(|r| r.misses >= Policy::default().debounce_reads),
        "the signed cancellation still applies"
    );
    // The hold carries over to the next read, and the same bookings a day later release it.
    let record = absorbed.record.clone();
    let next = read_after(pushed(many.clone()), &absorbed.merged, Some(&record), now());
    assert!(next.report.creates_held.is_some(), "{:?}", next.report);
    let day = now() + Duration::hours(24);
    let later = read_after(pushed(many), &absorbed.merged, Some(&record), day);
    assert_eq!(later.report.creates_held, None);
    assert!(later.report.released.is_some());
    assert_eq!(later.record.growth_hold, None);
}
