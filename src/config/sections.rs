//! The sections of the config file, their defaults and their per-key validation. A
//! validation error is `(key within the section, what was expected)`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, de};
use url::Url;

use super::{HumanDuration, read_secret_file};

type KeyError = (String, String);

fn key_err(key: &str, reason: impl Into<String>) -> KeyError {
    (key.to_owned(), reason.into())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub flexykey: FlexyKeyConfig,
    #[serde(default)]
    pub ledger: LedgerConfig,
    #[serde(default)]
    pub sync: SyncConfig,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub archive: ArchiveConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub log: LogConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlexyKeyConfig {
    #[serde(default = "default_base_url")]
    pub base_url: Url,
    pub username: String,
    /// After loading, always set: `password_file` is read into it.
    #[serde(default)]
    pub password: Option<SecretString>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default = "default_rps")]
    pub requests_per_second: f64,
    #[serde(default = "default_burst")]
    pub burst: u32,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_base_url() -> Url {
    Url::parse("https://api.flexykey.se/v1/").expect("constant URL")
}
fn default_rps() -> f64 {
    2.0
}
fn default_burst() -> u32 {
    5
}
fn default_timeout() -> u64 {
    30
}

/// True for `localhost` and loopback IP addresses: the only places plain http is allowed.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A URL that may carry a token in its query: its `Debug` shows it redacted.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(pub Url);

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl std::fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// https everywhere, http only on loopback (tests, the sandbox, the demo).
pub fn check_transport(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "{} uses plain http; https is required except on loopback addresses",
            redact_url(url)
        )),
        other => Err(format!(
            "unsupported scheme {other:?}; expected an https:// URL"
        )),
    }
}

/// A URL fit for logs: the query (feed tokens) and any password are replaced.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.query().is_some() {
        shown.set_query(Some("REDACTED"));
    }
    if shown.password().is_some() {
        let _ = shown.set_password(Some("REDACTED"));
    }
    shown.to_string()
}

impl FlexyKeyConfig {
    /// A config for a given endpoint and user, with every other key at its default.
    pub fn new(base_url: Url, username: &str, password: &str) -> Self {
        FlexyKeyConfig {
            base_url,
            username: username.to_owned(),
            password: Some(SecretString::from(password.to_owned())),
            password_file: None,
            requests_per_second: default_rps(),
            burst: default_burst(),
            timeout_seconds: default_timeout(),
        }
    }

