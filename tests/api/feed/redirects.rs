//! Redirects of feed fetches obey the configured URL's transport rule: https, http only on
//! loopback, never from https to http.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use flexysync::sources::fetch::check_redirect;
use flexysync::sources::{ReadContext, ReadOutcome, read_source};

use super::{day, source};

const CALENDAR: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTART;VALUE=DATE:20260302\r\nDTEND;VALUE=DATE:20260304\r\nSUMMARY:Guest\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn redirect(to: String) -> (StatusCode, [(header::HeaderName, String); 1]) {
    (StatusCode::FOUND, [(header::LOCATION, to)])
}

/// A loopback server whose paths redirect elsewhere; returns its base URL.
async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new()
        .route("/cal.ics", get(|| async { CALENDAR }))
        .route(
            "/to-any-address",
            get(move || async move { redirect(format!("http://0.0.0.0:{port}/cal.ics?s=s3cr3t")) }),
        )
        .route(
            "/to-remote-http",
            get(|| async { redirect("http://calendar.example.com/cal.ics".to_owned()) }),
        )
        .route(
            "/to-ftp",
            get(|| async { redirect("ftp://127.0.0.1/cal.ics".to_owned()) }),
        )
        .route("/loop", get(|| async { redirect("/loop".to_owned()) }))
        .route(
            "/to-loopback",
            get(move || async move { redirect(format!("http://127.0.0.1:{port}/cal.ics")) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{port}")
}

async fn read(http: &reqwest::Client, url: &str) -> ReadOutcome {
    let ctx = ReadContext {
        http,
        now: day("2026-03-01"),
        horizon_days: 30,
        default_timezone: Some(chrono_tz::Europe::Stockholm),
        code_secret: b"secret",
    };
    let src = source(serde_json::json!({"url": url, "path": null}));
    read_source(&src, &ctx, None).await.0
}

#[tokio::test]
async fn redirects_that_break_the_transport_rule_make_the_read_fail() {
    let base = serve().await;
    let feed_client = flexysync::reconcile::feeds::feed_http_client().unwrap();
    // A client without the redirect policy is held to the same rule by the final URL's check.
    let plain_client = reqwest::Client::new();
    for http in [&feed_client, &plain_client] {
        for path in ["/to-any-address", "/to-remote-http", "/to-ftp"] {
            if std::ptr::eq(http, &plain_client) && path == "/to-remote-http" {
                continue; // it would try the network
            }
            match read(http, &format!("{base}{path}")).await {
                ReadOutcome::Failed(failure) => {
                    let reason = failure.text;
                    // reqwest itself refuses other schemes; the rule explains the rest.
                    let explained = reason.contains("redirect") || path == "/to-ftp";
                    assert!(explained, "{path}: {reason}");
                    assert!(!reason.contains("s3cr3t"), "{path}: {reason}");
                }
                other => panic!("{path}: followed: {other:?}"),
            }
        }
    }
    match read(&feed_client, &format!("{base}/loop")).await {
        ReadOutcome::Failed(failure) => {
            assert!(failure.text.contains("redirects"), "{}", failure.text)
        }
        other => panic!("a redirect loop was read: {other:?}"),
    }
    // Loopback to loopback over http is what the configured URL may do itself.
    match read(&feed_client, &format!("{base}/to-loopback")).await {
        ReadOutcome::Fresh { reservations, .. } => assert_eq!(reservations.len(), 1),
        other => panic!("a loopback redirect was refused: {other:?}"),
    }
}

#[test]
fn https_never_redirects_to_plain_http() {
    let https = url::Url::parse("https://feeds.example.com/a.ics").unwrap();
    for to in [
        "http://feeds.example.com/a.ics",
        "http://127.0.0.1:8080/a.ics",
        "http://localhost/a.ics",
    ] {
        let to = url::Url::parse(to).unwrap();
        let err = check_redirect(Some(&https), &to).unwrap_err();
        assert!(err.contains("https"), "{to}: {err}");
    }
    let elsewhere = url::Url::parse("https://cdn.example.net/a.ics?token=t0k3n").unwrap();
    check_redirect(Some(&https), &elsewhere).unwrap();
    let plain = url::Url::parse("http://0.0.0.0:80/a.ics?token=t0k3n").unwrap();
    let err = check_redirect(Some(&https), &plain).unwrap_err();
    assert!(!err.contains("t0k3n"), "{err}");
}
