//! iCalendar feeds: bytes → components (calcard, one block at a time) → occurrences in a
//! window → reservations (the source's rules).
//!
//! Broken input: nothing fails the whole feed. Each case is skipped or repaired with a warning
//! naming the UID and the line where its VEVENT begins (every repair says what it assumed):
//! - invalid UTF-8 is replaced, NUL bytes dropped, a UTF-8 or UTF-16 BOM honoured;
//! - a VEVENT without END:VEVENT ends where the next block (or VCALENDAR) begins; one with
//!   components nested more than `text::MAX_NESTING` deep is skipped;
//! - no UID: a stable one is made from the block's content; no readable DTSTART: skipped
//!   (an override falls back to its RECURRENCE-ID); a second DTSTART is ignored;
//! - date values are read from the VEVENT's own lines (`dates`, `value`): `T1300Z` (no
//!   seconds), ISO 8601 dashes and colons, numeric offsets are read as meant; a value whose
//!   type contradicts its `VALUE=` parameter keeps its own type;
//! - DTEND of another value type: converted to DTSTART's; a floating DTEND is read in
//!   DTSTART's zone and a floating DTSTART in DTEND's; an end before a start of its own kind is
//!   swapped with it (as python's recurring-ical-events does), one of another kind dropped;
//! - a negative or absurd DURATION (`P999999999999999999W`) is ignored (checked arithmetic);
//! - RRULE (`rule_text`): a bad part (`COUNT=-1`, a typo, `\;`) is dropped and the rest kept;
//!   no readable FREQ keeps DTSTART and RDATE only; COUNT=0 is ignored; a non-Gregorian RSCALE
//!   (or SKIP other than OMIT) refuses the whole series;
//! - an unknown TZID is read as floating; UNTIL before DTSTART leaves DTSTART alone;
//! - an override whose RECURRENCE-ID is no occurrence of its series is dropped; overrides
//!   without a series stand alone; a DATE RECURRENCE-ID on a timed series names that day's
//!   occurrence.
//!
//! RRULE semantics are RFC 5545's and libical's where calcard's engine (a port of
//! python-dateutil) differs (`rule_fix`): DTSTART counts toward COUNT even when the rule does
//! not produce it; BYWEEKNO alone takes DTSTART's weekday; a WEEKLY BYSETPOS picks within the
//! whole first week; BYHOUR/BYMINUTE/BYSECOND are ignored on an all-day series. Rules that can
//! never match (`BYMONTH=2;BYMONTHDAY=30`) are found without iterating.
//!
//! Times: floating values are read in X-WR-TIMEZONE, else the caller's zone; a UTC DTSTART
//! with an RRULE repeats on the wall clock of X-WR-TIMEZONE when there is one; a local time in
//! a spring-forward gap takes the offset before the gap, an ambiguous one the first instant.
//! An all-day series with a UTC UNTIL (Outlook) counts the day UNTIL falls on in the calendar's
//! zone (rounded to the nearest day when the zone is UTC). A TZID is read with its own
//! VCALENDAR's VTIMEZONE (the first of that TZID there) when a file holds several.
//!
//! Unknown reads: a feed cut off in transit, a series or the whole feed at its cap, or a read
//! over [`PARSE_BUDGET`] is `incomplete`, so that the pass keeps what it has.

mod codes;
mod dates;
mod event;
mod expand;
mod group_run;
mod groups;
mod json;
mod lines;
mod listing;
mod moved_earlier;
mod occurrence;
mod overrides;
mod parallel;
mod reread;
mod rrule;
mod rrule_simple;
mod rule_fix;
mod rule_text;
mod rules;
mod scan;
mod stamp;
mod text;
mod value;
mod when;
mod zone;

pub use codes::{derive_code, is_trivial_code};
pub use event::Status;
pub use expand::{Occurrence, When};
pub use json::write_occurrences;
pub use listing::Listing;
pub use reread::{occurrence_listing_of_file, occurrence_listing_reread};
pub use rules::{Preview, Skipped};
pub use text::looks_like_calendar;
pub use zone::{Zone, resolve_name as resolve_zone};

