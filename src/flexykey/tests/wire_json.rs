//! The wire types against JSON written exactly as `flexykey-api.md` shows it.

use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::flexykey::wire::{self, *};
use crate::flexykey::{NewBooking, OutputAction, OutputName, UnitRef};

#[test]
fn a_unit_keeps_its_serial_ignores_unknown_fields_and_maps_its_windows_zone() {
    let body = r#"[{
        "unitId": 3023, "unitType": "FlexyKey", "serialnumber": "040530585131396",
        "ownPhoneOrID": "+46700000000", "name": "Tvättstuga", "softVersion": "4.12",
        "unitInfo": "modem text", "unitNote": null, "timezoneId": "W. Europe Standard Time",
        "timezoneInfo": "(UTC+01:00) Amsterdam, Berlin", "created": "2019-05-02T10:11:12",
        "io": [{"localNumber": 1, "globalNumber": "X5", "description": "Gate"}],
        "somethingNew": {"nested": true}
    }, {"unitId": "5459", "unitType": "AirKey", "serialnumber": 12345}]"#;
    let units = wire::decode_list(body.as_bytes(), WireUnit::into_unit).unwrap();
    let unit = &units[0];
    assert_eq!(unit.unit_id, 3023);
    assert_eq!(unit.serial_number.as_deref(), Some("040530585131396"));
    assert_eq!(unit.own_phone_or_id.as_deref(), Some("+46700000000"));
    assert_eq!(unit.unit_note, None);
    assert_eq!(unit.timezone(), Some(chrono_tz::Europe::Berlin));
    assert!(unit.is_flexykey());
    assert_eq!(unit.io.len(), 1);
    assert_eq!(unit.io[0].global_number, "X5");
    assert_eq!(unit.io[0].local_number, Some(1));
    assert_eq!(unit.io[0].description.as_deref(), Some("Gate"));
    // An id as a digit string, a serial as a number; no io, no zone.
    assert_eq!(units[1].unit_id, 5459);
    assert_eq!(units[1].serial_number.as_deref(), Some("12345"));
    assert!(units[1].io.is_empty());
    assert!(!units[1].is_flexykey());
    assert_eq!(units[1].timezone(), None);
}

#[test]
fn a_list_entry_without_its_id_fails_the_list_naming_the_entry() {
    let body = r#"[{"unitId": 1}, {"name": "no id"}]"#;
    let error = wire::decode_list(body.as_bytes(), WireUnit::into_unit).unwrap_err();
    assert!(
        error.contains("entry 1") && error.contains("unitId"),
        "{error}"
    );
    let error = wire::decode_list(b"{\"units\": []}", WireUnit::into_unit).unwrap_err();
    assert!(error.contains("JSON array"), "{error}");
}

#[test]
fn control_bodies_are_spelled_as_documented() {
    let output: OutputName = "x33".parse().unwrap();
    let serial = UnitRef::Serial("040530585131396".into());
    let body = serde_json::to_value(WireControl::new(&serial, &output, OutputAction::Pulse(60)));
    let expected =
        json!({"serialNumber": "040530585131396", "outputNumber": "X33", "outputAction": "60"});
    assert_eq!(body.unwrap(), expected);
    let f1: OutputName = "F1".parse().unwrap();
    let by_id = UnitRef::Id(3023);
    let sent = WireControl::new(&by_id, &f1, OutputAction::On);
    assert_eq!(
        serde_json::to_value(&sent).unwrap(),
        json!({"unitId": 3023, "outputNumber": "F1", "outputAction": "ON"})
    );
    let answer =
        r#"{"status":"OK","unitId":3023,"outputNumber":"F1","outputAction":"ON","messageId":null}"#;
    let result = serde_json::from_str::<WireControlResult>(answer)
        .unwrap()
        .into_result(&sent);
    assert_eq!(result.status, "OK");
    assert_eq!(result.unit_id, Some(3023));
    assert_eq!(result.output_number, "F1");
    assert_eq!(result.output_action, "ON");
    assert_eq!(result.message_id, None);
}

