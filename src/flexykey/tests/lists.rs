//! Lists longer than one answer holds, and the shared rate limiter.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::fake::{Fake, answer, client_for};
use crate::flexykey::ApiError;

fn wire_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A fixed shuffle, so that the fake's cut at 500 is not simply "the earliest 500".
fn shuffled<T>(items: Vec<T>) -> Vec<T> {
    let count = items.len();
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    (0..count)
        .map(|i| slots[(i * 7919) % count].take().unwrap())
        .collect()
}

#[tokio::test]
async fn bookings_beyond_one_answer_come_back_complete_and_once_each() {
    let fake = Fake::start().await;
    let from = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let first_start = from - chrono::Duration::days(2);
    let mut stored = Vec::new();
    let mut expected = BTreeSet::new();
    for index in 0..1_700i64 {
        // Starts every 50 minutes, stays of 1 hour to 3 days: many span the split points.
        let start = first_start + chrono::Duration::minutes(50 * index);
        let end = start + chrono::Duration::hours(1 + (index * 37) % 72);
        let id = 10_000 + index;
        if start < to && end > from {
            expected.insert(id);
        }
        stored.push(json!({"bookingId": id, "bookingObjectId": 7,
            "startDate": wire_time(start), "endDate": wire_time(end),
            "phone1": format!("+4670{index:07}")}));
    }
    // Another object's bookings in the same weeks must not be listed.
    for index in 0..300i64 {
        let start = from + chrono::Duration::hours(index);
        stored.push(json!({"bookingId": 90_000 + index, "bookingObjectId": 8,
            "startDate": wire_time(start), "endDate": wire_time(start + chrono::Duration::hours(2))}));
    }
    *fake.state.bookings.lock().unwrap() = shuffled(stored);
    assert!(
        expected.len() > 1_500,
        "the window holds {}",
        expected.len()
    );

    let bookings = fake.client().bookings(7, from, to).await.unwrap();

    let ids: Vec<i64> = bookings.iter().map(|b| b.booking_id).collect();
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a booking came back twice");
    assert_eq!(unique, expected);
    assert!(bookings.iter().all(|b| b.booking_object_id == 7));
    assert!(
        bookings.windows(2).all(|w| w[0].start <= w[1].start),
        "not sorted"
    );
    assert!(fake.seen().len() >= 5, "the list was never split");
}

#[tokio::test]
async fn log_entries_beyond_one_answer_come_back_complete_with_lookalikes_kept() {
    let fake = Fake::start().await;
    let from = Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2025, 11, 2, 0, 0, 0).unwrap();
    let mut stored = Vec::new();
    for index in 0..1_690i64 {
        // Pairs identical but for serverDate: the same caller opening twice, 1 s apart.
        let at = from + chrono::Duration::seconds(50 * (index / 2) + index % 2);
        stored.push(
            json!({"serverDate": wire_time(at), "unitDate": at.format("%Y-%m-%d %H:%M").to_string(),
            "sourceID": format!("+4670{:07}", index / 2), "sourceLabel": "Gäst",
            "actionLabel": "Öppnade", "logMsg": "Samtal, grind öppnad"}),
        );
    }
    // Ten exact duplicates at one instant (the unit logged the same line twice): kept.
    let instant = from + chrono::Duration::hours(5) + chrono::Duration::seconds(7);
    for _ in 0..10 {
        stored.push(
            json!({"serverDate": wire_time(instant), "sourceID": "Informationslogg",
            "logMsg": "Omstart"}),
        );
    }
    // Entries on the window's edges count (inclusive bounds); one beyond them does not.
    stored[0]["serverDate"] = json!(wire_time(from));
    stored[1]["serverDate"] = json!(wire_time(to));
    stored.push(
        json!({"serverDate": wire_time(to + chrono::Duration::seconds(1)), "logMsg": "later"}),
    );
    let expected: Vec<(String, Value, Value)> = {
        let mut rows: Vec<_> = stored[..1_700]
            .iter()
            .map(|e| {
                (
                    e["serverDate"].as_str().unwrap().to_owned(),
                    e["sourceID"].clone(),
                    e["logMsg"].clone(),
                )
            })
            .collect();
        rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        rows
    };
    *fake.state.logs.lock().unwrap() = shuffled(stored);

    let entries = fake.client().unit_logs(3023, from, to).await.unwrap();

    let mut got: Vec<(String, Value, Value)> = entries
        .iter()
        .map(|e| {
            (
                wire_time(e.server_date),
                json!(e.source_id),
                json!(e.log_msg),
            )
        })
        .collect();
    got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(got.len(), 1_700);
    assert_eq!(got, expected);
    assert!(
        entries
            .windows(2)
            .all(|w| w[0].server_date <= w[1].server_date)
    );
    let restarts = entries
        .iter()
        .filter(|e| e.log_msg.as_deref() == Some("Omstart"))
        .count();
    assert_eq!(restarts, 10);
    let seen = fake.seen();
    assert!(seen.len() >= 5, "the list was never split");
    assert!(seen.iter().all(|s| s.path == "/v1/unitlogs/3023"));
}

#[tokio::test]
async fn a_second_that_still_holds_500_entries_is_a_protocol_error_naming_the_unit() {
    let fake = Fake::start().await;
    let at = Utc.with_ymd_and_hms(2025, 11, 1, 12, 0, 0).unwrap();
    let crowded =
        (0..600).map(|i| json!({"serverDate": wire_time(at), "logMsg": format!("line {i}")}));
    *fake.state.logs.lock().unwrap() = crowded.collect();
    let from = at - chrono::Duration::hours(1);
    let error = fake.client().unit_logs(3023, from, at).await.unwrap_err();
    let ApiError::Protocol { reason } = error else {
        panic!("expected a protocol error, got {error:?}");
    };
    assert!(
        reason.contains("unit 3023") && reason.contains("2025-11-01T12:00:00Z"),
        "{reason}"
    );
}

#[tokio::test]
async fn one_limiter_paces_every_clone() {
    let fake = Fake::start().await;
    fake.script((0..50).map(|_| answer(200, "[]")));
    let client = client_for(fake.base_url.clone(), 10.0, 5);
    let started = Instant::now();
    let calls = (0..50).map(|_| {
        let clone = client.clone();
        async move { clone.booking_objects().await }
    });
    let results = futures::future::join_all(calls).await;
    let elapsed = started.elapsed();
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(Vec::is_empty)));
    assert_eq!(fake.seen().len(), 50);
    // 5 at once, then one every 100 ms: 45 × 0.1 s.
    assert!(elapsed >= Duration::from_millis(4_500), "{elapsed:?}");
}
