//! Personal data for terminal output: phone numbers, keypad codes and cards shown only by
//! their tail, enough to tell them apart.

/// How many letters and digits stay visible at the end of a masked value.
const SHOWN: usize = 3;

/// `value` with every letter and digit but the last three hidden as `•`; other characters
/// (`+`, spaces, dashes) stay, so the value keeps its shape: `+46701234567` → `+••••••••567`.
pub fn mask(value: &str) -> String {
    mask_with(value, '•')
}

/// [`mask`] with `glyph` in place of each hidden character.
pub fn mask_with(value: &str, glyph: char) -> String {
    let secret = value.chars().filter(|c| c.is_alphanumeric()).count();
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if !c.is_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen + SHOWN <= secret { glyph } else { c }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_the_last_three() {
        assert_eq!(mask("+46701234567"), "+••••••••567");
        assert_eq!(mask("12"), "12");
    }
}
