use super::*;
use serde_json::json;

fn source() -> SourceConfig {
    serde_json::from_value(json!({
        "name": "laundry",
        "kind": "webhook",
        "secret": "s3cret",
        "objects": {"room-a": 123, "room-b": 124},
        "timezone": "Europe/Stockholm",
    }))
    .unwrap()
}

fn event() -> Value {
    json!({
        "id": "evt_1",
        "type": "booking.upserted",
        "occurred_at": "2026-11-27T10:00:00Z",
        "booking": {
            "id": "b-42", "resource": "room-a",
            "start": "2026-12-01T08:00:00+01:00", "end": "2026-12-01T11:00:00",
            "status": "confirmed", "name": " Flat 12 ",
            "phones": ["070-123 45 67", "+46701234567", "0046 8 123 456"],
            "code": "4821", "rfid": null, "extra": {"ignored": true}
        }
    })
}

fn parse(value: &Value) -> Result<WebhookEvent, PayloadError> {
    parse_event(value.to_string().as_bytes(), &source())
}

fn field_of(err: PayloadError) -> String {
    match err {
        PayloadError::Field { field, .. } | PayloadError::UnknownResource { field, .. } => field,
        PayloadError::Json(reason) => panic!("not a field error: {reason}"),
    }
}

#[test]
fn a_full_event_is_normalized() {
    let event = parse(&event()).unwrap();
    assert_eq!(event.id, "evt_1");
    assert_eq!(event.kind, EventKind::Upserted);
    let booking = event.booking;
    assert_eq!(booking.booking_id, "b-42");
    assert_eq!(booking.status, BookingStatus::Confirmed);
    assert_eq!(booking.resource.as_deref(), Some("room-a"));
    assert_eq!(
        booking.start.unwrap().to_rfc3339(),
        "2026-12-01T07:00:00+00:00"
    );
    // Local time read in the source's zone.
    assert_eq!(
        booking.end.unwrap().to_rfc3339(),
        "2026-12-01T10:00:00+00:00"
    );
    assert_eq!(booking.name.as_deref(), Some("Flat 12"));
    assert_eq!(booking.phones, vec!["+46701234567", "+468123456"]);
    assert_eq!(booking.code.as_deref(), Some("4821"));
    assert_eq!(booking.rfid, None);
}

#[test]
fn each_bad_field_is_named() {
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change)> = vec![
        ("id", Box::new(|v| v["id"] = json!(""))),
        ("type", Box::new(|v| v["type"] = json!("booking.moved"))),
        (
            "occurred_at",
            Box::new(|v| v["occurred_at"] = json!("yesterday")),
        ),
        ("booking", Box::new(|v| v["booking"] = json!([]))),
        ("booking.id", Box::new(|v| v["booking"]["id"] = json!(true))),
        (
            "booking.status",
            Box::new(|v| v["booking"]["status"] = json!("maybe")),
        ),
        (
            "booking.start",
            Box::new(|v| v["booking"]["start"] = Value::Null),
        ),
        (
            "booking.end",
            Box::new(|v| v["booking"]["end"] = json!("2026-12-01T07:59:00+01:00")),
        ),
        (
            "booking.resource",
            Box::new(|v| v["booking"]["resource"] = json!("")),
        ),
        (
            "booking.phones[1]",
            Box::new(|v| v["booking"]["phones"][1] = json!("call me")),
        ),
        (
            "booking.phones",
            Box::new(|v| {
                v["booking"]["phones"] =
                    json!(["+46701", "+46702", "+46703", "+46704"].map(|p| format!("{p}111111")))
            }),
        ),
        (
            "booking.code",
            Box::new(|v| v["booking"]["code"] = json!(4821)),
        ),
        (
            "booking.code",
            Box::new(|v| v["booking"]["code"] = json!("12")),
        ),
        (
            "booking.rfid",
            Box::new(|v| v["booking"]["rfid"] = json!(7)),
        ),
        (
            "booking.name",
            Box::new(|v| v["booking"]["name"] = json!(["x"])),
        ),
    ];
    for (field, change) in cases {
        let mut value = event();
        change(&mut value);
        let err = parse(&value).unwrap_err();
        assert_eq!(field_of(err), field, "{value}");
    }
}

#[test]
fn errors_never_echo_credentials() {
    let mut value = event();
    value["booking"]["phones"] = json!(["+46 70 SECRET"]);
    let text = parse(&value).unwrap_err().to_string();
    assert!(!text.contains("SECRET"), "{text}");
    let mut value = event();
    value["booking"]["code"] = json!("98765432101");
    let text = parse(&value).unwrap_err().to_string();
    assert!(!text.contains("98765432101"), "{text}");
}

#[test]
fn unknown_resources_and_bad_json_are_told_apart() {
    let mut value = event();
    value["booking"]["resource"] = json!("room-z");
    let err = parse(&value).unwrap_err();
    assert!(matches!(err, PayloadError::UnknownResource { .. }), "{err}");
    assert!(err.to_string().contains("\"room-a\", \"room-b\""), "{err}");
    let err = parse_event(b"{\"id\": ", &source()).unwrap_err();
    assert!(matches!(err, PayloadError::Json(_)), "{err}");
    let err = parse_event(b"[1]", &source()).unwrap_err();
    assert_eq!(field_of(err), "body");
}

#[test]
fn a_cancellation_needs_only_the_booking_id() {
    let value = json!({
        "id": "evt_2", "type": "booking.cancelled", "occurred_at": "2026-11-27T11:00:00+01:00",
        "booking": {"id": 42, "status": "confirmed"}
    });
    let event = parse(&value).unwrap();
    assert_eq!(event.kind, EventKind::Cancelled);
    assert_eq!(event.booking.booking_id, "42");
    assert_eq!(event.booking.status, BookingStatus::Cancelled);
    assert_eq!(event.booking.start, None);
    assert_eq!(event.occurred_at.to_rfc3339(), "2026-11-27T10:00:00+00:00");
}

#[test]
fn an_upsert_with_status_cancelled_needs_no_times() {
    let mut value = event();
    value["booking"] = json!({"id": "b-1", "status": "cancelled"});
    let event = parse(&value).unwrap();
    assert_eq!(event.booking.status, BookingStatus::Cancelled);
    let mut value = event_value_with_status("tentative");
    value["booking"]["start"] = Value::Null;
    assert_eq!(field_of(parse(&value).unwrap_err()), "booking.start");
}

fn event_value_with_status(status: &str) -> Value {
    let mut value = event();
    value["booking"]["status"] = json!(status);
    value
}
