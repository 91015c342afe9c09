//! The JSON array `flexysync feed occurrences` prints, written straight to the output: no JSON
//! tree, times formatted digit by digit (on a 20,000-event feed this was a quarter of the run).

use std::sync::Arc;

use chrono::NaiveDate;

use super::event::Status;
use super::expand::{Occurrence, OccurrenceSink, When};
use super::stamp::Stamp;

/// The JSON array `feed occurrences` prints: one object per line, keys in the order of
/// those of a `serde_json` object (sorted), written without building a JSON tree.
pub fn write_occurrences(
    out: &mut impl std::io::Write,
    found: &[Occurrence],
) -> std::io::Result<()> {
    write_array(
        out,
        found.iter().map(|occ| Fields {
            all_day: occ.all_day,
            end: Stamp::of(occ.end),
            floating: occ.floating,
            recurrence_id: occ.recurrence_id.map(Stamp::of),
            start: Stamp::of(occ.start),
            status: occ.status,
            summary: occ.summary.as_deref(),
            uid: &occ.uid,
        }),
    )
}

/// One printed object.
struct Fields<'a> {
    all_day: bool,
    end: Stamp,
    floating: bool,
    recurrence_id: Option<Stamp>,
    start: Stamp,
    status: Option<Status>,
    summary: Option<&'a str>,
    uid: &'a str,
}

fn write_array<'a>(
    out: &mut impl std::io::Write,
    objects: impl Iterator<Item = Fields<'a>>,
) -> std::io::Result<()> {
    let mut line: Vec<u8> = Vec::with_capacity(512);
    let mut empty = true;
    out.write_all(b"[")?;
    for fields in objects {
        line.clear();
        line.extend_from_slice(if empty { b"\n  " } else { b",\n  " });
        empty = false;
        object(&fields, &mut line)?;
        out.write_all(&line)?;
    }
    out.write_all(if empty { b"]\n" } else { b"\n]\n" })?;
    out.flush()
}

fn object(fields: &Fields<'_>, line: &mut Vec<u8>) -> std::io::Result<()> {
    let flag = |on: bool| if on { &b"true"[..] } else { &b"false"[..] };
    line.extend_from_slice(b"{\"all_day\":");
    line.extend_from_slice(flag(fields.all_day));
    line.extend_from_slice(b",\"end\":\"");
    fields.end.write_to(line);
    line.extend_from_slice(b"\",\"floating\":");
    line.extend_from_slice(flag(fields.floating));
    line.extend_from_slice(b",\"recurrence_id\":");
    match fields.recurrence_id {
        Some(rid) => {
            line.push(b'"');
            rid.write_to(line);
            line.push(b'"');
        }
        None => line.extend_from_slice(b"null"),
    }
    line.extend_from_slice(b",\"start\":\"");
    fields.start.write_to(line);
    line.extend_from_slice(b"\",\"status\":");
    serde_json::to_writer(&mut *line, &fields.status)?;
    line.extend_from_slice(b",\"summary\":");
    serde_json::to_writer(&mut *line, &fields.summary)?;
    line.extend_from_slice(b",\"uid\":");
    serde_json::to_writer(&mut *line, fields.uid)?;
    line.push(b'}');
    Ok(())
}

/// Occurrences held for printing: a row of plain numbers each (40 bytes), an event's texts
/// once however many occurrences it has, in one string, no description or attendees (not
/// printed). Sorted as [`super::expand::sort_occurrences`] sorts.
#[derive(Debug, Default)]
pub struct Listing {
    rows: Vec<Row>,
    events: Vec<EventText>,
    /// Every event's UID, each followed by its summary.
    texts: String,
    /// The last event's shared texts, to tell whether the next occurrence is of the same one.
    last: Option<Shared>,
}

/// An event's texts as its occurrences share them.
type Shared = (Arc<str>, Option<Arc<str>>, Option<Status>);

#[derive(Debug)]
struct EventText {
    /// Where the UID begins in `texts`; the summary follows it.
    at: usize,
    uid_len: u32,
    /// `u32::MAX` for none.
    summary_len: u32,
    status: Option<Status>,
}

/// An instant start or end is its UTC bound (as `expand` makes them), in whole seconds (every
/// value is read to the second); a date is kept as days from CE.
#[derive(Debug, Clone, Copy)]
struct Row {
    start_utc: i64,
    end_utc: i64,
    recurrence_id: i64,
    start_day: i32,
    end_day: i32,
    event: u32,
    flags: u8,
}

const START_DATE: u8 = 1;
const END_DATE: u8 = 2;
const RID_DATE: u8 = 4;
const RID_INSTANT: u8 = 8;
const ALL_DAY: u8 = 16;
const FLOATING: u8 = 32;
const NO_SUMMARY: u32 = u32::MAX;

fn days(date: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date)
}

