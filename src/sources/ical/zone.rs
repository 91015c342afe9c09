//! Time zones as feeds write them: IANA, Windows and Outlook names, vendor-prefixed TZIDs,
//! VTIMEZONE blocks calcard resolves, and custom VTIMEZONE rules it does not (read from their
//! own STANDARD/DAYLIGHT observances). Local times in a spring-forward gap are read with the
//! offset before the gap (RFC 5545 3.3.5); ambiguous fall-back times take the first instant.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use calcard::icalendar::{
    ICalendarComponent, ICalendarComponentType, ICalendarProperty, ICalendarValue,
};
use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc,
    Weekday,
};

/// A zone a local time can be read in.
#[derive(Debug, Clone, PartialEq)]
pub enum Zone {
    Utc,
    Iana(chrono_tz::Tz),
    Fixed(FixedOffset),
    Custom(Arc<CustomZone>),
}

impl Zone {
    /// The UTC instant of a local wall-clock time in this zone.
    pub fn to_utc(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let offset = match self {
            Zone::Utc => 0,
            Zone::Fixed(offset) => offset.local_minus_utc(),
            // The same gap and fall-back rule as every other local time flexysync reads.
            Zone::Iana(tz) => return crate::when::local_to_utc(local, *tz),
            Zone::Custom(zone) => zone.offset_for_local(local)?,
        };
        let utc = local.checked_sub_signed(Duration::seconds(i64::from(offset)))?;
        Some(utc.and_utc())
    }

    /// The wall-clock time of a UTC instant in this zone.
    pub fn to_local(&self, instant: DateTime<Utc>) -> Option<NaiveDateTime> {
        let offset = match self {
            Zone::Utc => 0,
            Zone::Fixed(offset) => offset.local_minus_utc(),
            Zone::Iana(tz) => tz
                .offset_from_utc_datetime(&instant.naive_utc())
                .fix()
                .local_minus_utc(),
            Zone::Custom(zone) => zone.offset_at(instant.naive_utc()),
        };
        instant
            .naive_utc()
            .checked_add_signed(Duration::seconds(i64::from(offset)))
    }

    pub fn is_utc(&self) -> bool {
        matches!(self, Zone::Utc)
    }
}

/// A VTIMEZONE whose TZID matches no known zone: its observances, applied as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomZone {
    observances: Vec<Observance>,
}

#[derive(Debug, Clone, PartialEq)]
struct Observance {
    /// Local time (in `offset_from`) of the first onset.
    start: NaiveDateTime,
    offset_from: i32,
    offset_to: i32,
    /// Yearly onset: month and nth weekday (negative counts from the month's end).
    yearly: Option<(u32, i16, Weekday)>,
    /// Yearly onset on a fixed day of the month (rare).
    yearly_day: Option<(u32, u32)>,
}

impl CustomZone {
    /// Onsets (UTC) of every observance in the years around `year`, newest last.
    fn onsets(&self, year: i32) -> Vec<(NaiveDateTime, i32)> {
        let mut onsets = Vec::new();
        for obs in &self.observances {
            let first_utc = obs.start - Duration::seconds(i64::from(obs.offset_from));
            onsets.push((first_utc, obs.offset_to));
            for y in [year - 1, year] {
                let date = match (obs.yearly, obs.yearly_day) {
                    (Some((month, nth, weekday)), _) => nth_weekday(y, month, nth, weekday),
                    (None, Some((month, day))) => NaiveDate::from_ymd_opt(y, month, day),
                    _ => None,
                };
                if let Some(date) = date {
                    let local = date.and_time(obs.start.time());
                    let utc = local - Duration::seconds(i64::from(obs.offset_from));
                    if utc >= first_utc {
                        onsets.push((utc, obs.offset_to));
                    }
                }
            }
        }
        onsets.sort_by_key(|(at, _)| *at);
        onsets
    }

    fn offset_at(&self, utc: NaiveDateTime) -> i32 {
        let onsets = self.onsets(utc.year());
        onsets
            .iter()
            .rev()
            .find(|(at, _)| *at <= utc)
            .map(|(_, offset)| *offset)
            .or_else(|| self.observances.first().map(|obs| obs.offset_from))
            .unwrap_or(0)
    }

    fn offset_for_local(&self, local: NaiveDateTime) -> Option<i32> {
        let mut candidates: Vec<i32> = self
            .observances
            .iter()
            .flat_map(|obs| [obs.offset_from, obs.offset_to])
            .collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        candidates.dedup();
        // The largest matching offset is the earliest instant (RFC 5545: the first one).
        for offset in &candidates {
            let utc = local.checked_sub_signed(Duration::seconds(i64::from(*offset)))?;
            if self.offset_at(utc) == *offset {
                return Some(*offset);
            }
        }
        let before = local.checked_sub_signed(Duration::days(1))?;
        Some(self.offset_at(before))
    }
}

