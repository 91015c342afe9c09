//! A VEVENT's date properties (DTSTART, DTEND, RECURRENCE-ID, RDATE, EXDATE) and RRULE, read
//! from its own lines. Every repair warns with what was assumed: a value's own type wins over
//! a contradicting `VALUE=` parameter, a floating end is read in the start's zone (and a
//! floating start in the end's), and only an end of the start's own kind is ever swapped.

use std::borrow::Cow;

use chrono::{NaiveTime, Utc};

use super::event::{Clock, Component, EndSpec, Moment, RDate};
use super::lines::{ContentLine, content_lines};
use super::rule_text::{RuleRefusal, parse_rule};
use super::value::{Written, parse_date_or_time, parse_duration};
use super::zone::{CalendarZones, Zone};

pub const DATE_PROPERTIES: [&str; 6] = [
    "DTSTART",
    "DTEND",
    "RECURRENCE-ID",
    "RDATE",
    "EXDATE",
    "RRULE",
];

/// What the date lines give besides what is stored on the component directly.
pub struct Dated {
    pub start: Option<Moment>,
    pub end: Option<Moment>,
    /// A non-Gregorian RSCALE: the series must be refused.
    pub refused_rscale: Option<String>,
}

type Tag<'a> = &'a dyn Fn(&str) -> String;

/// The date lines of a block, as [`read`] takes them.
pub fn date_lines(block: &str) -> Vec<ContentLine<'_>> {
    content_lines(block, &DATE_PROPERTIES)
}

/// Reads a block's date lines into `out` (RRULE, RDATE, EXDATE, RECURRENCE-ID).
pub fn read(
    lines: Vec<ContentLine<'_>>,
    zones: &CalendarZones<'_>,
    at: Tag<'_>,
    warnings: &mut Vec<String>,
    out: &mut Component,
) -> Dated {
    let mut dated = Dated {
        start: None,
        end: None,
        refused_rscale: None,
    };
    let zones = &mut Tzids {
        zones: *zones,
        last: None,
    };
    for line in &lines {
        let name = line.name;
        match name {
            "DTSTART" | "DTEND" | "RECURRENCE-ID" => {
                let moment = match moment_of(line, &line.value, zones, at, warnings) {
                    Ok(m) => m,
                    Err(why) => {
                        let what = if name == "DTSTART" { "" } else { "; ignored" };
                        warnings.push(at(&format!("{name} {why}{what}")));
                        continue;
                    }
                };
                match name {
                    "DTSTART" if dated.start.is_some() => {
                        warnings.push(at("a second DTSTART was ignored"));
                    }
                    "DTSTART" => dated.start = Some(moment),
                    "DTEND" => dated.end = Some(moment),
                    _ => {
                        out.this_and_future = line
                            .param("RANGE")
                            .is_some_and(|r| r.eq_ignore_ascii_case("THISANDFUTURE"));
                        out.recurrence_id = Some(moment);
                    }
                }
            }
            "RDATE" => read_rdates(line, zones, at, warnings, out),
            "EXDATE" => {
                for item in line.value.split(',').filter(|v| !v.trim().is_empty()) {
                    match moment_of(line, item, zones, at, warnings) {
                        Ok(m) => out.exdates.push(m),
                        Err(why) => warnings.push(at(&format!("EXDATE {why}; ignored"))),
                    }
                }
            }
            _ => read_rule(line, at, warnings, out, &mut dated),
        }
    }
    dated
}

/// The block's zones, with the last TZID looked up remembered (DTSTART and DTEND, EXDATE and
/// RECURRENCE-ID mostly name the same one).
struct Tzids<'l, 'z> {
    zones: CalendarZones<'z>,
    last: Option<(Cow<'l, str>, Option<Zone>)>,
}

impl<'l> Tzids<'l, '_> {
    fn resolve(&mut self, tzid: Cow<'l, str>) -> Option<Zone> {
        if let Some((name, zone)) = &self.last
            && *name == tzid
        {
            return zone.clone();
        }
        let zone = self.zones.resolve(&tzid);
        self.last = Some((tzid, zone.clone()));
        zone
    }
}

