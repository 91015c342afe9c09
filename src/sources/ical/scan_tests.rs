//! The plain reader against calcard: wherever `scan::read_plain` reads a block, it must read
//! exactly what calcard reads, on every VEVENT of the fixtures and the shared corpus and on
//! generated blocks full of folds, escapes, parameters and nesting.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::{Detail, Prop, TextProps, classify, read_plain, sets_encoding};
use crate::sources::ical::dates::DATE_PROPERTIES;
use crate::sources::ical::event::{Component, calcard_props, parse_block};
use crate::sources::ical::text::{Block, decode, split};
use crate::sources::ical::zone::ZoneTable;

fn block(text: &str) -> Block<'_> {
    Block {
        text,
        line: 1,
        calendar: 0,
    }
}

fn calcard(text: &str) -> Option<TextProps<'_>> {
    calcard_props(&block(text), Detail::Full, &mut Vec::new())
}

/// Asserts agreement; true when the plain reader took the block.
fn agrees(text: &str) -> bool {
    listing_agrees(text);
    match read_plain(text, Detail::Full) {
        Some(fast) => {
            assert_eq!(Some(fast), calcard(text), "block: {text:?}");
            true
        }
        None => false,
    }
}

/// The listing read takes the blocks the full read takes and reads every field the same,
/// only without DESCRIPTION and ATTENDEE: in each reader, and once parsed into a component.
fn listing_agrees(text: &str) {
    let full = read_plain(text, Detail::Full);
    let listing = read_plain(text, Detail::Listing);
    assert_eq!(
        listing.is_some(),
        full.is_some(),
        "one read of the two is plain: {text:?}"
    );
    if let (Some(listing), Some(full)) = (listing, full) {
        assert_eq!(listing, without_details(full), "block: {text:?}");
    }
    let full = calcard_props(&block(text), Detail::Full, &mut Vec::new());
    let listing = calcard_props(&block(text), Detail::Listing, &mut Vec::new());
    assert_eq!(listing, full.map(without_details), "block: {text:?}");
    let zones = ZoneTable::default();
    let (mut full_warnings, mut listing_warnings) = (Vec::new(), Vec::new());
    let full = parse_block(&block(text), &zones, Detail::Full, &mut full_warnings);
    let listing = parse_block(&block(text), &zones, Detail::Listing, &mut listing_warnings);
    let full = full.map(|component| Component {
        description: None,
        attendees: Vec::new().into(),
        ..component
    });
    assert_eq!(listing, full, "block: {text:?}");
    assert_eq!(listing_warnings, full_warnings, "block: {text:?}");
}

