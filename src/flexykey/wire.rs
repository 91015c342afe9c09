//! THE one place where FlexyKey's paths, query parameters and JSON field names are spelled, and
//! where every point that `flexykey-api.md` lists as *assumed* (or that the doc leaves open and
//! the team decided) is written down. Each assumption carries an `ASSUMED:` comment, so that it
//! can be corrected against the vendor's Swagger in one edit.
//!
//! Parsing is lenient where leniency cannot hurt: unknown fields are ignored, text fields accept
//! a JSON number too (a serial number stays a string, leading zeros kept), ids accept a digit
//! string, times accept fractional seconds and offsets.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::when::whole_seconds;

/// ASSUMED: every list answer (units, unit logs, booking objects, bookings) is a bare JSON
/// array, and every single answer a bare JSON object (no envelope such as `{"data": …}`).
pub(super) use super::decode::{decode_list, decode_one};
use super::decode::{lenient_id, lenient_list, lenient_text};

use super::{
    ApiError, Booking, BookingObject, ControlResult, IoPoint, IoState, IoStatus, LogEntry,
    NewBooking, OutputAction, OutputName, Unit, UnitRef,
};

/// ASSUMED: a list answer holds at most this many entries and is cut off silently beyond it,
/// for bookings and unit logs alike; a client that gets exactly this many must split.
pub(super) const LIST_CAP: usize = 500;

/// ASSUMED: FlexyKey allows at most three phone numbers per booking (`phone1`..`phone3`).
pub(super) const MAX_PHONES: usize = 3;

/// Paths, relative to `base_url` (which ends in `/v1/`). Routes are matched case-insensitively
/// by the server; these are the spellings the team agreed on with the sandbox.
pub(super) mod path {
    /// Documented: `GET /units`.
    pub const UNITS: &str = "units";
    /// Documented: `POST /Control`, `GET /Control?unitId=…`.
    pub const CONTROL: &str = "Control";
    /// ASSUMED: `POST /Bookings` creates, `GET /Bookings?…` lists.
    pub const BOOKINGS: &str = "Bookings";
    /// ASSUMED: `GET /BookingObjects` lists the booking objects of the user's company.
    pub const BOOKING_OBJECTS: &str = "BookingObjects";

    /// Documented: `GET /units/{unitId}`.
    pub fn unit(unit_id: i64) -> String {
        format!("units/{unit_id}")
    }

    /// Documented: `GET /unitlogs/{unitId}?dateFrom&dateTo`.
    pub fn unit_logs(unit_id: i64) -> String {
        format!("unitlogs/{unit_id}")
    }

    /// ASSUMED: `GET /Bookings/{bookingId}` and `DELETE /Bookings/{bookingId}`.
    pub fn booking(booking_id: i64) -> String {
        format!("Bookings/{booking_id}")
    }
}

/// Query parameter names.
pub(super) mod query {
    /// Documented for `GET /Control`.
    pub const UNIT_ID: &str = "unitId";
    /// Documented for `GET /Control`.
    pub const SERIAL_NUMBER: &str = "serialNumber";
    /// Documented for unit logs; ASSUMED for bookings too. ASSUMED (team decision): a log entry
    /// is included when `dateFrom <= serverDate <= dateTo`, both ends inclusive; a booking is
    /// included when it overlaps: `startDate < dateTo && endDate > dateFrom`.
    pub const DATE_FROM: &str = "dateFrom";
    /// See [`DATE_FROM`].
    pub const DATE_TO: &str = "dateTo";
    /// ASSUMED: the bookings list is narrowed to one booking object by this parameter.
    pub const BOOKING_OBJECT_ID: &str = "bookingObjectId";
}

/// Documented: ISO 8601 in UTC with `Z`, second precision. Sub-seconds are cut, not rounded.
pub(super) fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Lenient: RFC 3339 with `Z` or an offset, fractional seconds, a space instead of `T`, and a
/// time without zone (read as UTC, since the API speaks UTC only).
pub(super) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

fn required_time(field: &str, value: Option<String>) -> Result<DateTime<Utc>, String> {
    let text = value.ok_or_else(|| format!("missing `{field}`"))?;
    parse_time(&text).ok_or_else(|| {
        format!("`{field}` is {text:?}, expected a UTC time like 2025-11-21T10:21:11Z")
    })
}

fn required_id(field: &str, value: Option<i64>) -> Result<i64, String> {
    value.ok_or_else(|| format!("missing `{field}`"))
}

// ---- status codes and error bodies -------------------------------------------------------
//
// ASSUMED: there is no idempotency key: a create whose answer was lost may or may not have
// happened, so `POST /Bookings` and `POST /Control` are never sent twice (see `retry.rs`).
// ASSUMED: there is no update: a changed booking is a new booking and a deletion.

