//! The plain reader against calcard: wherever `scan::read_plain` reads a block, it must read
//! exactly what calcard reads, on every VEVENT of the fixtures and the shared corpus and on
//! generated blocks full of folds, escapes, parameters and nesting.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::{TextProps, read_plain};
use crate::sources::ical::event::calcard_props;
use crate::sources::ical::text::{Block, decode, split};

fn block(text: &str) -> Block<'_> {
    Block {
        text,
        line: 1,
        calendar: 0,
    }
}

fn calcard(text: &str) -> Option<TextProps<'_>> {
    calcard_props(&block(text), &mut Vec::new())
}

/// Asserts agreement; true when the plain reader took the block.
fn agrees(text: &str) -> bool {
    match read_plain(text) {
        Some(fast) => {
            assert_eq!(Some(fast), calcard(text), "block: {text:?}");
            true
        }
        None => false,
    }
}

fn calendars_under(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            calendars_under(&path, found);
        } else if path.extension().is_some_and(|e| e == "ics") {
            found.push(path);
        }
    }
}

#[test]
fn every_plain_block_of_the_fixtures_and_corpus_reads_as_calcard_reads_it() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    calendars_under(&root.join("tests/fixtures/ical"), &mut files);
    calendars_under(&root.join("../shared/corpus/ical"), &mut files);
    assert!(
        !files.is_empty(),
        "no calendars found under {}",
        root.display()
    );
    let (mut plain, mut all) = (0usize, 0usize);
    for file in &files {
        let bytes = std::fs::read(file).expect("calendar file");
        let text = decode(&bytes, &mut Vec::new());
        for event in split(&text, &mut Vec::new()).events {
            all += 1;
            plain += usize::from(agrees(event.text));
        }
    }
    // Most real blocks are plain: the fast path must not silently stop being taken.
    assert!(plain * 2 > all, "{plain} of {all} blocks read plainly");
}

#[test]
fn feed_shapes_are_read_plainly() {
    let airbnb = "BEGIN:VEVENT\r\nDTEND;VALUE=DATE:20260110\r\nDTSTART;VALUE=DATE:20260105\r\n\
        UID:1418fb94e984-0a6a3ae6a5c2cd7bd0f8b4b34d3e6d08@airbnb.com\r\n\
        DESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/d\r\n \
        etails/HMABCDEF\\nPhone Number (Last 4 Digits): 1234\r\nSUMMARY:Reserved\r\n\
        SEQUENCE:2\r\nSTATUS:CONFIRMED\r\nDURATION:PT1H\r\nEND:VEVENT\r\n";
    let props = read_plain(airbnb).expect("plain");
    assert_eq!(
        props.uid.as_deref(),
        Some("1418fb94e984-0a6a3ae6a5c2cd7bd0f8b4b34d3e6d08@airbnb.com")
    );
    assert_eq!(
        props.description.as_deref(),
        Some(
            "Reservation URL: https://www.airbnb.com/hosting/reservations/details/HMABCDEF\n\
             Phone Number (Last 4 Digits): 1234"
        )
    );
    assert_eq!(props.sequence, 2);
    assert!(agrees(airbnb));
    let outlook = "BEGIN:VEVENT\nSUMMARY;LANGUAGE=en-us:Board\\, meeting\\;\nUID:x\n\
        BEGIN:VALARM\nSUMMARY:not the event's\nEND:VALARM\nEND:VEVENT\n";
    assert_eq!(
        read_plain(outlook).and_then(|p| p.summary),
        Some("Board, meeting;".to_owned())
    );
    assert!(agrees(outlook));
}

#[test]
fn lines_calcard_reads_by_rules_of_its_own_are_left_to_it() {
    for text in [
        "BEGIN:VEVENT\nATTENDEE;CN=Ann:tel:+46701234567\nEND:VEVENT\n",
        "BEGIN:VEVENT\nDESCRIPTION;ENCODING=QUOTED-PRINTABLE:a=\nSUMMARY:b\nEND:VEVENT\n",
        "BEGIN:VEVENT\nSUMMARY:ends with a backslash\\\nEND:VEVENT\n",
        "BEGIN:VEVENT\nSUMMARY;VALUE=INTEGER:5\nEND:VEVENT\n",
        "BEGIN:VEVENT\nSUMMARY,X:odd name\nEND:VEVENT\n",
        "BEGIN:VEVENT\nnot a line, but words\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:a\nEND:VEVENT\nBEGIN:VALARM\nDTSTART:20240101\n",
        "BEGIN:VEVENT\nDTST\n ART:20240101\nEND:VEVENT\n",
        // calcard keeps a CR inside a value or drops it, by what came before it.
        "BEGIN:VEVENT\r\nUID:a\rb\r\nEND:VEVENT\r\n",
    ] {
        assert!(read_plain(text).is_none(), "read plainly:\n{text}");
        calcard(text);
    }
}

/// Lines built from the pieces that make calcard's reading subtle.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "BEGIN:VEVENT",
        "BEGIN:VALARM",
        "END:VALARM",
        "END:VEVENT",
        "UID:",
        "uid:",
        "SUMMARY",
        "SUMMARY;LANGUAGE=en:",
        "SUMMARY;ALTREP=\"cid:x\":",
        "DESCRIPTION:",
        "STATUS:",
        "SEQUENCE:",
        "DURATION:",
        "DTSTART;TZID=\"Europe/Oslo\":",
        "DTEND:",
        "RRULE:FREQ=DAILY;COUNT=2",
        "EXDATE;VALUE=DATE:",
        "20240101",
        "T100000Z",
        "DTST",
        "X-FOO;ENCODING=QUOTED-PRINTABLE:",
        "ATTENDEE:",
        "BEGIN;X=1:VALARM",
        "UID;X-A=\"q;:\":",
        "SUMMARY;VALUE=TEXT:",
        "DESCRIPTION;ALTREP=a,b:",
        "SUMMARY;BASE64:",
        "STATUS;CHARSET=utf-8:",
        " SUMMARY:",
        "\u{7}",
        "CONFIRMED",
        "cancelled",
        "P1D",
        "-PT1H",
        "12",
        "-3",
        " ",
        "\t",
        "\\",
        "\\n",
        "\\,",
        "\\\\",
        "a",
        "é",
        ":",
        ";",
        ",",
        "=",
        "\"",
        "\r",
        "\r\n",
        "\n",
        "\r\n ",
        "\n\t",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn generated_blocks_read_as_calcard_reads_them(
        pieces in prop::collection::vec(piece(), 0..40)
    ) {
        let text = format!("BEGIN:VEVENT\r\n{}", pieces.concat());
        agrees(&text);
    }
}
