//! `logs show`: the archive as a table in each unit's local time, access events named by the
//! reservation whose credential opened, phone numbers masked.

use std::collections::HashMap;
use std::io::Write;
use std::sync::LazyLock;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use futures::TryStreamExt;
use regex::Regex;

use super::{ArchiveError, ExportRecord};
use crate::ledger::{ArchiveFilter, ArchivedEntry, CredentialLabel, Ledger};
use crate::redact::mask_with;
use crate::text::{display_width, pad_left, pad_right};

/// Digit runs long enough to be phone numbers (spaces and dashes allowed inside).
static PHONE_LIKE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\d(?:[ \-]?\d){6,}").expect("constant pattern"));

/// Masks every digit of phone-like numbers in `text` but the last 3: `+46701234567` becomes
/// `+********567`.
pub fn mask_phone_numbers(text: &str) -> String {
    PHONE_LIKE
        .replace_all(text, |caps: &regex::Captures<'_>| mask_with(&caps[0], '*'))
        .into_owned()
}

/// Credentials of flexysync's own bookings per unit, to name who an access event was.
#[derive(Debug, Clone, Default)]
pub struct CredentialIndex {
    by_unit: HashMap<i64, HashMap<String, Vec<CredentialLabel>>>,
}

/// How far outside a booking's validity an event is still matched with it (a guest who tries
/// the door early, a clock that lags).
const LABEL_SLACK: TimeDelta = TimeDelta::hours(12);

/// Credentials compare without spaces, dashes or case; phone-like ones by their last 9 digits,
/// so that `+46701234567` = `0701234567` = `070-123 45 67`.
fn credential_key(text: &str) -> String {
    let compact: String = text
        .chars()
        .filter(|ch| !ch.is_whitespace() && *ch != '-')
        .flat_map(char::to_lowercase)
        .collect();
    let digits = compact.trim_start_matches('+');
    if digits.len() >= 9 && digits.chars().all(|ch| ch.is_ascii_digit()) {
        return digits[digits.len() - 9..].to_owned();
    }
    compact
}

impl CredentialIndex {
    pub fn insert(&mut self, unit_id: i64, labels: Vec<CredentialLabel>) {
        let unit = self.by_unit.entry(unit_id).or_default();
        for item in labels {
            unit.entry(credential_key(&item.credential))
                .or_default()
                .push(item);
        }
    }

    /// Loads the labels of each unit from the ledger.
    pub async fn load(ledger: &Ledger, unit_ids: &[i64]) -> Result<Self, ArchiveError> {
        let mut index = CredentialIndex::default();
        for &unit_id in unit_ids {
            index.insert(unit_id, ledger.archive_credential_labels(unit_id).await?);
        }
        Ok(index)
    }

    /// The label of the booking whose credential `source_id` is and that was valid at `at`
    /// (or nearest to it, within [`LABEL_SLACK`]).
    pub fn label(&self, unit_id: i64, source_id: &str, at: DateTime<Utc>) -> Option<&str> {
        let distance = |item: &CredentialLabel| {
            if at < item.start {
                item.start.signed_duration_since(at)
            } else if at > item.end {
                at.signed_duration_since(item.end)
            } else {
                TimeDelta::zero()
            }
        };
        self.by_unit
            .get(&unit_id)?
            .get(&credential_key(source_id))?
            .iter()
            .filter(|item| distance(item) <= LABEL_SLACK)
            .min_by_key(|item| distance(item))
            .map(|item| item.label.as_str())
    }
}

/// What `logs show` reads and how it shows it.
#[derive(Debug, Clone, Default)]
pub struct ShowOptions {
    pub filter: ArchiveFilter,
    /// Case-insensitive text looked for in the message, the labels and who it was.
    pub grep: Option<String>,
    /// `--tz`: one zone for every unit instead of each unit's own.
    pub zone_override: Option<Tz>,
    /// `--json`: one JSON array of export records (times in UTC, phone numbers masked as in
    /// the table) with `who` added, instead of the table.
    pub json: bool,
    /// The time column's heading, naming its zone (`TIME (Europe/Stockholm)`); `TIME` if `None`.
    pub time_heading: Option<String>,
}

/// True when `needle` (lower case) occurs in the entry's message, labels or `who`.
pub(super) fn matches_grep(entry: &ArchivedEntry, who: Option<&str>, needle: &str) -> bool {
    let entry = &entry.entry;
    [
        entry.log_msg.as_deref(),
        entry.action_label.as_deref(),
        entry.source_label.as_deref(),
        who,
    ]
    .into_iter()
    .flatten()
    .any(|text| text.to_lowercase().contains(needle))
}

fn local_time(time: DateTime<Utc>, zone: Option<Tz>) -> String {
    match zone {
        Some(zone) => time
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        None => time.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One line of the streamed table: fixed columns padded by display width (names with å/ä/ö
/// or emoji line up), the message last and unpadded.
fn row(time_width: usize, cells: [&str; 6]) -> String {
    let [time, unit, source, who, action, message] = cells;
    format!(
        "{} {}  {} {} {} {message}",
        pad_right(time, time_width),
        pad_left(unit, 6),
        pad_right(source, 16),
        pad_right(who, 20),
        pad_right(action, 20),
    )
}

/// Writes the table; returns how many entries it showed. Entries stream from the ledger.
pub async fn show<W: Write>(
    ledger: &Ledger,
    options: &ShowOptions,
    zones: &HashMap<i64, Tz>,
    labels: &CredentialIndex,
    mut out: W,
) -> Result<u64, ArchiveError> {
    let write_err = |err: std::io::Error| ArchiveError::Output {
        what: "the table".to_owned(),
        reason: err.to_string(),
    };
    let needle = options.grep.as_deref().map(str::to_lowercase);
    let time_heading = options.time_heading.as_deref().unwrap_or("TIME");
    let time_width = display_width(time_heading).max(25);
    if options.json {
        out.write_all(b"[").map_err(write_err)?;
    } else {
        let header = row(
            time_width,
            [time_heading, "UNIT", "SOURCE", "WHO", "ACTION", "MESSAGE"],
        );
        writeln!(out, "{header}").map_err(write_err)?;
    }
    let mut shown = 0;
    let mut entries = ledger.archive_entries(&options.filter);
    while let Some(item) = entries.try_next().await? {
        let source_id = item.entry.source_id.as_deref().unwrap_or("");
        let who = labels.label(item.unit_id, source_id, item.entry.server_date);
        if let Some(needle) = &needle
            && !matches_grep(&item, who, needle)
        {
            continue;
        }
        if options.json {
            let separator: &[u8] = if shown == 0 { b"\n  " } else { b",\n  " };
            out.write_all(separator).map_err(write_err)?;
            serde_json::to_writer(&mut out, &json_record(&item, who))
                .map_err(|err| write_err(err.into()))?;
            shown += 1;
            continue;
        }
        let zone = options
            .zone_override
            .or_else(|| zones.get(&item.unit_id).copied());
        let entry = &item.entry;
        let line = row(
            time_width,
            [
                &local_time(entry.server_date, zone),
                &item.unit_id.to_string(),
                &mask_phone_numbers(source_id),
                who.unwrap_or("-"),
                &one_line(entry.action_label.as_deref().unwrap_or("")),
                &mask_phone_numbers(&one_line(entry.log_msg.as_deref().unwrap_or(""))),
            ],
        );
        writeln!(out, "{line}").map_err(write_err)?;
        shown += 1;
    }
    if options.json {
        let end: &[u8] = if shown == 0 { b"]\n" } else { b"\n]\n" };
        out.write_all(end).map_err(write_err)?;
    }
    out.flush().map_err(write_err)?;
    Ok(shown)
}

/// One entry of `logs show --json`: its export record, masked as the table is, and `who`.
fn json_record(item: &ArchivedEntry, who: Option<&str>) -> serde_json::Value {
    let mask = |text: &Option<String>| text.as_deref().map(mask_phone_numbers);
    let mut record = ExportRecord::from(item.clone());
    record.source_id = mask(&record.source_id);
    record.source_label = mask(&record.source_label);
    record.log_msg = mask(&record.log_msg);
    let mut value = serde_json::to_value(record).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.insert("who".to_owned(), who.into());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_line_up_by_display_width_with_non_ascii_names() {
        let lines = [
            row(
                27,
                [
                    "TIME (Europe/Stockholm)",
                    "UNIT",
                    "SOURCE",
                    "WHO",
                    "ACTION",
                    "MESSAGE",
                ],
            ),
            row(27, ["t", "1", "s", "Åsa Öberg", "Öppnad", "m"]),
            row(27, ["t", "1", "s", "🔑 Bo", "🚪 Open", "m"]),
            row(27, ["t", "1", "s", "A\u{30a}sa", "門", "m"]),
        ];
        let message_column: Vec<usize> = lines
            .iter()
            .map(|line| {
                unicode_width::UnicodeWidthStr::width(&line[..line.rfind(' ').unwrap() + 1])
            })
            .collect();
        assert!(
            message_column.iter().all(|&c| c == message_column[0]),
            "{lines:#?}"
        );
    }
}
