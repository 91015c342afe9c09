//! What a target receives: a JSON body for webhooks, a subject and plain text for email and
//! ntfy. Keypad codes and full phone numbers appear only when the target asked for them
//! (`include_codes = true`); otherwise phones and tags show their last three characters.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::event::{Event, EventDetails, EventKind};
use crate::redact::mask;

/// The time in the object's zone (when known) and in UTC, for people.
fn local_and_utc(time: DateTime<Utc>, zone: Option<&str>) -> String {
    let utc = time.format("%Y-%m-%d %H:%M UTC").to_string();
    match zone.and_then(crate::config::resolve_timezone) {
        Some(tz) => format!(
            "{} ({utc})",
            time.with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z")
        ),
        None => utc,
    }
}

/// `Wed 1 Jul 15:05` in the object's zone; in UTC, saying so, when the zone is unknown.
fn short_local(time: DateTime<Utc>, zone: Option<&str>) -> String {
    match zone.and_then(crate::config::resolve_timezone) {
        Some(tz) => time
            .with_timezone(&tz)
            .format("%a %-d %b %H:%M")
            .to_string(),
        None => time.format("%a %-d %b %H:%M UTC").to_string(),
    }
}

fn local_iso(time: DateTime<Utc>, zone: Option<&str>) -> Option<String> {
    let tz = zone.and_then(crate::config::resolve_timezone)?;
    Some(time.with_timezone(&tz).to_rfc3339())
}

fn zone(details: &EventDetails) -> Option<&str> {
    details.object.as_ref().and_then(|o| o.timezone.as_deref())
}

fn object_name(details: &EventDetails) -> String {
    match &details.object {
        Some(o) if !o.name.is_empty() => o.name.clone(),
        Some(o) => format!("booking object {}", o.id),
        None => String::new(),
    }
}

/// The webhook body: `{id, type, occurred_at, data}`.
pub fn webhook_body(event: &Event, include_codes: bool) -> Value {
    let d = &event.details;
    let zone = zone(d);
    let mut data = serde_json::Map::new();
    if let Some(o) = &d.object {
        data.insert(
            "booking_object".into(),
            json!({"id": o.id, "name": object_name(d), "timezone": o.timezone}),
        );
    }
    let mut put = |key: &str, value: Value| {
        if !value.is_null() {
            data.insert(key.into(), value);
        }
    };
    put("source", json!(d.source));
    put("label", json!(d.label));
    put("booking_id", json!(d.booking_id));
    for (key, time) in [("start", d.start), ("end", d.end), ("at", d.at)] {
        if let Some(time) = time {
            put(&format!("{key}_utc"), json!(time.to_rfc3339()));
            put(&format!("{key}_local"), json!(local_iso(time, zone)));
        }
    }
    let (phones, code, rfid) = credentials(d, include_codes);
    if !phones.is_empty() {
        put("phones", json!(phones));
    }
    put("code", json!(code));
    put("rfid", json!(rfid));
    if let Some(other) = &d.other {
        put(
            "other",
            json!({
                "source": other.source,
                "label": other.label,
                "start_utc": other.start.to_rfc3339(),
                "end_utc": other.end.to_rfc3339(),
            }),
        );
    }
    put("detail", json!(d.detail));
    json!({
        "id": event.id,
        "type": event.kind.as_str(),
        "occurred_at": event.occurred_at.to_rfc3339(),
        "data": data,
    })
}

fn credentials(
    d: &EventDetails,
    include_codes: bool,
) -> (Vec<String>, Option<String>, Option<String>) {
    if include_codes {
        (d.phones.clone(), d.code.clone(), d.rfid.clone())
    } else {
        (
            d.phones.iter().map(|p| mask(p)).collect(),
            None,
            d.rfid.as_deref().map(mask),
        )
    }
}

