//! One VEVENT block, parsed with calcard and boiled down to the few properties flexysync uses.
//! Broken values are repaired or dropped here, each with a warning naming the UID and line.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use calcard::icalendar::{
    ICalendarComponent, ICalendarComponentType, ICalendarDuration, ICalendarEntry,
    ICalendarParameterName, ICalendarProperty, ICalendarRecurrenceRule, ICalendarStatus,
    ICalendarValue,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

use super::dates;
use super::scan::{self, Detail, TextProps};
use super::text::Block;
use super::zone::{Zone, ZoneTable};

/// How a date-time value is to be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Clock {
    /// A DATE value (all day); the time part is midnight.
    Date,
    /// A floating time: read in the caller's zone.
    Floating,
    Zoned(Zone),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Moment {
    pub naive: NaiveDateTime,
    pub clock: Clock,
}

impl Moment {
    pub fn is_date(&self) -> bool {
        matches!(self.clock, Clock::Date)
    }

    /// The instant, reading floating times and dates in `floating`.
    pub fn to_utc(&self, floating: &Zone) -> Option<DateTime<Utc>> {
        match &self.clock {
            Clock::Zoned(zone) => zone.to_utc(self.naive),
            Clock::Date | Clock::Floating => floating.to_utc(self.naive),
        }
    }
}

/// A span as DURATION writes it: nominal days plus exact seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub days: i64,
    pub seconds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Confirmed,
    Tentative,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EndSpec {
    At(Moment),
    For(Span),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RDate {
    pub start: Moment,
    pub end: Option<EndSpec>,
}

/// The properties of one VEVENT that flexysync uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub uid: Arc<str>,
    pub line: usize,
    pub sequence: i64,
    pub start: Moment,
    pub end: Option<EndSpec>,
    pub rrules: Vec<ICalendarRecurrenceRule>,
    pub rdates: Vec<RDate>,
    pub exdates: Vec<Moment>,
    pub recurrence_id: Option<Moment>,
    pub this_and_future: bool,
    pub summary: Option<Arc<str>>,
    pub description: Option<Arc<str>>,
    pub status: Option<Status>,
    /// ATTENDEE values (mailto:, tel:) and their CN parameters.
    pub attendees: Arc<[String]>,
    /// Why the whole series must not be booked (a non-Gregorian RSCALE).
    pub refused: Option<String>,
}

/// Parses one VEVENT block. `None` (with a warning) when it cannot be read at all. A
/// [`Detail::Listing`] read leaves out DESCRIPTION and ATTENDEE (all else is the same).
pub fn parse_block(
    block: &Block<'_>,
    zones: &ZoneTable,
    detail: Detail,
    warnings: &mut Vec<String>,
) -> Option<Component> {
    // Most blocks are plain and read without calcard; the rest read exactly as before.
    let props = match scan::read_plain(block.text, detail) {
        Some(props) => props,
        None => calcard_props(block, detail, warnings)?,
    };
    from_props(props, block, zones, warnings)
}

/// The text properties as calcard reads them (blocks `scan` leaves to it).
pub(super) fn calcard_props<'a>(
    block: &Block<'a>,
    detail: Detail,
    warnings: &mut Vec<String>,
) -> Option<TextProps<'a>> {
    let mut parser = calcard::Parser::new(block.text);
    let calendar = match parser.entry() {
        calcard::Entry::ICalendar(calendar) => calendar,
        _ => {
            warnings.push(format!(
                "line {}: VEVENT could not be read; skipped",
                block.line
            ));
            return None;
        }
    };
    let component = calendar
        .components
        .iter()
        .find(|c| c.component_type == ICalendarComponentType::VEvent)?;
    let mut props = props_of(component, detail);
    props.dates = dates::date_lines(block.text);
    Some(props)
}

