//! iCalendar feeds: bytes → components (calcard, one block at a time) → occurrences in a
//! window → reservations (the source's rules).
//!
//! Broken input: nothing fails the whole feed. Each case is skipped or repaired with a warning
//! naming the UID and the line where its VEVENT begins:
//! - invalid UTF-8 is replaced, NUL bytes dropped, a UTF-8 or UTF-16 BOM honoured;
//! - a VEVENT without END:VEVENT ends where the next block begins;
//! - no UID: a stable one is made from the block's content; no readable DTSTART: skipped
//!   (an override falls back to its RECURRENCE-ID); a second DTSTART is ignored;
//! - DTEND before DTSTART: swapped; DTEND of another value type: converted to DTSTART's;
//! - a negative or absurd DURATION (`P999999999999999999W`) is ignored (checked arithmetic);
//! - an unreadable RRULE (COUNT=-1, typos) keeps DTSTART and RDATE only; COUNT=0 is ignored;
//! - an unknown TZID is read as floating; UNTIL before DTSTART leaves DTSTART alone;
//! - an override whose RECURRENCE-ID is no occurrence of its series is dropped; overrides
//!   without a series stand alone.
//!
//! Times: floating values are read in X-WR-TIMEZONE, else the caller's zone; a UTC DTSTART
//! with an RRULE repeats on the wall clock of X-WR-TIMEZONE when there is one; a local time in
//! a spring-forward gap takes the offset before the gap, an ambiguous one the first instant.
//! An all-day series with a UTC UNTIL (Outlook) counts the day UNTIL falls on in the calendar's
//! zone (rounded to the nearest day when the zone is UTC).

mod codes;
mod event;
mod expand;
mod rrule;
mod rules;
mod text;
mod zone;

pub use codes::{derive_code, is_trivial_code};
pub use event::Status;
pub use expand::{Occurrence, When};
pub use rules::{Preview, Skipped};
pub use text::looks_like_calendar;
pub use zone::{Zone, resolve_name as resolve_zone};

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::config::SourceConfig;
use event::Component;
use expand::ExpandOptions;

/// RRULE iterations per series, occurrences per series in the window, and in all.
pub const MAX_ITERATIONS: usize = 50_000;
pub const MAX_PER_SERIES: usize = 5_000;
pub const MAX_OCCURRENCES: usize = 200_000;

/// What expansion needs to know besides the text.
#[derive(Debug, Clone)]
pub struct OccurrenceQuery {
    /// Floating times and DATE values are read in this zone.
    pub floating: Zone,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
}

/// Parses and expands a whole feed, one UID group at a time (peak memory stays near the size
/// of the text plus the occurrences). `floating` chooses the zone of floating times and dates
/// from the calendar's X-WR-TIMEZONE. Never fails: what cannot be read is skipped with a
/// warning. The third value says why the result may lack events of the feed (no
/// `END:VCALENDAR`: cut off in transit; the occurrence cap cut the rest), so that a reader
/// treats it as unknown rather than as the whole truth. `unreadable` receives the UID (when
/// one can be found) of every VEVENT that could not be read at all.
pub fn expand_feed(
    bytes: &[u8],
    floating: impl FnOnce(Option<&Zone>) -> Zone,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    warnings: &mut Vec<String>,
    unreadable: &mut Vec<Option<String>>,
) -> (Vec<Occurrence>, Zone, Option<String>) {
    let text = text::decode(bytes, warnings);
    let blocks = text::split(&text, warnings);
    let mut incomplete = (!blocks.ended)
        .then(|| "the feed ends without END:VCALENDAR (cut off in transit?)".to_owned());
    let zones = zone_table(&blocks, warnings);
    let x_wr_timezone = blocks.x_wr_timezone.as_deref().and_then(|name| {
        let zone = zones.resolve(name);
        if zone.is_none() {
            warnings.push(format!(
                "X-WR-TIMEZONE {name:?} is not a known zone; ignored"
            ));
        }
        zone
    });
    let floating = floating(x_wr_timezone.as_ref());
    // Block indices by UID, in the order each UID first appears.
    let mut groups: HashMap<String, usize> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (index, block) in blocks.events.iter().enumerate() {
        let key = text::quick_uid(block.text).unwrap_or_else(|| format!("\u{0}block-{index}"));
        let slot = *groups.entry(key).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[slot].push(index);
    }
    drop(groups);
    let opts = ExpandOptions {
        floating: floating.clone(),
        x_wr_timezone,
        window_start,
        window_end,
        max_per_series: MAX_PER_SERIES,
        max_iterations: MAX_ITERATIONS,
        max_total: MAX_OCCURRENCES,
    };
    let mut out = Vec::new();
    for group in members {
        let mut components: Vec<Component> = Vec::with_capacity(group.len());
        for block in group.iter().filter_map(|i| blocks.events.get(*i)) {
            match event::parse_block(block, &zones, warnings) {
                Some(component) => components.push(component),
                None => unreadable.push(text::quick_uid(block.text)),
            }
        }
        // A block whose UID the quick scan misread still groups by its parsed UID.
        let mut by_uid: Vec<(std::sync::Arc<str>, Vec<Component>)> = Vec::new();
        for component in components {
            match by_uid.iter_mut().find(|(uid, _)| *uid == component.uid) {
                Some((_, list)) => list.push(component),
                None => by_uid.push((component.uid.clone(), vec![component])),
            }
        }
        for (_, list) in by_uid {
            expand::expand_group(list, &opts, warnings, &mut out);
        }
        if out.len() > opts.max_total {
            out.truncate(opts.max_total);
            let reason = format!(
                "more than {} occurrences in the window: the rest of the calendar was cut",
                opts.max_total
            );
            warnings.push(reason.clone());
            incomplete = Some(reason);
            break;
        }
    }
    expand::sort_occurrences(&mut out);
    (out, floating, incomplete)
}