impl Listing {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The JSON array [`write_occurrences`] prints for the same occurrences.
    pub fn write_json(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        write_array(out, self.rows.iter().map(|row| self.fields(row)))
    }

    fn uid(&self, event: &EventText) -> &str {
        self.texts
            .get(event.at..event.at + event.uid_len as usize)
            .unwrap_or_default()
    }

    fn summary(&self, event: &EventText) -> Option<&str> {
        if event.summary_len == NO_SUMMARY {
            return None;
        }
        let at = event.at + event.uid_len as usize;
        self.texts.get(at..at + event.summary_len as usize)
    }

    fn fields(&self, row: &Row) -> Fields<'_> {
        let event = &self.events[row.event as usize];
        let on = |bit: u8| row.flags & bit != 0;
        let recurrence_id = if on(RID_DATE) {
            i32::try_from(row.recurrence_id).ok().map(Stamp::Day)
        } else if on(RID_INSTANT) {
            Some(Stamp::Second(row.recurrence_id))
        } else {
            None
        };
        Fields {
            all_day: on(ALL_DAY),
            end: if on(END_DATE) {
                Stamp::Day(row.end_day)
            } else {
                Stamp::Second(row.end_utc)
            },
            floating: on(FLOATING),
            recurrence_id,
            start: if on(START_DATE) {
                Stamp::Day(row.start_day)
            } else {
                Stamp::Second(row.start_utc)
            },
            status: event.status,
            summary: self.summary(event),
            uid: self.uid(event),
        }
    }

    /// Gives back the room grown for occurrences that never came (a chunk's listing waits
    /// for the others to be joined).
    pub(super) fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
        self.events.shrink_to_fit();
        self.texts.shrink_to_fit();
    }

    /// Adds `other`'s occurrences after this listing's own (as if pushed in that order).
    pub(super) fn append(&mut self, other: Listing) {
        if self.rows.is_empty() && self.events.is_empty() {
            // Taken over, not copied: growing it later moves no pages (peak memory).
            *self = other;
            return;
        }
        let first_event = u32::try_from(self.events.len()).unwrap_or(u32::MAX);
        let text_at = self.texts.len();
        self.texts.push_str(&other.texts);
        self.events
            .extend(other.events.into_iter().map(|event| EventText {
                at: event.at + text_at,
                ..event
            }));
        self.rows.extend(other.rows.into_iter().map(|row| Row {
            event: row.event + first_event,
            ..row
        }));
        self.last = other.last;
    }

    pub(super) fn sort(&mut self) {
        // UIDs ranked once, so that rows compare as plain numbers.
        let mut by_uid: Vec<u32> = (0..self.events.len())
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        let uid = |i: u32| self.uid(&self.events[i as usize]);
        by_uid.sort_unstable_by(|a, b| uid(*a).cmp(uid(*b)));
        let mut rank = vec![0u32; self.events.len()];
        let mut current = 0u32;
        for (at, event) in by_uid.iter().enumerate() {
            if at > 0 && uid(by_uid[at - 1]) != uid(*event) {
                current += 1;
            }
            rank[*event as usize] = current;
        }
        // No recurrence id, then dates, then instants: the order of `Option<When>`.
        let rid_kind = |row: &Row| match row.flags & (RID_DATE | RID_INSTANT) {
            0 => 0u8,
            RID_DATE => 1,
            _ => 2,
        };
        self.rows.sort_unstable_by_key(|row| {
            (
                row.start_utc,
                rank[row.event as usize],
                rid_kind(row),
                row.recurrence_id,
                row.end_utc,
            )
        });
    }

    /// The event's texts, shared with the previous occurrence's when they are the same.
    fn event_of(&mut self, occ: &Occurrence) -> u32 {
        let same = self.last.as_ref().is_some_and(|(uid, summary, status)| {
            Arc::ptr_eq(uid, &occ.uid)
                && match (summary, &occ.summary) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (None, None) => true,
                    _ => false,
                }
                && *status == occ.status
        });
        if !same {
            let at = self.texts.len();
            self.texts.push_str(&occ.uid);
            let summary_len = match &occ.summary {
                Some(summary) => {
                    self.texts.push_str(summary);
                    u32::try_from(summary.len()).unwrap_or(NO_SUMMARY - 1)
                }
                None => NO_SUMMARY,
            };
            self.events.push(EventText {
                at,
                uid_len: u32::try_from(occ.uid.len()).unwrap_or(u32::MAX),
                summary_len,
                status: occ.status,
            });
            self.last = Some((occ.uid.clone(), occ.summary.clone(), occ.status));
        }
        u32::try_from(self.events.len() - 1).unwrap_or(u32::MAX)
    }
}

