//! `[[sources]]`: one table per calendar feed or webhook sender, and the value types its keys
//! take (zones, local times, schedules).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveTime;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, de};

use super::choice::choice_enum;
use super::sections::{KeyError, SecretUrl, check_duration_at_most, check_transport, key_err};
use super::sync::check_max_stay_days;
use super::{HumanDuration, check_secret_strength, read_secret_file};

choice_enum! {
    /// `kind`: how a source's reservations arrive.
    pub enum SourceKind {
        Ical = "ical",
        Webhook = "webhook",
    }
}

choice_enum! {
    /// `preset`: which booking site wrote a feed.
    #[derive(Default)]
    pub enum Preset {
        Airbnb = "airbnb",
        BookingCom = "booking-com",
        Vrbo = "vrbo",
        Google = "google",
        #[default]
        Generic = "generic",
    }
}

choice_enum! {
    /// `code`: where a stay's keypad code comes from.
    #[derive(Default)]
    pub enum CodePolicy {
        PhoneLast4 = "phone-last4",
        Derived = "derived",
        #[default]
        None = "none",
    }
}

/// One `[[sources]]` table. Kinds share one flat table so that an operator sees every key in
/// one place; `validate` refuses keys that do not belong to the kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    // ical
    #[serde(default)]
    pub url: Option<SecretUrl>,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub booking_object_id: Option<i64>,
    #[serde(default)]
    pub timezone: Option<Timezone>,
    #[serde(default = "default_check_in")]
    pub check_in: LocalTime,
    #[serde(default = "default_check_out")]
    pub check_out: LocalTime,
    #[serde(default)]
    pub buffer_before: HumanDuration,
    #[serde(default)]
    pub buffer_after: HumanDuration,
    #[serde(default)]
    pub preset: Preset,
    #[serde(default)]
    pub include_summary: Option<String>,
    #[serde(default)]
    pub exclude_summary: Option<String>,
    #[serde(default)]
    pub code: CodePolicy,
    #[serde(default = "default_code_length")]
    pub code_length: u8,
    /// Where phone numbers written without a country code are read: a calling code ("46")
    /// or a two-letter country ("SE"), by libphonenumber's rules.
    #[serde(default = "default_country")]
    pub default_country: String,
    #[serde(default = "default_source_schedule")]
    pub schedule: String,
    #[serde(default = "default_max_feed_bytes")]
    pub max_bytes: u64,
    // webhook
    #[serde(default)]
    pub secret: Option<SecretString>,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    #[serde(default)]
    pub objects: BTreeMap<String, i64>,
    #[serde(default)]
    pub snapshot_url: Option<SecretUrl>,
    /// This source's longest stay; when absent, `sync.max_stay_days` is filled in at load.
    #[serde(default)]
    pub max_stay_days: Option<u32>,
    /// Its stays may overlap others on one object (a cleaning rota): no double-booking alert.
    #[serde(default)]
    pub overlap_ok: bool,
}

fn default_check_in() -> LocalTime {
    LocalTime(NaiveTime::from_hms_opt(15, 0, 0).expect("constant time"))
}
fn default_check_out() -> LocalTime {
    LocalTime(NaiveTime::from_hms_opt(11, 0, 0).expect("constant time"))
}
fn default_code_length() -> u8 {
    6
}
/// A country calling code such as "46": one to three digits.
pub(super) fn check_calling_code(code: &str) -> Result<(), KeyError> {
    if code.is_empty() || code.len() > 3 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(key_err(
            "default_country",
            format!("expected a country calling code such as \"46\", found {code:?}"),
        ));
    }
    Ok(())
}

fn default_country() -> String {
    "46".to_owned()
}
fn default_source_schedule() -> String {
    "*/10 * * * *".to_owned()
}
fn default_max_feed_bytes() -> u64 {
    20 * 1024 * 1024
}
/// `max_bytes` bounds: a calendar is never smaller than 1 KiB's worth of cap, and 256 MiB of
/// text would take the parser's memory well past any machine flexysync runs on.
const MIN_FEED_BYTES: u64 = 1024;
const MAX_FEED_BYTES: u64 = 256 * 1024 * 1024;
/// Access opening or closing more than a week away from the stay is a typo, not a rule.
const MAX_BUFFER: HumanDuration = HumanDuration(std::time::Duration::from_secs(7 * 86_400));