fn without_details(props: TextProps<'_>) -> TextProps<'_> {
    TextProps {
        description: None,
        attendees: Vec::new(),
        ..props
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
    let props = read_plain(airbnb, Detail::Full).expect("plain");
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
        read_plain(outlook, Detail::Full).and_then(|p| p.summary),
        Some("Board, meeting;".into())
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
        // calcard reads the line end after a bare fold as the character `\` escapes.
        "BEGIN:VEVENT\nSUMMARY:a\\\n \n\tb\nEND:VEVENT\n",
        "BEGIN:VEVENT\r\nUID:a\\\r\n\t\r\n b\r\nEND:VEVENT\r\n",
        // calcard keeps a CR inside a value or drops it, by what came before it.
        "BEGIN:VEVENT\r\nUID:a\rb\r\nEND:VEVENT\r\n",
    ] {
        assert!(
            read_plain(text, Detail::Full).is_none(),
            "read plainly:\n{text}"
        );
        calcard(text);
    }
}

/// DESCRIPTION lines the listing does not read but must judge as the full read does: folds,
/// escapes across folds, a `\` before a tab or at the end, parameters (folded too),
/// quoted-printable, a stray CR, and the same inside a VALARM.
#[test]
fn descriptions_the_listing_skips_are_judged_as_the_full_read_judges_them() {
    let mut plain = 0;
    for description in [
        "DESCRIPTION:one line",
        "DESCRIPTION:folded\r\n once\r\n\tand twice",
        "DESCRIPTION:a backslash at the fold \\\r\n n is an escaped n",
        "DESCRIPTION:a backslash at the fold \\\r\n\t\tbefore a tab",
        "DESCRIPTION:ends with a backslash\\",
        "DESCRIPTION:ends with a folded backslash\r\n \\",
        "DESCRIPTION:a backslash before a bare fold \\\r\n \r\n\tescapes its line end",
        "DESCRIPTION:an escaped backslash before a bare fold \\\\\r\n \r\n\tx",
        "DESCRIPTION:escaped backslash then tab \\\\\t",
        "DESCRIPTION:backslash tab \\\t inside",
        "DESCRIPTION;LANGUAGE=en:with a parameter\\n",
        "DESCRIPTION;LANG\r\n UAGE=en:parameter folded",
        "DESCRIPTION;ALTREP=\"cid:x\":quoted parameter",
        "DESCRIPTION;ALTREP=a,b:comma in a parameter",
        "DESCRIPTION;VALUE=TEXT:typed",
        "DESCRIPTION;ENCODING=QUOTED-PRINTABLE:soft=\r\n break",
        "DESCRIPTION;X=1:mentions base64 in the value",
        "DESCRIPTION:a stray\rCR",
        "DESCRIPTION:a stray CR in a fold\r\n x\ry",
        "DESCRIPTION:",
        "DESCRIPTION:\r\n ",
        "DESCRIPTION",
        "DESCRIPTION:caf\u{e9} \\\u{e9} \u{1f511}",
        "BEGIN:VALARM\r\nDESCRIPTION:ends with a backslash\\\r\nEND:VALARM",
    ] {
        for end in ["\r\n", "\n"] {
            let text = format!(
                "BEGIN:VEVENT{end}UID:u{end}DTSTART:20240101T100000Z{end}{description}{end}\
                 SUMMARY:s{end}END:VEVENT{end}"
            )
            .replace("\r\n", end);
            plain += usize::from(agrees(&text));
        }
    }
    // Twelve of the shapes are plain (with either line end); the others are calcard's.
    assert_eq!(plain, 24, "{plain} read plainly");
}

/// The names `read_plain` tells apart are the ones calcard tells apart, in any case.
#[test]
fn names_are_told_apart_as_calcard_tells_them_apart() {
    use calcard::common::IanaParse;
    use calcard::icalendar::ICalendarProperty as Calcard;
    let expected = |name: &str| match Calcard::parse(name.as_bytes()) {
        _ if DATE_PROPERTIES.iter().any(|d| d.eq_ignore_ascii_case(name)) => Prop::Date,
        Some(Calcard::Begin) => Prop::Begin,
        Some(Calcard::End) => Prop::End,
        Some(Calcard::Attendee) => Prop::Attendee,
        Some(Calcard::Uid) => Prop::Uid,
        Some(Calcard::Summary) => Prop::Summary,
        Some(Calcard::Description) => Prop::Description,
        Some(Calcard::Status) => Prop::Status,
        Some(Calcard::Sequence) => Prop::Sequence,
        Some(Calcard::Duration) => Prop::Duration,
        _ => Prop::Other,
    };
    let names = [
        "UID",
        "END",
        "BEGIN",
        "DTEND",
        "RDATE",
        "RRULE",
        "STATUS",
        "EXDATE",
        "DTSTART",
        "SUMMARY",
        "ATTENDEE",
        "SEQUENCE",
        "DURATION",
        "DESCRIPTION",
        "RECURRENCE-ID",
        "DTSTAMP",
        "DUE",
        "EXRULE",
        "CREATED",
        "LOCATION",
        "CATEGORIES",
        "ORGANIZER",
        "TRANSP",
        "CLASS",
        "PRIORITY",
        "COMMENT",
        "CONTACT",
        "RELATED-TO",
        "URL",
        "GEO",
        "X-ALT-DESC",
        "TZID",
        "UIDX",
        "EN",
        "RDATES",
        "RRULE-",
        "DTSTARTED",
        "SUMMARYS",
        "ATTENDEES",
        "R",
        "",
        "UI@",
        "END:",
        "D",
        "SEQ",
        "DESCRIPTIO",
        "RECURRENCE_ID",
        "Ü",
        "STATU\u{e9}",
    ];
    for name in names {
        for variant in [name.to_owned(), name.to_ascii_lowercase(), mixed_case(name)] {
            assert_eq!(classify(&variant), expected(&variant), "{variant:?}");
        }
    }
}

/// The words that make calcard decode a value, found anywhere on the line in any case.
#[test]
fn encoding_words_are_found_anywhere_in_any_case() {
    for line in [
        ";ENCODING=QUOTED-PRINTABLE:x",
        ";X=1:endswithbase64",
        ";encoding=b:",
        ";CharSet=utf-8:x",
        "BaSe64",
        ";X=\"a\u{e9}CHARSET\":x",
    ] {
        assert!(sets_encoding(line), "{line:?}");
    }
    for line in [
        ";TZID=Europe/Stockholm:20260101T174500",
        ";X=ENCODIN:G",
        ";BASE6:4",
        ";CHARSE",
        "",
        "e",
        ";VALUE=DATE:20240101",
    ] {
        assert!(!sets_encoding(line), "{line:?}");
    }
}

proptest! {
    /// As a search of the lower-cased line for each word.
    #[test]
    fn encoding_words_are_found_where_a_plain_search_finds_them(
        pieces in prop::collection::vec(
            prop::sample::select(vec![
                "en", "EN", "coding", "CODING", "Cod", "ing", "ba", "BA", "se64", "SE6", "4", "ch",
                "CH", "arset", "ARSET", "e", "b", "c", ";", ":", "=", "\u{e9}", "x",
            ]),
            0..12,
        )
    ) {
        let line = pieces.concat();
        let lower = line.to_ascii_lowercase();
        let expected = ["encoding", "base64", "charset"].iter().any(|w| lower.contains(w));
        prop_assert_eq!(sets_encoding(&line), expected, "{:?}", line);
    }
}

fn mixed_case(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(at, c)| match at % 2 {
            0 => c.to_ascii_lowercase(),
            _ => c.to_ascii_uppercase(),
        })
        .collect()
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
        "DESCRIPTION;LANGUAGE=en:",
        "DESCRIPTION;ENCODING=QUOTED-PRINTABLE:",
        "=",
        "\\\t",
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
