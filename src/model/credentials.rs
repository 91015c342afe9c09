//! Who may enter: phone numbers, a keypad code, an RFID tag. Phone numbers and codes are
//! newtypes whose `Debug` shows only their tail, so a `{:?}` in a log never gives them away.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use crate::redact::mask;

macro_rules! secret_text {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The value itself: for FlexyKey and the ledger, never for a log line.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), mask(&self.0))
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

secret_text!(
    /// A phone number in E.164 (`+46701234567`).
    Phone
);
secret_text!(
    /// A keypad code (digits).
    Code
);

/// Who may enter: FlexyKey grants access to phone numbers (up to three), a keypad code, or an
/// RFID credential.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Credentials {
    pub phones: Vec<Phone>,
    pub code: Option<Code>,
    pub rfid: Option<String>,
}

impl Credentials {
    /// True when FlexyKey's values are these (phone order aside).
    pub fn same_as(&self, phones: &[String], code: Option<&str>, rfid: Option<&str>) -> bool {
        let mut listed: Vec<&str> = phones.iter().map(String::as_str).collect();
        let mut wanted: Vec<&str> = self.phones.iter().map(Phone::as_str).collect();
        listed.sort_unstable();
        wanted.sort_unstable();
        listed == wanted && self.code.as_deref() == code && self.rfid.as_deref() == rfid
    }

    /// The phone numbers as plain strings, for FlexyKey.
    pub fn phone_strings(&self) -> Vec<String> {
        self.phones.iter().map(|p| p.as_str().to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_only_the_tail_of_phones_and_codes() {
        let credentials = Credentials {
            phones: vec!["+46701234567".into()],
            code: Some("482193".into()),
            rfid: None,
        };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("46701234567"), "{shown}");
        assert!(!shown.contains("482193"), "{shown}");
        assert!(shown.contains("567") && shown.contains("193"), "{shown}");
    }

    #[test]
    fn serialises_as_plain_strings_like_before() {
        let credentials = Credentials {
            phones: vec!["+46701234567".into()],
            code: Some("4821".into()),
            rfid: None,
        };
        let json = serde_json::to_string(&credentials).unwrap();
        assert_eq!(
            json,
            r#"{"phones":["+46701234567"],"code":"4821","rfid":null}"#
        );
        let back: Credentials = serde_json::from_str(&json).unwrap();
        assert_eq!(back, credentials);
    }

    #[test]
    fn compares_with_flexykeys_values_in_any_phone_order() {
        let credentials = Credentials {
            phones: vec!["+1".into(), "+2".into()],
            code: Some("1".into()),
            rfid: None,
        };
        let listed = ["+2".to_owned(), "+1".to_owned()];
        assert!(credentials.same_as(&listed, Some("1"), None));
        assert!(!credentials.same_as(&listed, Some("2"), None));
        assert!(!credentials.same_as(&listed[..1], Some("1"), None));
    }
}
