//! The demo's stand-in for a host's phone: a loopback webhook receiver that checks each
//! event's signature and prints what the host would be told.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use tokio::sync::mpsc;

/// The demo's signing secret (the receiver and the `[[notify]]` target share it).
pub const DEMO_NOTIFY_SECRET: &str = "demo-notify-secret-4f9c2a7e1b";

pub struct DemoReceiver {
    pub url: String,
    received: mpsc::UnboundedReceiver<String>,
}

/// Starts the receiver on a loopback port.
pub async fn start() -> std::io::Result<DemoReceiver> {
    let (sender, received) = mpsc::unbounded_channel();
    let handler = move |headers: HeaderMap, body: String| {
        let sender = sender.clone();
        async move {
            let signature = headers
                .get(crate::sources::webhook::signature::SIGNATURE_HEADER)
                .map(|v| v.as_bytes());
            let verified = crate::sources::webhook::signature::verify(
                DEMO_NOTIFY_SECRET.as_bytes(),
                signature,
                body.as_bytes(),
                chrono::Utc::now().timestamp(),
            );
            if verified.is_err() {
                return StatusCode::UNAUTHORIZED;
            }
            let _ = sender.send(describe(&body));
            StatusCode::OK
        }
    };
    let router = axum::Router::new().route("/events", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(DemoReceiver { url, received })
}

/// One line for a received event body.
fn describe(body: &str) -> String {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return "an unreadable event".to_owned();
    };
    let data = &json["data"];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_owned();
    let mut line = format!(
        "{} on {}: {}",
        text(&json["type"]),
        data["booking_object"]["name"].as_str().unwrap_or("?"),
        text(&data["label"])
    );
    if data["other"].is_object() {
        line.push_str(&format!(
            " ({}) overlaps {} ({}) from {} to {}",
            text(&data["source"]),
            text(&data["other"]["label"]),
            text(&data["other"]["source"]),
            text(&data["start_utc"]),
            text(&data["other"]["end_utc"]),
        ));
    }
    line
}

impl DemoReceiver {
    /// Prints what arrives within `wait` (or until a quiet second after the first).
    pub async fn print_received(&mut self, wait: Duration) {
        let mut limit = wait;
        while let Ok(Some(line)) = tokio::time::timeout(limit, self.received.recv()).await {
            println!("  host's phone got (signed webhook): {line}");
            limit = Duration::from_secs(1);
        }
    }
}