use chrono::{DateTime, Duration, Utc};

use crate::config::SourceConfig;
use expand::{ExpandOptions, OccurrenceSink};
use group_run::GroupRun;
use groups::{UidGroups, uid_groups};

/// RRULE iterations per series, occurrences per series in the window, and in all.
pub const MAX_ITERATIONS: usize = 50_000;
pub const MAX_PER_SERIES: usize = 5_000;
pub const MAX_OCCURRENCES: usize = 200_000;

/// A window of time: from (included) and to (excluded).
type Window = (DateTime<Utc>, DateTime<Utc>);

/// What expansion needs to know besides the text.
#[derive(Debug, Clone)]
pub struct OccurrenceQuery {
    /// Floating times and DATE values are read in this zone.
    pub floating: Zone,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
}

/// Warnings kept in full per feed; the rest are counted (a hostile feed must not grow them
/// without bound).
pub const MAX_WARNINGS: usize = 1_000;

/// How long reading one feed may take before the read counts as unknown.
pub const PARSE_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// What a whole feed yields.
pub struct FeedRead {
    pub occurrences: Vec<Occurrence>,
    /// The zone floating times and dates were read in.
    pub zone: Zone,
    /// Why the result may lack events of the feed (no `END:VCALENDAR`: cut off in transit; a
    /// cap cut a series or the rest; the parse budget ran out), so that a reader treats it as
    /// unknown rather than as the whole truth.
    pub incomplete: Option<String>,
}

/// Parses and expands a whole feed, one UID group at a time (peak memory stays near the size
/// of the text plus the occurrences). `floating` chooses the zone of floating times and dates
/// from the calendar's X-WR-TIMEZONE. Never fails: what cannot be read is skipped with a
/// warning. With a `budget`, reading stops once it is spent and the read is incomplete.
/// `unreadable` receives the UID (when one can be found) of every VEVENT that could not be
/// read at all, so that a reader keeps what it knew of them instead of cancelling them.
pub fn expand_feed(
    bytes: &[u8],
    floating: impl FnOnce(Option<&Zone>) -> Zone,
    window: (DateTime<Utc>, DateTime<Utc>),
    budget: Option<std::time::Duration>,
    warnings: &mut Vec<String>,
    unreadable: &mut Vec<Option<String>>,
) -> FeedRead {
    let mut occurrences = Vec::new();
    let (zone, incomplete) = expand_feed_into(
        bytes,
        floating,
        (window, budget),
        (warnings, unreadable),
        &mut occurrences,
    );
    expand::sort_occurrences(&mut occurrences);
    FeedRead {
        occurrences,
        zone,
        incomplete,
    }
}

/// [`expand_feed`] into any sink, unsorted: the zone floating times were read in, and why the
/// read is incomplete.
fn expand_feed_into(
    bytes: &[u8],
    floating: impl FnOnce(Option<&Zone>) -> Zone,
    (window, budget): (Window, Option<std::time::Duration>),
    (warnings, unreadable): (&mut Vec<String>, &mut Vec<Option<String>>),
    out: &mut impl OccurrenceSink,
) -> (Zone, Option<String>) {
    let began = std::time::Instant::now();
    let text = text::decode(bytes, warnings);
    let blocks = text::split(&text, warnings);
    let plan = plan(&blocks, floating, window, warnings);
    let mut source = blocks.events.as_slice();
    expand_groups(
        &mut source,
        plan,
        (began, budget),
        warnings,
        unreadable,
        out,
    )
}

/// What the outline of a feed decides before any VEVENT is parsed.
struct Plan {
    opts: ExpandOptions,
    zones: zone::ZoneTable,
    /// `(group, block index)` runs, one per UID (see [`uid_groups`]), and their number.
    order: Vec<(u32, u32)>,
    groups: usize,
    incomplete: Option<String>,
}