/// ASSUMED: 429 means "not acted upon, come back later", so any call, a create included, may be
/// sent again after the wait.
pub(super) const TOO_MANY_REQUESTS: u16 = 429;

/// ASSUMED: the answers that say "no" for good, and what they mean: 400 invalid body or
/// parameters, 401 bad credentials, 403 another company's unit or object, 404 unknown (or
/// already deleted) id, 409 a conflict such as an overlap the server refuses. Never retried.
/// `message` reads the server's message from the body.
pub(super) fn refusal(
    status: u16,
    what: &str,
    message: impl FnOnce() -> String,
) -> Option<ApiError> {
    Some(match status {
        400 => ApiError::Invalid { message: message() },
        401 => ApiError::Auth,
        403 => ApiError::Access { message: message() },
        404 => ApiError::NotFound {
            what: what.to_owned(),
        },
        409 => ApiError::Conflict { message: message() },
        _ => return None,
    })
}

/// ASSUMED: `Retry-After` (on a 429) is a whole number of seconds; an HTTP date or anything
/// else is ignored and the client's own backoff used instead.
pub(super) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The longest server message passed on in an error.
const MAX_MESSAGE_CHARS: usize = 300;

/// The server's message from an error body: documented `{"status":"ERROR","message":"…"}`;
/// ASSUMED also possible (the API is an ASP.NET service with Swagger): a ProblemDetails body
/// `{"title":"…","errors":{"field":["…"]}}`. A non-JSON body is used as text; an empty body
/// gives `None`. Always one line, cut to a few hundred characters.
pub(super) fn error_message(body: &[u8]) -> Option<String> {
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(value) => json_message(&value)?,
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    (!line.is_empty()).then(|| line.chars().take(MAX_MESSAGE_CHARS).collect())
}

fn json_message(value: &Value) -> Option<String> {
    if let Some(message) = value.get("message").and_then(Value::as_str) {
        return Some(message.to_owned());
    }
    let title = value.get("title").and_then(Value::as_str);
    let details: Vec<String> = value
        .get("errors")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(field, problems)| match problems {
            Value::Array(list) => {
                let texts: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                format!("{field}: {}", texts.join(", "))
            }
            other => format!("{field}: {other}"),
        })
        .collect();
    match (title, details.is_empty()) {
        (None, true) => value.as_str().map(str::to_owned),
        (None, false) => Some(details.join("; ")),
        (Some(title), true) => Some(title.to_owned()),
        (Some(title), false) => Some(format!("{title} {}", details.join("; "))),
    }
}

/// ASSUMED: a 2xx answer whose body is an object with `"status":"ERROR"` is a refusal (like
/// a 400), not a success.
pub(super) fn status_error(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let status = value.get("status")?.as_str()?;
    status.eq_ignore_ascii_case("ERROR").then(|| {
        value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .to_owned()
    })
}

// ---- units -------------------------------------------------------------------------------

/// Documented fields of `GET /units`; note `serialnumber` with a lower-case n.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireUnit {
    #[serde(default, deserialize_with = "lenient_id")]
    unit_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    unit_type: Option<String>,
    #[serde(default, rename = "serialnumber", deserialize_with = "lenient_text")]
    serial_number: Option<String>,
    #[serde(default, rename = "ownPhoneOrID", deserialize_with = "lenient_text")]
    own_phone_or_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    soft_version: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    unit_info: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    unit_note: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    timezone_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    timezone_info: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    created: Option<String>,
    /// ASSUMED (team decision): the IO description is the key `io`, a list of
    /// `{localNumber, globalNumber, description}`; absent on older units.
    #[serde(default, deserialize_with = "lenient_list")]
    io: Vec<WireIoPoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIoPoint {
    #[serde(default, deserialize_with = "lenient_id")]
    local_number: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    global_number: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    description: Option<String>,
}

impl WireUnit {
    pub(super) fn into_unit(self) -> Result<Unit, String> {
        let io = self
            .io
            .into_iter()
            .filter_map(|point| {
                Some(IoPoint {
                    local_number: point.local_number,
                    global_number: point.global_number?,
                    description: point.description,
                })
            })
            .collect();
        Ok(Unit {
            unit_id: required_id("unitId", self.unit_id)?,
            unit_type: self.unit_type.unwrap_or_default(),
            serial_number: self.serial_number,
            own_phone_or_id: self.own_phone_or_id,
            name: self.name,
            soft_version: self.soft_version,
            unit_info: self.unit_info,
            unit_note: self.unit_note,
            timezone_id: self.timezone_id,
            timezone_info: self.timezone_info,
            created: self.created,
            io,
        })
    }
}

// ---- control -----------------------------------------------------------------------------