fn read_rule(
    line: &ContentLine,
    at: Tag<'_>,
    warnings: &mut Vec<String>,
    out: &mut Component,
    dated: &mut Dated,
) {
    let mut repairs = Vec::new();
    let parsed = parse_rule(&line.value, &mut repairs);
    for repair in repairs {
        warnings.push(at(&repair));
    }
    match parsed {
        Ok(rule) => out.rrules.push(rule),
        Err(RuleRefusal::CountZero) => warnings.push(at("RRULE with COUNT=0 ignored")),
        Err(RuleRefusal::Unreadable(why)) => warnings.push(at(&format!(
            "RRULE could not be read ({why}); only DTSTART and RDATE count"
        ))),
        Err(RuleRefusal::Rscale(scale)) => dated.refused_rscale = Some(scale),
    }
}

fn read_rdates<'l>(
    line: &'l ContentLine,
    zones: &mut Tzids<'l, '_>,
    at: Tag<'_>,
    warnings: &mut Vec<String>,
    out: &mut Component,
) {
    for item in line.value.split(',').filter(|v| !v.trim().is_empty()) {
        let rdate = match item.split_once('/') {
            None => {
                moment_of(line, item, zones, at, warnings).map(|start| RDate { start, end: None })
            }
            Some((first, second)) => {
                moment_of(line, first, zones, at, warnings).and_then(|start| {
                    let end = match parse_duration(second) {
                        Some(duration) => super::event::span(&duration).map(EndSpec::For),
                        None => moment_of(line, second, zones, at, warnings)
                            .ok()
                            .map(EndSpec::At),
                    };
                    match end {
                        Some(end) => Ok(RDate {
                            start,
                            end: Some(end),
                        }),
                        None => Err("period has no readable end".to_owned()),
                    }
                })
            }
        };
        match rdate {
            Ok(rdate) => out.rdates.push(rdate),
            Err(why) => warnings.push(at(&format!("RDATE {why}; ignored"))),
        }
    }
}

/// One value of a date line, in its own type (a `VALUE=` parameter that contradicts the value
/// is reported and overruled) and zone.
fn moment_of<'l>(
    line: &'l ContentLine,
    item: &str,
    zones: &mut Tzids<'l, '_>,
    at: Tag<'_>,
    warnings: &mut Vec<String>,
) -> Result<Moment, String> {
    let name = &line.name;
    let mut repairs = Vec::new();
    let written = parse_date_or_time(item, &mut repairs)
        .ok_or_else(|| format!("{:?} is not a date or date-time", item.trim()))?;
    for repair in repairs {
        warnings.push(at(&format!("{name} {repair}")));
    }
    let declared = line.param("VALUE");
    let says = |kind: &str| {
        declared
            .as_deref()
            .is_some_and(|value| value.eq_ignore_ascii_case(kind))
    };
    let tzid = line.param("TZID");
    match written {
        Written::Date(_) if says("DATE-TIME") => warnings.push(at(&format!(
            "{name} says VALUE=DATE-TIME but holds a date; read as a date (all day)"
        ))),
        Written::Local(_) | Written::Utc(_) if says("DATE") => warnings.push(at(&format!(
            "{name} says VALUE=DATE but holds a time; read as a date-time"
        ))),
        _ => {}
    }
    Ok(match written {
        Written::Date(date) => Moment {
            naive: date.and_time(NaiveTime::MIN),
            clock: Clock::Date,
        },
        Written::Utc(naive) => {
            if let Some(tzid) = tzid {
                warnings.push(at(&format!(
                    "{name} has TZID={tzid} and a UTC time; read as UTC"
                )));
            }
            Moment {
                naive,
                clock: Clock::Zoned(Zone::Utc),
            }
        }
        Written::Local(naive) => {
            let clock = match tzid {
                None => Clock::Floating,
                Some(tzid) => match zones.resolve(tzid.clone()) {
                    Some(zone) => Clock::Zoned(zone),
                    None => {
                        // An unknown zone: read like a floating time rather than lose the event.
                        warnings.push(at(&format!(
                            "{name} TZID {tzid:?} is not a known zone; its times are read as floating"
                        )));
                        Clock::Floating
                    }
                },
            };
            Moment { naive, clock }
        }
    })
}