fn plan(
    blocks: &text::Blocks<'_>,
    floating: impl FnOnce(Option<&Zone>) -> Zone,
    window: (DateTime<Utc>, DateTime<Utc>),
    warnings: &mut Vec<String>,
) -> Plan {
    plan_grouped(
        blocks,
        uid_groups(&blocks.events),
        floating,
        window,
        warnings,
    )
}

/// [`plan`] with the UID groups already made (`blocks.events` are not looked at).
fn plan_grouped(
    blocks: &text::Blocks<'_>,
    (order, groups): (Vec<(u32, u32)>, usize),
    floating: impl FnOnce(Option<&Zone>) -> Zone,
    window: (DateTime<Utc>, DateTime<Utc>),
    warnings: &mut Vec<String>,
) -> Plan {
    let incomplete = (!blocks.ended)
        .then(|| "the feed ends without END:VCALENDAR (cut off in transit?)".to_owned());
    let zones = zone_table(blocks, warnings);
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
    let opts = ExpandOptions {
        floating,
        x_wr_timezone,
        window_start: window.0,
        window_end: window.1,
        max_per_series: MAX_PER_SERIES,
        max_iterations: MAX_ITERATIONS,
        max_total: MAX_OCCURRENCES,
    };
    Plan {
        opts,
        zones,
        order,
        groups,
        incomplete,
    }
}

/// Where the expansion finds each VEVENT block's text: the feed in memory, or the file read
/// again (`reread`).
trait BlockTexts {
    fn block(&mut self, index: u32, warnings: &mut Vec<String>) -> Option<text::Block<'_>>;
}

impl BlockTexts for &[text::Block<'_>] {
    fn block(&mut self, index: u32, _: &mut Vec<String>) -> Option<text::Block<'_>> {
        self.get(index as usize).copied()
    }
}

/// Parses and expands the UID groups of `plan` in order, within the budget and the caps.
fn expand_groups(
    source: &mut impl BlockTexts,
    plan: Plan,
    (began, budget): (std::time::Instant, Option<std::time::Duration>),
    warnings: &mut Vec<String>,
    unreadable: &mut Vec<Option<String>>,
    out: &mut impl OccurrenceSink,
) -> (Zone, Option<String>) {
    let mut incomplete = plan.incomplete;
    let run = GroupRun {
        opts: &plan.opts,
        zones: &plan.zones,
        total: plan.groups,
        began,
        budget,
    };
    let suppressed = run.expand(
        source,
        &plan.order,
        &mut incomplete,
        (warnings, unreadable),
        out,
    );
    note_suppressed(suppressed, warnings);
    (plan.opts.floating, incomplete)
}

fn note_suppressed(suppressed: usize, warnings: &mut Vec<String>) {
    if suppressed > 0 {
        warnings.push(format!("{suppressed} more warnings (not listed)"));
    }
}

/// Each VTIMEZONE block is read on its own, so that a broken one spoils no other and each
/// keeps the calendar it belongs to.
fn zone_table(blocks: &text::Blocks<'_>, warnings: &mut Vec<String>) -> zone::ZoneTable {
    let mut table = zone::ZoneTable::default();
    for block in &blocks.timezones {
        let mut calendar = String::with_capacity(block.text.len() + 40);
        calendar.push_str("BEGIN:VCALENDAR\r\n");
        calendar.push_str(block.text);
        if !block.text.ends_with('\n') {
            calendar.push_str("\r\n");
        }
        calendar.push_str("END:VCALENDAR\r\n");
        match calcard::Parser::new(&calendar).entry() {
            calcard::Entry::ICalendar(parsed) => {
                table.add_components(block.calendar, &parsed.components, warnings)
            }
            _ => warnings.push(format!(
                "line {}: VTIMEZONE could not be read; ignored",
                block.line
            )),
        }
    }
    table
}

