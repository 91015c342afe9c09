//! `logs show`: the archive as a table in each unit's local time, access events named by the
//! reservation whose credential opened, phone numbers masked.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{LazyLock, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use futures::TryStreamExt;
use regex::Regex;

use super::{ArchiveError, ExportRecord};
use crate::ledger::{ArchiveFilter, ArchivedEntry, CredentialLabel, Ledger};
use crate::model::phone::{E164, international, read_like};
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
#[derive(Debug, Default)]
pub struct CredentialIndex {
    by_unit: HashMap<i64, UnitCredentials>,
    /// A log's `sourceID` → the key it was found under, per unit: a busy unit's log repeats
    /// a few callers thousands of times, and reading a phone number is not free.
    keys: Mutex<HashMap<(i64, String), Vec<String>>>,
}

#[derive(Debug, Default)]
struct UnitCredentials {
    /// Phones by E.164, codes and cards by [`compact`] text.
    by_key: HashMap<String, Vec<CredentialLabel>>,
    /// One booked phone per country: national spellings in the log are read in its region.
    countries: Vec<E164>,
    /// Credentials in a national spelling (no country code): read in an international log
    /// spelling's region.
    national: Vec<String>,
}

/// How far outside a booking's validity an event is still matched with it (a guest who tries
/// the door early, a clock that lags).
const LABEL_SLACK: TimeDelta = TimeDelta::hours(12);

/// Codes and cards compare without spaces, dashes or case.
fn compact(text: &str) -> String {
    text.chars()
        .filter(|ch| !ch.is_whitespace() && *ch != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

impl UnitCredentials {
    /// The keys `source_id` is filed under: its compact text, and when it is a phone, every
    /// credential that is the same number in E.164 (`+46701234567` = `0701234567` =
    /// `0046 70-123 45 67`, while an Italian `06…` keeps its 0).
    fn keys_of(&self, source_id: &str) -> Vec<String> {
        let mut keys = vec![compact(source_id)];
        if let Some(phone) = international(source_id) {
            keys.extend(
                self.national
                    .iter()
                    .filter(|national| read_like(national, &phone).as_ref() == Some(&phone))
                    .cloned(),
            );
            keys.push(phone.into_string());
        } else {
            keys.extend(
                self.countries
                    .iter()
                    .filter_map(|known| read_like(source_id, known))
                    .map(E164::into_string),
            );
        }
        keys.retain(|key| self.by_key.contains_key(key));
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

impl CredentialIndex {
    pub fn insert(&mut self, unit_id: i64, labels: Vec<CredentialLabel>) {
        let unit = self.by_unit.entry(unit_id).or_default();
        for item in labels {
            let key = match international(&item.credential) {
                Some(phone) => {
                    let code = phone.country_code();
                    if !unit
                        .countries
                        .iter()
                        .any(|known| known.country_code() == code)
                    {
                        unit.countries.push(phone.clone());
                    }
                    phone.into_string()
                }
                None => {
                    let key = compact(&item.credential);
                    let digits = key.trim_start_matches('+');
                    if digits.len() >= 6 && digits.chars().all(|ch| ch.is_ascii_digit()) {
                        unit.national.push(key.clone());
                    }
                    key
                }
            };
            unit.by_key.entry(key).or_default().push(item);
        }
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
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
        let unit = self.by_unit.get(&unit_id)?;
        let keys = {
            let mut cache = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            cache
                .entry((unit_id, source_id.to_owned()))
                .or_insert_with(|| unit.keys_of(source_id))
                .clone()
        };
        keys.iter()
            .filter_map(|key| unit.by_key.get(key))
            .flatten()
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