fn props_of(component: &ICalendarComponent, detail: Detail) -> TextProps<'static> {
    let owned = |text: &str| Cow::Owned(text.to_owned());
    let mut props = TextProps {
        uid: component
            .entries
            .iter()
            .find(|e| e.name == ICalendarProperty::Uid)
            .and_then(|e| text(e))
            .map(owned),
        ..TextProps::default()
    };
    let full = detail == Detail::Full;
    for entry in &component.entries {
        match entry.name {
            ICalendarProperty::Duration => props.durations.push(match entry.values.first() {
                Some(ICalendarValue::Duration(d)) => Some(d.clone()),
                _ => None,
            }),
            ICalendarProperty::Sequence => {
                if let Some(ICalendarValue::Integer(n)) = entry.values.first() {
                    props.sequence = *n;
                }
            }
            ICalendarProperty::Summary => props.summary = text(entry).map(owned),
            ICalendarProperty::Description if full => props.description = text(entry).map(owned),
            ICalendarProperty::Status => {
                props.status = match entry.values.first() {
                    Some(ICalendarValue::Status(status)) => Some(status.clone()),
                    _ => None,
                }
            }
            ICalendarProperty::Attendee if full => {
                for value in &entry.values {
                    if let Some(v) = value_text(value) {
                        props.attendees.push(v.to_owned());
                    }
                }
                for param in &entry.params {
                    if param.name == ICalendarParameterName::Cn
                        && let Some(v) = param.value.as_text()
                    {
                        props.attendees.push(v.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    props
}

fn from_props(
    props: TextProps<'_>,
    block: &Block<'_>,
    zones: &ZoneTable,
    warnings: &mut Vec<String>,
) -> Option<Component> {
    let uid = props
        .uid
        .as_deref()
        .map(str::trim)
        .filter(|uid| !uid.is_empty());
    let uid: Arc<str> = match uid {
        Some(uid) => Arc::from(uid),
        None => {
            // A key that stays stable across fetches: the block's own content.
            let digest = Sha256::digest(block.text.as_bytes());
            let uid = format!("no-uid-{}", hex::encode(&digest[..8]));
            warnings.push(format!(
                "line {}: VEVENT has no UID; using {uid}",
                block.line
            ));
            Arc::from(uid)
        }
    };
    let at = |what: &str| format!("UID {uid} (line {}): {what}", block.line);
    let mut duration = None;
    for parsed in &props.durations {
        match parsed {
            Some(d) => match span(d) {
                Some(s) => duration = Some(s),
                None => warnings.push(at("DURATION is negative or too large; ignored")),
            },
            None => warnings.push(at("DURATION is not a duration; ignored")),
        }
    }
    let mut out = Component {
        uid: uid.clone(),
        line: block.line,
        sequence: props.sequence,
        start: Moment {
            naive: NaiveDateTime::MIN,
            clock: Clock::Floating,
        },
        end: None,
        rrules: vec![],
        rdates: vec![],
        exdates: vec![],
        recurrence_id: None,
        this_and_future: false,
        summary: props.summary.map(Arc::from),
        description: props.description.map(Arc::from),
        status: match props.status {
            Some(ICalendarStatus::Cancelled) => Some(Status::Cancelled),
            Some(ICalendarStatus::Tentative) => Some(Status::Tentative),
            Some(ICalendarStatus::Confirmed) => Some(Status::Confirmed),
            _ => None,
        },
        attendees: match props.attendees.is_empty() {
            true => no_attendees(),
            false => Arc::from(props.attendees),
        },
        refused: None,
    };
    let zones = zones.in_calendar(block.calendar);
    let dated = dates::read(props.dates, &zones, &at, warnings, &mut out);
    if let Some(scale) = dated.refused_rscale {
        out.refused = Some(format!(
            "RRULE has RSCALE={scale} (RFC 7529): non-Gregorian rules are not supported, so the \
             series was refused rather than booked on the wrong days"
        ));
    }
    let Some(start) = dated.start.or_else(|| out.recurrence_id.clone()) else {
        warnings.push(at("VEVENT has no readable DTSTART; skipped"));
        return None;
    };
    let mut start = start;
    out.end = match (dated.end, duration) {
        (Some(end), _) => dates::fit_end(&mut start, end, &at, warnings).map(EndSpec::At),
        (None, Some(span)) => Some(EndSpec::For(span)),
        (None, None) => None,
    };
    out.start = start;
    Some(out)
}

/// One shared empty list (most events have no attendee, and a listing reads none).
fn no_attendees() -> Arc<[String]> {
    static NONE: LazyLock<Arc<[String]>> = LazyLock::new(|| Arc::from(Vec::new()));
    NONE.clone()
}

fn text(entry: &ICalendarEntry) -> Option<&str> {
    entry.values.first().and_then(value_text)
}

fn value_text(value: &ICalendarValue) -> Option<&str> {
    match value {
        ICalendarValue::Text(t) => Some(t.as_str()),
        ICalendarValue::Uri(uri) => uri.as_str(),
        _ => None,
    }
}

/// Checked: `P999999999999999999W` is no duration at all.
pub(super) fn span(d: &ICalendarDuration) -> Option<Span> {
    if d.neg {
        return None;
    }
    let days = i64::from(d.weeks)
        .checked_mul(7)?
        .checked_add(i64::from(d.days))?;
    let seconds = i64::from(d.hours)
        .checked_mul(3600)?
        .checked_add(i64::from(d.minutes).checked_mul(60)?)?
        .checked_add(i64::from(d.seconds))?;
    // Nothing in a booking calendar lasts longer than a few years.
    (days <= 3660 && seconds <= 3660 * 86_400).then_some(Span { days, seconds })
}
