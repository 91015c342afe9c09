//! `[[outputs]]`: a unit's relay or expansion output switched by the stays of some booking
//! objects or sources (heat the cabin 6 h before the guest arrives, pulse a gate at check-in).

use serde::{Deserialize, Deserializer, de};

use super::HumanDuration;
use super::sections::{KeyError, key_err};
use crate::flexykey::{OutputName, UnitRef};

/// The longest `on_before`, `off_after` or `merge_gap`: a week.
const MAX_LEAD: HumanDuration = HumanDuration(std::time::Duration::from_secs(7 * 86_400));
/// The longest pulse the Control API takes.
pub const MAX_PULSE_SECONDS: u32 = 99_999;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// A short name for logs and the status page; defaults to `unit/output`.
    #[serde(default)]
    pub name: Option<String>,
    /// The unit id (an integer) or its serial number (a digit string, leading zeros kept).
    pub unit: UnitKey,
    /// `F1`, `F2`, `X1`–`X64`, any case.
    pub output: String,
    /// Stays on these booking objects drive the output...
    #[serde(default)]
    pub booking_objects: Vec<i64>,
    /// ...and stays from these sources (by name).
    #[serde(default)]
    pub sources: Vec<String>,
    /// Switch on this long before a stay starts.
    #[serde(default)]
    pub on_before: Option<HumanDuration>,
    /// Switch off this long after a stay ends.
    #[serde(default)]
    pub off_after: Option<HumanDuration>,
    /// Stays closer than this stay on in between.
    #[serde(default)]
    pub merge_gap: Option<HumanDuration>,
    /// Instead of ON/OFF windows: a pulse of this many seconds when a stay starts.
    #[serde(default)]
    pub pulse_at_start: Option<u32>,
}

/// A unit as the config names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitKey {
    Id(i64),
    Serial(String),
}

impl UnitKey {
    pub fn as_unit_ref(&self) -> UnitRef {
        match self {
            UnitKey::Id(id) => UnitRef::Id(*id),
            UnitKey::Serial(serial) => UnitRef::Serial(serial.clone()),
        }
    }
}

impl std::fmt::Display for UnitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnitKey::Id(id) => write!(f, "{id}"),
            UnitKey::Serial(serial) => write!(f, "serial {serial}"),
        }
    }
}

impl<'de> Deserialize<'de> for UnitKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Id(i64),
            Text(String),
        }
        let expected =
            "expected a unit id such as 3023 or a serial number such as \"040530585131396\"";
        match Raw::deserialize(deserializer).map_err(|_| de::Error::custom(expected))? {
            Raw::Id(id) if id > 0 => Ok(UnitKey::Id(id)),
            Raw::Text(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(UnitKey::Serial(text))
            }
            Raw::Id(id) => Err(de::Error::custom(format!("{expected}, found {id}"))),
            Raw::Text(text) => Err(de::Error::custom(format!("{expected}, found {text:?}"))),
        }
    }
}

impl OutputConfig {
    /// The output's normalised name; valid after `validate`.
    pub fn output_name(&self) -> OutputName {
        self.output
            .parse()
            .unwrap_or_else(|_| "F1".parse().expect("constant output name"))
    }