#[test]
fn io_status_uses_the_iso_timestamp_and_all_three_lists() {
    let body = r#"{"unitId": 3023, "serialNumber": "040530585131396",
        "statusTimestamp": "2025-11-21 08:14:50", "statusTimestampIso": "2025-11-21T08:14:50Z",
        "rawStatus": "ASTAT:1,0", "inputs": [{"input": "IN1", "state": "off"}],
        "fOutputs": [{"output": "F1", "state": "on"}, {"output": "F2", "state": "off"}],
        "xOutputs": [{"output": "X33", "state": "off"}], "extra": 1}"#;
    let status = wire::decode_one(body.as_bytes(), |w: WireIoStatus| {
        w.into_status(&UnitRef::Id(3023))
    })
    .unwrap();
    assert_eq!(status.unit_id, 3023);
    assert_eq!(status.serial_number.as_deref(), Some("040530585131396"));
    let expected = Utc.with_ymd_and_hms(2025, 11, 21, 8, 14, 50).unwrap();
    assert_eq!(status.status_timestamp, Some(expected));
    assert_eq!(status.raw_status.as_deref(), Some("ASTAT:1,0"));
    assert_eq!(status.inputs[0].name, "IN1");
    assert_eq!(status.inputs[0].state, "off");
    assert_eq!(status.f_outputs.len(), 2);
    assert_eq!(status.f_outputs[0].state, "on");
    assert_eq!(status.x_outputs[0].name, "X33");
}

#[test]
fn log_entries_keep_every_field_and_parse_times_leniently() {
    let body = r#"[{"serverDate": "2025-11-21T10:21:11Z", "unitDate": "2025-11-21 11:21",
        "sourceID": "+46701234567", "sourceLabel": "Anna", "actionLabel": "Öppnade",
        "logMsg": "Grind öppnad", "unknown": "x"},
        {"serverDate": "2025-11-21T11:21:11.250+01:00"},
        {"serverDate": "2025-11-21 10:21:11"}]"#;
    let entries = wire::decode_list(body.as_bytes(), WireLogEntry::into_entry).unwrap();
    let at = Utc.with_ymd_and_hms(2025, 11, 21, 10, 21, 11).unwrap();
    assert_eq!(entries[0].server_date, at);
    assert_eq!(entries[0].unit_date.as_deref(), Some("2025-11-21 11:21"));
    assert_eq!(entries[0].source_id.as_deref(), Some("+46701234567"));
    assert_eq!(entries[0].source_label.as_deref(), Some("Anna"));
    assert_eq!(entries[0].action_label.as_deref(), Some("Öppnade"));
    assert_eq!(entries[0].log_msg.as_deref(), Some("Grind öppnad"));
    let fraction = chrono::Duration::milliseconds(250);
    assert_eq!(entries[1].server_date, at + fraction);
    assert_eq!(entries[2].server_date, at);
    let bad = wire::decode_list(
        br#"[{"serverDate": "yesterday"}]"#,
        WireLogEntry::into_entry,
    );
    let error = bad.unwrap_err();
    assert!(
        error.contains("serverDate") && error.contains("yesterday"),
        "{error}"
    );
}

fn new_booking() -> NewBooking {
    NewBooking {
        booking_object_id: 123,
        start: Utc.with_ymd_and_hms(2025, 11, 21, 9, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2025, 11, 21, 10, 0, 0).unwrap(),
        phones: vec!["+46701234567".into(), "+46707654321".into()],
        code: Some("0042".into()),
        rfid: None,
        name: Some("Anna".into()),
    }
}

#[test]
fn a_new_booking_is_the_documented_body_with_the_assumed_fields() {
    let booking = new_booking();
    let body = serde_json::to_value(WireNewBooking::new(&booking).unwrap()).unwrap();
    let expected = json!({
        "bookingObjectId": 123, "startDate": "2025-11-21T09:00:00Z",
        "endDate": "2025-11-21T10:00:00Z", "phone1": "+46701234567",
        "phone2": "+46707654321", "code": "0042", "name": "Anna"
    });
    assert_eq!(body, expected);
    let mut four = booking.clone();
    four.phones = vec!["1".into(), "2".into(), "3".into(), "4".into()];
    let refused = WireNewBooking::new(&four).err().unwrap();
    assert!(refused.contains("at most 3"), "{refused}");
}

