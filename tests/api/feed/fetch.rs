//! Fetching against a real loopback HTTP server: every failure is "unknown" with a reason.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use flexysync::sources::{FetchMemo, ReadContext, ReadOutcome, read_source};

use super::{day, fixture, source};

const CALENDAR: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTART;VALUE=DATE:20260302\r\nDTEND;VALUE=DATE:20260304\r\nSUMMARY:Guest\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

async fn calendar(headers: HeaderMap) -> impl IntoResponse {
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v == "\"v1\"")
    {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, "\"v1\"")],
            String::new(),
        );
    }
    (
        StatusCode::OK,
        [(header::ETAG, "\"v1\"")],
        CALENDAR.to_owned(),
    )
}

/// gzip with stored (uncompressed) deflate blocks: enough to exercise Content-Encoding.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let chunks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let mut crc = 0xffff_ffffu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&(!crc).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

async fn serve() -> String {
    let big = {
        let mut body = b"BEGIN:VCALENDAR\r\n".to_vec();
        body.resize(20 * 1024 * 1024 + 1, b'X');
        body
    };
    let app = Router::new()
        .route("/cal.ics", get(calendar))
        .route(
            "/error.ics",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/slow.ics",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                CALENDAR
            }),
        )
        .route(
            "/login.ics",
            get(|| async { "<!DOCTYPE html><html><body>Sign in</body></html>" }),
        )
        .route(
            "/truncated.ics",
            get(|| async {
                // Cut off in transit, in the middle of its one stay.
                let cut = CALENDAR.len() * 2 / 3;
                CALENDAR[..cut].to_owned()
            }),
        )
        .route(
            "/garbage.ics",
            get(|| async { vec![0x9fu8, 0x00, 0xff, 0x13, 0x37, 0x42] }),
        )
        .route(
            "/big.ics",
            get(move || {
                let big = big.clone();
                async move { big }
            }),
        )
        .route(
            "/gzip.ics",
            get(|| async {
                (
                    [(header::CONTENT_ENCODING, "gzip")],
                    gzip(CALENDAR.as_bytes()),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(700))
        .build()
        .expect("client")
}

async fn read(url: &str, memo: Option<&FetchMemo>) -> (ReadOutcome, Option<FetchMemo>) {
    let http = client();
    let ctx = ReadContext {
        http: &http,
        now: day("2026-03-01"),
        horizon_days: 30,
        default_timezone: Some(chrono_tz::Europe::Stockholm),
        code_secret: b"secret",
    };
    let src = source(
        serde_json::json!({"url": format!("{url}?token=s3cr3t"), "path": null, "timezone": null}),
    );
    read_source(&src, &ctx, memo).await
}

fn reason(outcome: &ReadOutcome) -> String {
    match outcome {
        ReadOutcome::Failed(failure) => failure.text.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn fresh_then_unchanged_with_etag() {
    let base = serve().await;
    let (outcome, memo) = read(&format!("{base}/cal.ics"), None).await;
    let ReadOutcome::Fresh {
        reservations,
        content_fingerprint,
        ..
    } = outcome
    else {
        panic!("expected fresh, got {outcome:?}");
    };
    assert_eq!(reservations.len(), 1);
    // All-day stay read in the unit's zone (Stockholm): 15:00 CET = 14:00 UTC.
    assert_eq!(
        reservations[0].start.to_rfc3339(),
        "2026-03-02T14:00:00+00:00"
    );
    let memo = memo.expect("memo");
    assert_eq!(memo.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        memo.content_fingerprint.as_deref(),
        Some(content_fingerprint.as_str())
    );
    let json = serde_json::to_string(&memo).expect("memo serialises");
    let back: FetchMemo = serde_json::from_str(&json).expect("memo deserialises");
    let (outcome, again) = read(&format!("{base}/cal.ics"), Some(&back)).await;
    assert!(matches!(outcome, ReadOutcome::Unchanged), "{outcome:?}");
    assert_eq!(again, Some(back));
}

#[tokio::test]
async fn failures_are_unknown_with_a_clear_reason() {
    let base = serve().await;
    let cases = [
        ("error.ics", "HTTP status 500"),
        ("slow.ics", "timed out"),
        ("login.ics", "not a calendar"),
        ("garbage.ics", "not a calendar"),
        ("big.ics", "too large"),
        ("truncated.ics", "END:VCALENDAR"),
    ];
    for (path, expected) in cases {
        let (outcome, memo) = read(&format!("{base}/{path}"), None).await;
        let why = reason(&outcome);
        assert!(why.contains(expected), "{path}: {why}");
        assert!(!why.contains("s3cr3t"), "{path}: the token leaked: {why}");
        assert!(memo.is_none());
    }
}

#[tokio::test]
async fn gzip_bodies_are_decoded() {
    let base = serve().await;
    let (outcome, _) = read(&format!("{base}/gzip.ics"), None).await;
    assert!(
        matches!(&outcome, ReadOutcome::Fresh { reservations, .. } if reservations.len() == 1),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn plain_http_off_loopback_and_missing_files_fail() {
    let http = client();
    let ctx = ReadContext {
        http: &http,
        now: day("2026-03-01"),
        horizon_days: 30,
        default_timezone: None,
        code_secret: b"s",
    };
    let src =
        source(serde_json::json!({"url": "http://example.com/cal.ics?token=s3cr3t", "path": null}));
    let (outcome, _) = read_source(&src, &ctx, None).await;
    let why = reason(&outcome);
    assert!(
        why.contains("https is required") && !why.contains("s3cr3t"),
        "{why}"
    );
    let src = source(serde_json::json!({"path": "/nonexistent/feed.ics"}));
    let (outcome, _) = read_source(&src, &ctx, None).await;
    assert!(reason(&outcome).contains("/nonexistent/feed.ics"));
    let src = source(serde_json::json!({"path": fixture("airbnb.ics")}));
    let (outcome, _) = read_source(&src, &ctx, None).await;
    assert!(matches!(outcome, ReadOutcome::Fresh { .. }), "{outcome:?}");
}