fn nth_weekday(year: i32, month: u32, nth: i16, weekday: Weekday) -> Option<NaiveDate> {
    if nth > 0 {
        NaiveDate::from_weekday_of_month_opt(year, month, weekday, u8::try_from(nth).ok()?)
    } else {
        let first_next = if month == 12 {
            NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        let last = first_next.pred_opt()?;
        let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        let last_wd = last - Duration::days(i64::from(back));
        last_wd.checked_sub_signed(Duration::weeks(i64::from(-nth - 1)))
    }
}

/// Resolves a zone name as feeds write it, without any VTIMEZONE.
pub fn resolve_name(name: &str) -> Option<Zone> {
    let name = name.trim().trim_matches('"');
    if name.eq_ignore_ascii_case("UTC") || name.eq_ignore_ascii_case("GMT") || name == "Z" {
        return Some(Zone::Utc);
    }
    if let Some(tz) = crate::config::resolve_timezone(name) {
        return Some(Zone::Iana(tz));
    }
    // Vendor prefixes: "/freeassociation.sourceforge.net/Tzfile/Europe/Berlin", "/mozilla.org/..."
    let segments: Vec<&str> = name.split('/').filter(|s| !s.is_empty()).collect();
    for take in [3usize, 2, 1] {
        if segments.len() >= take {
            let tail = segments[segments.len() - take..].join("/");
            if let Ok(tz) = tail.parse::<chrono_tz::Tz>() {
                return Some(Zone::Iana(tz));
            }
        }
    }
    match calcard::common::timezone::Tz::from_str(name) {
        Ok(tz) => from_calcard(tz),
        Err(()) => None,
    }
}

fn from_calcard(tz: calcard::common::timezone::Tz) -> Option<Zone> {
    match tz {
        calcard::common::timezone::Tz::Tz(tz) => Some(if tz == chrono_tz::UTC {
            Zone::Utc
        } else {
            Zone::Iana(tz)
        }),
        calcard::common::timezone::Tz::Fixed(offset) => Some(Zone::Fixed(offset)),
        calcard::common::timezone::Tz::Floating => None,
    }
}

/// The zones a feed defines in VTIMEZONE blocks, by TZID and by the VCALENDAR they are in:
/// an event reads a TZID with its own calendar's definition (the first one there), else with
/// the feed's first definition, else as a zone name.
#[derive(Debug, Default)]
pub struct ZoneTable {
    by_tzid: HashMap<String, Vec<(usize, Zone)>>,
}

impl ZoneTable {
    /// Adds the VTIMEZONEs of one parsed block (with their children) of calendar `calendar`.
    pub fn add_components(
        &mut self,
        calendar: usize,
        components: &[ICalendarComponent],
        warnings: &mut Vec<String>,
    ) {
        for component in components {
            if component.component_type != ICalendarComponentType::VTimezone {
                continue;
            }
            let Some(tzid) = text_of(component, &ICalendarProperty::Tzid) else {
                continue;
            };
            let zone = resolve_name(&tzid)
                .or_else(|| component.timezone().and_then(|(_, tz)| from_calcard(tz)))
                .or_else(|| custom_zone(component, components));
            let Some(zone) = zone else {
                continue;
            };
            let defined = self.by_tzid.entry(tzid.clone()).or_default();
            match defined.iter().find(|(c, _)| *c == calendar) {
                Some((_, first)) if *first != zone => warnings.push(format!(
                    "two VTIMEZONEs define TZID {tzid:?} differently in one calendar; the first is used"
                )),
                Some(_) => {}
                None => defined.push((calendar, zone)),
            }
        }
    }

    /// The zones as the events of calendar `calendar` see them.
    pub fn in_calendar(&self, calendar: usize) -> CalendarZones<'_> {
        CalendarZones {
            table: self,
            calendar,
        }
    }

    /// A TZID by its first definition in the feed, else as a zone name.
    pub fn resolve(&self, tzid: &str) -> Option<Zone> {
        self.in_calendar(usize::MAX).resolve(tzid)
    }
}

/// A [`ZoneTable`] seen from one VCALENDAR of the feed.
#[derive(Debug, Clone, Copy)]
pub struct CalendarZones<'a> {
    table: &'a ZoneTable,
    calendar: usize,
}

impl CalendarZones<'_> {
    pub fn resolve(&self, tzid: &str) -> Option<Zone> {
        let defined = self
            .table
            .by_tzid
            .get(tzid)
            .or_else(|| self.table.by_tzid.get(tzid.trim_matches('"')));
        defined
            .and_then(|list| {
                list.iter()
                    .find(|(c, _)| *c == self.calendar)
                    .or_else(|| list.first())
            })
            .map(|(_, zone)| zone.clone())
            .or_else(|| resolve_name(tzid))
    }
}

