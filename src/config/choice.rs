//! Config values chosen from a fixed set of words (`kind`, `preset`, `code`, `drift`, `format`).
//! Each is read by [`choice_enum!`], so that a wrong word is answered with the words allowed
//! (``"last4" is not allowed; expected one of `phone-last4`, `derived`, `none` ``) rather than
//! serde's `enum CodePolicy does not have variant constructor last4`.

use std::fmt;

/// A config enum whose values are words; implemented by [`choice_enum!`].
pub trait Choice: Sized + Copy + 'static {
    /// Every value with its word, in the order the error lists them.
    const CHOICES: &'static [(&'static str, Self)];

    /// The word for `self`, as the config spells it.
    fn name(self) -> &'static str;

    /// Every word, in order.
    fn names() -> Vec<&'static str> {
        Self::CHOICES.iter().map(|(name, _)| *name).collect()
    }

    /// The value for `word` (exact), or a message listing the allowed words.
    fn from_word(word: &str) -> Result<Self, String> {
        Self::CHOICES
            .iter()
            .find(|(name, _)| *name == word)
            .map(|(_, value)| *value)
            .ok_or_else(|| not_allowed(word, Self::CHOICES.iter().map(|(name, _)| *name)))
    }
}

/// ``"word" is not allowed; expected one of `a`, `b`, `c` ``.
pub fn not_allowed<'a>(word: &str, allowed: impl Iterator<Item = &'a str>) -> String {
    let allowed: Vec<String> = allowed.map(|name| format!("`{name}`")).collect();
    format!(
        "{word:?} is not allowed; expected one of {}",
        allowed.join(", ")
    )
}

/// Reads a word for a [`Choice`]; anything else (a number, a table) gets the same list.
pub(super) fn deserialize_choice<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: Choice,
    D: serde::Deserializer<'de>,
{
    struct Visitor<T>(std::marker::PhantomData<T>);
    impl<T: Choice> serde::de::Visitor<'_> for Visitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let allowed: Vec<String> = T::names().iter().map(|n| format!("`{n}`")).collect();
            write!(f, "one of {}", allowed.join(", "))
        }
        fn visit_str<E: serde::de::Error>(self, word: &str) -> Result<T, E> {
            T::from_word(word).map_err(E::custom)
        }
    }
    deserializer.deserialize_str(Visitor(std::marker::PhantomData))
}

/// Declares a config enum read from words: `choice_enum! { pub enum Kind { Ical = "ical", … } }`
/// with an optional `#[default]` variant. Derives `Debug, Clone, Copy, PartialEq, Eq` and
/// implements `Deserialize`, [`Choice`] and `Display` (the word).
macro_rules! choice_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $crate::config::Choice for $name {
            const CHOICES: &'static [(&'static str, Self)] = &[ $( ($word, $name::$variant) ),+ ];

            fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $word ),+
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::config::choice::deserialize_choice(deserializer)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::config::Choice::name(*self))
            }
        }
    };
}
pub(crate) use choice_enum;
