//! The client: one per FlexyKey account, cheap to clone, shared by every task.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::bisect::{Bounds, fetch_complete};
use super::priority::{self, Gate};
use super::retry::{Attempt, CallContext, CallKind, RetryPolicy, Verdict, classify};
use super::wire::{self, path, query};
use super::{
    ApiError, Booking, BookingObject, ControlResult, IoStatus, LogEntry, NewBooking, OutputAction,
    OutputName, Unit, UnitRef,
};
use crate::config::FlexyKeyConfig;
use crate::net_error;

/// The connect timeout, unless the total timeout is shorter.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A list of 500 entries is a few hundred kB; anything far beyond that is not FlexyKey.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

const LAST_CALL_UNKNOWN: u8 = 0;
const LAST_CALL_OK: u8 = 1;
const LAST_CALL_FAILED: u8 = 2;

/// A FlexyKey API client. Every call goes through one rate limiter (retries included).
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    retry: RetryPolicy,
    /// Shutdown: no request is sent once it fires; waits for the limiter or a retry end.
    stop: Option<tokio_util::sync::CancellationToken>,
}

/// What all clones share: the connection pool, the limiter and the health of the last call.
struct Shared {
    http: reqwest::Client,
    base_url: Url,
    username: String,
    password: SecretString,
    limiter: DefaultDirectRateLimiter,
    /// In front of the limiter: its permits go out by priority.
    gate: Gate,
    requests_per_second: f64,
    burst: u32,
    timeout: Duration,
    last_call: AtomicU8,
    /// After a 429, no clone sends anything before this instant.
    paused_until: Mutex<Option<tokio::time::Instant>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.base_url.as_str())
            .field("username", &self.shared.username)
            .field("password", &"[redacted]")
            .field("requests_per_second", &self.shared.requests_per_second)
            .field("burst", &self.shared.burst)
            .field("timeout", &self.shared.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// One logical call: what to send and how to judge the answers.
struct Call {
    /// A metrics and log label: a template such as `bookings.create`, never an id.
    endpoint: &'static str,
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    kind: CallKind,
    /// What a 404 is about: `booking 42`.
    what: String,
    /// Values sent in the body that must not come back in an error message.
    sensitive: Vec<String>,
}

impl Call {
    fn get(endpoint: &'static str, path: impl Into<String>, what: impl Into<String>) -> Call {
        Call {
            endpoint,
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            kind: CallKind::Idempotent,
            what: what.into(),
            sensitive: Vec::new(),
        }
    }
}

fn setup(reason: impl Into<String>) -> ApiError {
    ApiError::Setup {
        reason: reason.into(),
    }
}

fn protocol(endpoint: &str, reason: String) -> ApiError {
    ApiError::Protocol {
        reason: format!("{endpoint}: {reason}"),
    }
}

impl Client {
    /// Builds a client: https only (http on loopback), connect and total timeouts, the limiter.
    pub fn new(config: &FlexyKeyConfig) -> Result<Client, ApiError> {
        let mut base_url = config.base_url.clone();
        crate::config::check_transport(&base_url).map_err(|r| setup(format!("base_url: {r}")))?;
        if !base_url.username().is_empty() || base_url.password().is_some() {
            return Err(setup(
                "base_url must not carry credentials; use flexykey.username and flexykey.password",
            ));
        }
        if !base_url.path().ends_with('/') {
            let with_slash = format!("{}/", base_url.path());
            base_url.set_path(&with_slash);
        }
        let password = config
            .password
            .clone()
            .ok_or_else(|| setup("flexykey.password is not set"))?;
        let period = Some(config.requests_per_second)
            .filter(|rps| rps.is_finite() && *rps > 0.0)
            .and_then(|rps| Duration::try_from_secs_f64(1.0 / rps).ok())
            .and_then(Quota::with_period)
            .ok_or_else(|| {
                setup(format!(
                    "requests_per_second must be a number above 0, found {}",
                    config.requests_per_second
                ))
            })?;
        let burst = NonZeroU32::new(config.burst)
            .ok_or_else(|| setup("burst must be at least 1, found 0"))?;
        if config.timeout_seconds == 0 {
            return Err(setup("timeout_seconds must be at least 1, found 0"));
        }
        let timeout = Duration::from_secs(config.timeout_seconds);
        let http = reqwest::Client::builder()
            .user_agent(concat!("flexysync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            // An API has no business redirecting, and a redirect must not carry the password.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| setup(format!("HTTP client: {err}")))?;
        Ok(Client {
            shared: Arc::new(Shared {
                http,
                base_url,
                username: config.username.clone(),
                password,
                limiter: RateLimiter::direct(period.allow_burst(burst)),
                gate: Gate::default(),
                requests_per_second: config.requests_per_second,
                burst: config.burst,
                timeout,
                last_call: AtomicU8::new(LAST_CALL_UNKNOWN),
                paused_until: Mutex::new(None),
            }),
            retry: RetryPolicy::default(),
            stop: None,
        })
    }

    /// The same client (same limiter and connections) with other retry delays: for tests and
    /// one-shot commands that would rather fail fast.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Client {
        self.retry = RetryPolicy {
            max_attempts: policy.max_attempts.max(1),
            ..policy
        };
        self
    }

    /// The same client, sending nothing more once `stop` fires: a call still waiting for the
    /// limiter, a 429 pause or a retry returns [`ApiError::Stopped`], known not to be sent.
    pub fn with_stop(mut self, stop: Option<tokio_util::sync::CancellationToken>) -> Client {
        self.stop = stop;
        self
    }

    /// Waits out `future` unless the stop fires first (then `false`).
    async fn unless_stopped(&self, future: impl std::future::Future<Output = ()>) -> bool {
        match &self.stop {
            Some(stop) => tokio::select! {
                biased;
                _ = stop.cancelled() => false,
                _ = future => true,
            },
            None => {
                future.await;
                true
            }
        }
    }

    /// For the readiness probe: did the last HTTP attempt reach FlexyKey and get an answer
    /// other than 5xx? `None` before the first call.
    pub fn last_call_ok(&self) -> Option<bool> {
        match self.shared.last_call.load(Ordering::Relaxed) {
            LAST_CALL_OK => Some(true),
            LAST_CALL_FAILED => Some(false),
            _ => None,
        }
    }

    /// `GET /units`.
    pub async fn units(&self) -> Result<Vec<Unit>, ApiError> {
        let body = self
            .execute(&Call::get("units.list", path::UNITS, "the unit list"))
            .await?;
        wire::decode_list(&body, wire::WireUnit::into_unit).map_err(|r| protocol("GET units", r))
    }

    /// `GET /units/{unitId}`.
    pub async fn unit(&self, unit_id: i64) -> Result<Unit, ApiError> {
        let call = Call::get("units.get", path::unit(unit_id), format!("unit {unit_id}"));
        let body = self.execute(&call).await?;
        wire::decode_one(&body, wire::WireUnit::into_unit)
            .map_err(|r| protocol("GET units/{id}", r))
    }

    /// `POST /Control`: never retried blindly (a lost answer gives `OutcomeUnknown`).
    pub async fn control(
        &self,
        unit: &UnitRef,
        output: &OutputName,
        action: OutputAction,
    ) -> Result<ControlResult, ApiError> {
        let request = wire::WireControl::new(unit, output, action);
        let call = Call {
            body: Some(to_json(&request)?),
            kind: CallKind::Create,
            method: Method::POST,
            ..Call::get("control.switch", path::CONTROL, describe_unit(unit))
        };
        let body = self.execute(&call).await?;
        let decoded = serde_json::from_slice::<wire::WireControlResult>(&body);
        match decoded {
            Ok(answer) => Ok(answer.into_result(&request)),
            // The command was accepted (2xx), but what exactly happened is not readable.
            Err(err) => Err(ApiError::OutcomeUnknown {
                reason: format!("POST Control: unreadable answer: {err}"),
            }),
        }
    }

    /// `GET /Control?unitId=…` or `?serialNumber=…`.
    pub async fn io_status(&self, unit: &UnitRef) -> Result<IoStatus, ApiError> {
        let call = Call {
            query: vec![wire::unit_ref_query(unit)],
            ..Call::get("control.status", path::CONTROL, describe_unit(unit))
        };
        let body = self.execute(&call).await?;
        wire::decode_one(&body, |w: wire::WireIoStatus| w.into_status(unit))
            .map_err(|r| protocol("GET Control", r))
    }

    /// `GET /unitlogs/{unitId}?dateFrom&dateTo`, bisected until no answer is cut at 500.
    pub async fn unit_logs(
        &self,
        unit_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LogEntry>, ApiError> {
        let what = format!("unit {unit_id}");
        let fetch = |from, to| {
            let call = Call {
                query: interval_query(from, to),
                ..Call::get("unitlogs.list", path::unit_logs(unit_id), what.clone())
            };
            async move {
                let body = self.execute(&call).await?;
                wire::decode_list(&body, wire::WireLogEntry::into_entry)
                    .map_err(|r| protocol("GET unitlogs/{id}", r))
            }
        };
        let key = |entry: &LogEntry| {
            (
                entry.server_date,
                entry.unit_date.clone(),
                entry.source_id.clone(),
                entry.source_label.clone(),
                entry.action_label.clone(),
                entry.log_msg.clone(),
            )
        };
        let mut entries = fetch_complete(from, to, Bounds::Inclusive, &what, fetch, key).await?;
        entries.sort_by_key(|entry| entry.server_date);
        Ok(entries)
    }

    /// `GET /BookingObjects`.
    pub async fn booking_objects(&self) -> Result<Vec<BookingObject>, ApiError> {
        let call = Call::get(
            "booking_objects.list",
            path::BOOKING_OBJECTS,
            "the booking object list",
        );
        let body = self.execute(&call).await?;
        wire::decode_list(&body, wire::WireBookingObject::into_object)
            .map_err(|r| protocol("GET BookingObjects", r))
    }

    /// `POST /Bookings`: never retried blindly; a lost answer gives `OutcomeUnknown`.
    pub async fn create_booking(&self, booking: &NewBooking) -> Result<Booking, ApiError> {
        let request =
            wire::WireNewBooking::new(booking).map_err(|message| ApiError::Invalid { message })?;
        let sensitive = booking
            .phones
            .iter()
            .chain(&booking.code)
            .chain(&booking.rfid)
            .cloned()
            .collect();
        let what = format!("booking object {}", booking.booking_object_id);
        let call = Call {
            body: Some(to_json(&request)?),
            kind: CallKind::Create,
            method: Method::POST,
            sensitive,
            ..Call::get("bookings.create", path::BOOKINGS, what)
        };
        let body = self.execute(&call).await?;
        // The server answered 2xx, so the booking most likely exists; without its id it cannot
        // be tracked, and only a read of the object's bookings can tell.
        wire::decode_one(&body, |w: wire::WireBooking| {
            w.into_booking(Some(booking), None)
        })
        .map_err(|reason| ApiError::OutcomeUnknown {
            reason: format!("POST Bookings: unreadable answer: {reason}"),
        })
    }

    /// `GET /Bookings/{bookingId}`.
    pub async fn booking(&self, booking_id: i64) -> Result<Booking, ApiError> {
        let call = Call::get(
            "bookings.get",
            path::booking(booking_id),
            format!("booking {booking_id}"),
        );
        let body = self.execute(&call).await?;
        wire::decode_one(&body, |w: wire::WireBooking| w.into_booking(None, None))
            .map_err(|r| protocol("GET Bookings/{id}", r))
    }

    /// `GET /Bookings?bookingObjectId&dateFrom&dateTo`: every booking of the object that
    /// overlaps the interval, bisected until no answer is cut at 500, without duplicates.
    pub async fn bookings(
        &self,
        booking_object_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Booking>, ApiError> {
        let what = format!("booking object {booking_object_id}");
        let fetch = |from, to| {
            let mut query = vec![(query::BOOKING_OBJECT_ID, booking_object_id.to_string())];
            query.extend(interval_query(from, to));
            let call = Call {
                query,
                ..Call::get("bookings.list", path::BOOKINGS, what.clone())
            };
            async move {
                let body = self.execute(&call).await?;
                wire::decode_list(&body, |w: wire::WireBooking| {
                    w.into_booking(None, Some(booking_object_id))
                })
                .map_err(|r| protocol("GET Bookings", r))
            }
        };
        let key = |booking: &Booking| booking.booking_id;
        let mut bookings = fetch_complete(from, to, Bounds::Overlap, &what, fetch, key).await?;
        bookings.sort_by_key(|booking| (booking.start, booking.booking_id));
        Ok(bookings)
    }

    /// `DELETE /Bookings/{bookingId}`: `NotFound` when it is unknown or already deleted.
    pub async fn delete_booking(&self, booking_id: i64) -> Result<(), ApiError> {
        let call = Call {
            method: Method::DELETE,
            ..Call::get(
                "bookings.delete",
                path::booking(booking_id),
                format!("booking {booking_id}"),
            )
        };
        self.execute(&call).await.map(drop)
    }

    /// Sends a call, retrying as [`classify`] and the policy allow; every attempt waits on the
    /// shared limiter first.
    async fn execute(&self, call: &Call) -> Result<Bytes, ApiError> {
        let url = self
            .shared
            .base_url
            .join(&call.path)
            .map_err(|err| setup(format!("path {}: {err}", call.path)))?;
        let context = CallContext {
            kind: call.kind,
            what: &call.what,
            sensitive: &call.sensitive,
        };
        let mut attempt_number: u32 = 0;
        loop {
            attempt_number = attempt_number.saturating_add(1);
            if !self.unless_stopped(self.wait_for_limiter(call)).await {
                return Err(ApiError::Stopped);
            }
            let started = Instant::now();
            let attempt = self.send_once(call, url.clone()).await;
            // A pass that gets answers (or errors) is alive, however long it runs.
            crate::progress::mark();
            let status = attempt.status_label();
            let healthy = attempt.reached_healthy();
            self.shared.last_call.store(
                if healthy {
                    LAST_CALL_OK
                } else {
                    LAST_CALL_FAILED
                },
                Ordering::Relaxed,
            );
            metrics::counter!(
                "flexysync_flexykey_calls_total",
                "endpoint" => call.endpoint,
                "status" => status.clone(),
            )
            .increment(1);
            tracing::debug!(
                method = %call.method,
                endpoint = call.endpoint,
                status = %status,
                elapsed_ms = started.elapsed().as_millis() as u64,
                attempt = attempt_number,
                "FlexyKey call"
            );
            match classify(&context, attempt) {
                Verdict::Success(body) => return Ok(body),
                Verdict::Fail(error) => return Err(error),
                Verdict::Retry { wait, exhausted } => {
                    if attempt_number >= self.retry.max_attempts {
                        return Err(exhausted);
                    }
                    let wait = match (&exhausted, wait) {
                        (ApiError::RateLimited { .. }, asked) => {
                            let wait = self.retry.rate_limit_wait(attempt_number, asked);
                            self.pause_everyone(wait);
                            wait
                        }
                        (_, Some(asked)) => asked.min(self.retry.max_retry_after),
                        (_, None) => self.retry.backoff(attempt_number),
                    };
                    tracing::warn!(
                        method = %call.method,
                        endpoint = call.endpoint,
                        attempt = attempt_number,
                        wait_ms = wait.as_millis() as u64,
                        reason = %exhausted,
                        "FlexyKey call failed, retrying"
                    );
                    if !self.unless_stopped(tokio::time::sleep(wait)).await {
                        return Err(ApiError::Stopped);
                    }
                }
            }
        }
    }

    /// A 429 is about the account, not one call: every clone holds off for the same time.
    fn pause_everyone(&self, wait: Duration) {
        let Some(until) = tokio::time::Instant::now().checked_add(wait) else {
            return;
        };
        if let Ok(mut paused) = self.shared.paused_until.lock() {
            *paused = Some(paused.map_or(until, |current| current.max(until)));
        }
    }

    /// Waits out a 429 pause, then for a permit of the limiter in priority order.
    async fn wait_for_limiter(&self, call: &Call) {
        let started = Instant::now();
        let paused_until = self.shared.paused_until.lock().ok().and_then(|p| *p);
        if let Some(until) = paused_until {
            tokio::time::sleep_until(until).await;
        }
        let (gate, limiter) = (&self.shared.gate, &self.shared.limiter);
        gate.turn(priority::current(call.endpoint), || limiter.until_ready())
            .await;
        // One sample per call: the histogram shows how often calls wait, and how long.
        metrics::histogram!("flexysync_limiter_wait_seconds")
            .record(started.elapsed().as_secs_f64());
    }

    /// One HTTP exchange, reduced to what [`classify`] needs. Error texts leave the URL out.
    async fn send_once(&self, call: &Call, url: Url) -> Attempt {
        let mut request = self
            .shared
            .http
            .request(call.method.clone(), url)
            .basic_auth(
                &self.shared.username,
                Some(self.shared.password.expose_secret()),
            )
            .header(reqwest::header::ACCEPT, "application/json");
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(err) if err.is_connect() => {
                return Attempt::NotSent {
                    reason: format!("cannot connect: {}", net_error::describe(err)),
                };
            }
            Err(err) => {
                return Attempt::Lost {
                    reason: format!("request failed: {}", net_error::describe(err)),
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = wire::parse_retry_after(
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok()),
        );
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len().saturating_add(chunk.len()) > MAX_BODY_BYTES => {
                    return Attempt::Lost {
                        reason: format!("HTTP {status}: answer larger than {MAX_BODY_BYTES} bytes"),
                    };
                }
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(err) => {
                    return Attempt::Lost {
                        reason: format!(
                            "HTTP {status}: answer cut off: {}",
                            net_error::describe(err)
                        ),
                    };
                }
            }
        }
        Attempt::Answered {
            status,
            retry_after,
            body: body.freeze(),
        }
    }
}

fn interval_query(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(&'static str, String)> {
    vec![
        (query::DATE_FROM, wire::format_time(from)),
        (query::DATE_TO, wire::format_time(to)),
    ]
}

fn describe_unit(unit: &UnitRef) -> String {
    match unit {
        UnitRef::Id(id) => format!("unit {id}"),
        UnitRef::Serial(serial) => format!("unit with serial number {serial}"),
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|err| ApiError::Protocol {
        reason: format!("cannot encode the request: {err}"),
    })
}
