//! Phone numbers as people type them, in E.164, by libphonenumber's rules (the `phonenumber`
//! crate carries its metadata): one reading for every source and for the access log.
//!
//! A number is read in its region's national format (Sweden's `070…` and Russia's `8 9…` drop
//! their trunk prefix, Italy's `06…` keeps its 0) or in international format (`+…`, the
//! region's own international prefix such as `00` or `011`, and `00` from anywhere). A number
//! the metadata does not call valid is refused, never guessed at.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber};

use crate::redact::mask;

/// A phone number in E.164 (`+46701234567`). `Display` gives it whole (for FlexyKey and the
/// ledger); `Debug` masks all but its last three digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The country calling code (`46` of `+46701234567`).
    pub fn country_code(&self) -> Option<u16> {
        phonenumber::parse(None, &self.0)
            .ok()
            .map(|number| number.code().value())
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", mask(&self.0))
    }
}

/// Why a text is no phone number. The messages never quote the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error(
        "not a phone number (only digits, spaces, dashes, dots, slashes, parentheses and a leading + are allowed)"
    )]
    NotANumber,
    #[error("not a valid phone number for {region} (libphonenumber's rules)")]
    Invalid { region: String },
    #[error(
        "unknown region {0:?}: expected a country calling code such as \"46\" or a two-letter country such as \"SE\""
    )]
    UnknownRegion(String),
}

/// Loads libphonenumber's metadata on a thread of its own (a few hundred milliseconds in a
/// debug build), so that a command that will read phone numbers does it while it opens the
/// ledger and fetches feeds rather than after.
pub fn warm_up() {
    let _ = std::thread::Builder::new()
        .name("phone-metadata".to_owned())
        .spawn(|| phonenumber::metadata::DATABASE.by_id("SE").is_some());
}

/// The region a national number is read in: `"46"`, `"+46"` (a calling code: its main
/// country) or `"SE"` (ISO 3166 alpha-2).
pub fn parse_region(text: &str) -> Result<Id, PhoneError> {
    let trimmed = text.trim();
    let unknown = || PhoneError::UnknownRegion(trimmed.to_owned());
    let code = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if !code.is_empty() && code.len() <= 3 && code.bytes().all(|b| b.is_ascii_digit()) {
        let code: u16 = code.parse().map_err(|_| unknown())?;
        return main_country_for_code(code).ok_or_else(unknown);
    }
    if trimmed.len() == 2 && trimmed.bytes().all(|b| b.is_ascii_alphabetic()) {
        let id = Id::from_str(&trimmed.to_ascii_uppercase()).map_err(|_| unknown())?;
        if phonenumber::metadata::DATABASE.by_id(id.as_ref()).is_some() {
            return Ok(id);
        }
    }
    Err(unknown())
}

fn main_country_for_code(code: u16) -> Option<Id> {
    let regions = phonenumber::metadata::DATABASE.by_code(&code)?;
    let main = regions
        .iter()
        .find(|meta| meta.is_main_country_for_code())
        .or_else(|| regions.first())?;
    Id::from_str(main.id()).ok()
}

/// What people put around a number: kept out of the parse, anything else refuses the text.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' | '\t')
}

/// E.164 from what people type, national numbers read in `default_region` (see
/// [`parse_region`]). Refused: letters and other characters, numbers libphonenumber's
/// metadata does not call valid, an unknown region.
pub fn normalize_phone(raw: &str, default_region: &str) -> Result<E164, PhoneError> {
    let region = parse_region(default_region)?;
    normalize_in(raw, region)
}

/// [`normalize_phone`] with the region already read.
pub fn normalize_in(raw: &str, region: Id) -> Result<E164, PhoneError> {
    let text = raw.trim();
    let body = text.strip_prefix('+').unwrap_or(text);
    if body.is_empty()
        || !body.chars().all(|c| c.is_ascii_digit() || is_separator(c))
        || !body.chars().any(|c| c.is_ascii_digit())
    {
        return Err(PhoneError::NotANumber);
    }
    let invalid = || PhoneError::Invalid {
        region: region.as_ref().to_owned(),
    };
    if let Some(number) = valid(text, region) {
        return Ok(number);
    }
    // `00` is the international prefix nearly everywhere: a Swede writes `0046…` in a US feed.
    let digits_only: String = text.chars().filter(char::is_ascii_digit).collect();
    if let Some(international) = digits_only.strip_prefix("00") {
        return valid(&format!("+{international}"), region).ok_or_else(invalid);
    }
    Err(invalid())
}

fn valid(text: &str, region: Id) -> Option<E164> {
    if text.trim_start().starts_with('+') {
        return valid_international(text);
    }
    let number: PhoneNumber = phonenumber::parse(Some(region), text).ok()?;
    let code = number.code().value();
    let own_code = phonenumber::metadata::DATABASE
        .by_id(region.as_ref())
        .map(|meta| meta.country_code());
    if own_code == Some(code) {
        return valid_international(&number.format().mode(Mode::E164).to_string());
    }
    // The text began with the region's international prefix (`00`, `011`, `810`…). The crate
    // loses a leading 0 of the national number read that way (Italy's `06…`), so the number
    // is read again from what follows the prefix, as typed.
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let code = code.to_string();
    (1..digits.len())
        .filter(|&at| digits[at..].starts_with(&code))
        .find_map(|at| valid_international(&format!("+{}", &digits[at..])))
}

/// A `+…` number, valid by its own country's rules.
fn valid_international(text: &str) -> Option<E164> {
    let number: PhoneNumber = phonenumber::parse(None, text).ok()?;
    phonenumber::is_valid(&number).then(|| E164(number.format().mode(Mode::E164).to_string()))
}

/// True when two spellings are the same phone number: both are read in E.164, a national one
/// in the region of the other's country code (a FlexyKey log writes `0701234567` or
/// `46701234567` for the `+46701234567` of a booking). Texts that are no phone number are
/// never the same phone.
pub fn same_phone(a: &str, b: &str) -> bool {
    match (international(a), international(b)) {
        (Some(x), Some(y)) => x == y,
        (Some(known), None) => read_like(b, &known).is_some_and(|other| other == known),
        (None, Some(known)) => read_like(a, &known).is_some_and(|other| other == known),
        (None, None) => false,
    }
}

/// The text in E.164 when it says its country (`+…` or `00…`).
pub fn international(text: &str) -> Option<E164> {
    let trimmed = text.trim();
    let international = match trimmed.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None if trimmed.starts_with('+') => trimmed.to_owned(),
        None => return None,
    };
    // Any region: an international number does not depend on it.
    normalize_in(&international, Id::SE).ok()
}

/// `text` read as a national number of the country `known` is in.
pub fn read_like(text: &str, known: &E164) -> Option<E164> {
    let number = phonenumber::parse(None, known.as_str()).ok()?;
    let region = number
        .country()
        .id()
        .or_else(|| main_country_for_code(number.code().value()))?;
    normalize_in(text, region).ok()
}

#[cfg(test)]
mod tests;
