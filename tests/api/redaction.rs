//! Feed URLs whose path holds a token (Google's `private-…`, hex and base64 ids): a real
//! `sync` and `status`, with feeds that fail in every way and one that works, never print the
//! tokens, at debug log level.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use flexysync::sandbox::{self, SandboxOptions};

use crate::daemon::{calendar, stay};
use crate::helpers::{code, run, sandbox_config, start_sandbox, stderr, stdout};

const GOOGLE_TOKEN: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const HEX_TOKEN: &str = "9a8b7c6d5e4f30211203f4e5d6c7b8a9";
const BASE64_TOKEN: &str = "c2VjcmV0LWZlZWQtdG9rZW4tMTIzNDU2";
const REDIRECT_TOKEN: &str = "77aa66bb55cc44dd33ee22ff11aa00bb";
const REFUSED_TOKEN: &str = "5e5e5e5e4d4d4d4d3c3c3c3c2b2b2b2b";

/// Serves the working feed, a 404, a page that is no calendar and a redirect to a 404, each
/// under a path that holds a token.
async fn serve_feeds(body: String) -> String {
    let router = axum::Router::new()
        .route(
            &format!("/calendar/ical/host%40example.com/private-{GOOGLE_TOKEN}/basic.ics"),
            axum::routing::get(move || async move { body }),
        )
        .route(
            &format!("/icalendar/{HEX_TOKEN}.ics"),
            axum::routing::get(|| async { StatusCode::NOT_FOUND }),
        )
        .route(
            &format!("/export/{BASE64_TOKEN}/feed.ics"),
            axum::routing::get(|| async { "<html>sign in</html>".into_response() }),
        )
        .route(
            "/moved.ics",
            axum::routing::get(|| async {
                Redirect::temporary(&format!("/gone/{REDIRECT_TOKEN}/cal.ics"))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn source(name: &str, url: &str) -> String {
    format!(
        "[[sources]]\nname = \"{name}\"\nkind = \"ical\"\nurl = \"{url}\"\nbooking_object_id = {}\n\
         timezone = \"Europe/Stockholm\"\n\n",
        sandbox::OBJECT_CABIN
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_in_feed_paths_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let base = serve_feeds(calendar(&[stay("guest-1", 3, 2)])).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let sources = [
        source(
            "google",
            &format!("{base}/calendar/ical/host%40example.com/private-{GOOGLE_TOKEN}/basic.ics"),
        ),
        source("gone", &format!("{base}/icalendar/{HEX_TOKEN}.ics")),
        source("signin", &format!("{base}/export/{BASE64_TOKEN}/feed.ics")),
        source("moved", &format!("{base}/moved.ics")),
        source(
            "refused",
            &format!("http://127.0.0.1:{closed_port}/u/{REFUSED_TOKEN}/c.ics"),
        ),
    ];
    let config = sandbox_config(dir.path(), &sandbox, &sources.concat());

    let mut output = String::new();
    for args in [
        &["sync"][..],
        &["status"],
        &["status", "--json"],
        &["check"],
    ] {
        let out = run(&config, args).await;
        output.push_str(&format!(
            "$ flexysync {args:?} -> {}\n{}{}",
            code(&out),
            stdout(&out),
            stderr(&out)
        ));
    }

    // The run did read, fail and report: the working feed booked its stay, the others failed
    // by name.
    assert_eq!(
        sandbox.bookings_of(sandbox::OBJECT_CABIN).len(),
        1,
        "{output}"
    );
    for name in ["gone", "signin", "moved", "refused"] {
        assert!(output.contains(name), "{name} is not reported: {output}");
    }
    // Failures name their feed's address, redacted.
    for shown in [
        format!("{base}/REDACTED.ics"),
        format!("http://127.0.0.1:{closed_port}/REDACTED.ics"),
    ] {
        assert!(output.contains(&shown), "{shown} is not shown: {output}");
    }
    for token in [
        GOOGLE_TOKEN,
        HEX_TOKEN,
        BASE64_TOKEN,
        REDIRECT_TOKEN,
        REFUSED_TOKEN,
    ] {
        assert!(!output.contains(token), "token {token} leaked: {output}");
        assert!(
            !output.contains(&token[..12]),
            "part of token {token} leaked: {output}"
        );
    }
}
