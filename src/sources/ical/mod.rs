//! iCalendar feeds: bytes → components (calcard, one block at a time) → occurrences in a
//! window → reservations (the source's rules).

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
pub use rules::{Preview, Skipped, normalize_phone};
pub use text::looks_like_calendar;
pub use zone::{Zone, resolve_name as resolve_zone};

use chrono::{DateTime, Duration, Utc};

use crate::config::SourceConfig;
use event::Component;
use expand::{ExpandOptions, expand_all};

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

/// A parsed calendar: components and the calendar-level zone.
pub struct Parsed {
    components: Vec<Component>,
    x_wr_timezone: Option<Zone>,
}

/// Parses a whole feed. Never fails: what cannot be read is skipped with a warning.
pub fn parse(bytes: &[u8], warnings: &mut Vec<String>) -> Parsed {
    let text = text::decode(bytes, warnings);
    let blocks = text::split(&text, warnings);
    let zones = if blocks.timezones.is_empty() {
        zone::ZoneTable::default()
    } else {
        let mut calendar = String::from("BEGIN:VCALENDAR\r\n");
        for block in &blocks.timezones {
            calendar.push_str(block.text);
            if !block.text.ends_with('\n') {
                calendar.push_str("\r\n");
            }
        }
        calendar.push_str("END:VCALENDAR\r\n");
        match calcard::Parser::new(&calendar).entry() {
            calcard::Entry::ICalendar(parsed) => {
                zone::ZoneTable::from_components(&parsed.components)
            }
            _ => {
                warnings.push("the feed's VTIMEZONE blocks could not be read".to_owned());
                zone::ZoneTable::default()
            }
        }
    };
    let x_wr_timezone = blocks.x_wr_timezone.as_deref().and_then(|name| {
        let zone = zones.resolve(name);
        if zone.is_none() {
            warnings.push(format!(
                "X-WR-TIMEZONE {name:?} is not a known zone; ignored"
            ));
        }
        zone
    });
    let components = blocks
        .events
        .iter()
        .filter_map(|block| event::parse_block(block, &zones, warnings))
        .collect();
    Parsed {
        components,
        x_wr_timezone,
    }
}

impl Parsed {
    /// The calendar's `X-WR-TIMEZONE`, when it names a known zone.
    pub fn x_wr_timezone(&self) -> Option<&Zone> {
        self.x_wr_timezone.as_ref()
    }

    pub fn component_count(&self) -> usize {
        self.components.len()
    }

    /// Every occurrence overlapping the window, sorted by (start, uid, recurrence_id).
    pub fn occurrences(
        self,
        query: &OccurrenceQuery,
        warnings: &mut Vec<String>,
    ) -> Vec<Occurrence> {
        let opts = ExpandOptions {
            floating: query.floating.clone(),
            x_wr_timezone: self.x_wr_timezone,
            window_start: query.window_start,
            window_end: query.window_end,
            max_per_series: MAX_PER_SERIES,
            max_iterations: MAX_ITERATIONS,
            max_total: MAX_OCCURRENCES,
        };
        expand_all(self.components, &opts, warnings)
    }
}

/// Occurrences of a feed's text in a window (the `feed occurrences` command).
pub fn occurrences_from_text(
    bytes: &[u8],
    query: &OccurrenceQuery,
) -> (Vec<Occurrence>, Vec<String>) {
    let mut warnings = Vec::new();
    let parsed = parse(bytes, &mut warnings);
    let occurrences = parsed.occurrences(query, &mut warnings);
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
pub fn source_zone(source: &SourceConfig, parsed: &Parsed, ctx: &RuleContext<'_>) -> Zone {
    if let Some(tz) = &source.timezone {
        return Zone::Iana(tz.0);
    }
    if let Some(zone) = parsed.x_wr_timezone() {
        return zone.clone();
    }
    match ctx.default_timezone {
        Some(tz) => Zone::Iana(tz),
        None => Zone::Utc,
    }
}

/// Every reservation the feed yields for this source, with what was skipped and why.
pub fn preview_from_bytes(bytes: &[u8], source: &SourceConfig, ctx: &RuleContext<'_>) -> Preview {
    let mut warnings = Vec::new();
    let parsed = parse(bytes, &mut warnings);
    let zone = source_zone(source, &parsed, ctx);
    let (window_start, window_end) = ctx.window();
    let query = OccurrenceQuery {
        floating: zone.clone(),
        window_start,
        window_end,
    };
    let occurrences = parsed.occurrences(&query, &mut warnings);
    let mut preview = rules::apply(occurrences, source, &zone, ctx.code_secret);
    warnings.append(&mut preview.warnings);
    preview.warnings = warnings;
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
