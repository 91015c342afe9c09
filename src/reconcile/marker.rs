//! The marker every booking flexysync creates carries in its `name` (`Reserved · fs-3f9a1c2e`),
//! so that bookings can be recognised as flexysync's own even when the ledger is lost.

use sha2::{Digest, Sha256};

/// FlexyKey's limit on a booking's name.
pub const MAX_NAME_CHARS: usize = 100;

/// `fs-` and 8 hex digits of the reservation key's hash: short, stable, unguessable by hand.
pub fn marker(reservation_key: &str) -> String {
    let digest = Sha256::digest(reservation_key.as_bytes());
    format!("fs-{}", hex::encode(&digest[..4]))
}

/// The booking name: the label, cleaned and cut to fit, then ` · ` and the marker.
pub fn booking_name(label: &str, reservation_key: &str) -> String {
    let marker = marker(reservation_key);
    let suffix = format!(" · {marker}");
    let room = MAX_NAME_CHARS.saturating_sub(suffix.chars().count());
    let label: String = clean_label(label).chars().take(room).collect();
    let label = label.trim_end();
    if label.is_empty() {
        marker
    } else {
        format!("{label}{suffix}")
    }
}

/// A label as a person would read it: control characters, bidirectional overrides and other
/// invisible format characters (which can make a name read backwards or hide text in FlexyWeb)
/// are removed; line breaks and tabs become spaces; runs of spaces become one.
pub fn clean_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut pending_space = false;
    for ch in label.chars() {
        if ch.is_whitespace() || matches!(ch, '\u{2028}' | '\u{2029}') {
            pending_space = !out.is_empty();
            continue;
        }
        if ch.is_control() || is_invisible_format(ch) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(ch);
    }
    out
}

/// Unicode format characters (category Cf) that change how text shows without showing
/// themselves: bidi embeddings, overrides, isolates and marks, zero-width characters, the BOM,
/// invisible operators, tag characters. Joiners (ZWJ, ZWNJ) stay: scripts and emoji need them.
fn is_invisible_format(ch: char) -> bool {
    matches!(ch,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E007F}'
    )
}

/// The marker a booking name ends with, if any.
pub fn marker_in(name: &str) -> Option<&str> {
    let start = name.len().checked_sub(11)?;
    let tail = name.get(start..)?;
    let hex = tail.strip_prefix("fs-")?;
    (hex.len() == 8
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_marker_and_fit_in_100_chars() {
        let name = booking_name("Reserved · HM123", "cabin/uid-1/");
        assert!(name.starts_with("Reserved · HM123 · fs-"), "{name}");
        assert_eq!(marker_in(&name), Some(marker("cabin/uid-1/").as_str()));
        let long = booking_name(&"é".repeat(300), "k");
        assert_eq!(long.chars().count(), MAX_NAME_CHARS);
        assert_eq!(marker_in(&long), Some(marker("k").as_str()));
        assert_eq!(booking_name("  ", "k"), marker("k"));
        assert_ne!(marker("a"), marker("b"));
    }

    #[test]
    fn names_lose_control_characters_and_bidi_overrides() {
        let hostile = "\u{202E}Flat\u{0}\u{7} 12\u{2066}\r\n\tGuest\u{200B}\u{FEFF}\u{1b}[31m\u{2069}\u{200F}\u{E0041}";
        let name = booking_name(hostile, "k");
        assert_eq!(name, format!("Flat 12 Guest[31m · {}", marker("k")));
        assert!(
            !name
                .chars()
                .any(|c| c.is_control() || is_invisible_format(c)),
            "{name:?}"
        );
        // Letters of every script, emoji and the joiners that make them are kept.
        let kept = "Åsa Nöjd 山田 مرحبا 👍 👩\u{200D}💻 می\u{200C}خواهم";
        assert_eq!(clean_label(kept), kept);
        // A label of nothing but invisible characters leaves the marker alone.
        assert_eq!(booking_name("\u{202E}\u{200B}\n", "k"), marker("k"));
    }

    #[test]
    fn names_without_a_marker_are_not_flexysyncs() {
        for name in [
            "Cleaning",
            "fs-",
            "x fs-1234567",
            "x fs-ABCDEF12",
            "x fs-1234567g",
            "",
        ] {
            assert_eq!(marker_in(name), None, "{name}");
        }
    }
}
