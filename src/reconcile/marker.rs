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

/// The booking name: the label, cut to fit, then ` · ` and the marker.
pub fn booking_name(label: &str, reservation_key: &str) -> String {
    let marker = marker(reservation_key);
    let suffix = format!(" · {marker}");
    let room = MAX_NAME_CHARS.saturating_sub(suffix.chars().count());
    let label: String = label.trim().chars().take(room).collect();
    if label.is_empty() {
        marker
    } else {
        format!("{label}{suffix}")
    }
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
