//! Words and columns for people: counted nouns ("1 booking", "2 bookings") and padding by
//! display width, so that å/ä/ö, CJK and emoji line up in a terminal.

use std::fmt::Display;

use unicode_width::UnicodeWidthStr;

/// A noun that has a singular and a plural form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Noun {
    pub one: &'static str,
    pub many: &'static str,
}

impl Noun {
    /// Both forms written out: English plurals are not all `+s` (entry, entries).
    pub const fn new(one: &'static str, many: &'static str) -> Self {
        Noun { one, many }
    }

    /// The form that goes with `n`: `one` for exactly 1, `many` otherwise (0 bookings).
    pub fn of<N: PartialEq + From<u8>>(&self, n: N) -> &'static str {
        if n == N::from(1) { self.one } else { self.many }
    }
}

/// `n` and its noun in the right form: `count(1, BOOKING)` is "1 booking",
/// `count(0, BOOKING)` "0 bookings". The one helper every count a person reads goes through.
pub fn count<N: PartialEq + From<u8> + Display + Copy>(n: N, noun: Noun) -> String {
    format!("{n} {}", noun.of(n))
}

pub const BOOKING: Noun = Noun::new("booking", "bookings");
pub const ENTRY: Noun = Noun::new("entry", "entries");
pub const RESERVATION: Noun = Noun::new("reservation", "reservations");
pub const WARNING: Noun = Noun::new("warning", "warnings");
pub const UNIT: Noun = Noun::new("unit", "units");
pub const DAY: Noun = Noun::new("day", "days");
pub const OPERATION: Noun = Noun::new("operation", "operations");
pub const WRITE_CALL: Noun = Noun::new("write call", "write calls");
pub const FLEXYKEY_WRITE_CALL: Noun = Noun::new("FlexyKey write call", "FlexyKey write calls");
pub const SOURCE: Noun = Noun::new("source", "sources");
pub const DELETION: Noun = Noun::new("deletion", "deletions");
pub const CHECK: Noun = Noun::new("check", "checks");
pub const ARRIVAL: Noun = Noun::new("arrival", "arrivals");
pub const TIME: Noun = Noun::new("time", "times");
pub const WINDOW: Noun = Noun::new("window", "windows");
pub const EVENT: Noun = Noun::new("event", "events");
pub const FOREIGN: Noun = Noun::new("foreign booking", "foreign bookings");
pub const UPCOMING: Noun = Noun::new("upcoming reservation", "upcoming reservations");
pub const OWNED_BOOKING: Noun = Noun::new("owned booking", "owned bookings");
pub const SUCCESSFUL_READ: Noun = Noun::new("successful read", "successful reads");
pub const UPCOMING_STAY: Noun = Noun::new("upcoming stay", "upcoming stays");
pub const FAILURE: Noun = Noun::new("failure", "failures");
pub const FAILED_READ: Noun = Noun::new("failed read", "failed reads");
pub const HOUR: Noun = Noun::new("hour", "hours");
pub const CONSECUTIVE_READ: Noun = Noun::new(
    "consecutive successful read",
    "consecutive successful reads",
);
pub const OBJECT: Noun = Noun::new("booking object", "booking objects");

/// Columns `text` takes in a terminal (wide characters 2, combining marks 0).
pub fn display_width(text: &str) -> usize {
    text.width()
}

/// `text` followed by spaces up to `width` columns (never cut: a longer text overflows).
pub fn pad_right(text: &str, width: usize) -> String {
    let pad = width.saturating_sub(display_width(text));
    let mut out = String::with_capacity(text.len() + pad);
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', pad));
    out
}

/// Spaces up to `width` columns, then `text` (numbers).
pub fn pad_left(text: &str, width: usize) -> String {
    let pad = width.saturating_sub(display_width(text));
    let mut out = String::with_capacity(text.len() + pad);
    out.extend(std::iter::repeat_n(' ', pad));
    out.push_str(text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1usize, BOOKING), "1 booking");
        assert_eq!(count(0usize, BOOKING), "0 bookings");
        assert_eq!(count(2u64, BOOKING), "2 bookings");
        assert_eq!(count(1u32, ENTRY), "1 entry");
        assert_eq!(count(11i64, ENTRY), "11 entries");
        assert_eq!(count(1i64, WRITE_CALL), "1 write call");
    }

    #[test]
    fn padding_counts_display_columns_not_chars_or_bytes() {
        // "Åsa" is 3 columns however it is encoded; an emoji and a CJK character take 2.
        assert_eq!(pad_right("Åsa", 5), "Åsa  ");
        assert_eq!(pad_right("A\u{30a}sa", 5), "A\u{30a}sa  ");
        assert_eq!(display_width("🔑"), 2);
        assert_eq!(pad_right("🔑", 4), "🔑  ");
        assert_eq!(pad_right("門", 3), "門 ");
        assert_eq!(pad_left("7", 3), "  7");
        assert_eq!(pad_right("too long", 3), "too long");
    }
}
