//! The HTTP face: one fallback handler that journals, injects faults, checks Basic auth and
//! routes on the lower-cased path (FlexyKey matches routes case-insensitively).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Serialize;

use super::faults::{Kill, Verdict};
use super::journal::{JournalEntry, is_write};
use super::world::CompanyId;
use super::{Shared, control, lock, resources};

/// The journal keeps at most this many requests.
const JOURNAL_CAP: usize = 1_000_000;

/// Request bodies above this are refused (a booking is a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// A refusal: status and the message of the `{"status":"ERROR","message":…}` body.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = super::wire::ErrorBody {
            status: "ERROR",
            message: &self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"FlexyKey\""),
            );
        }
        response
    }
}

pub(crate) type Answer = Result<Response, Failure>;

pub(crate) fn ok<T: Serialize>(value: T) -> Answer {
    Ok((StatusCode::OK, axum::Json(value)).into_response())
}

/// One authenticated call, as the resource handlers see it.
pub(crate) struct Call<'a> {
    pub(crate) company: CompanyId,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: &'a Bytes,
}

impl Call<'_> {
    /// A query parameter, its name matched case-insensitively.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as a JSON object (unknown fields are simply not looked at).
    pub(crate) fn json_object(
        &self,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
        match serde_json::from_slice::<serde_json::Value>(self.body) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(_) => Err(Failure::bad_request("the body must be a JSON object")),
            Err(err) => Err(Failure::bad_request(format!("invalid JSON body: {err}"))),
        }
    }
}

async fn handle(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().as_str().to_ascii_uppercase();
    let path = normalize_path(request.uri().path());
    let query = request.uri().query().unwrap_or_default().to_owned();
    let kill = request
        .extensions()
        .get::<ConnectInfo<Kill>>()
        .map(|info| info.0.clone());
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY).await;
    let write = is_write(&method, &path);

    let latency = lock(&shared.faults).faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let verdict = lock(&shared.faults).judge(Instant::now());
    let (response, lose) = match verdict {
        Verdict::RateLimited { retry_after_secs } => {
            let mut response = Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests: slow down",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            (response, false)
        }
        Verdict::Fault(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let failure = Failure::new(status, "sandbox: injected server fault");
            (failure.into_response(), false)
        }
        Verdict::Proceed { lose_response } => {
            let response = match body {
                Ok(body) => answer(&shared, &method, &path, &query, authorization, &body)
                    .unwrap_or_else(IntoResponse::into_response),
                Err(_) => Failure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body too large or unreadable",
                )
                .into_response(),
            };
            let lose = lose_response && write && response.status().is_success();
            (response, lose)
        }
    };
    let mut journal = lock(&shared.journal);
    if journal.len() >= JOURNAL_CAP {
        // A sandbox left running for days forgets its oldest half rather than grow forever.
        journal.drain(..JOURNAL_CAP / 2);
    }
    journal.push(JournalEntry {
        at: shared.now(),
        method,
        path,
        query,
        status: response.status().as_u16(),
        write,
        lost: lose,
    });
    drop(journal);
    if lose {
        // The write is done; now the connection fails before a byte of the answer is sent.
        if let Some(kill) = kill {
            kill.throw();
        }
        return lost_response();
    }
    response
}

/// A response whose body fails, for the unlikely case the connection switch is missing: hyper
/// then aborts the connection mid-answer.
fn lost_response() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "sandbox: response lost",
        ))
    });
    Response::new(Body::from_stream(failing))
}

/// Lower case, no trailing slash: `/V1/Bookings/` → `/v1/bookings`.
fn normalize_path(path: &str) -> String {
    let lower = path.to_ascii_lowercase();
    let trimmed = lower.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn answer(
    shared: &Shared,
    method: &str,
    path: &str,
    query: &str,
    authorization: Option<String>,
    body: &Bytes,
) -> Answer {
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Err(Failure::new(StatusCode::NOT_FOUND, "no such route"));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let company = authenticate(shared, authorization.as_deref())?;
    let call = Call {
        company,
        query: url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        body,
    };
    match (method, segments.as_slice()) {
        ("GET", ["units"]) => resources::units(shared, &call),
        ("GET", ["units", id]) => resources::unit(shared, &call, id),
        ("POST", ["control"]) => control::switch(shared, &call),
        ("GET", ["control"]) => control::status(shared, &call),
        ("GET", ["unitlogs", id]) => resources::unit_logs(shared, &call, id),
        ("GET", ["bookingobjects"]) => resources::booking_objects(shared, &call),
        ("POST", ["bookings"]) => resources::create_booking(shared, &call),
        ("GET", ["bookings"]) => resources::list_bookings(shared, &call),
        ("GET", ["bookings", id]) => resources::get_booking(shared, &call, id),
        ("DELETE", ["bookings", id]) => resources::delete_booking(shared, &call, id),
        (_, ["units"] | ["units", _] | ["control"] | ["unitlogs", _] | ["bookingobjects"])
        | (_, ["bookings"] | ["bookings", _]) => Err(Failure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed on {path}"),
        )),
        _ => Err(Failure::new(StatusCode::NOT_FOUND, "no such route")),
    }
}

/// HTTP Basic against the world's users; the company the user acts for.
fn authenticate(shared: &Shared, authorization: Option<&str>) -> Result<CompanyId, Failure> {
    let refuse = |why: &str| Failure::new(StatusCode::UNAUTHORIZED, why.to_owned());
    let header = authorization.ok_or_else(|| refuse("authentication required (HTTP Basic)"))?;
    let (scheme, encoded) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| refuse("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(refuse("only HTTP Basic authentication is supported"));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| refuse("malformed Basic credentials"))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| refuse("malformed Basic credentials"))?;
    let state = lock(&shared.state);
    state
        .world
        .users
        .iter()
        .find(|u| u.name == user && u.password == password)
        .map(|u| u.company)
        .ok_or_else(|| refuse("bad user name or password"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_lower_cased_without_trailing_slash() {
        assert_eq!(normalize_path("/V1/Bookings/"), "/v1/bookings");
        assert_eq!(normalize_path("/v1/UnitLogs/3023"), "/v1/unitlogs/3023");
        assert_eq!(normalize_path("/"), "/");
    }
}
