//! `POST /hooks/{source}`: verify, parse, store, then acknowledge and trigger a pass.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use secrecy::ExposeSecret;
use tokio::sync::mpsc::UnboundedSender;

use super::payload::{PayloadError, parse_event};
use super::signature::{SIGNATURE_HEADER, SignatureError, verify};
use super::store::WebhookStore;
use super::writer::{DeliveryWriter, QueuedDelivery};
use crate::config::{SourceConfig, SourceKind};
use crate::model::{DeliveryResult, MAX_OCCURRED_AHEAD};

/// Larger bodies are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A key no sender knows: a delivery to a source name that does not exist is checked against
/// it, so it gets the very answer a bad signature gets and names cannot be probed.
static DECOY_SECRET: LazyLock<[u8; 32]> = LazyLock::new(rand::random);

type SourceMap = Arc<BTreeMap<String, Arc<SourceConfig>>>;

/// The webhook sources of the current config, shared so that a config reload can swap them
/// while requests are served.
#[derive(Debug, Clone, Default)]
pub struct WebhookSources(Arc<RwLock<SourceMap>>);

impl WebhookSources {
    /// Keeps the sources of kind `webhook`; the others are ignored.
    pub fn new(sources: &[SourceConfig]) -> WebhookSources {
        let shared = WebhookSources::default();
        shared.replace(sources);
        shared
    }

    /// Makes `sources` (their webhook ones) the served set.
    pub fn replace(&self, sources: &[SourceConfig]) {
        let map: BTreeMap<_, _> = sources
            .iter()
            .filter(|source| source.kind == SourceKind::Webhook)
            .map(|source| (source.name.clone(), Arc::new(source.clone())))
            .collect();
        // A poisoned lock only means a writer panicked mid-swap of an Arc: the value is whole.
        *self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(map);
    }

    pub fn get(&self, name: &str) -> Option<Arc<SourceConfig>> {
        let map = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        map.get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        let map = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        map.keys().cloned().collect()
    }
}

/// What the endpoint needs: the ledger, the sources, and where to say "source X changed".
#[derive(Debug, Clone)]
pub struct WebhookState {
    sources: WebhookSources,
    trigger: UnboundedSender<String>,
    /// Deliveries are written by one task, in batches (group commit): SQLite has one writer,
    /// and one sync to disk for many events keeps every 202 durable under load.
    writer: DeliveryWriter,
}

impl WebhookState {
    /// `trigger` receives a source's name each time one of its events was applied. Starts the
    /// ledger writer task, so it needs a Tokio runtime.
    pub fn new(
        store: impl WebhookStore,
        sources: WebhookSources,
        trigger: UnboundedSender<String>,
    ) -> WebhookState {
        WebhookState {
            writer: DeliveryWriter::start(store),
            sources,
            trigger,
        }
    }

    pub fn sources(&self) -> &WebhookSources {
        &self.sources
    }
}

