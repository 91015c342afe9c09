//! Units, booking objects, bookings and unit logs.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::routes::{Answer, Call, Failure, ok};
use super::state::SandboxBooking;
use super::wire::{self, BookingWire, DeletedWire, LogWire, ObjectWire, UnitWire};
use super::world::{CompanyId, ObjectSpec, UnitSpec, World};
use super::{Shared, lock, logs};

pub(crate) fn units(shared: &Shared, call: &Call) -> Answer {
    let state = lock(&shared.state);
    let mut units: Vec<&UnitSpec> = state
        .world
        .units
        .iter()
        .filter(|u| u.company == call.company)
        .collect();
    units.sort_by_key(|u| u.unit_id);
    units.truncate(logs::MAX_LIST);
    ok(units.into_iter().map(UnitWire::from).collect::<Vec<_>>())
}

pub(crate) fn unit(shared: &Shared, call: &Call, id: &str) -> Answer {
    let unit_id = parse_id("unitId", id)?;
    let state = lock(&shared.state);
    ok(UnitWire::from(own_unit(
        &state.world,
        call.company,
        unit_id,
    )?))
}

pub(crate) fn booking_objects(shared: &Shared, call: &Call) -> Answer {
    let state = lock(&shared.state);
    let mut objects: Vec<&ObjectSpec> = state
        .world
        .objects
        .iter()
        .filter(|o| o.company == call.company)
        .collect();
    objects.sort_by_key(|o| o.booking_object_id);
    objects.truncate(logs::MAX_LIST);
    ok(objects
        .into_iter()
        .map(ObjectWire::from)
        .collect::<Vec<_>>())
}

/// `GET /unitlogs/{unitId}?dateFrom&dateTo`: both bounds required and inclusive. EVVA units
/// have no logs: 400 naming the unit type.
pub(crate) fn unit_logs(shared: &Shared, call: &Call, id: &str) -> Answer {
    let unit_id = parse_id("unitId", id)?;
    let from = required_time(call, "dateFrom")?;
    let to = required_time(call, "dateTo")?;
    if from > to {
        return Err(Failure::bad_request("dateTo must not be before dateFrom"));
    }
    let state = lock(&shared.state);
    let unit = own_unit(&state.world, call.company, unit_id)?;
    if !unit.is_flexykey() {
        return Err(Failure::bad_request(format!(
            "unit {unit_id} is an {} unit: it has no logs",
            unit.unit_type
        )));
    }
    let injected = state
        .data
        .injected_logs
        .get(&unit_id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let entries = logs::window(shared.seed, unit, injected, from, to, shared.now());
    ok(entries.iter().map(LogWire::from).collect::<Vec<_>>())
}

pub(crate) fn create_booking(shared: &Shared, call: &Call) -> Answer {
    let body = call.json_object()?;
    let object_id = match body.get("bookingObjectId") {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| Failure::bad_request("bookingObjectId: expected an integer"))?,
        None | Some(Value::Null) => {
            return Err(Failure::bad_request("bookingObjectId is required"));
        }
        Some(_) => return Err(Failure::bad_request("bookingObjectId: expected an integer")),
    };
    let refused = (lock(&shared.faults).faults.refuse_creates_on).contains(&object_id);
    let mut state = lock(&shared.state);
    let exclusive = own_object(&state.world, call.company, object_id)?.exclusive;
    if refused {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            format!("booking object {object_id} does not accept bookings (sandbox fault)"),
        ));
    }
    let start = required_body_time(&body, "startDate")?;
    let end = required_body_time(&body, "endDate")?;
    if end <= start {
        return Err(Failure::bad_request("endDate must be after startDate"));
    }
    let clashes = state.bookings_of(object_id, Some(start), Some(end));
    if exclusive && !clashes.is_empty() {
        let ids: Vec<String> = clashes.iter().map(|b| b.booking_id.to_string()).collect();
        return Err(Failure::new(
            StatusCode::CONFLICT,
            format!(
                "booking object {object_id} is already booked then (booking {})",
                ids.join(", ")
            ),
        ));
    }
    let mut booking = SandboxBooking::new(object_id, start, end);
    booking.phone1 = optional_phone(&body, "phone1")?;
    booking.phone2 = optional_phone(&body, "phone2")?;
    booking.phone3 = optional_phone(&body, "phone3")?;
    booking.code = optional_text(&body, "code")?;
    if let Some(code) = &booking.code
        && (!(4..=8).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Failure::bad_request("code: expected 4 to 8 digits"));
    }
    booking.rfid = optional_text(&body, "rfid")?;
    if booking.rfid.as_ref().is_some_and(|rfid| rfid.len() > 64) {
        return Err(Failure::bad_request("rfid: at most 64 characters"));
    }
    booking.name = optional_text(&body, "name")?;
    if booking
        .name
        .as_ref()
        .is_some_and(|n| n.chars().count() > 100)
    {
        return Err(Failure::bad_request("name: at most 100 characters"));
    }
    let stored = state.insert_booking(booking);
    state.save().map_err(server_error)?;
    ok(BookingWire::from(&stored))
}