/// Documented `POST /Control` body: `unitId` or `serialNumber` (a string, leading zeros kept).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireControl<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial_number: Option<&'a str>,
    output_number: &'a str,
    output_action: String,
}

impl<'a> WireControl<'a> {
    pub(super) fn new(unit: &'a UnitRef, output: &'a OutputName, action: OutputAction) -> Self {
        let (unit_id, serial_number) = unit_query(unit);
        WireControl {
            unit_id,
            serial_number,
            output_number: output.as_str(),
            output_action: action.to_string(),
        }
    }
}

fn unit_query(unit: &UnitRef) -> (Option<i64>, Option<&str>) {
    match unit {
        UnitRef::Id(id) => (Some(*id), None),
        UnitRef::Serial(serial) => (None, Some(serial.as_str())),
    }
}

/// The query of `GET /Control`: `unitId=…` or `serialNumber=…`.
pub(super) fn unit_ref_query(unit: &UnitRef) -> (&'static str, String) {
    match unit {
        UnitRef::Id(id) => (query::UNIT_ID, id.to_string()),
        UnitRef::Serial(serial) => (query::SERIAL_NUMBER, serial.clone()),
    }
}

/// Documented `POST /Control` answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireControlResult {
    #[serde(default, deserialize_with = "lenient_text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient_id")]
    unit_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    output_number: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    output_action: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    message_id: Option<String>,
}

impl WireControlResult {
    /// Fields the answer leaves out are taken from the request.
    pub(super) fn into_result(self, sent: &WireControl<'_>) -> ControlResult {
        ControlResult {
            status: self.status.unwrap_or_default(),
            unit_id: self.unit_id.or(sent.unit_id),
            output_number: self
                .output_number
                .unwrap_or_else(|| sent.output_number.to_owned()),
            output_action: self
                .output_action
                .unwrap_or_else(|| sent.output_action.clone()),
            message_id: self.message_id,
        }
    }
}

/// Documented `GET /Control` answer; `serialNumber` with a capital N here.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireIoStatus {
    #[serde(default, deserialize_with = "lenient_id")]
    unit_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    serial_number: Option<String>,
    /// Documented: store this one, not the zone-less `statusTimestamp`.
    #[serde(default, deserialize_with = "lenient_text")]
    status_timestamp_iso: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    raw_status: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    inputs: Vec<WireInput>,
    #[serde(default, rename = "fOutputs", deserialize_with = "lenient_list")]
    f_outputs: Vec<WireOutput>,
    #[serde(default, rename = "xOutputs", deserialize_with = "lenient_list")]
    x_outputs: Vec<WireOutput>,
}

#[derive(Deserialize)]
struct WireInput {
    #[serde(default, deserialize_with = "lenient_text")]
    input: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    state: Option<String>,
}

#[derive(Deserialize)]
struct WireOutput {
    #[serde(default, deserialize_with = "lenient_text")]
    output: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    state: Option<String>,
}

fn io_state(name: Option<String>, state: Option<String>) -> Option<IoState> {
    Some(IoState {
        name: name?,
        state: state.unwrap_or_default(),
    })
}

impl WireIoStatus {
    pub(super) fn into_status(self, asked: &UnitRef) -> Result<IoStatus, String> {
        let unit_id = match (self.unit_id, asked) {
            (Some(id), _) => id,
            (None, UnitRef::Id(id)) => *id,
            (None, UnitRef::Serial(_)) => return Err("missing `unitId`".to_owned()),
        };
        let status_timestamp = match self.status_timestamp_iso {
            None => None,
            Some(text) => Some(required_time("statusTimestampIso", Some(text))?),
        };
        let outputs = |list: Vec<WireOutput>| {
            list.into_iter()
                .filter_map(|o| io_state(o.output, o.state))
                .collect()
        };
        Ok(IoStatus {
            unit_id,
            serial_number: self.serial_number,
            status_timestamp,
            raw_status: self.raw_status,
            inputs: self
                .inputs
                .into_iter()
                .filter_map(|i| io_state(i.input, i.state))
                .collect(),
            f_outputs: outputs(self.f_outputs),
            x_outputs: outputs(self.x_outputs),
        })
    }
}

// ---- unit logs ---------------------------------------------------------------------------

/// Documented fields of a unit log entry (no id).
#[derive(Deserialize)]
pub(super) struct WireLogEntry {
    #[serde(default, rename = "serverDate", deserialize_with = "lenient_text")]
    server_date: Option<String>,
    #[serde(default, rename = "unitDate", deserialize_with = "lenient_text")]
    unit_date: Option<String>,
    #[serde(default, rename = "sourceID", deserialize_with = "lenient_text")]
    source_id: Option<String>,
    #[serde(default, rename = "sourceLabel", deserialize_with = "lenient_text")]
    source_label: Option<String>,
    #[serde(default, rename = "actionLabel", deserialize_with = "lenient_text")]
    action_label: Option<String>,
    #[serde(default, rename = "logMsg", deserialize_with = "lenient_text")]
    log_msg: Option<String>,
}