#[test]
fn a_booking_reads_back_and_a_sparse_create_answer_is_completed_from_the_request() {
    let booking = new_booking();
    let full = r#"{"bookingId": 98765, "bookingObjectId": 123,
        "startDate": "2025-11-21T09:00:00Z", "endDate": "2025-11-21T10:00:00Z",
        "phone1": "+46701234567", "phone2": "+46707654321", "phone3": null,
        "code": "0042", "rfid": null, "name": "Anna", "createdBy": "api"}"#;
    let read = wire::decode_one(full.as_bytes(), |w: WireBooking| w.into_booking(None, None));
    let read = read.unwrap();
    assert_eq!(read.booking_id, 98765);
    assert_eq!(read.booking_object_id, 123);
    assert_eq!(read.start, booking.start);
    assert_eq!(read.end, booking.end);
    assert_eq!(read.phones, booking.phones);
    assert_eq!(read.code.as_deref(), Some("0042"));
    assert_eq!(read.name.as_deref(), Some("Anna"));
    let sparse = br#"{"bookingId": 5}"#;
    let created = wire::decode_one(sparse, |w: WireBooking| {
        w.into_booking(Some(&booking), None)
    })
    .unwrap();
    assert_eq!(created.booking_id, 5);
    assert_eq!(created.booking_object_id, 123);
    assert_eq!(created.start, booking.start);
    assert_eq!(created.phones, booking.phones);
    let without_id = wire::decode_one(br#"{"bookingObjectId": 1}"#, |w: WireBooking| {
        w.into_booking(Some(&booking), None)
    });
    assert!(without_id.unwrap_err().contains("bookingId"));
}

#[test]
fn booking_objects_list_their_units() {
    let body = r#"[{"bookingObjectId": 7, "name": "Stuga 1", "unitIds": [3023, 5459]},
        {"bookingObjectId": 8, "name": null, "unitIds": null}]"#;
    let objects = wire::decode_list(body.as_bytes(), WireBookingObject::into_object).unwrap();
    assert_eq!(objects[0].booking_object_id, 7);
    assert_eq!(objects[0].name.as_deref(), Some("Stuga 1"));
    assert_eq!(objects[0].unit_ids, vec![3023, 5459]);
    assert!(objects[1].unit_ids.is_empty());
}

#[test]
fn error_bodies_give_their_message_or_a_short_text_or_nothing() {
    let json = br#"{"status":"ERROR","message":"Unit belongs to another company"}"#;
    let message = wire::error_message(json);
    assert_eq!(message.as_deref(), Some("Unit belongs to another company"));
    assert_eq!(wire::error_message(b""), None);
    assert_eq!(wire::error_message(b"  \n"), None);
    assert_eq!(wire::error_message(br#"{"status":"ERROR"}"#), None);
    let html = wire::error_message(b"<html>\n<b>Bad  Gateway</b>\n</html>");
    assert_eq!(html.as_deref(), Some("<html> <b>Bad Gateway</b> </html>"));
    let long = "x".repeat(5000);
    assert_eq!(wire::error_message(long.as_bytes()).unwrap().len(), 300);
    let problem = br#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title":"One or more validation errors occurred.","status":400,
        "errors":{"startDate":["The startDate field is required."]}}"#;
    assert_eq!(
        wire::error_message(problem).as_deref(),
        Some("One or more validation errors occurred. startDate: The startDate field is required.")
    );
}

#[test]
fn times_are_sent_at_second_precision_in_utc() {
    let time = Utc.with_ymd_and_hms(2025, 11, 21, 10, 21, 11).unwrap();
    let with_millis = time + chrono::Duration::milliseconds(999);
    assert_eq!(wire::format_time(with_millis), "2025-11-21T10:21:11Z");
    assert_eq!(wire::parse_time("2025-11-21T10:21:11Z"), Some(time));
    assert_eq!(wire::parse_time("2025-11-21T11:21:11+01:00"), Some(time));
    assert_eq!(wire::parse_time("2025-11-21T10:21:11"), Some(time));
    assert_eq!(wire::parse_time("21/11/2025"), None);
}