/// `GET /bookings?bookingObjectId&dateFrom&dateTo`: overlapping bookings, cut silently at 500.
pub(crate) fn list_bookings(shared: &Shared, call: &Call) -> Answer {
    let object_id = match call.param("bookingObjectId") {
        Some(text) => parse_id("bookingObjectId", text)?,
        None => return Err(Failure::bad_request("bookingObjectId is required")),
    };
    let from = optional_time(call, "dateFrom")?;
    let to = optional_time(call, "dateTo")?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(Failure::bad_request("dateTo must not be before dateFrom"));
    }
    let state = lock(&shared.state);
    own_object(&state.world, call.company, object_id)?;
    let mut found = state.bookings_of(object_id, from, to);
    let hidden = lock(&shared.hidden_from_lists);
    found.retain(|b| !hidden.contains(&b.booking_id));
    found.truncate(logs::MAX_LIST);
    ok(found.iter().map(BookingWire::from).collect::<Vec<_>>())
}

pub(crate) fn get_booking(shared: &Shared, call: &Call, id: &str) -> Answer {
    let booking_id = parse_id("bookingId", id)?;
    let state = lock(&shared.state);
    let booking = own_booking(&state.world, &state.data.bookings, call.company, booking_id)?;
    ok(BookingWire::from(booking))
}

pub(crate) fn delete_booking(shared: &Shared, call: &Call, id: &str) -> Answer {
    let booking_id = parse_id("bookingId", id)?;
    let mut state = lock(&shared.state);
    own_booking(&state.world, &state.data.bookings, call.company, booking_id)?;
    state.remove_booking(booking_id);
    state.save().map_err(server_error)?;
    ok(DeletedWire {
        status: "OK",
        booking_id,
    })
}

pub(crate) fn server_error(err: impl std::fmt::Display) -> Failure {
    Failure::new(StatusCode::INTERNAL_SERVER_ERROR, err.to_string())
}

pub(crate) fn parse_id(field: &str, text: &str) -> Result<i64, Failure> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| Failure::bad_request(format!("{field}: expected an integer, got {text:?}")))
}

/// The caller's unit: 404 when unknown, 403 when another company's.
pub(crate) fn own_unit(
    world: &World,
    company: CompanyId,
    unit_id: i64,
) -> Result<&UnitSpec, Failure> {
    let unit = world
        .unit(unit_id)
        .ok_or_else(|| Failure::new(StatusCode::NOT_FOUND, format!("unit {unit_id} not found")))?;
    if unit.company != company {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            format!("access denied to unit {unit_id}"),
        ));
    }
    Ok(unit)
}

fn own_object(world: &World, company: CompanyId, object_id: i64) -> Result<&ObjectSpec, Failure> {
    let object = world.object(object_id).ok_or_else(|| {
        Failure::new(
            StatusCode::NOT_FOUND,
            format!("bookingObjectId: booking object {object_id} not found"),
        )
    })?;
    if object.company != company {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            format!("bookingObjectId: access denied to booking object {object_id}"),
        ));
    }
    Ok(object)
}

fn own_booking<'a>(
    world: &World,
    bookings: &'a std::collections::BTreeMap<i64, SandboxBooking>,
    company: CompanyId,
    booking_id: i64,
) -> Result<&'a SandboxBooking, Failure> {
    let not_found = || {
        Failure::new(
            StatusCode::NOT_FOUND,
            format!("booking {booking_id} not found"),
        )
    };
    let booking = bookings.get(&booking_id).ok_or_else(not_found)?;
    let object = world
        .object(booking.booking_object_id)
        .ok_or_else(not_found)?;
    if object.company != company {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            format!("access denied to booking {booking_id}"),
        ));
    }
    Ok(booking)
}

fn time_error(field: &str) -> Failure {
    Failure::bad_request(format!(
        "{field}: expected a UTC time like 2025-11-21T09:00:00Z"
    ))
}

fn optional_time(call: &Call, field: &str) -> Result<Option<DateTime<Utc>>, Failure> {
    call.param(field)
        .map(|text| wire::parse_time(text.trim()).ok_or_else(|| time_error(field)))
        .transpose()
}

fn required_time(call: &Call, field: &str) -> Result<DateTime<Utc>, Failure> {
    optional_time(call, field)?.ok_or_else(|| Failure::bad_request(format!("{field} is required")))
}

fn required_body_time(body: &Map<String, Value>, field: &str) -> Result<DateTime<Utc>, Failure> {
    match body.get(field) {
        Some(Value::String(text)) => wire::parse_time(text).ok_or_else(|| time_error(field)),
        None | Some(Value::Null) => Err(Failure::bad_request(format!("{field} is required"))),
        Some(_) => Err(time_error(field)),
    }
}

/// A string field; absent, null and empty all mean "not given".
fn optional_text(body: &Map<String, Value>, field: &str) -> Result<Option<String>, Failure> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(Failure::bad_request(format!("{field}: expected a string"))),
    }
}

/// A phone number: digits with an optional leading `+` (spaces and dashes tolerated).
fn optional_phone(body: &Map<String, Value>, field: &str) -> Result<Option<String>, Failure> {
    let phone = optional_text(body, field)?;
    if let Some(phone) = &phone {
        let digits = phone.bytes().filter(u8::is_ascii_digit).count();
        let allowed = phone
            .trim_start_matches('+')
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-');
        if !allowed || !(5..=20).contains(&digits) {
            return Err(Failure::bad_request(format!(
                "{field}: expected a phone number such as +46701234567"
            )));
        }
    }
    Ok(phone)
}
