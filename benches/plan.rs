//! Planning 100,000 reservations against 100,000 owned bookings (target ≤ 200 ms): 1 % new,
//! 1 % changed, 1 % cancelled, the rest in step.

use std::collections::HashMap;

use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

use flexysync::ledger::{BookingState, OwnedBooking, StoredReservation};
use flexysync::reconcile::marker::booking_name;
use flexysync::reconcile::{PlanInput, Policy, ReadKind, SourceState, plan};
use flexysync::sources::{Credentials, Reservation};

const N: usize = 100_000;

fn world() -> (
    Vec<StoredReservation>,
    Vec<OwnedBooking>,
    HashMap<String, SourceState>,
) {
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    let mut reservations = Vec::with_capacity(N);
    let mut owned = Vec::with_capacity(N);
    for i in 0..N {
        let source = format!("feed-{}", i % 50);
        let start = now + Duration::hours((i % 4000) as i64);
        let r = Reservation {
            source: source.clone(),
            key: format!("{source}/uid-{i}@example.com/"),
            booking_object_id: 100 + (i % 50) as i64,
            start,
            end: start + Duration::hours(72),
            credentials: Credentials {
                phones: vec![format!("+4670{i:07}").into()],
                code: Some(format!("{:06}", i % 1_000_000).into()),
                rfid: None,
            },
            label: format!("Reserved · HM{i}"),
        };
        let mut stored = StoredReservation::new(r.clone(), now);
        if i % 100 == 1 {
            stored.misses = 2; // cancelled
        }
        let fingerprint = if i % 100 == 2 {
            "changed".to_owned()
        } else {
            stored.fingerprint.clone()
        };
        if i % 100 != 3 {
            owned.push(OwnedBooking {
                booking_id: i as i64,
                reservation_key: r.key.clone(),
                source,
                booking_object_id: r.booking_object_id,
                start: r.start,
                end: r.end,
                credentials: r.credentials.clone(),
                name: booking_name(&r.label, &r.key),
                fingerprint,
                state: BookingState::Active,
            });
        }
        reservations.push(stored);
    }
    let sources = (0..50)
        .map(|i| (format!("feed-{i}"), SourceState::new(ReadKind::Fresh)))
        .collect();
    (reservations, owned, sources)
}

fn bench(c: &mut Criterion) {
    let (reservations, owned, sources) = world();
    let policy = Policy::default();
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    let input = PlanInput {
        reservations: &reservations,
        owned: &owned,
        sources: &sources,
        policy: &policy,
        now,
    };
    let planned = plan(input);
    assert_eq!(planned.operations.len(), 3 * N / 100);
    let mut group = c.benchmark_group("plan");
    group.sample_size(20);
    group.bench_function("100k reservations x 100k owned bookings", |b| {
        b.iter(|| plan(std::hint::black_box(input)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