fn text_of(component: &ICalendarComponent, name: &ICalendarProperty) -> Option<String> {
    component
        .entries
        .iter()
        .find(|entry| &entry.name == name)
        .and_then(|entry| entry.values.first())
        .and_then(|value| match value {
            ICalendarValue::Text(text) => Some(text.clone()),
            _ => None,
        })
}

fn custom_zone(tz: &ICalendarComponent, all: &[ICalendarComponent]) -> Option<Zone> {
    let mut zone = CustomZone::default();
    for id in &tz.component_ids {
        let Some(child) = all.get(*id as usize) else {
            continue;
        };
        if !matches!(
            child.component_type,
            ICalendarComponentType::Standard | ICalendarComponentType::Daylight
        ) {
            continue;
        }
        let mut start = None;
        let mut offset_from = None;
        let mut offset_to = None;
        let mut yearly = None;
        let mut yearly_day = None;
        for entry in &child.entries {
            match (&entry.name, entry.values.first()) {
                (ICalendarProperty::Dtstart, Some(ICalendarValue::PartialDateTime(dt))) => {
                    start = dt.to_date_time().map(|dt| dt.date_time);
                }
                (ICalendarProperty::Tzoffsetfrom, Some(ICalendarValue::PartialDateTime(dt))) => {
                    offset_from = offset_seconds(dt);
                }
                (ICalendarProperty::Tzoffsetto, Some(ICalendarValue::PartialDateTime(dt))) => {
                    offset_to = offset_seconds(dt);
                }
                (ICalendarProperty::Rrule, Some(ICalendarValue::RecurrenceRule(rule))) => {
                    let month = rule.bymonth.first().map(|m| u32::from(m.month()));
                    match (month, rule.byday.first(), rule.bymonthday.first()) {
                        (Some(month), Some(day), _) => {
                            yearly = Some((month, day.ordwk.unwrap_or(1), day.weekday.into()));
                        }
                        (Some(month), None, Some(day)) if *day > 0 => {
                            yearly_day = Some((month, u32::try_from(*day).ok()?));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        if let (Some(start), Some(to)) = (start, offset_to) {
            zone.observances.push(Observance {
                start,
                offset_from: offset_from.unwrap_or(to),
                offset_to: to,
                yearly,
                yearly_day,
            });
        }
    }
    match zone.observances.len() {
        0 => None,
        1 => FixedOffset::east_opt(zone.observances[0].offset_to).map(Zone::Fixed),
        _ => Some(Zone::Custom(Arc::new(zone))),
    }
}

fn offset_seconds(dt: &calcard::common::PartialDateTime) -> Option<i32> {
    let hours = i32::from(dt.tz_hour?);
    let minutes = i32::from(dt.tz_minute.unwrap_or(0));
    let seconds = hours * 3600 + minutes * 60;
    Some(if dt.tz_minus { -seconds } else { seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn spring_forward_gap_uses_the_offset_before_the_gap() {
        let zone = resolve_name("Europe/Stockholm").unwrap();
        // 02:30 does not exist on 2025-03-30; read with +01:00 it is 01:30 UTC.
        let utc = zone.to_utc(naive("2025-03-30 02:30")).unwrap();
        assert_eq!(utc.to_rfc3339(), "2025-03-30T01:30:00+00:00");
    }

    #[test]
    fn fall_back_ambiguity_takes_the_first_instant() {
        let zone = resolve_name("Europe/Stockholm").unwrap();
        let utc = zone.to_utc(naive("2025-10-26 02:30")).unwrap();
        assert_eq!(utc.to_rfc3339(), "2025-10-26T00:30:00+00:00");
    }

    #[test]
    fn names_from_several_vendors_resolve() {
        for name in [
            "W. Europe Standard Time",
            "/freeassociation.sourceforge.net/Tzfile/Europe/Berlin",
            "/mozilla.org/20050126_1/America/New_York",
            "\"Europe/Paris\"",
        ] {
            assert!(resolve_name(name).is_some(), "{name}");
        }
        assert!(resolve_name("Nowhere/Special").is_none());
    }

    #[test]
    fn nth_weekday_from_either_end() {
        assert_eq!(
            nth_weekday(2025, 3, -1, Weekday::Sun),
            NaiveDate::from_ymd_opt(2025, 3, 30)
        );
        assert_eq!(
            nth_weekday(2025, 11, 1, Weekday::Sun),
            NaiveDate::from_ymd_opt(2025, 11, 2)
        );
    }
}
