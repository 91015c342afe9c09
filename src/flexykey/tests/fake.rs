//! A small fake FlexyKey for the client's tests, on 127.0.0.1:0. It spells the contract's
//! names itself (not through `wire.rs`), so that a misspelling in the client fails a test.
//! Scripted answers come first; without one, bookings and logs are listed from its data with
//! the agreed semantics (overlap / inclusive bounds, cut silently at 500).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use url::Url;

use crate::config::FlexyKeyConfig;
use crate::flexykey::{Client, RetryPolicy};

pub const USER: &str = "api-user";
pub const PASSWORD: &str = "s3cret-Pa55word";
const CAP: usize = 500;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: std::time::Instant,
}

/// A canned answer.
pub struct Scripted {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// How long the fake thinks before answering.
    pub delay: std::time::Duration,
}

pub fn answer(status: u16, body: &str) -> Scripted {
    Scripted {
        status,
        headers: Vec::new(),
        body: body.to_owned(),
        delay: std::time::Duration::ZERO,
    }
}

#[derive(Default)]
pub struct FakeState {
    pub seen: Mutex<Vec<Seen>>,
    pub script: Mutex<VecDeque<Scripted>>,
    /// Bookings in wire JSON, in the order the fake lists them.
    pub bookings: Mutex<Vec<Value>>,
    /// Log entries of unit 3023 in wire JSON.
    pub logs: Mutex<Vec<Value>>,
}

pub struct Fake {
    pub state: Arc<FakeState>,
    pub base_url: Url,
}

impl Fake {
    pub async fn start() -> Fake {
        let state = Arc::new(FakeState::default());
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let base_url = Url::parse(&format!("http://127.0.0.1:{port}/v1/")).unwrap();
        Fake { state, base_url }
    }

    pub fn script(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.state.script.lock().unwrap().extend(answers);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// A client with a generous limiter and millisecond retries.
    pub fn client(&self) -> Client {
        client_for(self.base_url.clone(), 1000.0, 1000)
    }
}

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(5),
        max_retry_after: std::time::Duration::from_secs(5),
    }
}

pub fn client_for(base_url: Url, requests_per_second: f64, burst: u32) -> Client {
    let mut config = FlexyKeyConfig::new(base_url, USER, PASSWORD);
    config.requests_per_second = requests_per_second;
    config.burst = burst;
    config.timeout_seconds = 5;
    Client::new(&config)
        .unwrap()
        .with_retry_policy(fast_retries())
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn param(query: &Option<String>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_deref()?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<FakeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method: method.clone(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: headers.clone(),
        body: body.clone(),
        at: std::time::Instant::now(),
    };
    state.seen.lock().unwrap().push(seen.clone());
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&expected)
    {
        let body = json!({"status": "ERROR", "message": "bad credentials"});
        return (StatusCode::UNAUTHORIZED, body.to_string()).into_response();
    }
    let scripted = state.script.lock().unwrap().pop_front();
    if let Some(scripted) = scripted {
        tokio::time::sleep(scripted.delay).await;
        let mut response = (
            StatusCode::from_u16(scripted.status).unwrap(),
            scripted.body,
        )
            .into_response();
        for (name, value) in scripted.headers {
            response.headers_mut().insert(name, value.parse().unwrap());
        }
        return response;
    }
    let path = seen.path.to_ascii_lowercase();
    let listed = if method == Method::GET && path == "/v1/bookings" {
        let object: i64 = param(&seen.query, "bookingObjectId")
            .unwrap()
            .parse()
            .unwrap();
        let from = time(&param(&seen.query, "dateFrom").unwrap());
        let to = time(&param(&seen.query, "dateTo").unwrap());
        let bookings = state.bookings.lock().unwrap();
        bookings
            .iter()
            .filter(|b| b["bookingObjectId"].as_i64() == Some(object))
            .filter(|b| {
                time(b["startDate"].as_str().unwrap()) < to
                    && time(b["endDate"].as_str().unwrap()) > from
            })
            .take(CAP)
            .cloned()
            .collect::<Vec<_>>()
    } else if method == Method::GET && path == "/v1/unitlogs/3023" {
        let from = time(&param(&seen.query, "dateFrom").unwrap());
        let to = time(&param(&seen.query, "dateTo").unwrap());
        let logs = state.logs.lock().unwrap();
        logs.iter()
            .filter(|e| (from..=to).contains(&time(e["serverDate"].as_str().unwrap())))
            .take(CAP)
            .cloned()
            .collect::<Vec<_>>()
    } else {
        let body = json!({"status": "ERROR", "message": "no such route"});
        return (StatusCode::NOT_FOUND, body.to_string()).into_response();
    };
    (StatusCode::OK, Value::Array(listed).to_string()).into_response()
}

/// A server that reads each request in full and then closes the connection without answering:
/// the request reached it, the answer is lost. Returns its base URL and a request counter.
pub async fn start_dropping_server() -> (Url, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut received = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request_complete(&received) {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => received.extend_from_slice(&buffer[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            });
        }
    });
    (
        Url::parse(&format!("http://127.0.0.1:{port}/v1/")).unwrap(),
        count,
    )
}

fn request_complete(received: &[u8]) -> bool {
    let text = String::from_utf8_lossy(received);
    let Some(head_end) = text.find("\r\n\r\n") else {
        return false;
    };
    let length = text[..head_end]
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    received.len() >= head_end + 4 + length
}
