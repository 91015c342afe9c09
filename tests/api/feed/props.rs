//! Properties: reservations never end before they start, fingerprints ignore what FlexyKey
//! never sees, derived codes are stable, non-trivial and unique per object.

use proptest::prelude::*;

use super::{rules_ctx, source};
use flexysync::sources::ical::{derive_code, is_trivial_code, preview_from_bytes};

fn feed(events: &[(u32, u32, u32, bool, u32)]) -> String {
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//prop//EN\r\n");
    for (i, (start_day, len_days, hour, all_day, stamp)) in events.iter().enumerate() {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date")
            + chrono::Duration::days(i64::from(*start_day));
        let end = start + chrono::Duration::days(i64::from(*len_days));
        text.push_str("BEGIN:VEVENT\r\n");
        text.push_str(&format!(
            "UID:ev-{i}\r\nDTSTAMP:2025{:02}01T000000Z\r\nSEQUENCE:{stamp}\r\n",
            stamp % 12 + 1
        ));
        if *all_day {
            text.push_str(&format!(
                "DTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\n",
                start.format("%Y%m%d"),
                end.format("%Y%m%d")
            ));
        } else {
            text.push_str(&format!(
                "DTSTART;TZID=Europe/Stockholm:{}T{hour:02}3000\r\nDTEND;TZID=Europe/Stockholm:{}T{hour:02}0000\r\n",
                start.format("%Y%m%d"),
                end.format("%Y%m%d")
            ));
        }
        text.push_str("SUMMARY:Guest\r\nEND:VEVENT\r\n");
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

fn events() -> impl Strategy<Value = Vec<(u32, u32, u32, bool, u32)>> {
    prop::collection::vec(
        (0u32..300, 0u32..10, 0u32..24, any::<bool>(), 0u32..50),
        1..25,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn reservations_never_end_before_they_start(list in events(), before in 0u64..600, after in 0u64..600) {
        let src = source(serde_json::json!({
            "buffer_before": format!("{before}m"), "buffer_after": format!("{after}m"), "code": "derived"
        }));
        let preview = preview_from_bytes(feed(&list).as_bytes(), &src, &rules_ctx("2025-12-01", "2027-01-01"));
        for r in &preview.reservations {
            prop_assert!(r.end > r.start, "{r:?}");
        }
    }

    #[test]
    fn fingerprints_ignore_volatile_fields(list in events(), bump in 1u32..40) {
        let src = source(serde_json::json!({"code": "derived"}));
        let ctx = rules_ctx("2025-12-01", "2027-01-01");
        let a = preview_from_bytes(feed(&list).as_bytes(), &src, &ctx);
        // Same events, other DTSTAMP and SEQUENCE.
        let bumped: Vec<_> = list.iter().map(|(s, l, h, d, st)| (*s, *l, *h, *d, st + bump)).collect();
        let b = preview_from_bytes(feed(&bumped).as_bytes(), &src, &ctx);
        let fa: Vec<String> = a.reservations.iter().map(|r| r.fingerprint()).collect();
        let fb: Vec<String> = b.reservations.iter().map(|r| r.fingerprint()).collect();
        prop_assert_eq!(fa, fb);
    }

    #[test]
    fn derived_codes_are_stable_and_non_trivial(key in "[a-z0-9/@.-]{1,40}", length in 4u8..=8) {
        let code = derive_code(b"secret", &key, length, 0);
        prop_assert_eq!(&code, &derive_code(b"secret", &key, length, 0));
        prop_assert_eq!(code.len(), usize::from(length));
        prop_assert!(!is_trivial_code(&code));
        prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn derived_codes_are_unique_among_overlapping_reservations(list in events()) {
        // 4-digit codes, many overlapping stays: clashes happen and must be resolved.
        let src = source(serde_json::json!({"code": "derived", "code_length": 4}));
        let preview = preview_from_bytes(feed(&list).as_bytes(), &src, &rules_ctx("2025-12-01", "2027-01-01"));
        let rs = &preview.reservations;
        for (i, a) in rs.iter().enumerate() {
            for b in &rs[i + 1..] {
                if a.start < b.end && b.start < a.end {
                    prop_assert_ne!(&a.credentials.code, &b.credentials.code);
                }
            }
        }
    }
}
