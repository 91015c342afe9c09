//! The webhook payload and the snapshot's booking objects, read field by field so that an
//! error names the field. Unknown fields are ignored. Values of credentials (phones, codes,
//! tags) never appear in an error.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::normalize::{excerpt, parse_time};
use crate::config::SourceConfig;
use crate::model::{BookingStatus, WebhookBooking};
use crate::sources::normalize_phone;

const MAX_ID_CHARS: usize = 200;
const MAX_NAME_CHARS: usize = 100;
const MAX_RFID_CHARS: usize = 64;
const MAX_PHONES: usize = 3;

/// What the event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Upserted,
    Cancelled,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Upserted => "booking.upserted",
            EventKind::Cancelled => "booking.cancelled",
        }
    }
}

/// One delivery's payload, validated and normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub id: String,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub booking: WebhookBooking,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    #[error(
        "{field}: unknown resource {resource:?}; this source maps {known} (config key `objects`)"
    )]
    UnknownResource {
        field: String,
        resource: String,
        known: String,
    },
}

impl PayloadError {
    fn field(field: impl Into<String>, reason: impl Into<String>) -> PayloadError {
        PayloadError::Field {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// How a source reads times and phone numbers.
#[derive(Debug, Clone, Copy)]
pub struct ReadRules<'a> {
    pub zone: Option<Tz>,
    pub default_country: &'a str,
}

impl<'a> ReadRules<'a> {
    pub fn of(source: &'a SourceConfig) -> ReadRules<'a> {
        ReadRules {
            zone: source.timezone.map(|tz| tz.0),
            default_country: &source.default_country,
        }
    }
}

/// Parses a delivery's body. The resource is checked against the source's `objects`.
pub fn parse_event(body: &[u8], source: &SourceConfig) -> Result<WebhookEvent, PayloadError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|err| PayloadError::Json(err.to_string()))?;
    let object = value
        .as_object()
        .ok_or_else(|| PayloadError::field("body", "expected a JSON object"))?;
    let rules = ReadRules::of(source);
    let id = required_id(object, "id", "id")?;
    let kind = match required_str(object, "type", "type")? {
        "booking.upserted" => EventKind::Upserted,
        "booking.cancelled" => EventKind::Cancelled,
        other => {
            return Err(PayloadError::field(
                "type",
                format!(
                    "expected \"booking.upserted\" or \"booking.cancelled\", found {}",
                    excerpt(other)
                ),
            ));
        }
    };
    let occurred_text = required_str(object, "occurred_at", "occurred_at")?;
    let occurred_at = parse_time(occurred_text, rules.zone)
        .map_err(|reason| PayloadError::field("occurred_at", reason))?;
    let booking = object
        .get("booking")
        .ok_or_else(|| PayloadError::field("booking", "missing"))?;
    let booking = parse_booking(booking, "booking", rules, kind == EventKind::Cancelled)?;
    check_resource(&booking, "booking.resource", source)?;
    Ok(WebhookEvent {
        id,
        kind,
        occurred_at,
        booking,
    })
}

/// Checks a booking's resource (when it has one) against the source's `objects`.
pub fn check_resource(
    booking: &WebhookBooking,
    field: &str,
    source: &SourceConfig,
) -> Result<(), PayloadError> {
    match &booking.resource {
        Some(resource) if !source.objects.contains_key(resource) => {
            Err(PayloadError::UnknownResource {
                field: field.to_owned(),
                resource: resource.clone(),
                known: source
                    .objects
                    .keys()
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
        _ => Ok(()),
    }
}

/// Reads one booking object; `prefix` names it in errors (`booking`, `[3]`). With
/// `cancellation`, only `id` is required and the status is `cancelled` whatever it says.
pub fn parse_booking(
    value: &Value,
    prefix: &str,
    rules: ReadRules<'_>,
    cancellation: bool,
) -> Result<WebhookBooking, PayloadError> {
    let name_of = |key: &str| format!("{prefix}.{key}");
    let object = value
        .as_object()
        .ok_or_else(|| PayloadError::field(prefix, "expected a JSON object"))?;
    let booking_id = required_id(object, "id", &name_of("id"))?;
    let status = if cancellation {
        BookingStatus::Cancelled
    } else {
        let text = required_str(object, "status", &name_of("status"))?;
        BookingStatus::parse(text).ok_or_else(|| {
            PayloadError::field(
                name_of("status"),
                format!(
                    "expected \"confirmed\", \"tentative\" or \"cancelled\", found {}",
                    excerpt(text)
                ),
            )
        })?
    };
    // A booking that still exists must say where and when; a cancelled one need not.
    let full = status != BookingStatus::Cancelled;
    let resource = match object.get("resource") {
        None | Some(Value::Null) if !full => None,
        _ => Some(required_id(object, "resource", &name_of("resource"))?),
    };
    let time = |key: &str| -> Result<Option<DateTime<Utc>>, PayloadError> {
        match optional_str(object, key, &name_of(key))? {
            None if full => Err(PayloadError::field(name_of(key), "missing")),
            None => Ok(None),
            Some(text) => parse_time(text, rules.zone)
                .map(Some)
                .map_err(|reason| PayloadError::field(name_of(key), reason)),
        }
    };
    let start = time("start")?;
    let end = time("end")?;
    if let (Some(start), Some(end)) = (start, end)
        && end <= start
    {
        return Err(PayloadError::field(
            name_of("end"),
            "must be after booking start",
        ));
    }
    let name = optional_str(object, "name", &name_of("name"))?
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| name.chars().take(MAX_NAME_CHARS).collect());
    Ok(WebhookBooking {
        booking_id,
        status,
        resource,
        start,
        end,
        name,
        phones: phones(object, &name_of("phones"), rules.default_country)?,
        code: code(object, &name_of("code"))?,
        rfid: rfid(object, &name_of("rfid"))?,
    })
}

fn phones(
    object: &Map<String, Value>,
    field: &str,
    default_country: &str,
) -> Result<Vec<String>, PayloadError> {
    let list = match object.get("phones") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(PayloadError::field(
                field,
                "expected a list of phone numbers",
            ));
        }
    };
    let mut phones: Vec<String> = Vec::new();
    for (index, item) in list.iter().enumerate() {
        let text = item
            .as_str()
            .ok_or_else(|| PayloadError::field(format!("{field}[{index}]"), "expected a string"))?;
        let phone = normalize_phone(text, default_country)
            .map_err(|err| {
                PayloadError::field(
                    format!("{field}[{index}]"),
                    format!("{err}; expected E.164 such as +46701234567, or a national number"),
                )
            })?
            .into_string();
        if !phones.contains(&phone) {
            phones.push(phone);
        }
    }
    if phones.len() > MAX_PHONES {
        return Err(PayloadError::field(
            field,
            format!("at most {MAX_PHONES} phone numbers, found {}", phones.len()),
        ));
    }
    Ok(phones)
}

fn code(object: &Map<String, Value>, field: &str) -> Result<Option<String>, PayloadError> {
    match object.get("code") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(code))
            if (4..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(Some(code.clone()))
        }
        Some(_) => Err(PayloadError::field(
            field,
            "expected a keypad code of 4 to 8 digits, as a string",
        )),
    }
}