/// A subject short enough for a lock screen: what happened, where, to whom.
pub fn subject(event: &Event) -> String {
    let d = &event.details;
    let mut parts = vec![event.kind.headline().to_owned()];
    let name = object_name(d);
    if !name.is_empty() {
        parts.push(name);
    }
    // The moment that matters to the host (the door event, else the arrival), as a clock on
    // the wall where the guest is shows it.
    if let Some(time) = d.at.or(d.start) {
        parts.push(short_local(time, zone(d)));
    }
    if let Some(label) = &d.label {
        parts.push(label.chars().take(40).collect());
    } else if let Some(source) = &d.source {
        parts.push(source.clone());
    }
    // Subjects are one line: a label with a line break must not forge a mail header.
    parts
        .join(" · ")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The plain-text body of a mail or an ntfy message.
pub fn text(event: &Event, include_codes: bool) -> String {
    let d = &event.details;
    let zone = zone(d);
    let mut lines = vec![explain(event)];
    lines.push(String::new());
    let name = object_name(d);
    if !name.is_empty() {
        lines.push(format!("Where:   {name}"));
    }
    if let Some(label) = &d.label {
        let from = d
            .source
            .as_deref()
            .map(|s| format!(" (from {s})"))
            .unwrap_or_default();
        lines.push(format!("Guest:   {label}{from}"));
    } else if let Some(source) = &d.source {
        lines.push(format!("Source:  {source}"));
    }
    if let (Some(start), Some(end)) = (d.start, d.end) {
        lines.push(format!("Arrives: {}", local_and_utc(start, zone)));
        lines.push(format!("Leaves:  {}", local_and_utc(end, zone)));
    }
    if let Some(at) = d.at {
        lines.push(format!("When:    {}", local_and_utc(at, zone)));
    }
    let (phones, code, rfid) = credentials(d, include_codes);
    if !phones.is_empty() {
        lines.push(format!("Phone:   {}", phones.join(", ")));
    }
    if let Some(code) = code {
        lines.push(format!("Code:    {code}"));
    }
    if let Some(tag) = rfid {
        lines.push(format!("Tag:     {tag}"));
    }
    if let Some(other) = &d.other {
        lines.push(format!(
            "Overlaps: {} (from {}), {} to {}",
            other.label,
            other.source,
            local_and_utc(other.start, zone),
            local_and_utc(other.end, zone)
        ));
    }
    if let Some(detail) = &d.detail {
        lines.push(format!("Detail:  {detail}"));
    }
    lines.push(String::new());
    lines.push(format!("Event {} ({})", event.id, event.kind));
    lines.join("\n")
}

fn explain(event: &Event) -> String {
    match event.kind {
        EventKind::BookingCreated => "The guest's door access is set up.".into(),
        EventKind::BookingDeleted => "A door access was removed.".into(),
        EventKind::BookingFailed => {
            "FlexyKey refused a door access; the guest may not get in. Check the booking.".into()
        }
        EventKind::ArrivalUnconfirmed => {
            "A guest arrives soon and has no confirmed door access yet.".into()
        }
        EventKind::GuestCheckedIn => "The guest opened the door for the first time.".into(),
        EventKind::GuestNoShow => "The guest has not opened the door since check-in time.".into(),
        EventKind::GuestDenied => {
            "The door refused the guest's phone or tag: the guest is probably at the door, locked out."
                .into()
        }
        EventKind::StayDoubleBooked => {
            "Two calendars booked the same place for overlapping dates: the channel sync failed."
                .into()
        }
        EventKind::SourceFailing => "A calendar has been unreadable for over an hour; its bookings are kept as they were.".into(),
        EventKind::SourceRecovered => "A calendar is readable again.".into(),
        EventKind::DeletionsHeld => "Cancellations are held back because a calendar shrank suddenly; confirm them with `flexysync sync --confirm-shrink`.".into(),
        EventKind::DeletionsReleased => "Held cancellations were released.".into(),
    }
}

/// ntfy's priority: high for a guest at the door and an arrival without access.
pub fn ntfy_priority(kind: EventKind) -> &'static str {
    match kind {
        EventKind::GuestDenied | EventKind::ArrivalUnconfirmed => "high",
        EventKind::StayDoubleBooked | EventKind::BookingFailed | EventKind::GuestNoShow => {
            "default"
        }
        _ => "low",
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::notify::event::EventObject;

    fn denied() -> Event {
        let at = Utc.with_ymd_and_hms(2026, 7, 1, 13, 5, 0).unwrap();
        Event {
            id: "evt_1".into(),
            kind: EventKind::GuestDenied,
            occurred_at: at,
            details: EventDetails {
                object: Some(EventObject {
                    id: 7,
                    name: "Cabin 7".into(),
                    timezone: Some("Europe/Stockholm".into()),
                }),
                source: Some("airbnb".into()),
                label: Some("Reserved · HMABC123\nBcc: x".into()),
                start: Some(at),
                end: Some(at + chrono::Duration::days(2)),
                phones: vec!["+46701234567".into()],
                code: Some("482193".into()),
                at: Some(at),
                ..EventDetails::default()
            },
        }
    }

    #[test]
    fn codes_and_full_phones_only_when_the_target_asks() {
        let event = denied();
        let with = webhook_body(&event, true).to_string();
        assert!(
            with.contains("482193") && with.contains("+46701234567"),
            "{with}"
        );
        let without = webhook_body(&event, false).to_string();
        assert!(
            !without.contains("482193") && !without.contains("46701234567"),
            "{without}"
        );
        assert!(without.contains("567"));
        let text_without = text(&event, false);
        assert!(!text_without.contains("482193") && !text_without.contains("701234567"));
        assert!(text(&event, true).contains("Code:    482193"));
    }

    #[test]
    fn times_are_local_and_utc_and_the_subject_is_one_line() {
        let event = denied();
        let body = webhook_body(&event, false);
        assert_eq!(body["data"]["at_local"], "2026-07-01T15:05:00+02:00");
        assert_eq!(body["data"]["at_utc"], "2026-07-01T13:05:00+00:00");
        assert_eq!(body["type"], "guest.denied");
        assert!(text(&event, false).contains("Wed 2026-07-01 15:05 CEST (2026-07-01 13:05 UTC)"));
        let subject = subject(&event);
        assert!(
            subject.starts_with("Guest locked out · Cabin 7 · Wed 1 Jul 15:05 · Reserved"),
            "{subject}"
        );
        let mut unzoned = event.clone();
        unzoned.details.object = None;
        unzoned.details.at = None;
        assert_eq!(
            super::subject(&unzoned),
            "Guest locked out · Wed 1 Jul 13:05 UTC · Reserved · HMABC123 Bcc: x"
        );
        assert!(!subject.contains('\n'));
    }

    #[test]
    fn priorities_are_high_for_a_guest_at_the_door_and_an_unconfirmed_arrival() {
        assert_eq!(ntfy_priority(EventKind::GuestDenied), "high");
        assert_eq!(ntfy_priority(EventKind::ArrivalUnconfirmed), "high");
        assert_eq!(ntfy_priority(EventKind::GuestCheckedIn), "low");
    }
}
