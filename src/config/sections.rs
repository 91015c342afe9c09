//! The sections of the config file, their defaults and their per-key validation. A
//! validation error is `(key within the section, what was expected)`.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveDate;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, de};
use url::Url;

use super::choice::choice_enum;
use super::sources::{SourceConfig, parse_schedule};
use super::{HumanDuration, check_secret_strength, read_secret_file};

pub(super) type KeyError = (String, String);

pub(super) fn key_err(key: &str, reason: impl Into<String>) -> KeyError {
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
    /// Booking-driven outputs (`[[outputs]]`).
    #[serde(default)]
    pub outputs: Vec<super::outputs::OutputConfig>,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub alerts: super::notify::AlertsConfig,
    #[serde(default)]
    pub notify: Vec<super::notify::NotifyTarget>,
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
/// One call in 100 s is the slowest useful pace; FlexyKey would never take 1000 a second.
const MIN_RPS: f64 = 0.01;
const MAX_RPS: f64 = 1000.0;

/// True for `localhost` and loopback IP addresses: the only places plain http is allowed.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A URL that may carry a token in its query or path: its `Debug` and `Display` show it
/// redacted (`redact_url`), and so does the error for a URL that does not parse.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(pub Url);

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Url::parse(text.trim()).map(SecretUrl).map_err(|err| {
            let shown = crate::redact::redact_url_text(&text);
            de::Error::custom(format!(
                "expected a URL such as \"https://example.com/calendar.ics\", found {shown:?} ({err})"
            ))
        })
    }
}

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