/// Occurrences of a feed's text in a window (the `feed occurrences` command). Floating times
/// are read in the calendar's X-WR-TIMEZONE when it has one, else in `query.floating`.
pub fn occurrences_from_text(
    bytes: &[u8],
    query: &OccurrenceQuery,
) -> (Vec<Occurrence>, Vec<String>) {
    let mut warnings = Vec::new();
    let read = expand_feed(
        bytes,
        |_| query.floating.clone(),
        (query.window_start, query.window_end),
        None,
        &mut warnings,
        &mut Vec::new(),
    );
    (read.occurrences, warnings)
}

/// The occurrences of a feed's text in a window, sorted and held compactly for printing (the
/// `feed occurrences` command: a big feed's list costs a few dozen bytes an occurrence), and
/// the warnings. Reads as [`occurrences_from_text`] does.
pub fn occurrence_listing(bytes: &[u8], query: &OccurrenceQuery) -> (Listing, Vec<String>) {
    occurrence_listing_shared(bytes, query, parallel::Sharing::of_this_machine())
}

/// [`occurrence_listing`] with the UID groups shared out as `sharing` says.
fn occurrence_listing_shared(
    bytes: &[u8],
    query: &OccurrenceQuery,
    sharing: parallel::Sharing,
) -> (Listing, Vec<String>) {
    let mut warnings = Vec::new();
    let text = text::decode(bytes, &mut warnings);
    let blocks = text::split(&text, &mut warnings);
    let plan = plan(
        &blocks,
        |_| query.floating.clone(),
        (query.window_start, query.window_end),
        &mut warnings,
    );
    let events = blocks.events.as_slice();
    let listing = parallel::expand_listing(|| events, plan, sharing, &mut warnings);
    (listing, warnings)
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

/// Every reservation the feed yields for this source, with what was skipped and why, read
/// within [`PARSE_BUDGET`].
pub fn preview_from_bytes(bytes: &[u8], source: &SourceConfig, ctx: &RuleContext<'_>) -> Preview {
    preview_within(bytes, source, ctx, PARSE_BUDGET)
}

/// [`preview_from_bytes`] with its own parse budget: a feed that takes longer is an
/// incomplete read (unknown), with a warning naming its costliest series.
pub fn preview_within(
    bytes: &[u8],
    source: &SourceConfig,
    ctx: &RuleContext<'_>,
    budget: std::time::Duration,
) -> Preview {
    let mut warnings = Vec::new();
    let mut unreadable = Vec::new();
    let mut missing = false;
    let read = expand_feed(
        bytes,
        |x_wr| {
            missing = zone_missing(source, x_wr, ctx);
            source_zone(source, x_wr, ctx)
        },
        ctx.window(),
        Some(budget),
        &mut warnings,
        &mut unreadable,
    );
    // Only all-day and floating times are read in the zone; UTC and zoned ones need none.
    let missing = missing && read.occurrences.iter().any(|o| o.all_day || o.floating);
    let mut preview = rules::apply(read.occurrences, source, &read.zone, ctx.code_secret);
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
    preview.incomplete = read.incomplete;
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

/// Test helpers shared by the modules' tests.
#[cfg(test)]
mod test_support {
    use super::{OccurrenceQuery, Zone};
    use chrono::{DateTime, Utc};

    /// Floating times in Oslo, from `from` to `to` (RFC 3339).
    pub fn query_in_oslo(from: &str, to: &str) -> OccurrenceQuery {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("instant")
                .with_timezone(&Utc)
        };
        OccurrenceQuery {
            floating: Zone::Iana(chrono_tz::Europe::Oslo),
            window_start: at(from),
            window_end: at(to),
        }
    }

    /// Every .ics file under `dirs` (relative to the crate), those that exist.
    pub fn calendar_files(dirs: &[&str]) -> Vec<std::path::PathBuf> {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut stack: Vec<_> = dirs.iter().map(|dir| root.join(dir)).collect();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "ics") {
                    files.push(path);
                }
            }
        }
        files
    }
}
