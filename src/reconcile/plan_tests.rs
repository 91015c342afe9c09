use std::collections::HashMap;

use chrono::{Duration, TimeZone};
use proptest::prelude::*;

use super::*;
use crate::model::Credentials;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn reservation(key: &str, source: &str, start_h: i64, hours: i64, variant: u8) -> Reservation {
    Reservation {
        source: source.into(),
        key: key.into(),
        booking_object_id: 123,
        start: now() + Duration::hours(start_h),
        end: now() + Duration::hours(start_h + hours),
        credentials: Credentials {
            phones: vec![format!("+4670000000{variant}").into()],
            code: Some(format!("48{variant}193").into()),
            rfid: None,
        },
        label: "Reserved".into(),
    }
}

fn stored(r: Reservation, misses: u32) -> StoredReservation {
    let mut s = StoredReservation::new(r, now());
    s.misses = misses;
    s
}

fn booking_for(id: i64, r: &Reservation, fingerprint: String) -> OwnedBooking {
    OwnedBooking {
        booking_id: id,
        reservation_key: r.key.clone(),
        source: r.source.clone(),
        booking_object_id: r.booking_object_id,
        start: r.start.max(now()),
        end: r.end,
        credentials: r.credentials.clone(),
        name: crate::reconcile::marker::booking_name(&r.label, &r.key),
        fingerprint,
        state: BookingState::Active,
    }
}

fn sources(entries: &[(&str, ReadKind)]) -> HashMap<String, SourceState> {
    entries
        .iter()
        .map(|(name, read)| (name.to_string(), SourceState::new(*read)))
        .collect()
}

fn run(
    reservations: &[StoredReservation],
    owned: &[OwnedBooking],
    sources: &HashMap<String, SourceState>,
    policy: &Policy,
) -> Plan {
    plan(PlanInput {
        reservations,
        owned,
        sources,
        policy,
        now: now(),
    })
}

/// The booking an operation creates (reservation, fingerprint, start), if any.
type Created<'a> = Option<(&'a Reservation, &'a String, DateTime<Utc>)>;

/// What FlexyKey and the ledger look like after every operation succeeded.
fn apply_in_memory(owned: &[OwnedBooking], plan: &Plan, next_id: &mut i64) -> Vec<OwnedBooking> {
    let mut after: Vec<OwnedBooking> = owned.to_vec();
    for op in &plan.operations {
        let (created, removed): (Created<'_>, Vec<i64>) = match &op.action {
            Action::Create {
                reservation,
                fingerprint,
                start,
            } => (Some((reservation, fingerprint, *start)), vec![]),
            Action::Replace {
                reservation,
                fingerprint,
                start,
                old,
            } => (
                Some((reservation, fingerprint, *start)),
                old.iter().map(|b| b.booking_id).collect(),
            ),
            Action::Delete { booking } => (None, vec![booking.booking_id]),
        };
        after.retain(|b| !removed.contains(&b.booking_id));
        if let Some((r, fingerprint, start)) = created {
            for b in after.iter_mut() {
                if b.reservation_key == r.key && b.state == BookingState::Vanished {
                    b.state = BookingState::Deleted;
                }
            }
            *next_id += 1;
            let mut b = booking_for(*next_id, r, fingerprint.clone());
            b.start = start;
            after.push(b);
        }
    }
    after
}

#[test]
fn steady_state_plans_nothing() {
    let r = reservation("s/a", "s", 24, 48, 0);
    let owned = vec![booking_for(1, &r, r.fingerprint())];
    let plan = run(
        &[stored(r, 0)],
        &owned,
        &sources(&[("s", ReadKind::Fresh)]),
        &Policy::default(),
    );
    assert_eq!(plan, Plan::default());
}

