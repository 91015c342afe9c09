//! Check-in, no-show, locked-out, unconfirmed-arrival and double-booking detection: pure
//! functions over small input types, so that they are table-tested without a ledger.

use chrono::{DateTime, Duration, Utc};

use super::event::{EventDetails, EventKind, EventObject, NewEvent, OtherStay};
use super::refusal::RefusalPatterns;
use crate::model::phone::normalize_phone;

/// One stay as detection needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    /// The reservation's stable key (source + UID + RECURRENCE-ID).
    pub key: String,
    pub object: EventObject,
    /// The units that open the object's door; empty when unknown (any unit's log counts).
    pub units: Vec<i64>,
    pub source: String,
    pub label: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// As the feed gave them; compared in E.164.
    pub phones: Vec<String>,
    pub rfid: Option<String>,
    /// The source's `overlap_ok`: a cleaning rota overlapping a guest is no double booking.
    pub overlap_ok: bool,
    /// A FlexyKey booking for it is confirmed (exists and is recorded as done).
    pub confirmed: bool,
}

/// One access-log entry as detection needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    pub unit_id: i64,
    pub at: DateTime<Utc>,
    /// FlexyKey's `sourceID`: a phone as the unit saw it, a tag, or a label.
    pub source_id: String,
    /// `sourceLabel` and `actionLabel`, when present.
    pub labels: Vec<String>,
    pub message: String,
}

/// The knobs of detection (from `[alerts]`).
#[derive(Debug, Clone)]
pub struct DetectRules {
    /// Calling code for numbers written without one, in the feed or in the log.
    pub default_country: String,
    pub refusals: RefusalPatterns,
    /// A stay with no check-in this long after its start is a no-show.
    pub no_show_after: Duration,
    /// An arrival this close without a confirmed booking is told.
    pub arrival_window: Duration,
    /// A refusal this long before a stay starts still counts as its guest at the door.
    pub denial_lead: Duration,
}

impl Default for DetectRules {
    fn default() -> Self {
        DetectRules {
            default_country: "46".to_owned(),
            refusals: RefusalPatterns::default(),
            no_show_after: Duration::hours(6),
            arrival_window: Duration::hours(24),
            denial_lead: Duration::hours(2),
        }
    }
}

/// True when the log's `source_id` is one of the stay's phones or its tag. Phones are compared
/// in E.164 on both sides; a log number written with its country code but no `+`
/// (`46701234567`) matches too.
pub fn credential_matches(stay: &Stay, source_id: &str, default_country: &str) -> bool {
    let id = source_id.trim();
    if id.is_empty() {
        return false;
    }
    if let Some(tag) = &stay.rfid
        && tag.trim().eq_ignore_ascii_case(id)
    {
        return true;
    }
    let logged = normalize_phone(id, default_country).ok();
    let logged_digits: Option<String> =
        (id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_owned());
    stay.phones
        .iter()
        .filter_map(|phone| normalize_phone(phone, default_country).ok())
        .any(|e164| {
            let e164 = e164.as_str();
            logged.as_ref().map(|l| l.as_str()) == Some(e164)
                || logged_digits.as_deref() == e164.get(1..)
        })
}

fn serves_unit(stay: &Stay, unit_id: i64) -> bool {
    stay.units.is_empty() || stay.units.contains(&unit_id)
}

fn is_refusal(entry: &AccessEntry, refusals: &RefusalPatterns) -> bool {
    refusals.is_refusal(
        std::iter::once(entry.message.as_str()).chain(entry.labels.iter().map(String::as_str)),
    )
}

/// The first entry during the stay that opened the door for the stay's phone or tag.
pub fn check_in<'a>(
    stay: &Stay,
    entries: &'a [AccessEntry],
    rules: &DetectRules,
) -> Option<&'a AccessEntry> {
    entries
        .iter()
        .filter(|e| stay.start <= e.at && e.at < stay.end && serves_unit(stay, e.unit_id))
        .filter(|e| !is_refusal(e, &rules.refusals))
        .filter(|e| credential_matches(stay, &e.source_id, &rules.default_country))
        .min_by_key(|e| e.at)
}

/// A no-show: no check-in by start + `no_show_after`, judged only once the log is known
/// (archived) up to that moment and while the stay lasts.
pub fn is_no_show(
    stay: &Stay,
    checked_in: bool,
    now: DateTime<Utc>,
    log_known_to: DateTime<Utc>,
    rules: &DetectRules,
) -> bool {
    let deadline = stay.start + rules.no_show_after;
    !checked_in && deadline <= now && deadline <= log_known_to && now < stay.end
}