impl WireLogEntry {
    pub(super) fn into_entry(self) -> Result<LogEntry, String> {
        Ok(LogEntry {
            server_date: required_time("serverDate", self.server_date)?,
            unit_date: self.unit_date,
            source_id: self.source_id,
            source_label: self.source_label,
            action_label: self.action_label,
            log_msg: self.log_msg,
        })
    }
}

// ---- booking objects and bookings --------------------------------------------------------

/// ASSUMED: `GET /BookingObjects` → `[{bookingObjectId, name, unitIds: [..]}]`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireBookingObject {
    #[serde(default, deserialize_with = "lenient_id")]
    booking_object_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    unit_ids: Vec<i64>,
}

impl WireBookingObject {
    pub(super) fn into_object(self) -> Result<BookingObject, String> {
        Ok(BookingObject {
            booking_object_id: required_id("bookingObjectId", self.booking_object_id)?,
            name: self.name,
            unit_ids: self.unit_ids,
        })
    }
}

/// The documented example body plus, ASSUMED: optional `phone2`, `phone3`, `code` (keypad,
/// 4–8 digits), `rfid` and `name` (≤ 100 chars). Absent values are left out, not `null`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireNewBooking<'a> {
    booking_object_id: i64,
    start_date: String,
    end_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone2: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone3: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rfid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

impl<'a> WireNewBooking<'a> {
    /// Fails when there are more phone numbers than the API has fields for.
    pub(super) fn new(booking: &'a NewBooking) -> Result<Self, String> {
        if booking.phones.len() > MAX_PHONES {
            return Err(format!(
                "a booking holds at most {MAX_PHONES} phone numbers, this one has {}",
                booking.phones.len()
            ));
        }
        let phone = |index: usize| booking.phones.get(index).map(String::as_str);
        Ok(WireNewBooking {
            booking_object_id: booking.booking_object_id,
            start_date: format_time(booking.start),
            end_date: format_time(booking.end),
            phone1: phone(0),
            phone2: phone(1),
            phone3: phone(2),
            code: booking.code.as_deref(),
            rfid: booking.rfid.as_deref(),
            name: booking.name.as_deref(),
        })
    }
}

/// ASSUMED: a booking as FlexyKey returns it (create answer, single read, list entry) has the
/// create body's fields plus `bookingId` (integer).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireBooking {
    #[serde(default, deserialize_with = "lenient_id")]
    booking_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_id")]
    booking_object_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    start_date: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    end_date: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    phone1: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    phone2: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    phone3: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    code: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    rfid: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    name: Option<String>,
}

impl WireBooking {
    /// `sent` (the create request) fills what a create answer leaves out; `object_id` (the
    /// listed object) fills a missing `bookingObjectId`.
    pub(super) fn into_booking(
        self,
        sent: Option<&NewBooking>,
        object_id: Option<i64>,
    ) -> Result<Booking, String> {
        let booking_object_id = self
            .booking_object_id
            .or(sent.map(|b| b.booking_object_id))
            .or(object_id);
        // Whole seconds: a booking's window is compared with the ledger's and the sources'.
        let time = |field: &str, value: Option<String>, fallback: Option<DateTime<Utc>>| match (
            value, fallback,
        ) {
            (None, Some(fallback)) => Ok(whole_seconds(fallback)),
            (value, _) => required_time(field, value).map(whole_seconds),
        };
        let answered_phones = [self.phone1, self.phone2, self.phone3]
            .into_iter()
            .flatten()
            .filter(|phone| !phone.trim().is_empty())
            .collect::<Vec<_>>();
        let phones = match sent {
            Some(sent) if answered_phones.is_empty() => sent.phones.clone(),
            _ => answered_phones,
        };
        let pick = |answered: Option<String>, sent: Option<&Option<String>>| {
            answered.or_else(|| sent.cloned().flatten())
        };
        Ok(Booking {
            booking_id: required_id("bookingId", self.booking_id)?,
            booking_object_id: required_id("bookingObjectId", booking_object_id)?,
            start: time("startDate", self.start_date, sent.map(|b| b.start))?,
            end: time("endDate", self.end_date, sent.map(|b| b.end))?,
            phones,
            code: pick(self.code, sent.map(|b| &b.code)),
            rfid: pick(self.rfid, sent.map(|b| &b.rfid)),
            name: pick(self.name, sent.map(|b| &b.name)),
        })
    }
}