#[test]
fn new_changed_and_cancelled_reservations_cost_one_two_and_one_write() {
    let kept = reservation("s/kept", "s", 48, 24, 0);
    let new = reservation("s/new", "s", 72, 24, 0);
    let changed_before = reservation("s/changed", "s", 96, 24, 0);
    let changed = reservation("s/changed", "s", 120, 24, 0);
    let gone = reservation("s/gone", "s", 24, 24, 0);
    let owned = vec![
        booking_for(1, &kept, kept.fingerprint()),
        booking_for(2, &changed_before, changed_before.fingerprint()),
        booking_for(3, &gone, gone.fingerprint()),
    ];
    let reservations = [
        stored(kept, 0),
        stored(new, 0),
        stored(changed, 0),
        stored(gone, 2),
    ];
    let plan = run(
        &reservations,
        &owned,
        &sources(&[("s", ReadKind::Fresh)]),
        &Policy::default(),
    );
    assert_eq!(plan.write_calls(), 4, "{plan:#?}");
    let kinds: Vec<(Category, &str)> = plan
        .operations
        .iter()
        .map(|op| {
            let kind = match op.action {
                Action::Create { .. } => "create",
                Action::Replace { .. } => "replace",
                Action::Delete { .. } => "delete",
            };
            (op.category, kind)
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Category::Revocation, "delete"),
            (Category::Arrival, "create"),
            (Category::Arrival, "replace")
        ]
    );
    assert!(plan.operations[0].reason.contains("missing from 2"));
}

#[test]
fn a_disappearance_waits_for_debounce_reads() {
    let r = reservation("s/a", "s", 24, 48, 0);
    let owned = vec![booking_for(1, &r, r.fingerprint())];
    let srcs = sources(&[("s", ReadKind::Fresh)]);
    let once = run(&[stored(r.clone(), 1)], &owned, &srcs, &Policy::default());
    assert!(once.operations.is_empty());
    assert_eq!(once.notes.len(), 1, "{once:?}");
    let twice = run(&[stored(r, 2)], &owned, &srcs, &Policy::default());
    assert_eq!(twice.operations.len(), 1);
}

#[test]
fn unknown_reads_hold_deletions_and_shrink_holds_say_why() {
    let r = reservation("s/a", "s", 24, 48, 0);
    let owned = vec![booking_for(1, &r, r.fingerprint())];
    let mut srcs = sources(&[("s", ReadKind::Failed)]);
    srcs.get_mut("s").unwrap().failure = Some("HTTP 500".into());
    let plan = run(&[], &owned, &srcs, &Policy::default());
    assert!(plan.operations.is_empty());
    assert_eq!(plan.held.len(), 1);
    assert!(plan.held[0].reason.contains("HTTP 500"), "{plan:?}");

    let mut srcs = sources(&[("s", ReadKind::Fresh)]);
    srcs.get_mut("s").unwrap().hold = Some("s shrank from 30 to 0".into());
    let plan = run(&[], &owned, &srcs, &Policy::default());
    assert!(plan.operations.is_empty());
    assert!(plan.held[0].reason.contains("shrank"), "{plan:?}");

    // A source gone from the config: kept, not deleted.
    let plan = run(&[], &owned, &HashMap::new(), &Policy::default());
    assert!(plan.operations.is_empty());
    assert!(plan.held[0].reason.contains("--confirm s"), "{plan:?}");

    // A source left out of this pass: nothing at all.
    let plan = run(
        &[],
        &owned,
        &sources(&[("s", ReadKind::NotRead)]),
        &Policy::default(),
    );
    assert_eq!(plan, Plan::default());
}

#[test]
fn a_growth_hold_keeps_new_stays_uncreated_but_lets_changes_and_cancellations_through() {
    let kept = reservation("s/kept/", "s", 24, 20, 0);
    let changed = reservation("s/changed/", "s", 48, 20, 1);
    let new = reservation("s/new/", "s", 72, 20, 0);
    let gone = reservation("s/gone/", "s", 96, 20, 0);
    let mut before = changed.clone();
    before.credentials.code = Some("999999".into());
    let owned = vec![
        booking_for(1, &kept, kept.fingerprint()),
        booking_for(2, &before, before.fingerprint()),
        booking_for(3, &gone, gone.fingerprint()),
    ];
    let rows = vec![stored(kept, 0), stored(changed, 0), stored(new.clone(), 0)];
    let mut states = sources(&[("s", ReadKind::Fresh)]);
    states.get_mut("s").unwrap().creates_held = Some("s grew from 3 to 5000".into());
    let planned = run(&rows, &owned, &states, &Policy::default());
    assert_eq!(planned.held_creates.len(), 1);
    assert_eq!(planned.held_creates[0].reservation, new);
    assert!(planned.held_creates[0].reason.contains("grew"));
    let kinds: Vec<&str> = planned
        .operations
        .iter()
        .map(|op| match &op.action {
            Action::Create { .. } => "create",
            Action::Replace { .. } => "replace",
            Action::Delete { .. } => "delete",
        })
        .collect();
    assert_eq!(kinds, vec!["delete", "replace"]);
}