impl OccurrenceSink for Listing {
    fn push(&mut self, occ: Occurrence) {
        let event = self.event_of(&occ);
        let bit = |on: bool, flag: u8| if on { flag } else { 0 };
        let (start_day, start_date) = match occ.start {
            When::Date(d) => (days(d), START_DATE),
            When::Instant(_) => (0, 0),
        };
        let (end_day, end_date) = match occ.end {
            When::Date(d) => (days(d), END_DATE),
            When::Instant(_) => (0, 0),
        };
        let (recurrence_id, rid_flag) = match occ.recurrence_id {
            Some(When::Date(d)) => (i64::from(days(d)), RID_DATE),
            Some(When::Instant(at)) => (at.timestamp(), RID_INSTANT),
            None => (0, 0),
        };
        self.rows.push(Row {
            start_utc: occ.start_utc.timestamp(),
            end_utc: occ.end_utc.timestamp(),
            recurrence_id,
            start_day,
            end_day,
            event,
            flags: start_date
                | end_date
                | rid_flag
                | bit(occ.all_day, ALL_DAY)
                | bit(occ.floating, FLOATING),
        });
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn detail(&self) -> super::scan::Detail {
        super::scan::Detail::Listing
    }

    fn truncate(&mut self, len: usize) {
        self.rows.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ical::{Status, When};
    use chrono::{DateTime, NaiveDate, Utc};
    use serde_json::json;

    /// The exact shape other calendar libraries are checked against (the reference the fast
    /// writer is tested against).
    fn occurrence_json(occ: &Occurrence) -> serde_json::Value {
        json!({
            "uid": occ.uid,
            "recurrence_id": occ.recurrence_id.map(|r| r.to_string()),
            "start": occ.start.to_string(),
            "end": occ.end.to_string(),
            "all_day": occ.all_day,
            "floating": occ.floating,
            "summary": occ.summary,
            "status": occ.status,
        })
    }

    /// The compact listing prints exactly what the full list prints, on every fixture and
    /// corpus calendar, in a window wide enough to hold their occurrences.
    #[test]
    fn the_listing_prints_what_the_full_list_prints() {
        use crate::sources::ical::{
            OccurrenceQuery, Zone, occurrence_listing, occurrences_from_text,
        };
        let files = crate::sources::ical::test_support::calendar_files(&[
            "tests/fixtures/ical",
            "../shared/corpus/ical",
        ]);
        assert!(!files.is_empty());
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("instant")
                .with_timezone(&Utc)
        };
        let query = OccurrenceQuery {
            floating: Zone::Iana(chrono_tz::Europe::Stockholm),
            window_start: at("1995-01-01T00:00:00Z"),
            window_end: at("2031-01-01T00:00:00Z"),
        };
        let mut printed = 0;
        for file in &files {
            let bytes = std::fs::read(file).expect("calendar");
            let (found, warnings) = occurrences_from_text(&bytes, &query);
            let (listing, listed_warnings) = occurrence_listing(&bytes, &query);
            assert_eq!(warnings, listed_warnings, "{}", file.display());
            assert_eq!(listing.len(), found.len(), "{}", file.display());
            let (mut full, mut compact) = (Vec::new(), Vec::new());
            write_occurrences(&mut full, &found).expect("written");
            listing.write_json(&mut compact).expect("written");
            assert_eq!(
                String::from_utf8(compact).expect("utf-8"),
                String::from_utf8(full).expect("utf-8"),
                "{}",
                file.display()
            );
            printed += found.len();
        }
        assert!(printed > 100, "only {printed} occurrences compared");
    }

    #[test]
    fn the_fast_writer_prints_what_serde_json_prints() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("test instant")
                .with_timezone(&Utc)
        };
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date");
        let timed = Occurrence {
            uid: "a\"b\\c\u{1}é".into(),
            recurrence_id: Some(When::Instant(at("2025-03-07T09:05:01Z"))),
            start: When::Instant(at("0999-12-31T23:59:59Z")),
            end: When::Instant(at("2025-03-07T10:00:00Z")),
            all_day: false,
            floating: true,
            summary: Some("line\nbreak\ttab".into()),
            description: None,
            status: Some(Status::Cancelled),
            attendees: Vec::new().into(),
            start_utc: at("2025-03-07T09:05:01Z"),
            end_utc: at("2025-03-07T10:00:00Z"),
        };
        let all_day = Occurrence {
            recurrence_id: None,
            start: When::Date(date("2025-01-09")),
            end: When::Date(date("2025-01-10")),
            all_day: true,
            floating: false,
            summary: None,
            status: None,
            ..timed.clone()
        };
        let list = [timed, all_day];
        let mut fast = Vec::new();
        write_occurrences(&mut fast, &list).expect("written");
        let reference: Vec<String> = list
            .iter()
            .map(|o| serde_json::to_string(&occurrence_json(o)).expect("json"))
            .collect();
        let expected = format!("[\n  {}\n]\n", reference.join(",\n  "));
        assert_eq!(String::from_utf8(fast).expect("utf-8"), expected);
    }
}