fn zone_table(blocks: &text::Blocks<'_>, warnings: &mut Vec<String>) -> zone::ZoneTable {
    if blocks.timezones.is_empty() {
        return zone::ZoneTable::default();
    }
    let mut calendar = String::from("BEGIN:VCALENDAR\r\n");
    for block in &blocks.timezones {
        calendar.push_str(block.text);
        if !block.text.ends_with('\n') {
            calendar.push_str("\r\n");
        }
    }
    calendar.push_str("END:VCALENDAR\r\n");
    match calcard::Parser::new(&calendar).entry() {
        calcard::Entry::ICalendar(parsed) => zone::ZoneTable::from_components(&parsed.components),
        _ => {
            warnings.push("the feed's VTIMEZONE blocks could not be read".to_owned());
            zone::ZoneTable::default()
        }
    }
}

/// Occurrences of a feed's text in a window (the `feed occurrences` command). Floating times
/// are read in the calendar's X-WR-TIMEZONE when it has one, else in `query.floating`.
pub fn occurrences_from_text(
    bytes: &[u8],
    query: &OccurrenceQuery,
) -> (Vec<Occurrence>, Vec<String>) {
    let mut warnings = Vec::new();
    let (occurrences, _, _) = expand_feed(
        bytes,
        |_| query.floating.clone(),
        query.window_start,
        query.window_end,
        &mut warnings,
        &mut Vec::new(),
    );
    (occurrences, warnings)
}

/// What turning a feed into reservations needs besides the source's own config.
#[derive(Debug, Clone)]
pub struct RuleContext<'a> {
    pub now: DateTime<Utc>,
    pub horizon_days: u32,
    /// The zone of the object's unit, used when the source names none.
    pub default_timezone: Option<chrono_tz::Tz>,
    pub code_secret: &'a [u8],
    /// Overrides the default window [now − 1 day, now + horizon_days].
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl RuleContext<'_> {
    pub fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        self.window.unwrap_or_else(|| {
            let start = self.now - Duration::days(1);
            let end = self
                .now
                .checked_add_signed(Duration::days(i64::from(self.horizon_days)))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            (start, end)
        })
    }
}

/// The zone a source's floating times, dates and check-in times are read in: the source's own,
/// else the calendar's X-WR-TIMEZONE, else the unit's, else UTC.
pub fn source_zone(
    source: &SourceConfig,
    x_wr_timezone: Option<&Zone>,
    ctx: &RuleContext<'_>,
) -> Zone {
    if let Some(tz) = &source.timezone {
        return Zone::Iana(tz.0);
    }
    if let Some(zone) = x_wr_timezone {
        return zone.clone();
    }
    match ctx.default_timezone {
        Some(tz) => Zone::Iana(tz),
        None => Zone::Utc,
    }
}

/// True when the source's times need the unit's zone and it is not known: no `timezone` on
/// the source, no X-WR-TIMEZONE in the calendar, no zone from the unit.
fn zone_missing(
    source: &SourceConfig,
    x_wr_timezone: Option<&Zone>,
    ctx: &RuleContext<'_>,
) -> bool {
    source.timezone.is_none() && x_wr_timezone.is_none() && ctx.default_timezone.is_none()
}

/// Every reservation the feed yields for this source, with what was skipped and why.
pub fn preview_from_bytes(bytes: &[u8], source: &SourceConfig, ctx: &RuleContext<'_>) -> Preview {
    let mut warnings = Vec::new();
    let (window_start, window_end) = ctx.window();
    let mut unreadable = Vec::new();
    let mut missing = false;
    let (occurrences, zone, incomplete) = expand_feed(
        bytes,
        |x_wr| {
            missing = zone_missing(source, x_wr, ctx);
            source_zone(source, x_wr, ctx)
        },
        window_start,
        window_end,
        &mut warnings,
        &mut unreadable,
    );
    // Only all-day and floating times are read in the zone; UTC and zoned ones need none.
    let missing = missing && occurrences.iter().any(|o| o.all_day || o.floating);
    let mut preview = rules::apply(occurrences, source, &zone, ctx.code_secret);
    warnings.append(&mut preview.warnings);
    // A VEVENT that cannot be read is unknown, not cancelled: its UID's stored reservations
    // are kept (a block without a readable UID stands for every UID-less one).
    for uid in unreadable {
        let (prefix, named) = match uid {
            Some(uid) => (format!("{}/{uid}/", source.name), format!("UID {uid}")),
            None => (
                format!("{}/no-uid-", source.name),
                "a VEVENT without a UID".into(),
            ),
        };
        warnings.push(format!(
            "{named} could not be read: its stored reservations are kept as they were (unknown, \
             not cancelled) until it reads again"
        ));
        if !preview.unreadable.contains(&prefix) {
            preview.unreadable.push(prefix);
        }
    }
    preview.warnings = warnings;
    preview.incomplete = incomplete;
    preview.zone_missing = missing;
    preview
}

/// The reservations a feed's text yields (pure: no I/O), with warnings for what was skipped
/// as unreadable. Fails only when the text is not a calendar at all.
pub fn reservations_from_text(
    text: &str,
    source: &SourceConfig,
    ctx: &RuleContext<'_>,
) -> Result<(Vec<crate::sources::Reservation>, Vec<String>), NotACalendar> {
    if !looks_like_calendar(text.as_bytes()) {
        return Err(NotACalendar);
    }
    let preview = preview_from_bytes(text.as_bytes(), source, ctx);
    Ok((preview.reservations, preview.warnings))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a calendar: the content does not begin with BEGIN:VCALENDAR")]
pub struct NotACalendar;