    /// The label used in logs, the CLI and the status page.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("unit {} {}", self.unit, self.output.to_ascii_uppercase()),
        }
    }

    /// Checks one `[[outputs]]` entry; `sources` are the configured source names.
    pub(super) fn validate(&mut self, source_names: &[&str]) -> Result<(), KeyError> {
        let name: OutputName = self.output.parse().map_err(|e| key_err("output", e))?;
        self.output = name.as_str().to_owned();
        if let Some(label) = &self.name
            && (label.trim().is_empty() || label.len() > 100 || label.chars().any(char::is_control))
        {
            return Err(key_err("name", "expected 1 to 100 printable characters"));
        }
        if self.booking_objects.is_empty() && self.sources.is_empty() {
            return Err(key_err(
                "booking_objects",
                "name the booking objects (ids) or the sources (names) whose stays drive this output",
            ));
        }
        if let Some(bad) = self.booking_objects.iter().find(|id| **id <= 0) {
            return Err(key_err(
                "booking_objects",
                format!("expected positive booking object ids, found {bad}"),
            ));
        }
        if let Some(unknown) = self
            .sources
            .iter()
            .find(|s| !source_names.contains(&s.as_str()))
        {
            return Err(key_err(
                "sources",
                format!("no source is named {unknown:?} in [[sources]]"),
            ));
        }
        for (key, value) in [
            ("on_before", self.on_before),
            ("off_after", self.off_after),
            ("merge_gap", self.merge_gap),
        ] {
            if let Some(value) = value {
                super::sections::check_duration_at_most(value, MAX_LEAD)
                    .map_err(|reason| key_err(key, reason))?;
            }
        }
        match self.pulse_at_start {
            Some(seconds) if !(1..=MAX_PULSE_SECONDS).contains(&seconds) => Err(key_err(
                "pulse_at_start",
                format!("expected 1 to {MAX_PULSE_SECONDS} seconds, found {seconds}"),
            )),
            Some(_) => {
                let windowed = [
                    ("on_before", self.on_before),
                    ("off_after", self.off_after),
                    ("merge_gap", self.merge_gap),
                ];
                match windowed.iter().find(|(_, value)| value.is_some()) {
                    Some((key, _)) => Err(key_err(
                        key,
                        "a pulse_at_start output has no ON window: leave out on_before, \
                         off_after and merge_gap, or pulse_at_start",
                    )),
                    None => Ok(()),
                }
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    const HEAD: &str = "[flexykey]\nusername = \"api\"\npassword = \"pw-secret\"\n\
        [[sources]]\nname = \"airbnb\"\nkind = \"ical\"\npath = \"/tmp/x.ics\"\nbooking_object_id = 7\n\
        timezone = \"Europe/Stockholm\"\n";

    fn load(outputs: &str) -> Result<Config, String> {
        let text = format!("{HEAD}{outputs}");
        Config::from_toml_with_env(&text, Path::new("/etc/flexysync/t.toml"), Vec::new())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn outputs_are_read_case_insensitively_with_their_rule() {
        let config = load(
            "[[outputs]]\nunit = 3023\noutput = \"x33\"\nsources = [\"airbnb\"]\n\
             on_before = \"6h\"\noff_after = \"1h\"\nmerge_gap = \"12h\"\n\
             [[outputs]]\nunit = \"040530585131396\"\noutput = \"F2\"\nbooking_objects = [7]\npulse_at_start = 5\n",
        )
        .unwrap();
        assert_eq!(config.outputs[0].output, "X33");
        assert_eq!(config.outputs[0].unit, super::UnitKey::Id(3023));
        assert_eq!(
            config.outputs[1].unit,
            super::UnitKey::Serial("040530585131396".into())
        );
        assert_eq!(config.outputs[1].pulse_at_start, Some(5));
    }

    #[test]
    fn bad_outputs_name_their_key_and_what_was_expected() {
        let cases = [
            (
                "unit = 3023\noutput = \"X65\"\nbooking_objects = [7]",
                "outputs[0].output",
                "X1 to X64",
            ),
            (
                "unit = 3023\noutput = \"F1\"",
                "outputs[0].booking_objects",
                "name the booking objects",
            ),
            (
                "unit = 3023\noutput = \"F1\"\nsources = [\"vrbo\"]",
                "outputs[0].sources",
                "\"vrbo\"",
            ),
            (
                "unit = 3023\noutput = \"F1\"\nbooking_objects = [7]\npulse_at_start = 0",
                "outputs[0].pulse_at_start",
                "1 to 99999",
            ),
            (
                "unit = 3023\noutput = \"F1\"\nbooking_objects = [7]\npulse_at_start = 5\non_before = \"1h\"",
                "outputs[0].on_before",
                "no ON window",
            ),
            (
                "unit = 3023\noutput = \"F1\"\nbooking_objects = [7]\non_before = \"30d\"",
                "outputs[0].on_before",
                "at most",
            ),
            (
                "unit = \"30a\"\noutput = \"F1\"\nbooking_objects = [7]",
                "unit",
                "serial number",
            ),
            (
                "unit = 3023\noutput = \"F1\"\nbooking_objects = [7]\nheat = true",
                "heat",
                "",
            ),
        ];
        for (entry, key, expected) in cases {
            let err = load(&format!("[[outputs]]\n{entry}\n")).unwrap_err();
            assert!(
                err.contains(key) && err.contains(expected),
                "{entry}: {err}"
            );
            assert!(!err.contains("pw-secret"));
        }
        let twice = "[[outputs]]\nunit = 3023\noutput = \"f1\"\nbooking_objects = [7]\n";
        let err = load(&format!("{twice}{}", twice.replace("f1", "F1"))).unwrap_err();
        assert!(
            err.contains("outputs[1].output") && err.contains("twice"),
            "{err}"
        );
    }
}