fn rfid(object: &Map<String, Value>, field: &str) -> Result<Option<String>, PayloadError> {
    match object.get("rfid") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(tag))
            if !tag.trim().is_empty()
                && tag.chars().count() <= MAX_RFID_CHARS
                && !tag.chars().any(char::is_control) =>
        {
            Ok(Some(tag.trim().to_owned()))
        }
        Some(_) => Err(PayloadError::field(
            field,
            format!("expected an RFID tag as a string of at most {MAX_RFID_CHARS} characters"),
        )),
    }
}

fn required_str<'v>(
    object: &'v Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'v str, PayloadError> {
    optional_str(object, key, field)?.ok_or_else(|| PayloadError::field(field, "missing"))
}

fn optional_str<'v>(
    object: &'v Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<&'v str>, PayloadError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(PayloadError::field(field, "expected a string")),
    }
}

/// An identifier: a non-empty string (or a whole number, as some senders use) without
/// control characters.
fn required_id(
    object: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<String, PayloadError> {
    let text = match object.get(key) {
        None | Some(Value::Null) => return Err(PayloadError::field(field, "missing")),
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(Value::Number(number)) if number.is_i64() || number.is_u64() => number.to_string(),
        Some(_) => return Err(PayloadError::field(field, "expected a string")),
    };
    if text.is_empty() || text.chars().count() > MAX_ID_CHARS || text.chars().any(char::is_control)
    {
        return Err(PayloadError::field(
            field,
            format!("expected 1 to {MAX_ID_CHARS} printable characters"),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests;
