//! The webhook endpoint against hostile senders: probing for source names, clocks far ahead,
//! absurd stays, idle and slow connections.

use std::time::{Duration as StdDuration, Instant};

use flexysync::ledger::webhooks::{BookingStatus, WebhookBooking, WebhookDelivery};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

#[tokio::test]
async fn unknown_sources_are_answered_exactly_like_bad_signatures() {
    let hook = Hook::start().await;
    let body = upsert("evt_1", "2026-11-27T10:00:00Z", "x")
        .to_string()
        .into_bytes();
    let now = Utc::now().timestamp();
    let cases = [
        ("unsigned", None),
        ("forged", Some(sign(b"not-the-secret", now, &body))),
        ("malformed", Some("t=1,v1=zz".to_owned())),
        ("stale", Some(sign(b"not-the-secret", now - 3600, &body))),
    ];
    for (what, signature) in cases.clone() {
        let known = hook
            .post_raw("laundry", body.clone(), signature.clone())
            .await;
        assert_eq!(known.0, StatusCode::UNAUTHORIZED, "{what}");
        for name in ["nowhere", "cabin", "Laundry", "laundry%20"] {
            let unknown = hook.post_raw(name, body.clone(), signature.clone()).await;
            assert_eq!(unknown, known, "{what} to {name:?}");
        }
    }
    // Even the right secret gets nothing but the bad-signature answer from a name that is not
    // a webhook source.
    let signed = Some(sign(SECRET.as_bytes(), now, &body));
    let forged = hook
        .post_raw("laundry", body.clone(), cases[1].1.clone())
        .await;
    for name in ["nowhere", "cabin"] {
        assert_eq!(
            hook.post_raw(name, body.clone(), signed.clone()).await,
            forged
        );
    }
    assert!(hook.results().await.is_empty());
}