/// The webhook routes, to be merged with the daemon's other routes.
pub fn routes(state: WebhookState) -> Router {
    Router::new()
        .route("/hooks/{source}", post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn receive(
    State(state): State<WebhookState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let source = state.sources.get(&name);
    // Metrics and logs name configured sources only, never what the path says.
    let known = source.as_ref().map(|s| s.name.as_str());
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            count(
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "unreadable"
                },
                known,
            );
            let shown = known.unwrap_or("(none)");
            tracing::warn!(source = %shown, status = %status, "webhook body refused");
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("body larger than {MAX_BODY_BYTES} bytes")
            } else {
                rejection.body_text()
            };
            return refuse(status, &message);
        }
    };
    let secret: &[u8] = match &source {
        Some(source) => match &source.secret {
            Some(secret) => secret.expose_secret().as_bytes(),
            None => {
                // Config validation requires one; refuse rather than accept unsigned data.
                tracing::error!(source = %name, "webhook source has no secret");
                let err = SignatureError::Mismatch.to_string();
                return refuse(StatusCode::UNAUTHORIZED, &err);
            }
        },
        None => DECOY_SECRET.as_slice(),
    };
    let now = Utc::now();
    let signature = headers.get(SIGNATURE_HEADER).map(HeaderValue::as_bytes);
    let verified = verify(secret, signature, &body, now.timestamp());
    let source = match (verified, source.clone()) {
        (Ok(()), Some(source)) => source,
        (Err(err), Some(source)) => {
            count("unauthorized", Some(&source.name));
            tracing::warn!(source = %source.name, reason = %err, "webhook signature refused");
            return refuse(StatusCode::UNAUTHORIZED, &err.to_string());
        }
        (verified, None) => {
            // Answered as a bad signature: the same status and the same words.
            let err = verified.err().unwrap_or(SignatureError::Mismatch);
            count("unauthorized", None);
            let requested: String = name.chars().take(64).collect();
            tracing::warn!(requested = ?requested, reason = %err, "webhook for no configured source refused");
            return refuse(StatusCode::UNAUTHORIZED, &err.to_string());
        }
    };
    let event = match parse_event(&body, &source) {
        Ok(event) => event,
        Err(err) => {
            let status = match err {
                PayloadError::UnknownResource { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::BAD_REQUEST,
            };
            count("invalid", Some(&name));
            tracing::warn!(source = %name, status = %status, reason = %err, "webhook payload refused");
            return refuse(status, &err.to_string());
        }
    };
    if let Some(ahead) = too_far_ahead(event.occurred_at, now) {
        count("invalid", Some(&name));
        tracing::warn!(
            source = %name, event_id = %event.id, ahead_minutes = ahead.num_minutes(),
            "webhook event dated in the future refused"
        );
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!(
                "occurred_at is {} ahead of the server's clock; at most {} minutes ahead is accepted (check the sender's clock)",
                describe_span(ahead),
                MAX_OCCURRED_AHEAD.num_minutes()
            ),
        );
    }
    // parse_event read it as JSON, so it is UTF-8.
    let Ok(raw_json) = std::str::from_utf8(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "body is not UTF-8");
    };
    let delivery = QueuedDelivery {
        source: name.clone(),
        event_id: event.id.clone(),
        event_type: event.kind.as_str().to_owned(),
        occurred_at: event.occurred_at,
        received_at: now,
        raw_json: raw_json.to_owned(),
        booking: event.booking.clone(),
    };
    let stored = state.writer.store(delivery).await;
    let result = match stored {
        Ok(result) => result,
        Err(err) => {
            count("unavailable", Some(&name));
            tracing::error!(
                source = %name, event_id = %event.id, error = %err,
                "webhook event could not be stored; the sender will retry"
            );
            let mut response = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the event could not be stored; retry later",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return response;
        }
    };
    count(result.as_str(), Some(&name));
    tracing::info!(
        source = %name, event_id = %event.id, booking_id = %event.booking.booking_id,
        result = result.as_str(), "webhook event stored"
    );
    if result == DeliveryResult::Applied && state.trigger.send(name.clone()).is_err() {
        // Nobody listens (shutting down): the event is stored and the next pass reads it.
        tracing::debug!(source = %name, "no reconcile trigger listening");
    }
    let status = match result {
        DeliveryResult::Duplicate => StatusCode::OK,
        DeliveryResult::Applied | DeliveryResult::Stale => StatusCode::ACCEPTED,
    };
    let body = serde_json::json!({"result": result.as_str(), "event_id": event.id});
    (status, axum::Json(body)).into_response()
}

/// How far `occurred_at` lies ahead of our clock, when that is more than a sender's clock may be.
fn too_far_ahead(
    occurred_at: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
) -> Option<chrono::Duration> {
    let ahead = occurred_at.signed_duration_since(now);
    (ahead > MAX_OCCURRED_AHEAD).then_some(ahead)
}

/// `3 days`, `2 hours`, `7 minutes`: the biggest whole unit.
fn describe_span(span: chrono::Duration) -> String {
    let (value, unit) = if span.num_days() >= 1 {
        (span.num_days(), "day")
    } else if span.num_hours() >= 1 {
        (span.num_hours(), "hour")
    } else {
        (span.num_minutes(), "minute")
    };
    format!("{value} {unit}{}", if value == 1 { "" } else { "s" })
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({"error": message}))).into_response()
}

/// Source names come from the config (bounded), never from the request path.
fn count(result: &'static str, source: Option<&str>) {
    let source = source.unwrap_or("").to_owned();
    metrics::counter!("flexysync_webhook_deliveries_total", "source" => source, "result" => result)
        .increment(1);
}