impl SourceConfig {
    /// The longest stay this source may book: its own `max_stay_days`, else `[sync]`'s (filled
    /// in at load), else the default.
    pub fn max_stay(&self) -> chrono::Duration {
        let days = self
            .max_stay_days
            .unwrap_or(super::sync::DEFAULT_MAX_STAY_DAYS);
        chrono::Duration::days(i64::from(days))
    }

    pub(super) fn validate(&mut self) -> Result<(), KeyError> {
        if self.name.trim().is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(key_err(
                "name",
                format!(
                    "expected letters, digits, '-', '_' or '.', found {:?}",
                    self.name
                ),
            ));
        }
        if let Err(reason) = parse_schedule(&self.schedule) {
            return Err(key_err(
                "schedule",
                format!(
                    "expected a crontab line such as \"*/10 * * * *\", found {:?}: {reason}",
                    self.schedule
                ),
            ));
        }
        for (key, pattern) in [
            ("include_summary", &self.include_summary),
            ("exclude_summary", &self.exclude_summary),
        ] {
            if let Some(pattern) = pattern
                && let Err(err) = regex::Regex::new(pattern)
            {
                return Err(key_err(
                    key,
                    format!("not a valid regular expression: {}", regex_reason(&err)),
                ));
            }
        }
        for (key, value) in [
            ("buffer_before", self.buffer_before),
            ("buffer_after", self.buffer_after),
        ] {
            check_duration_at_most(value, MAX_BUFFER).map_err(|r| key_err(key, r))?;
        }
        if !(MIN_FEED_BYTES..=MAX_FEED_BYTES).contains(&self.max_bytes) {
            return Err(key_err(
                "max_bytes",
                format!(
                    "expected {MIN_FEED_BYTES} to {MAX_FEED_BYTES} bytes (256 MiB), found {}",
                    self.max_bytes
                ),
            ));
        }
        if let Some(days) = self.max_stay_days {
            check_max_stay_days(days).map_err(|r| key_err("max_stay_days", r))?;
        }
        if !(4..=8).contains(&self.code_length) {
            return Err(key_err(
                "code_length",
                format!("expected 4 to 8 digits, found {}", self.code_length),
            ));
        }
        if let Err(err) = crate::model::phone::parse_region(&self.default_country) {
            return Err(key_err("default_country", err.to_string()));
        }
        match self.kind {
            SourceKind::Ical => self.validate_ical(),
            SourceKind::Webhook => self.validate_webhook(),
        }
    }

    fn validate_ical(&mut self) -> Result<(), KeyError> {
        match (&self.url, &self.path) {
            (Some(_), Some(_)) => {
                return Err(key_err("path", "give either `url` or `path`, not both"));
            }
            (None, None) => {
                return Err(key_err(
                    "url",
                    "missing: an ical source needs `url` or `path`",
                ));
            }
            (Some(url), None) => check_transport(&url.0).map_err(|r| key_err("url", r))?,
            (None, Some(_)) => {}
        }
        match self.booking_object_id {
            None => {
                return Err(key_err(
                    "booking_object_id",
                    "missing: an ical source needs the FlexyKey booking object it fills",
                ));
            }
            Some(id) if id < 1 => {
                return Err(key_err(
                    "booking_object_id",
                    format!("expected a FlexyKey booking object id (1 or more), found {id}"),
                ));
            }
            Some(_) => {}
        }
        for (key, present) in [
            ("secret", self.secret.is_some()),
            ("secret_file", self.secret_file.is_some()),
            ("objects", !self.objects.is_empty()),
            ("snapshot_url", self.snapshot_url.is_some()),
        ] {
            if present {
                return Err(key_err(key, "only webhook sources take this key"));
            }
        }
        Ok(())
    }

    fn validate_webhook(&mut self) -> Result<(), KeyError> {
        for (key, present) in [
            ("url", self.url.is_some()),
            ("path", self.path.is_some()),
            ("booking_object_id", self.booking_object_id.is_some()),
        ] {
            if present {
                return Err(key_err(
                    key,
                    "webhook sources do not take this key (map resources with `objects`)",
                ));
            }
        }
        match (&self.secret, &self.secret_file) {
            (Some(_), Some(_)) => {
                return Err(key_err(
                    "secret_file",
                    "give either `secret` or `secret_file`, not both",
                ));
            }
            (None, None) => {
                return Err(key_err("secret", "missing: give `secret` or `secret_file`"));
            }
            (None, Some(file)) => {
                let secret = read_secret_file(file).map_err(|r| key_err("secret_file", r))?;
                check_secret_strength(&secret).map_err(|r| key_err("secret_file", r))?;
                self.secret = Some(secret);
            }
            (Some(secret), None) => {
                check_secret_strength(secret).map_err(|r| key_err("secret", r))?;
            }
        }
        if self.objects.is_empty() {
            return Err(key_err(
                "objects",
                "missing: map each of the sender's resource ids to a booking object, e.g. { \"room-a\" = 123 }",
            ));
        }
        if let Some((resource, id)) = self.objects.iter().find(|(_, id)| **id < 1) {
            return Err(key_err(
                &format!("objects.{resource}"),
                format!("expected a FlexyKey booking object id (1 or more), found {id}"),
            ));
        }
        if let Some(url) = &self.snapshot_url {
            check_transport(&url.0).map_err(|r| key_err("snapshot_url", r))?;
        }
        Ok(())
    }
}

