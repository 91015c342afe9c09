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
use super::sync::SyncConfig;
use super::{HumanDuration, read_secret_file};

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