#[test]
fn ended_in_progress_and_far_reservations_follow_the_time_rules() {
    let ended = reservation("s/ended", "s", -72, 24, 0);
    let running = reservation("s/running", "s", -5, 24, 0);
    let far = reservation("s/far", "s", 24 * 200, 24, 0);
    let ended_booking = booking_for(9, &reservation("s/old", "s", -72, 24, 0), "x".into());
    let plan = run(
        &[stored(ended, 0), stored(running, 0), stored(far, 0)],
        &[ended_booking],
        &sources(&[("s", ReadKind::Fresh)]),
        &Policy::default(),
    );
    assert_eq!(plan.operations.len(), 1, "{plan:#?}");
    let Action::Create {
        start, reservation, ..
    } = &plan.operations[0].action
    else {
        panic!("expected a create: {plan:?}");
    };
    assert_eq!(reservation.key, "s/running");
    assert_eq!(*start, now());
    assert!(plan.operations[0].reason.contains("in progress"));
}

#[test]
fn vanished_bookings_are_repaired_or_reported_by_policy() {
    let r = reservation("s/a", "s", 24, 48, 0);
    let mut gone = booking_for(1, &r, r.fingerprint());
    gone.state = BookingState::Vanished;
    let srcs = sources(&[("s", ReadKind::Fresh)]);
    let repair = run(
        &[stored(r.clone(), 0)],
        &[gone.clone()],
        &srcs,
        &Policy::default(),
    );
    assert_eq!(repair.operations.len(), 1);
    assert!(repair.operations[0].reason.starts_with("repair"));
    let report_policy = Policy {
        drift: DriftPolicy::Report,
        ..Policy::default()
    };
    let report = run(&[stored(r, 0)], &[gone], &srcs, &report_policy);
    assert!(report.operations.is_empty());
    assert!(report.notes[0].contains("deleted by hand"));
}

#[derive(Debug, Clone)]
struct World {
    reservations: Vec<StoredReservation>,
    owned: Vec<OwnedBooking>,
    sources: HashMap<String, SourceState>,
    policy: Policy,
}

fn read_kind() -> impl Strategy<Value = ReadKind> {
    prop_oneof![
        Just(ReadKind::Fresh),
        Just(ReadKind::Unchanged),
        Just(ReadKind::Failed),
        Just(ReadKind::Pushed),
        Just(ReadKind::NotRead),
    ]
}

/// Per key: (source, start hour, hours, credential variant, misses,
///           owned booking: none / matching / stale / vanished, extra stale one).
type KeySpec = (u8, i64, i64, u8, u32, u8, bool);

fn world() -> impl Strategy<Value = World> {
    let key = (
        0u8..3,
        -300i64..5000,
        1i64..400,
        0u8..3,
        0u32..4,
        0u8..4,
        any::<bool>(),
    );
    (
        prop::collection::vec(key, 0..40),
        prop::collection::vec((0u8..3, -300i64..5000, 1i64..400), 0..10),
        read_kind(),
        read_kind(),
        any::<bool>(),
        1u32..4,
        any::<bool>(),
    )
        .prop_map(
            |(keys, orphans, read_a, read_b, hold_b, debounce, report)| {
                build_world(&keys, &orphans, [read_a, read_b], hold_b, debounce, report)
            },
        )
}

fn build_world(
    keys: &[KeySpec],
    orphans: &[(u8, i64, i64)],
    reads: [ReadKind; 2],
    hold_b: bool,
    debounce: u32,
    report: bool,
) -> World {
    // Source "c" is absent from the config.
    let names = ["a", "b", "c"];
    let mut reservations = vec![];
    let mut owned = vec![];
    let mut id = 0;
    for (i, &(src, start, hours, variant, misses, booking, extra)) in keys.iter().enumerate() {
        let source = names[usize::from(src)];
        let r = reservation(&format!("{source}/{i}"), source, start, hours, variant);
        let older = reservation(
            &format!("{source}/{i}"),
            source,
            start - 1,
            hours,
            variant + 1,
        );
        match booking {
            1 => owned.push(booking_for(id, &r, r.fingerprint())),
            2 => owned.push(booking_for(id, &older, older.fingerprint())),
            3 => {
                let mut b = booking_for(id, &r, r.fingerprint());
                b.state = BookingState::Vanished;
                owned.push(b);
            }
            _ => {}
        }
        id += 1;
        if extra {
            owned.push(booking_for(id, &older, older.fingerprint()));
            id += 1;
        }
        reservations.push(stored(r, misses));
    }
    for (j, &(src, start, hours)) in orphans.iter().enumerate() {
        let source = names[usize::from(src)];
        let r = reservation(&format!("{source}/orphan{j}"), source, start, hours, 0);
        owned.push(booking_for(id, &r, r.fingerprint()));
        id += 1;
    }
    let mut sources = sources(&[("a", reads[0]), ("b", reads[1])]);
    if let Some(state) = sources.get_mut("a").filter(|s| s.read == ReadKind::Failed) {
        state.failure = Some("timeout".into());
    }
    if hold_b {
        sources.get_mut("b").unwrap().hold = Some("b shrank".into());
    }
    let policy = Policy {
        debounce_reads: debounce,
        drift: if report {
            DriftPolicy::Report
        } else {
            DriftPolicy::Repair
        },
        ..Policy::default()
    };
    World {
        reservations,
        owned,
        sources,
        policy,
    }
}

