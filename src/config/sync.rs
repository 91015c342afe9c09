//! The `[sync]` section: pass pacing, the shrink and growth guards, drift checks, keypad-code
//! secret and stay length, with their defaults and per-key validation.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::choice::choice_enum;
use super::sections::{KeyError, key_err};
use super::{HumanDuration, check_secret_strength, read_secret_file};

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