/// DTEND brought to DTSTART's kind, each repair with a warning. A floating end is read in the
/// start's zone, and a floating start in the end's zone (the start never moves to the end's
/// place). An end before a start of the same kind is swapped with it (as other readers do);
/// one of another kind is dropped.
pub fn fit_end(
    start: &mut Moment,
    end: Moment,
    at: Tag<'_>,
    warnings: &mut Vec<String>,
) -> Option<Moment> {
    let mut same_kind = true;
    let end = match (&start.clock, &end.clock) {
        (Clock::Date, Clock::Date) => end,
        (Clock::Date, _) => {
            // A DATE-TIME end on an all-day event: the day it falls in, rounded up.
            let mut date = end.naive.date();
            if end.naive.time() != NaiveTime::MIN {
                date = date.succ_opt()?;
            }
            warnings.push(at(&format!(
                "DTEND is a date-time on an all-day event; read as the date {date}"
            )));
            Moment {
                naive: date.and_time(NaiveTime::MIN),
                clock: Clock::Date,
            }
        }
        (_, Clock::Date) => {
            warnings.push(at(
                "DTEND is a date on a timed event; read as midnight in DTSTART's zone",
            ));
            Moment {
                naive: end.naive,
                clock: start.clock.clone(),
            }
        }
        (Clock::Zoned(_), Clock::Floating) => {
            same_kind = false;
            warnings.push(at("DTEND is floating; read in DTSTART's zone"));
            Moment {
                naive: end.naive,
                clock: start.clock.clone(),
            }
        }
        (Clock::Floating, Clock::Zoned(_)) => {
            same_kind = false;
            warnings.push(at(
                "DTSTART is floating and DTEND is not; DTSTART is read in DTEND's zone",
            ));
            start.clock = end.clock.clone();
            end
        }
        _ => end,
    };
    let instant = |m: &Moment| -> Option<chrono::DateTime<Utc>> { m.to_utc(&Zone::Utc) };
    match (instant(start), instant(&end)) {
        (Some(s), Some(e)) if e < s => {
            if same_kind {
                warnings.push(at("DTEND is before DTSTART; the two were swapped"));
                Some(std::mem::replace(start, end))
            } else {
                warnings.push(at("DTEND is before DTSTART; DTEND ignored"));
                None
            }
        }
        _ => Some(end),
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::{EndSpec, parse_block};
    use super::super::scan::Detail;
    use super::super::text::Block;
    use super::super::zone::ZoneTable;
    use super::*;

    fn zone_of(moment: &Moment) -> Option<Zone> {
        match &moment.clock {
            Clock::Zoned(zone) => Some(zone.clone()),
            _ => None,
        }
    }

    /// Each value is read in its own TZID, though a block's last TZID is remembered.
    #[test]
    fn each_value_is_read_in_its_own_tzid() {
        let text = "BEGIN:VEVENT\r\nUID:z\r\nDTSTART;TZID=Europe/Oslo:20240301T100000\r\n\
            DTEND;TZID=\"America/New_York\":20240301T100000\r\n\
            EXDATE;TZID=America/New_York:20240302T100000\r\n\
            EXDATE;TZID=Europe/Oslo:20240303T100000\r\nRRULE:FREQ=DAILY;COUNT=3\r\n\
            END:VEVENT\r\n";
        let block = Block {
            text,
            line: 1,
            calendar: 0,
        };
        let mut warnings = Vec::new();
        let event =
            parse_block(&block, &ZoneTable::default(), Detail::Full, &mut warnings).expect("read");
        let (oslo, new_york) = (
            Some(Zone::Iana(chrono_tz::Europe::Oslo)),
            Some(Zone::Iana(chrono_tz::America::New_York)),
        );
        assert_eq!(zone_of(&event.start), oslo);
        let Some(EndSpec::At(end)) = &event.end else {
            panic!("an end: {:?}", event.end)
        };
        assert_eq!(zone_of(end), new_york);
        let exdates: Vec<_> = event.exdates.iter().map(zone_of).collect();
        assert_eq!(exdates, [new_york, oslo]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}