#[tokio::test]
async fn events_dated_ahead_of_our_clock_are_refused_and_change_nothing() {
    let mut hook = Hook::start().await;
    let now = Utc::now();
    for occurred in [
        (now + Duration::minutes(6)).to_rfc3339(),
        (now + Duration::days(400)).to_rfc3339(),
        "9999-12-31T23:59:59Z".to_owned(),
    ] {
        let (status, answer) = hook.post(&upsert("evt_f", &occurred, "Future")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{occurred}");
        let message = answer["error"].as_str().unwrap();
        assert!(
            message.contains("occurred_at") && message.contains("ahead"),
            "{message}"
        );
    }
    assert!(hook.results().await.is_empty());
    assert!(hook.reservations().await.is_empty());
    assert!(hook.drain_triggers().is_empty());
    // A sender's clock a little ahead is fine.
    let slightly = (now + Duration::minutes(3)).to_rfc3339();
    let (status, _) = hook.post(&upsert("evt_ok", &slightly, "Soon")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

fn laundry_booking(status: BookingStatus) -> WebhookBooking {
    WebhookBooking {
        booking_id: "b-9".into(),
        status,
        resource: Some("room-a".into()),
        start: Some(tomorrow(8)),
        end: Some(tomorrow(11)),
        name: Some("Flat 9".into()),
        phones: vec![],
        code: None,
        rfid: None,
    }
}

#[tokio::test]
async fn a_state_dated_far_ahead_never_makes_later_events_or_snapshots_stale() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db")).await.unwrap();
    let now = Utc::now();
    let far = "9999-12-31T23:59:59Z".parse::<DateTime<Utc>>().unwrap();
    let confirmed = laundry_booking(BookingStatus::Confirmed);
    let deliver = |id: &'static str, occurred_at, received_at, booking: &WebhookBooking| {
        let ledger = ledger.clone();
        let booking = booking.clone();
        async move {
            ledger
                .record_webhook_delivery(&WebhookDelivery {
                    source: "laundry",
                    event_id: id,
                    event_type: "booking.upserted",
                    occurred_at,
                    received_at,
                    raw_json: "{}",
                    booking: &booking,
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(
        deliver("e-far", far, now, &confirmed).await,
        DeliveryResult::Applied
    );
    let later = now + Duration::minutes(10);
    let cancelled = laundry_booking(BookingStatus::Cancelled);
    assert_eq!(
        deliver("e-cancel", later, later, &cancelled).await,
        DeliveryResult::Applied,
        "a cancellation after the far-future event must apply"
    );
    assert_eq!(
        ledger.webhook_bookings("laundry").await.unwrap()[0]
            .booking
            .status,
        BookingStatus::Cancelled
    );
    // The delivery log keeps what the sender said.
    let events = ledger.webhook_events("laundry").await.unwrap();
    assert_eq!(events[0].occurred_at, far);

    // A snapshot taken after the far-future event repairs it too.
    assert_eq!(
        deliver("e-far-2", far, later, &confirmed).await,
        DeliveryResult::Applied
    );
    let snapshot_at = later + Duration::minutes(10);
    let changes = ledger
        .replace_webhook_bookings("laundry", &[], snapshot_at)
        .await
        .unwrap();
    assert_eq!(changes.cancelled, vec!["b-9".to_owned()], "{changes:?}");
    assert!(changes.kept_newer.is_empty(), "{changes:?}");
}

#[tokio::test]
async fn webhook_stays_longer_than_max_stay_days_are_skipped() {
    let hook = Hook::start().await;
    let start = tomorrow(8);
    for (id, end) in [
        ("b-long", "9999-12-31T10:00:00Z".to_owned()),
        ("b-2126", "2126-01-01T10:00:00Z".to_owned()),
        ("b-61", (start + Duration::days(61)).to_rfc3339()),
        ("b-59", (start + Duration::days(59)).to_rfc3339()),
    ] {
        let mut stay = booking(id, "confirmed", id);
        stay["end"] = json!(end);
        let (status, answer) = hook
            .post(&event(
                &format!("evt-{id}"),
                "booking.upserted",
                "2026-11-27T10:00:00Z",
                stay,
            ))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{id}: {answer}");
    }
    let keys: Vec<String> = hook
        .reservations()
        .await
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, vec!["laundry/b-59".to_owned()]);
}

#[test]
fn ical_stays_longer_than_max_stay_days_are_skipped_with_a_warning_naming_the_uid() {
    let calendar = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n\
        BEGIN:VEVENT\r\nUID:forever@x\r\nDTSTART;VALUE=DATE:20261210\r\nDTEND;VALUE=DATE:99991231\r\nSUMMARY:Guest\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:season@x\r\nDTSTART;VALUE=DATE:20261210\r\nDTEND;VALUE=DATE:20270301\r\nSUMMARY:Guest\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:week@x\r\nDTSTART;VALUE=DATE:20261210\r\nDTEND;VALUE=DATE:20261217\r\nSUMMARY:Guest\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:sixty@x\r\nDTSTART:20261210T150000Z\r\nDTEND:20270208T150000Z\r\nSUMMARY:Guest\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\n";
    // Buffers widen access around a stay; they do not count towards its length.
    let source = crate::feed::source(json!({"buffer_before": "2h", "buffer_after": "1h"}));
    let ctx = crate::feed::rules_ctx("2026-12-01", "2027-06-01");
    let (reservations, warnings) =
        flexysync::sources::reservations_from_text(calendar, &source, &ctx).unwrap();
    let mut uids: Vec<&str> = reservations.iter().map(|r| r.key.as_str()).collect();
    uids.sort_unstable();
    assert_eq!(uids, vec!["cabin/sixty@x/", "cabin/week@x/"]);
    for uid in ["forever@x", "season@x"] {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(uid) && w.contains("max_stay_days")),
            "{warnings:?}"
        );
    }
    // A source may allow longer stays (a marina's season berth).
    let seasonal = crate::feed::source(json!({"max_stay_days": 120}));
    let (reservations, _) =
        flexysync::sources::reservations_from_text(calendar, &seasonal, &ctx).unwrap();
    assert_eq!(reservations.len(), 3);
}

/// Reads until the server closes the connection (or `limit` passes): true when it closed.
async fn closed_within(stream: &mut TcpStream, limit: StdDuration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_never_starve_a_valid_delivery() {
    let limits = ConnectionLimits {
        header_timeout: StdDuration::from_secs(2),
        max_connections: 32,
        max_connection_age: StdDuration::from_secs(60),
        shutdown_grace: StdDuration::from_secs(1),
    };
    let hook = Hook::start_limited(&config_toml(None), limits).await;
    let address = hook.base.trim_start_matches("http://").to_owned();

    // Far more idle sockets than the listener serves at once ...
    let mut idle = Vec::new();
    for _ in 0..150 {
        idle.push(TcpStream::connect(&address).await.unwrap());
    }
    // ... and a few that send a header byte at a time, never finishing.
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"POST /hooks/laundry HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let dribble = tokio::spawn(async move {
        let started = Instant::now();
        while started.elapsed() < StdDuration::from_secs(8) {
            for stream in &mut slow {
                let _ = stream.write_all(b"X").await;
            }
            tokio::time::sleep(StdDuration::from_millis(250)).await;
        }
        slow
    });
    tokio::time::sleep(StdDuration::from_millis(200)).await;

    // A valid delivery is served at once, not after the idle ones time out.
    let started = Instant::now();
    let (status, answer) = tokio::time::timeout(
        StdDuration::from_secs(5),
        hook.post(&upsert("evt_1", "2026-11-27T10:00:00Z", "Flat 12")),
    )
    .await
    .expect("the delivery was answered");
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert!(
        started.elapsed() < limits.header_timeout,
        "took {:?}",
        started.elapsed()
    );

    // Every idle socket is closed by the server: evicted, or timed out.
    for stream in &mut idle {
        assert!(
            closed_within(stream, limits.header_timeout + StdDuration::from_secs(3)).await,
            "an idle connection stayed open"
        );
    }
    // The slow-header ones too, although they kept sending.
    let mut slow = dribble.await.unwrap();
    for stream in &mut slow {
        assert!(
            closed_within(stream, StdDuration::from_secs(1)).await,
            "a slow-header connection stayed open"
        );
    }
}

#[tokio::test]
async fn a_connection_kept_alive_is_closed_once_idle_for_the_header_timeout() {
    let limits = ConnectionLimits {
        header_timeout: StdDuration::from_secs(1),
        ..ConnectionLimits::default()
    };
    let hook = Hook::start_limited(&config_toml(None), limits).await;
    let address = hook.base.trim_start_matches("http://").to_owned();
    let mut fresh = TcpStream::connect(&address).await.unwrap();
    let mut used = TcpStream::connect(&address).await.unwrap();
    used.write_all(b"GET /hooks/laundry HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 512];
    let read = used.read(&mut answer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 405"),
        "{}",
        String::from_utf8_lossy(&answer[..read])
    );
    let started = Instant::now();
    assert!(closed_within(&mut used, StdDuration::from_secs(4)).await);
    assert!(closed_within(&mut fresh, StdDuration::from_secs(4)).await);
    assert!(started.elapsed() >= StdDuration::from_millis(500));
}
