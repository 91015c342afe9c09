//! Phone numbers as people type them, in E.164: one reading for every source.

/// E.164 (`+46701234567`) from what people type: spaces, dashes, dots, parentheses and a
/// `(0)` are dropped; a leading `00` is `+`; a number without a country code gets
/// `default_country` in place of its leading trunk `0`. `None` when it is not a phone number
/// (other characters, too few or too many digits, a country code beginning with 0).
pub fn normalize_phone(raw: &str, default_country: &str) -> Option<String> {
    let text = raw.trim().replace("(0)", "");
    let (international, rest) = if let Some(rest) = text.strip_prefix('+') {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix("00") {
        (true, rest)
    } else {
        (false, text.as_str())
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}') {
            return None;
        }
    }
    let number = if international {
        digits
    } else {
        let national = digits.strip_prefix('0').unwrap_or(&digits);
        format!("{default_country}{national}")
    };
    // E.164: at most 15 digits; fewer than 8 is no mobile or landline anywhere.
    let valid = (8..=15).contains(&number.len()) && !number.starts_with('0');
    valid.then(|| format!("+{number}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_become_e164() {
        assert_eq!(
            normalize_phone("070-123 45 67", "46").as_deref(),
            Some("+46701234567")
        );
        assert_eq!(
            normalize_phone("0046 70 111 22 33", "46").as_deref(),
            Some("+46701112233")
        );
        assert_eq!(
            normalize_phone("+1 (415) 555-0100", "46").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(normalize_phone("+0987654321", "46"), None);
        assert_eq!(normalize_phone("12345", "46"), None);
        assert_eq!(normalize_phone("+1234567890123456", "46"), None);
    }

    #[test]
    fn phones_become_e164() {
        let cases = [
            ("+46701234567", Some("+46701234567")),
            ("+46 (0)70-123 45 67", Some("+46701234567")),
            ("0046701234567", Some("+46701234567")),
            ("070-123 45 67", Some("+46701234567")),
            ("+1 (415) 555-0100", Some("+14155550100")),
            ("070 12", None),
            ("call me", None),
            ("+46 70 123 45 67 89 01 23", None),
            ("", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize_phone(raw, "46").as_deref(), expected, "{raw}");
        }
        assert_eq!(
            normalize_phone("040-123456", "47").as_deref(),
            Some("+4740123456")
        );
    }
}