fn deleted_ids(plan: &Plan) -> Vec<&OwnedBooking> {
    plan.operations
        .iter()
        .flat_map(|op| match &op.action {
            Action::Delete { booking } => vec![booking],
            Action::Replace { old, .. } => old.iter().collect(),
            Action::Create { .. } => vec![],
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn applying_a_plan_then_planning_again_gives_an_empty_plan(w in world()) {
        let first = run(&w.reservations, &w.owned, &w.sources, &w.policy);
        let mut next_id = 1_000_000;
        let after = apply_in_memory(&w.owned, &first, &mut next_id);
        let second = run(&w.reservations, &after, &w.sources, &w.policy);
        prop_assert!(second.operations.is_empty(), "second plan: {:#?}", second.operations);
    }

    #[test]
    fn only_owned_active_unended_bookings_are_ever_deleted(w in world()) {
        let plan = run(&w.reservations, &w.owned, &w.sources, &w.policy);
        for booking in deleted_ids(&plan) {
            let known = w.owned.iter().find(|b| b.booking_id == booking.booking_id);
            prop_assert!(known.is_some_and(|b| b.state == BookingState::Active));
            prop_assert!(booking.end > now(), "an ended booking was deleted");
            let source = w.sources.get(&booking.source);
            prop_assert!(source.is_some(), "a booking of an unconfigured source was deleted");
            let source = source.unwrap();
            prop_assert!(
                !matches!(source.read, ReadKind::Failed | ReadKind::NotRead),
                "a delete on an unknown read"
            );
            prop_assert!(source.hold.is_none(), "a delete during a shrink hold");
        }
    }

    #[test]
    fn creates_stay_inside_time_rules_and_order_is_revocations_then_arrivals(w in world()) {
        let plan = run(&w.reservations, &w.owned, &w.sources, &w.policy);
        let horizon_end = w.policy.horizon_end(now());
        let mut last: Option<(Category, DateTime<Utc>)> = None;
        for op in &plan.operations {
            if let Action::Create { reservation, start, .. } | Action::Replace { reservation, start, .. } = &op.action {
                prop_assert!(reservation.end > now());
                prop_assert!(reservation.start <= horizon_end);
                prop_assert_eq!(*start, reservation.start.max(now()));
            }
            let here = (op.category, op.action.start());
            if let Some(previous) = last {
                prop_assert!(previous <= here, "out of order: {:?} then {:?}", previous, here);
            }
            last = Some(here);
        }
    }

    #[test]
    fn changed_in_progress_stays_are_created_before_the_old_booking_goes(w in world()) {
        let plan = run(&w.reservations, &w.owned, &w.sources, &w.policy);
        let desired: HashMap<&str, &StoredReservation> = w
            .reservations
            .iter()
            .filter(|s| s.misses < w.policy.debounce_reads)
            .map(|s| (s.reservation.key.as_str(), s))
            .collect();
        for op in &plan.operations {
            let Action::Delete { booking } = &op.action else { continue };
            // A lone delete of a booking whose reservation is still wanted and running is only
            // allowed when the right booking already exists: access is never cut short.
            if let Some(s) = desired.get(booking.reservation_key.as_str()) {
                let running = s.reservation.start <= now() && s.reservation.end > now();
                let replacement = w.owned.iter().any(|b| {
                    b.reservation_key == booking.reservation_key
                        && b.state == BookingState::Active
                        && b.fingerprint == s.fingerprint
                });
                prop_assert!(!running || replacement, "access cut: {:?}", op);
            }
        }
    }
}
