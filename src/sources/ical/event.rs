//! One VEVENT block, parsed with calcard and boiled down to the few properties flexysync uses.
//! Broken values are repaired or dropped here, each with a warning naming the UID and line.

use std::sync::Arc;

use calcard::common::PartialDateTime;
use calcard::icalendar::{
    ICalendarComponent, ICalendarComponentType, ICalendarDuration, ICalendarEntry,
    ICalendarParameterName, ICalendarPeriod, ICalendarProperty, ICalendarRecurrenceRule,
    ICalendarStatus, ICalendarValue,
};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sha2::{Digest, Sha256};

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
}

/// Parses one VEVENT block. `None` (with a warning) when it cannot be read at all.
pub fn parse_block(
    block: &Block<'_>,
    zones: &ZoneTable,
    warnings: &mut Vec<String>,
) -> Option<Component> {
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
    from_component(component, block, zones, warnings)
}

fn from_component(
    component: &ICalendarComponent,
    block: &Block<'_>,
    zones: &ZoneTable,
    warnings: &mut Vec<String>,
) -> Option<Component> {
    let uid = component
        .entries
        .iter()
        .find(|e| e.name == ICalendarProperty::Uid)
        .and_then(|e| text(e))
        .map(|uid| uid.trim().to_owned())
        .filter(|uid| !uid.is_empty());
    let uid = match uid {
        Some(uid) => uid,
        None => {
            // A key that stays stable across fetches: the block's own content.
            let digest = Sha256::digest(block.text.as_bytes());
            let uid = format!("no-uid-{}", hex::encode(&digest[..8]));
            warnings.push(format!(
                "line {}: VEVENT has no UID; using {uid}",
                block.line
            ));
            uid
        }
    };
    let at = |what: &str| format!("UID {uid} (line {}): {what}", block.line);
    let mut start: Option<Moment> = None;
    let mut end_moment = None;
    let mut duration = None;
    let mut attendees: Vec<String> = Vec::new();
    let mut out = Component {
        uid: Arc::from(uid.as_str()),
        line: block.line,
        sequence: 0,
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
        summary: None,
        description: None,
        status: None,
        attendees: Arc::from(Vec::new()),
    };
    for entry in &component.entries {
        match entry.name {
            ICalendarProperty::Dtstart => match moment(entry, zones) {
                Ok(m) if matches!(m.clock, Clock::Floating) && entry.tz_id().is_some() => {
                    warnings.push(at(&format!(
                        "TZID {:?} is not a known zone; its times are read as floating",
                        entry.tz_id().unwrap_or_default()
                    )));
                    start = start.or(Some(m));
                }
                Ok(m) if start.is_none() => start = Some(m),
                Ok(_) => warnings.push(at("a second DTSTART was ignored")),
                Err(why) => warnings.push(at(&format!("DTSTART {why}"))),
            },
            ICalendarProperty::Dtend => match moment(entry, zones) {
                Ok(m) => end_moment = Some(m),
                Err(why) => warnings.push(at(&format!("DTEND {why}; ignored"))),
            },
            ICalendarProperty::Duration => match entry.values.first() {
                Some(ICalendarValue::Duration(d)) => match span(d) {
                    Some(s) => duration = Some(s),
                    None => warnings.push(at("DURATION is negative or too large; ignored")),
                },
                _ => warnings.push(at("DURATION is not a duration; ignored")),
            },
            ICalendarProperty::Rrule => match entry.values.first() {
                Some(ICalendarValue::RecurrenceRule(rule)) => {
                    if rule.count == Some(0) {
                        warnings.push(at("RRULE with COUNT=0 ignored"));
                    } else {
                        out.rrules.push((**rule).clone());
                    }
                }
                _ => warnings.push(at("RRULE could not be read; only DTSTART and RDATE count")),
            },
            ICalendarProperty::Rdate => {
                let tzid = entry.tz_id();
                let is_date = value_is_date(entry);
                for value in &entry.values {
                    match value {
                        ICalendarValue::PartialDateTime(dt) => {
                            match to_moment(dt, tzid, is_date, zones) {
                                Ok(m) => out.rdates.push(RDate {
                                    start: m,
                                    end: None,
                                }),
                                Err(why) => warnings.push(at(&format!("RDATE {why}; ignored"))),
                            }
                        }
                        ICalendarValue::Period(period) => {
                            if let Some(rdate) = period_rdate(period, tzid, zones) {
                                out.rdates.push(rdate);
                            } else {
                                warnings.push(at("RDATE period could not be read; ignored"));
                            }
                        }
                        _ => warnings.push(at("RDATE value could not be read; ignored")),
                    }
                }
            }
            ICalendarProperty::Exdate => {
                let tzid = entry.tz_id();
                let is_date = value_is_date(entry);
                for value in &entry.values {
                    match value {
                        ICalendarValue::PartialDateTime(dt) => {
                            match to_moment(dt, tzid, is_date, zones) {
                                Ok(m) => out.exdates.push(m),
                                Err(why) => warnings.push(at(&format!("EXDATE {why}; ignored"))),
                            }
                        }
                        _ => warnings.push(at("EXDATE value could not be read; ignored")),
                    }
                }
            }
            ICalendarProperty::RecurrenceId => match moment(entry, zones) {
                Ok(m) => {
                    out.this_and_future = entry.params.iter().any(|p| {
                        p.name == ICalendarParameterName::Range
                            // calcard keeps RANGE=THISANDFUTURE as a boolean.
                            && p.value.as_text().is_none_or(|v| {
                                v.eq_ignore_ascii_case("THISANDFUTURE")
                                    || v.eq_ignore_ascii_case("TRUE")
                            })
                    });
                    out.recurrence_id = Some(m);
                }
                Err(why) => warnings.push(at(&format!("RECURRENCE-ID {why}; ignored"))),
            },
            ICalendarProperty::Sequence => {
                if let Some(ICalendarValue::Integer(n)) = entry.values.first() {
                    out.sequence = *n;
                }
            }
            ICalendarProperty::Summary => out.summary = text(entry).map(Arc::from),
            ICalendarProperty::Description => out.description = text(entry).map(Arc::from),
            ICalendarProperty::Status => {
                out.status = match entry.values.first() {
                    Some(ICalendarValue::Status(ICalendarStatus::Cancelled)) => {
                        Some(Status::Cancelled)
                    }
                    Some(ICalendarValue::Status(ICalendarStatus::Tentative)) => {
                        Some(Status::Tentative)
                    }
                    Some(ICalendarValue::Status(ICalendarStatus::Confirmed)) => {
                        Some(Status::Confirmed)
                    }
                    _ => None,
                }
            }
            ICalendarProperty::Attendee => {
                for value in &entry.values {
                    if let Some(v) = value_text(value) {
                        attendees.push(v.to_owned());
                    }
                }
                for param in &entry.params {
                    if param.name == ICalendarParameterName::Cn
                        && let Some(v) = param.value.as_text()
                    {
                        attendees.push(v.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    let Some(start) = start.or_else(|| out.recurrence_id.clone()) else {
        warnings.push(at("VEVENT has no readable DTSTART; skipped"));
        return None;
    };
    let mut start = start;
    out.end = match (end_moment, duration) {
        (Some(end), _) => match fit_end(&start, end, &at, warnings) {
            Some(end) if before(&end, &start) => {
                let end = std::mem::replace(&mut start, end);
                Some(EndSpec::At(end))
            }
            other => other.map(EndSpec::At),
        },
        (None, Some(span)) => Some(EndSpec::For(span)),
        (None, None) => None,
    };
    out.start = start;
    out.attendees = Arc::from(attendees);
    Some(out)
}

/// DTEND repaired to DTSTART's value type; an end before the start is dropped.
fn fit_end(
    start: &Moment,
    end: Moment,
    at: &dyn Fn(&str) -> String,
    warnings: &mut Vec<String>,
) -> Option<Moment> {
    let end = match (start.is_date(), end.is_date()) {
        (true, false) => {
            // A DATE-TIME end on an all-day event: the day it falls in, rounded up.
            let mut date = end.naive.date();
            if end.naive.time() != NaiveTime::MIN {
                date = date.succ_opt()?;
            }
            Moment {
                naive: date.and_time(NaiveTime::MIN),
                clock: Clock::Date,
            }
        }
        (false, true) => Moment {
            naive: end.naive,
            clock: start.clock.clone(),
        },
        _ => end,
    };
    let utc_zone = Zone::Utc;
    let ordered = match (start.to_utc(&utc_zone), end.to_utc(&utc_zone)) {
        (Some(s), Some(e)) => e >= s,
        _ => true,
    };
    if !ordered {
        warnings.push(at("DTEND is before DTSTART; the two were swapped"));
        return Some(end);
    }
    Some(end)
}

fn before(a: &Moment, b: &Moment) -> bool {
    match (a.to_utc(&Zone::Utc), b.to_utc(&Zone::Utc)) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
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

fn value_is_date(entry: &ICalendarEntry) -> bool {
    entry.params.iter().any(|p| {
        p.name == ICalendarParameterName::Value
            && p.value
                .as_text()
                .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
    })
}

fn moment(entry: &ICalendarEntry, zones: &ZoneTable) -> Result<Moment, String> {
    match entry.values.first() {
        Some(ICalendarValue::PartialDateTime(dt)) => {
            to_moment(dt, entry.tz_id(), value_is_date(entry), zones)
        }
        _ => Err("is not a date or date-time".to_owned()),
    }
}

fn to_moment(
    dt: &PartialDateTime,
    tzid: Option<&str>,
    value_date: bool,
    zones: &ZoneTable,
) -> Result<Moment, String> {
    let date = NaiveDate::from_ymd_opt(
        i32::from(dt.year.ok_or("has no year")?),
        u32::from(dt.month.ok_or("has no month")?),
        u32::from(dt.day.ok_or("has no day")?),
    )
    .ok_or("is not a valid date")?;
    if value_date || !dt.has_time() {
        // VALUE=DATE with a time part is read as the date alone.
        return Ok(Moment {
            naive: date.and_time(NaiveTime::MIN),
            clock: Clock::Date,
        });
    }
    let result = dt.to_date_time().ok_or("is not a valid date-time")?;
    if let Some(offset) = result.offset {
        let utc = result
            .date_time
            .checked_sub_signed(Duration::seconds(i64::from(offset.local_minus_utc())))
            .ok_or("is out of range")?;
        return Ok(Moment {
            naive: utc,
            clock: Clock::Zoned(Zone::Utc),
        });
    }
    let clock = match tzid {
        Some(tzid) => match zones.resolve(tzid) {
            Some(zone) => Clock::Zoned(zone),
            // An unknown zone: read like a floating time rather than lose the event.
            None => Clock::Floating,
        },
        None => Clock::Floating,
    };
    Ok(Moment {
        naive: result.date_time,
        clock,
    })
}

fn period_rdate(period: &ICalendarPeriod, tzid: Option<&str>, zones: &ZoneTable) -> Option<RDate> {
    match period {
        ICalendarPeriod::Range { start, end } => Some(RDate {
            start: to_moment(start, tzid, false, zones).ok()?,
            end: Some(EndSpec::At(to_moment(end, tzid, false, zones).ok()?)),
        }),
        ICalendarPeriod::Duration { start, duration } => Some(RDate {
            start: to_moment(start, tzid, false, zones).ok()?,
            end: Some(EndSpec::For(span(duration)?)),
        }),
    }
}

/// Checked: `P999999999999999999W` is no duration at all.
fn span(d: &ICalendarDuration) -> Option<Span> {
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