/// A URL fit for logs: the query, any password and path tokens are replaced.
pub use crate::redact::redact_url;

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
        if self
            .password
            .as_ref()
            .is_some_and(|p| p.expose_secret().trim().is_empty())
        {
            return Err(key_err(
                "password",
                "expected the FlexyWeb user's password, found an empty string",
            ));
        }
        let rps = self.requests_per_second;
        if !(rps.is_finite() && (MIN_RPS..=MAX_RPS).contains(&rps)) {
            return Err(key_err(
                "requests_per_second",
                format!("expected a number above 0, from {MIN_RPS} to {MAX_RPS}, found {rps}"),
            ));
        }
        if !(1..=1000).contains(&self.burst) {
            return Err(key_err(
                "burst",
                format!(
                    "expected a whole number from 1 to 1000, found {}",
                    self.burst
                ),
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

impl LedgerConfig {
    pub(super) fn validate(&self) -> Result<(), KeyError> {
        let text = self.path.as_os_str();
        if text.is_empty() || self.path.to_string_lossy().trim().is_empty() {
            return Err(key_err(
                "path",
                "expected the ledger file's path, such as \"/var/lib/flexysync/ledger.db\", found an empty string",
            ));
        }
        if self.path.to_string_lossy().ends_with('/') || self.path.is_dir() {
            return Err(key_err(
                "path",
                format!(
                    "expected a file's path, found the directory {}",
                    self.path.display()
                ),
            ));
        }
        Ok(())
    }
}

choice_enum! {
    /// `sync.drift`: what to do about owned bookings deleted by hand.
    #[derive(Default)]
    pub enum DriftPolicy {
        /// Owned bookings deleted by hand are created again.
        #[default]
        Repair = "repair",
        /// Owned bookings deleted by hand are only reported.
        Report = "report",
    }
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
    /// Growth guard: a read that adds more new upcoming stays than this at once holds the
    /// source's creates (a runaway recurring event).
    #[serde(default)]
    pub max_growth: GrowthLimit,
    /// How often each booking object's bookings are listed even when nothing changed (drift
    /// check), spread evenly over the period.
    #[serde(default = "default_drift_check")]
    pub drift_check_minutes: u32,
    #[serde(default)]
    pub drift: DriftPolicy,
    /// Secret behind `code = "derived"` keypad codes; when absent, one is generated once and
    /// kept in the ledger, so codes survive restarts.
    #[serde(default)]
    pub code_secret: Option<SecretString>,
    #[serde(default)]
    pub code_secret_file: Option<PathBuf>,
    /// A stay longer than this is skipped with a warning, whatever its source (a source may
    /// set its own `max_stay_days`).
    #[serde(default = "default_max_stay_days")]
    pub max_stay_days: u32,
    /// A pass running longer is stopped at a safe point (no write starts after it) and
    /// reported as failed; the daemon goes on with its next pass.
    #[serde(default = "default_pass_timeout")]
    pub pass_timeout: HumanDuration,
}

/// The default `sync.max_stay_days`.
pub const DEFAULT_MAX_STAY_DAYS: u32 = 60;
/// The largest `max_stay_days` accepted: ten years.
pub const MAX_STAY_DAYS_LIMIT: u32 = 3660;

pub(super) fn default_max_stay_days() -> u32 {
    DEFAULT_MAX_STAY_DAYS
}

/// The bounds of `sync.pass_timeout`: shorter cannot read a feed; longer hides a hung pass.
pub const PASS_TIMEOUT_RANGE: (u64, u64) = (10, 24 * 3600);

fn default_pass_timeout() -> HumanDuration {
    HumanDuration::from_secs(600)
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
fn default_drift_check() -> u32 {
    60
}

/// `[sync] max_growth = { stays = 50, factor = 3.0 }`: a read is a runaway when it adds more
/// than `stays` upcoming stays AND ends with more than `factor` times the previous count.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrowthLimit {
    #[serde(default = "default_growth_stays")]
    pub stays: u32,
    #[serde(default = "default_growth_factor")]
    pub factor: f64,
}

fn default_growth_stays() -> u32 {
    50
}
fn default_growth_factor() -> f64 {
    3.0
}

impl Default for GrowthLimit {
    fn default() -> Self {
        GrowthLimit {
            stays: default_growth_stays(),
            factor: default_growth_factor(),
        }
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            horizon_days: default_horizon(),
            debounce_reads: default_debounce(),
            max_shrink: default_max_shrink(),
            shrink_confirm_hours: default_shrink_confirm(),
            max_growth: GrowthLimit::default(),
            drift_check_minutes: default_drift_check(),
            drift: DriftPolicy::default(),
            code_secret: None,
            code_secret_file: None,
            max_stay_days: DEFAULT_MAX_STAY_DAYS,
            pass_timeout: default_pass_timeout(),
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
        if !(1..=100).contains(&self.debounce_reads) {
            return Err(key_err(
                "debounce_reads",
                format!("expected 1 to 100 reads, found {}", self.debounce_reads),
            ));
        }
        if self.shrink_confirm_hours > 8760 {
            return Err(key_err(
                "shrink_confirm_hours",
                format!(
                    "expected 0 to 8760 hours (a year), found {}",
                    self.shrink_confirm_hours
                ),
            ));
        }
        check_max_stay_days(self.max_stay_days).map_err(|r| key_err("max_stay_days", r))?;
        if !(self.max_shrink > 0.0 && self.max_shrink <= 1.0) {
            return Err(key_err(
                "max_shrink",
                format!(
                    "expected a share above 0 and at most 1 (0.5 = 50 %), found {}",
                    self.max_shrink
                ),
            ));
        }
        if !(self.max_growth.factor.is_finite() && self.max_growth.factor >= 1.0) {
            return Err(key_err(
                "max_growth.factor",
                format!(
                    "expected a factor of at least 1 (3 = three times the previous count), found {}",
                    self.max_growth.factor
                ),
            ));
        }
        if !(1..=10_080).contains(&self.drift_check_minutes) {
            return Err(key_err(
                "drift_check_minutes",
                format!(
                    "expected 1 to 10080 minutes (one week), found {}",
                    self.drift_check_minutes
                ),
            ));
        }
        let (shortest, longest) = PASS_TIMEOUT_RANGE;
        if !(shortest..=longest).contains(&self.pass_timeout.0.as_secs()) {
            return Err(key_err(
                "pass_timeout",
                format!(
                    "expected a duration from {} to {}, found {}",
                    HumanDuration::from_secs(shortest),
                    HumanDuration::from_secs(longest),
                    self.pass_timeout
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
            if let Some(secret) = &self.code_secret {
                check_secret_strength(secret).map_err(|r| key_err("code_secret_file", r))?;
            }
        } else if let Some(secret) = &self.code_secret {
            check_secret_strength(secret).map_err(|r| key_err("code_secret", r))?;
        }
        Ok(())
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
/// The longest overlap an archive pull re-reads.
const MAX_OVERLAP: HumanDuration = HumanDuration(std::time::Duration::from_secs(7 * 86_400));

/// `max_stay_days`, in `[sync]` or a source: 1 day to ten years.
pub(super) fn check_max_stay_days(days: u32) -> Result<(), String> {
    if (1..=MAX_STAY_DAYS_LIMIT).contains(&days) {
        Ok(())
    } else {
        Err(format!(
            "expected 1 to {MAX_STAY_DAYS_LIMIT} days, found {days}"
        ))
    }
}

/// A duration key with an upper bound: the message gives the bound.
pub(super) fn check_duration_at_most(
    value: HumanDuration,
    max: HumanDuration,
) -> Result<(), String> {
    if value <= max {
        Ok(())
    } else {
        Err(format!("expected at most {max}, found {value}"))
    }
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
        check_duration_at_most(self.overlap, MAX_OVERLAP).map_err(|r| key_err("overlap", r))?;
        if let UnitSelection::Listed(ids) = &self.units
            && let Some((index, id)) = ids.iter().enumerate().find(|(_, id)| **id < 1)
        {
            return Err(key_err(
                &format!("units[{index}]"),
                format!("expected a FlexyKey unit id (1 or more), found {id}"),
            ));
        }
        if self.retention_days > 36_600 {
            return Err(key_err(
                "retention_days",
                format!(
                    "expected 0 (keep forever) to 36600 days, found {}",
                    self.retention_days
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Webhooks (`/hooks/...`) and `/healthz`: the listener that may face the internet.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The status page, `/metrics`, `/healthz`, `/readyz` and the control channel: keep it
    /// private (loopback, or a network only operators reach).
    #[serde(default = "default_admin_listen")]
    pub admin_listen: SocketAddr,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9090))
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            admin_listen: default_admin_listen(),
        }
    }
}

impl ServerConfig {
    pub(super) fn validate(&mut self) -> Result<(), KeyError> {
        // Port 0 asks for any free port, so two of them never clash.
        if self.listen == self.admin_listen && self.listen.port() != 0 {
            return Err(key_err(
                "admin_listen",
                format!(
                    "{} is also server.listen; the admin listener (status page, metrics, control) needs its own port",
                    self.admin_listen
                ),
            ));
        }
        Ok(())
    }
}

choice_enum! {
    /// `log.format`: for a terminal or for a log shipper.
    #[derive(Default)]
    pub enum LogFormat {
        #[default]
        Pretty = "pretty",
        Json = "json",
    }
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
