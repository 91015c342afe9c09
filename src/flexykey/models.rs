//! What the FlexyKey API says, as typed values. Wire spellings stay in this module (and in
//! `wire.rs`); the rest of flexysync sees only these types.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A unit addressed by its id or by its serial number (a digit string; leading zeros kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitRef {
    Id(i64),
    Serial(String),
}

/// `F1`, `F2` or `X1`–`X64`, normalised to upper case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputName(String);

impl OutputName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OutputName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for OutputName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let upper = text.trim().to_ascii_uppercase();
        let valid = match upper.as_bytes() {
            [b'F', b'1'] | [b'F', b'2'] => true,
            [b'X', rest @ ..] if !rest.is_empty() && rest[0] != b'0' => std::str::from_utf8(rest)
                .ok()
                .and_then(|n| n.parse::<u8>().ok())
                .is_some_and(|n| (1..=64).contains(&n)),
            _ => false,
        };
        if valid {
            Ok(OutputName(upper))
        } else {
            Err(format!(
                "invalid output {text:?}: expected F1, F2 or X1 to X64 (case-insensitive)"
            ))
        }
    }
}

/// What to do with an output: switch it on or off, or pulse it for 1–99999 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputAction {
    On,
    Off,
    Pulse(u32),
}

impl fmt::Display for OutputAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputAction::On => f.write_str("ON"),
            OutputAction::Off => f.write_str("OFF"),
            OutputAction::Pulse(seconds) => write!(f, "{seconds}"),
        }
    }
}

impl FromStr for OutputAction {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("on") {
            return Ok(OutputAction::On);
        }
        if trimmed.eq_ignore_ascii_case("off") {
            return Ok(OutputAction::Off);
        }
        match trimmed.parse::<u32>() {
            Ok(seconds) if (1..=99_999).contains(&seconds) => Ok(OutputAction::Pulse(seconds)),
            _ => Err(format!(
                "invalid action {text:?}: expected ON, OFF or a pulse length of 1 to 99999 seconds"
            )),
        }
    }
}

/// One IO point of a unit as `GET /units` describes it on newer units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoPoint {
    pub local_number: Option<i64>,
    /// The name to use in Control and status: `F1`, `X5`, `IX1`.
    pub global_number: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub unit_id: i64,
    /// `"FlexyKey"` or an EVVA AirKey type.
    pub unit_type: String,
    pub serial_number: Option<String>,
    pub own_phone_or_id: Option<String>,
    pub name: Option<String>,
    pub soft_version: Option<String>,
    pub unit_info: Option<String>,
    pub unit_note: Option<String>,
    /// A Windows zone name such as `W. Europe Standard Time`.
    pub timezone_id: Option<String>,
    pub timezone_info: Option<String>,
    pub created: Option<String>,
    /// Empty on older units that do not describe their IO.
    pub io: Vec<IoPoint>,
}

impl Unit {
    /// The unit's zone as an IANA zone, when its Windows `timezoneId` is known.
    pub fn timezone(&self) -> Option<chrono_tz::Tz> {
        self.timezone_id
            .as_deref()
            .and_then(crate::config::resolve_timezone)
    }

    /// EVVA AirKey units share the API but have no logs and fewer functions.
    pub fn is_flexykey(&self) -> bool {
        self.unit_type.eq_ignore_ascii_case("FlexyKey")
    }
}

/// The state of one input or output: `IN1` on, `F1` off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoState {
    pub name: String,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoStatus {
    pub unit_id: i64,
    pub serial_number: Option<String>,
    /// From `statusTimestampIso`.
    pub status_timestamp: Option<DateTime<Utc>>,
    pub raw_status: Option<String>,
    pub inputs: Vec<IoState>,
    pub f_outputs: Vec<IoState>,
    pub x_outputs: Vec<IoState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlResult {
    pub status: String,
    pub unit_id: Option<i64>,
    pub output_number: String,
    pub output_action: String,
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingObject {
    pub booking_object_id: i64,
    pub name: Option<String>,
    pub unit_ids: Vec<i64>,
}

/// A booking to create. At most three phone numbers; `code` is 4–8 digits; `name` ≤ 100 chars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBooking {
    pub booking_object_id: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub phones: Vec<String>,
    pub code: Option<String>,
    pub rfid: Option<String>,
    pub name: Option<String>,
}

/// A booking as FlexyKey stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub booking_id: i64,
    pub booking_object_id: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub phones: Vec<String>,
    pub code: Option<String>,
    pub rfid: Option<String>,
    pub name: Option<String>,
}

pub use crate::model::LogEntry;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_are_validated_and_normalised() {
        assert_eq!("x33".parse::<OutputName>().unwrap().as_str(), "X33");
        assert_eq!("F2".parse::<OutputName>().unwrap().as_str(), "F2");
        assert_eq!("X64".parse::<OutputName>().unwrap().as_str(), "X64");
        for bad in ["X65", "X0", "X", "F3", "0", "x01", "", "IN1"] {
            assert!(bad.parse::<OutputName>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn output_actions_are_validated() {
        assert_eq!("on".parse::<OutputAction>().unwrap(), OutputAction::On);
        assert_eq!("OFF".parse::<OutputAction>().unwrap(), OutputAction::Off);
        assert_eq!(
            "60".parse::<OutputAction>().unwrap(),
            OutputAction::Pulse(60)
        );
        assert_eq!(OutputAction::Pulse(60).to_string(), "60");
        for bad in ["0", "100000", "-1", "open", ""] {
            assert!(bad.parse::<OutputAction>().is_err(), "{bad} accepted");
        }
    }
}
