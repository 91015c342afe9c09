//! Which access-log entries are refusals. FlexyKey writes free Swedish text that varies by
//! firmware, so the patterns are assumptions, kept here and overridable in the config
//! (`[alerts] refusal_patterns`).

/// ASSUMED: texts FlexyKey units write when they refuse a caller or a tag. The documented one
/// is "numret finns inte registrerat" (the number is not registered); the others are seen on
/// other firmware or in the sandbox. Matched case-insensitively anywhere in the log message or
/// the action label.
pub const DEFAULT_REFUSAL_PATTERNS: &[&str] = &[
    "numret finns inte registrerat",
    "nekad",
    "ej behörig",
    "saknar behörighet",
    "ingen giltig bokning",
    "not registered",
    "access denied",
];

/// Case-insensitive substrings that mark a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalPatterns {
    lowered: Vec<String>,
}

impl Default for RefusalPatterns {
    fn default() -> Self {
        RefusalPatterns::new(DEFAULT_REFUSAL_PATTERNS.iter().copied())
    }
}

impl RefusalPatterns {
    /// Blank patterns are dropped: an empty one would match every entry.
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> RefusalPatterns {
        RefusalPatterns {
            lowered: patterns
                .into_iter()
                .map(|p| p.as_ref().trim().to_lowercase())
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }

    /// True when any of `texts` (message, action label) contains a pattern.
    pub fn is_refusal<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> bool {
        texts.into_iter().any(|text| {
            let text = text.to_lowercase();
            self.lowered.iter().any(|p| text.contains(p.as_str()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_refusal_and_its_variants_match_and_grants_do_not() {
        let patterns = RefusalPatterns::default();
        for text in [
            "numret finns inte registrerat",
            "Numret finns inte registrerat.",
            "Nekad: ingen giltig bokning",
            "Access denied",
        ] {
            assert!(patterns.is_refusal([text]), "{text}");
        }
        for text in [
            "puls på X-utgång via telefon/rfid/tangentbord",
            "Öppnad med telefonsamtal",
            "Öppnad med RFID-tagg",
            "Omstart av programvara.",
        ] {
            assert!(!patterns.is_refusal([text]), "{text}");
        }
    }

    #[test]
    fn configured_patterns_replace_the_defaults_and_blank_ones_match_nothing() {
        let patterns = RefusalPatterns::new(["Zutritt verweigert", "  "]);
        assert!(patterns.is_refusal(["zutritt VERWEIGERT"]));
        assert!(!patterns.is_refusal(["numret finns inte registrerat"]));
        assert!(!patterns.is_refusal(["anything"]));
    }
}