/// A crontab line: five fields, or six with seconds first (`*/10 * * * *`, `0 */5 * * * *`).
/// A line that never fires (`0 0 31 2 *`) is refused: a job that never runs is a typo.
pub fn parse_schedule(text: &str) -> Result<croner::Cron, String> {
    let cron = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .build()
        .parse(text)
        .map_err(|err| super::syntax::fold(&err.to_string()))?;
    // Any real date fires within 8 years (29 February included), so the search is bounded.
    let start = chrono::Utc::now();
    let fires = cron
        .find_next_occurrence(&start, false)
        .is_ok_and(|next| next - start <= chrono::Duration::days(8 * 366));
    if !fires {
        return Err("it never fires (no such date on the calendar)".to_owned());
    }
    Ok(cron)
}

/// A regex syntax error on one line: the parser's own text draws a caret under the pattern
/// over several lines; keep the column and the reason.
pub fn regex_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let column = lines
        .iter()
        .find(|l| l.trim() == "^" || l.trim_start().starts_with('^'))
        .map(|l| l.find('^').unwrap_or(0).saturating_sub(4) + 1);
    let reason = lines
        .iter()
        .find_map(|l| l.strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| super::syntax::fold(&text));
    match column {
        Some(column) => format!("{reason} (at character {column})"),
        None => reason,
    }
}

/// An IANA zone name, or a Windows zone name mapped to its IANA zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timezone(pub chrono_tz::Tz);

/// Resolves an IANA name (`Europe/Stockholm`) or a Windows name (`W. Europe Standard Time`).
pub fn resolve_timezone(name: &str) -> Option<chrono_tz::Tz> {
    let name = name.trim();
    if let Ok(tz) = name.parse::<chrono_tz::Tz>() {
        return Some(tz);
    }
    name.parse::<windows_timezones::WindowsTimezone>()
        .ok()
        .map(chrono_tz::Tz::from)
}

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        resolve_timezone(&name).map(Timezone).ok_or_else(|| {
            de::Error::custom(format!(
                "unknown time zone {name:?}; expected an IANA name such as \"Europe/Stockholm\" or a Windows name such as \"W. Europe Standard Time\""
            ))
        })
    }
}

/// A local wall-clock time written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime(pub NaiveTime);

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map(LocalTime)
            .map_err(|_| {
                de::Error::custom(format!(
                    "expected a time of day like \"15:00\", found {text:?}"
                ))
            })
    }
}