/// Refusals of a stay's phone or tag while the stay is current or starts within
/// `denial_lead`: the guest is at the door and locked out.
pub fn denials<'a>(
    stay: &Stay,
    entries: &'a [AccessEntry],
    rules: &DetectRules,
) -> Vec<&'a AccessEntry> {
    let mut found: Vec<&AccessEntry> = entries
        .iter()
        .filter(|e| stay.start - rules.denial_lead <= e.at && e.at < stay.end)
        .filter(|e| serves_unit(stay, e.unit_id))
        .filter(|e| is_refusal(e, &rules.refusals))
        .filter(|e| credential_matches(stay, &e.source_id, &rules.default_country))
        .collect();
    found.sort_by_key(|e| e.at);
    found
}

/// Pairs of stays of different sources that overlap on one object, neither `overlap_ok`.
pub fn double_bookings(stays: &[Stay]) -> Vec<(&Stay, &Stay)> {
    let mut sorted: Vec<&Stay> = stays.iter().filter(|s| !s.overlap_ok).collect();
    sorted.sort_by(|a, b| (a.object.id, a.start, &a.key).cmp(&(b.object.id, b.start, &b.key)));
    let mut pairs = Vec::new();
    for (i, a) in sorted.iter().enumerate() {
        for b in &sorted[i + 1..] {
            if b.object.id != a.object.id || b.start >= a.end {
                break;
            }
            if a.source != b.source && b.start < a.end && a.start < b.end {
                pairs.push((*a, *b));
            }
        }
    }
    pairs
}

/// Stays starting within `arrival_window` of `now` with no confirmed booking.
pub fn unconfirmed_arrivals<'a>(
    stays: &'a [Stay],
    now: DateTime<Utc>,
    rules: &DetectRules,
) -> Vec<&'a Stay> {
    stays
        .iter()
        .filter(|s| !s.confirmed && now <= s.start && s.start <= now + rules.arrival_window)
        .collect()
}

fn stay_details(stay: &Stay) -> EventDetails {
    EventDetails {
        object: Some(stay.object.clone()),
        source: Some(stay.source.clone()),
        label: Some(stay.label.clone()),
        start: Some(stay.start),
        end: Some(stay.end),
        phones: stay.phones.clone(),
        rfid: stay.rfid.clone(),
        stay: Some(stay.key.clone()),
        ..EventDetails::default()
    }
}

/// Everything detection finds, as events. Ids are stable, so running this every pass and
/// writing with "insert if new" yields each fact once.
pub fn detect(
    stays: &[Stay],
    entries: &[AccessEntry],
    now: DateTime<Utc>,
    log_known_to: DateTime<Utc>,
    rules: &DetectRules,
) -> Vec<NewEvent> {
    let mut events = Vec::new();
    for stay in stays {
        let checked_in = check_in(stay, entries, rules);
        if let Some(entry) = checked_in {
            let details = EventDetails {
                at: Some(entry.at),
                ..stay_details(stay)
            };
            events
                .push(NewEvent::new(EventKind::GuestCheckedIn, &stay.key, entry.at).with(details));
        }
        if is_no_show(stay, checked_in.is_some(), now, log_known_to, rules) {
            let at = stay.start + rules.no_show_after;
            events.push(
                NewEvent::new(EventKind::GuestNoShow, &stay.key, at).with(stay_details(stay)),
            );
        }
        for entry in denials(stay, entries, rules) {
            let details = EventDetails {
                at: Some(entry.at),
                detail: Some(entry.message.clone()),
                ..stay_details(stay)
            };
            let key = format!("{}|{}", stay.key, entry.at.timestamp());
            events.push(NewEvent::new(EventKind::GuestDenied, key, entry.at).with(details));
        }
    }
    for stay in unconfirmed_arrivals(stays, now, rules) {
        let key = format!("{}|{}", stay.key, stay.start.timestamp());
        events
            .push(NewEvent::new(EventKind::ArrivalUnconfirmed, key, now).with(stay_details(stay)));
    }
    for (a, b) in double_bookings(stays) {
        let details = EventDetails {
            other: Some(OtherStay {
                source: b.source.clone(),
                label: b.label.clone(),
                start: b.start,
                end: b.end,
            }),
            ..stay_details(a)
        };
        let key = format!("{}|{}", a.key, b.key);
        events.push(NewEvent::new(EventKind::StayDoubleBooked, key, now).with(details));
    }
    events
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
