//! `POST /hooks/{source}`: verify, parse, store, then acknowledge and trigger a pass.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

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
use super::signature::{SIGNATURE_HEADER, verify};
use super::store::WebhookStore;
use super::writer::{DeliveryWriter, QueuedDelivery};
use crate::config::{SourceConfig, SourceKind};
use crate::model::DeliveryResult;

/// Larger bodies are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

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
    let Some(source) = state.sources.get(&name) else {
        count("unknown_source", None);
        return refuse(StatusCode::NOT_FOUND, "no webhook source by that name");
    };
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
                Some(&name),
            );
            tracing::warn!(source = %name, status = %status, "webhook body refused");
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("body larger than {MAX_BODY_BYTES} bytes")
            } else {
                rejection.body_text()
            };
            return refuse(status, &message);
        }
    };
    let Some(secret) = &source.secret else {
        // Config validation requires one; refuse rather than accept unsigned data.
        tracing::error!(source = %name, "webhook source has no secret");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "this source has no secret configured",
        );
    };
    let now = Utc::now();
    let signature = headers.get(SIGNATURE_HEADER).map(HeaderValue::as_bytes);
    if let Err(err) = verify(
        secret.expose_secret().as_bytes(),
        signature,
        &body,
        now.timestamp(),
    ) {
        count("unauthorized", Some(&name));
        tracing::warn!(source = %name, reason = %err, "webhook signature refused");
        return refuse(StatusCode::UNAUTHORIZED, &err.to_string());
    }
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

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({"error": message}))).into_response()
}

/// Source names come from the config (bounded), never from the request path.
fn count(result: &'static str, source: Option<&str>) {
    let source = source.unwrap_or("").to_owned();
    metrics::counter!("flexysync_webhook_deliveries_total", "source" => source, "result" => result)
        .increment(1);
}
