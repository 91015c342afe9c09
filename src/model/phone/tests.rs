use super::*;

#[test]
fn national_and_international_numbers_become_e164_by_each_countrys_rules() {
    let cases = [
        // Sweden: the trunk 0 goes.
        ("46", "070-123 45 67", "+46701234567"),
        ("SE", "0701234567", "+46701234567"),
        ("46", "08-123 456 78", "+46812345678"),
        ("46", "+46 70 123 45 67", "+46701234567"),
        ("46", "0046 70 123 45 67", "+46701234567"),
        ("46", "+46 (0)70-123 45 67", "+46701234567"),
        // Italy: the leading 0 of a landline is part of the number.
        ("39", "06 1234 5678", "+390612345678"),
        ("IT", "+39 06 1234 5678", "+390612345678"),
        ("39", "347 123 4567", "+393471234567"),
        // United Kingdom.
        ("44", "07400 123456", "+447400123456"),
        ("GB", "020 7946 0018", "+442079460018"),
        // Russia: the trunk prefix is 8.
        ("7", "8 912 345-67-89", "+79123456789"),
        ("RU", "+7 912 345 67 89", "+79123456789"),
        // Germany.
        ("49", "0151 23456789", "+4915123456789"),
        ("DE", "030 12345678", "+493012345678"),
        // United States: its international prefix is 011; 00 is read as one all the same.
        ("1", "(415) 555-0132", "+14155550132"),
        ("US", "415.555.0132", "+14155550132"),
        ("1", "011 46 70 123 45 67", "+46701234567"),
        ("1", "0046 70 123 45 67", "+46701234567"),
        ("1", "011 39 06 1234 5678", "+390612345678"),
        ("46", "00 39 06 1234 5678", "+390612345678"),
        ("46", "+39 06 1234 5678", "+390612345678"),
        // A number with its country code is the same whatever the default.
        ("46", "+1 (415) 555-0132", "+14155550132"),
        ("39", "+46701234567", "+46701234567"),
        ("+46", "00 49 151 23456789", "+4915123456789"),
    ];
    for (region, raw, expected) in cases {
        let got = normalize_phone(raw, region);
        assert_eq!(
            got.as_ref().map(E164::as_str),
            Ok(expected),
            "{raw} in {region}"
        );
    }
}

#[test]
fn garbage_and_invalid_numbers_are_refused_never_guessed() {
    let not_numbers = [
        "",
        "   ",
        "+",
        "call me",
        "070-ABC-1234",
        "tel:0701234567",
        "070 123 45 67 ext. 12",
        "++46701234567",
        "+46 70 123 45 67; +46 70 765 43 21",
    ];
    for raw in not_numbers {
        assert_eq!(
            normalize_phone(raw, "46"),
            Err(PhoneError::NotANumber),
            "{raw:?}"
        );
    }
    let invalid = [
        ("46", "070 12"),
        ("46", "12345"),
        ("46", "+46 70 123 45 67 89 01 23"),
        ("46", "+0987654321"),
        ("46", "0000000000"),
        ("39", "+39 1"),
        ("1", "(415) 555-01"),
        ("44", "07400 1234567890"),
        // Ofcom's range for drama: no real phone.
        ("44", "07700 900123"),
    ];
    for (region, raw) in invalid {
        assert!(
            matches!(
                normalize_phone(raw, region),
                Err(PhoneError::Invalid { .. })
            ),
            "{raw:?} in {region}: {:?}",
            normalize_phone(raw, region)
        );
    }
}

#[test]
fn regions_are_calling_codes_or_countries() {
    assert_eq!(parse_region("46"), Ok(Id::SE));
    assert_eq!(parse_region("+39"), Ok(Id::IT));
    assert_eq!(parse_region("1"), Ok(Id::US));
    assert_eq!(parse_region("7"), Ok(Id::RU));
    assert_eq!(parse_region("44"), Ok(Id::GB));
    assert_eq!(parse_region("se"), Ok(Id::SE));
    for unknown in ["", "999", "0", "XX", "Sweden", "4 6", "1234"] {
        assert!(
            matches!(parse_region(unknown), Err(PhoneError::UnknownRegion(_))),
            "{unknown:?}"
        );
    }
    assert!(matches!(
        normalize_phone("0701234567", "999"),
        Err(PhoneError::UnknownRegion(_))
    ));
}

#[test]
fn errors_and_debug_never_show_the_number() {
    let raw = "+46 70 999 88 77 66 55 44";
    let err = normalize_phone(raw, "46").unwrap_err().to_string();
    assert!(!err.contains("999"), "{err}");
    let number = normalize_phone("0701234567", "46").unwrap();
    let debug = format!("{number:?}");
    assert!(!debug.contains("701234"), "{debug}");
    assert!(debug.ends_with("567)"), "{debug}");
    assert_eq!(number.to_string(), "+46701234567");
}

#[test]
fn log_spellings_match_the_booking_number_in_e164() {
    let booked = "+46701234567";
    for logged in [
        "+46701234567",
        "0701234567",
        "46701234567",
        "0046 70 123 45 67",
        "+46 (0)70-123 45 67",
    ] {
        assert!(same_phone(logged, booked), "{logged}");
        assert!(same_phone(booked, logged), "{logged}");
    }
    // Same last nine digits, another country: another phone.
    assert!(!same_phone("+44701234567", booked));
    assert!(!same_phone("0701234568", booked));
    // An Italian landline keeps its 0 on both sides.
    assert!(same_phone("06 1234 5678", "+390612345678"));
    assert!(!same_phone("6 1234 5678", "+390612345678"));
    // Nothing to read a national number against, or no phone at all.
    assert!(!same_phone("0701234567", "0701234567"));
    assert!(!same_phone("Informationslogg", booked));
    assert!(!same_phone("Kod", "Kod"));
}