    pub(super) fn validate(&mut self) -> Result<(), KeyError> {
        check_transport(&self.base_url).map_err(|r| key_err("base_url", r))?;
        if !self.base_url.path().ends_with('/') {
            let path = format!("{}/", self.base_url.path());
            self.base_url.set_path(&path);
        }
        if self.username.trim().is_empty() {
            return Err(key_err(
                "username",
                "expected a FlexyWeb user name, found an empty string",
            ));
        }
        match (&self.password, &self.password_file) {
            (Some(_), Some(_)) => {
                return Err(key_err(
                    "password_file",
                    "give either `password` or `password_file`, not both",
                ));
            }
            (None, None) => {
                return Err(key_err(
                    "password",
                    "missing: give `password` or `password_file`",
                ));
            }
            (None, Some(file)) => {
                self.password =
                    Some(read_secret_file(file).map_err(|r| key_err("password_file", r))?);
            }
            (Some(_), None) => {}
        }
        if !(self.requests_per_second.is_finite() && self.requests_per_second > 0.0) {
            return Err(key_err(
                "requests_per_second",
                format!(
                    "expected a number above 0, found {}",
                    self.requests_per_second
                ),
            ));
        }
        if self.burst == 0 {
            return Err(key_err(
                "burst",
                "expected a whole number of at least 1, found 0",
            ));
        }
        if !(1..=3600).contains(&self.timeout_seconds) {
            return Err(key_err(
                "timeout_seconds",
                format!("expected 1 to 3600 seconds, found {}", self.timeout_seconds),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    #[serde(default = "default_ledger_path")]
    pub path: PathBuf,
}

fn default_ledger_path() -> PathBuf {
    PathBuf::from("/var/lib/flexysync/ledger.db")
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            path: default_ledger_path(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DriftPolicy {
    /// Owned bookings deleted by hand are created again.
    #[default]
    Repair,
    /// Owned bookings deleted by hand are only reported.
    Report,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    #[serde(default = "default_horizon")]
    pub horizon_days: u32,
    #[serde(default = "default_debounce")]
    pub debounce_reads: u32,
    #[serde(default = "default_max_shrink")]
    pub max_shrink: f64,
    #[serde(default = "default_shrink_confirm")]
    pub shrink_confirm_hours: u32,
    #[serde(default)]
    pub drift: DriftPolicy,
    /// Secret behind `code = "derived"` keypad codes; when absent, one is generated once and
    /// kept in the ledger, so codes survive restarts.
    #[serde(default)]
    pub code_secret: Option<SecretString>,
    #[serde(default)]
    pub code_secret_file: Option<PathBuf>,
}

fn default_horizon() -> u32 {
    180
}
fn default_debounce() -> u32 {
    2
}
fn default_max_shrink() -> f64 {
    0.5
}
fn default_shrink_confirm() -> u32 {
    24
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            horizon_days: default_horizon(),
            debounce_reads: default_debounce(),
            max_shrink: default_max_shrink(),
            shrink_confirm_hours: default_shrink_confirm(),
            drift: DriftPolicy::default(),
            code_secret: None,
            code_secret_file: None,
        }
    }
}

impl SyncConfig {
    pub(super) fn validate(&mut self) -> Result<(), KeyError> {
        if !(1..=3660).contains(&self.horizon_days) {
            return Err(key_err(
                "horizon_days",
                format!("expected 1 to 3660 days, found {}", self.horizon_days),
            ));
        }
        if self.debounce_reads == 0 {
            return Err(key_err("debounce_reads", "expected at least 1, found 0"));
        }
        if !(self.max_shrink > 0.0 && self.max_shrink <= 1.0) {
            return Err(key_err(
                "max_shrink",
                format!(
                    "expected a share above 0 and at most 1 (0.5 = 50 %), found {}",
                    self.max_shrink
                ),
            ));
        }
        if let Some(file) = &self.code_secret_file {
            if self.code_secret.is_some() {
                return Err(key_err(
                    "code_secret_file",
                    "give either `code_secret` or `code_secret_file`, not both",
                ));
            }
            self.code_secret =
                Some(read_secret_file(file).map_err(|r| key_err("code_secret_file", r))?);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Ical,
    Webhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    Airbnb,
    BookingCom,
    Vrbo,
    Google,
    #[default]
    Generic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CodePolicy {
    PhoneLast4,
    Derived,
    #[default]
    None,
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
    /// Country calling code for phone numbers written without one, e.g. "46".
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
fn default_country() -> String {
    "46".to_owned()
}
fn default_source_schedule() -> String {
    "*/10 * * * *".to_owned()
}
fn default_max_feed_bytes() -> u64 {
    20 * 1024 * 1024
}

impl SourceConfig {
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
                    format!("not a valid regular expression: {err}"),
                ));
            }
        }
        if !(4..=8).contains(&self.code_length) {
            return Err(key_err(
                "code_length",
                format!("expected 4 to 8 digits, found {}", self.code_length),
            ));
        }
        if self.default_country.is_empty()
            || self.default_country.len() > 3
            || !self.default_country.chars().all(|c| c.is_ascii_digit())
        {
            return Err(key_err(
                "default_country",
                format!(
                    "expected a country calling code such as \"46\", found {:?}",
                    self.default_country
                ),
            ));
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
        if self.booking_object_id.is_none() {
            return Err(key_err(
                "booking_object_id",
                "missing: an ical source needs the FlexyKey booking object it fills",
            ));
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
                self.secret = Some(read_secret_file(file).map_err(|r| key_err("secret_file", r))?);
            }
            (Some(_), None) => {}
        }
        if self.objects.is_empty() {
            return Err(key_err(
                "objects",
                "missing: map each of the sender's resource ids to a booking object, e.g. { \"room-a\" = 123 }",
            ));
        }
        if let Some(url) = &self.snapshot_url {
            check_transport(&url.0).map_err(|r| key_err("snapshot_url", r))?;
        }
        Ok(())
    }
}

/// A crontab line: five fields, or six with seconds first (`*/10 * * * *`, `0 */5 * * * *`).
pub fn parse_schedule(text: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .build()
        .parse(text)
        .map_err(|err| err.to_string())
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

/// `units = "all"` or `units = [3023, 5459]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UnitSelection {
    #[default]
    All,
    Listed(Vec<i64>),
}

impl<'de> Deserialize<'de> for UnitSelection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Ids(Vec<i64>),
        }
        match Raw::deserialize(deserializer).map_err(|_| {
            de::Error::custom("expected \"all\" or a list of unit ids such as [3023, 5459]")
        })? {
            Raw::Word(word) if word == "all" => Ok(UnitSelection::All),
            Raw::Word(word) => Err(de::Error::custom(format!(
                "expected \"all\" or a list of unit ids such as [3023, 5459], found {word:?}"
            ))),
            Raw::Ids(ids) => Ok(UnitSelection::Listed(ids)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default)]
    pub units: UnitSelection,
    #[serde(default = "default_archive_schedule")]
    pub schedule: String,
    #[serde(default = "default_overlap")]
    pub overlap: HumanDuration,
    #[serde(default = "default_archive_start")]
    pub start: NaiveDate,
    #[serde(default)]
    pub retention_days: u32,
}

fn default_true() -> bool {
    true
}
fn default_archive_schedule() -> String {
    "*/15 * * * *".to_owned()
}
fn default_overlap() -> HumanDuration {
    HumanDuration::from_secs(2 * 3600)
}
fn default_archive_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).expect("constant date")
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            enabled: true,
            units: UnitSelection::All,
            schedule: default_archive_schedule(),
            overlap: default_overlap(),
            start: default_archive_start(),
            retention_days: 0,
        }
    }
}

impl ArchiveConfig {
    pub(super) fn validate(&mut self) -> Result<(), KeyError> {
        if let Err(reason) = parse_schedule(&self.schedule) {
            return Err(key_err(
                "schedule",
                format!(
                    "expected a crontab line such as \"*/15 * * * *\", found {:?}: {reason}",
                    self.schedule
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default)]
    pub format: LogFormat,
    #[serde(default = "default_level")]
    pub level: String,
}

fn default_level() -> String {
    "info".to_owned()
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Pretty,
            level: default_level(),
        }
    }
}
