//! The sandbox over real HTTP on loopback, with plain reqwest and hand-written JSON (never the
//! flexysync client), so that the contract is checked from the outside.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use flexysync::sandbox::{
    DEMO_PASSWORD, DEMO_USER, Faults, OBJECT_CABIN, OBJECT_LAUNDRY, OBJECT_OTHER, OBJECT_SAUNA,
    OTHER_PASSWORD, OTHER_USER, Sandbox, SandboxBooking, SandboxLogEntry, SandboxOptions,
    UNIT_EVVA, UNIT_MAIN, UNIT_MAIN_SERIAL, UNIT_OLD, UNIT_OTHER,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers;

async fn start(options: SandboxOptions) -> Sandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sandbox::start(listener, options).await.unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A request as company A's user (or another user), relative to the base URL.
fn call(
    sandbox: &Sandbox,
    method: reqwest::Method,
    path: &str,
    user: (&str, &str),
) -> reqwest::RequestBuilder {
    let url = sandbox.base_url().join(path).unwrap();
    http().request(method, url).basic_auth(user.0, Some(user.1))
}

const A: (&str, &str) = (DEMO_USER, DEMO_PASSWORD);
const B: (&str, &str) = (OTHER_USER, OTHER_PASSWORD);

async fn get(sandbox: &Sandbox, path: &str, user: (&str, &str)) -> (StatusCode, Value) {
    let response = call(sandbox, reqwest::Method::GET, path, user)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(sandbox: &Sandbox, path: &str, body: Value) -> (StatusCode, Value) {
    let response = call(sandbox, reqwest::Method::POST, path, A)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn delete(sandbox: &Sandbox, path: &str) -> StatusCode {
    call(sandbox, reqwest::Method::DELETE, path, A)
        .send()
        .await
        .unwrap()
        .status()
}

fn time(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, day, hour, 0, 0).unwrap()
}

fn iso(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `?bookingObjectId=…&dateFrom=…&dateTo=…`, URL-encoded.
fn list_path(object: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("bookingObjectId", &object.to_string())
        .append_pair("dateFrom", &iso(from))
        .append_pair("dateTo", &iso(to))
        .finish();
    format!("bookings?{query}")
}

fn ids(list: &Value, key: &str) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn basic_auth_is_required_and_companies_are_kept_apart() {
    let sandbox = start(SandboxOptions::default()).await;
    let anonymous = http()
        .get(sandbox.base_url().join("units").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenge = anonymous.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Basic"), "{challenge}");
    let (status, body) = get(&sandbox, "units", (DEMO_USER, "wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["status"], "ERROR");

    let (status, units) = get(&sandbox, "units", A).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&units, "unitId"), vec![UNIT_MAIN, UNIT_OLD, UNIT_EVVA]);
    let main = &units[0];
    assert_eq!(main["serialnumber"], UNIT_MAIN_SERIAL);
    assert_eq!(main["unitType"], "FlexyKey");
    assert_eq!(main["timezoneId"], "W. Europe Standard Time");
    for key in [
        "ownPhoneOrID",
        "name",
        "softVersion",
        "unitInfo",
        "unitNote",
        "timezoneInfo",
        "created",
    ] {
        assert!(main.get(key).is_some(), "unit lacks {key}: {main}");
    }
    let io = main["io"].as_array().unwrap();
    assert!(
        io.iter()
            .any(|p| p["globalNumber"] == "X5" && p["localNumber"] == 5)
    );
    assert!(units[1].get("io").is_none(), "older unit has an io list");
    assert_eq!(units[2]["unitType"], "EVVA AirKey");

    let (status, objects) = get(&sandbox, "bookingobjects", A).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ids(&objects, "bookingObjectId"),
        vec![OBJECT_CABIN, OBJECT_LAUNDRY, OBJECT_SAUNA]
    );
    assert_eq!(objects[0]["name"], "Cabin 7");
    assert_eq!(objects[0]["unitIds"], json!([UNIT_MAIN]));
    let (_, objects_b) = get(&sandbox, "BookingObjects", B).await;
    assert_eq!(ids(&objects_b, "bookingObjectId"), vec![OBJECT_OTHER]);

    assert_eq!(
        get(&sandbox, "units/3023", B).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = get(&sandbox, &format!("units/{UNIT_OTHER}"), A).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["status"], "ERROR");
    assert_eq!(
        get(&sandbox, "units/424242", A).await.0,
        StatusCode::NOT_FOUND
    );
    let path = list_path(OBJECT_OTHER, time(1, 0), time(2, 0));
    assert_eq!(get(&sandbox, &path, A).await.0, StatusCode::FORBIDDEN);
    let (status, body) = post(
        &sandbox,
        "bookings",
        json!({"bookingObjectId": OBJECT_OTHER, "startDate": iso(time(21, 9)), "endDate": iso(time(21, 10))}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = post(
        &sandbox,
        "bookings",
        json!({"bookingObjectId": 999, "startDate": iso(time(21, 9)), "endDate": iso(time(21, 10))}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(sandbox.booking_count(), 0);
}

#[tokio::test]
async fn bookings_are_created_read_listed_by_overlap_and_deleted() {
    let sandbox = start(SandboxOptions::default()).await;
    let (status, created) = post(
        &sandbox,
        "bookings",
        json!({
            "bookingObjectId": OBJECT_CABIN,
            "startDate": "2025-11-21T09:00:00Z",
            "endDate": "2025-11-21T10:00:00Z",
            "phone1": "+46701234567",
            "code": "0042",
            "name": "Gäst Svensson",
            "somethingNew": {"ignored": true}
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["bookingId"].as_i64().unwrap();
    assert_eq!(created["bookingObjectId"], OBJECT_CABIN);
    assert_eq!(created["startDate"], "2025-11-21T09:00:00Z");
    assert_eq!(created["endDate"], "2025-11-21T10:00:00Z");
    assert_eq!(created["phone1"], "+46701234567");
    assert_eq!(created["code"], "0042");
    assert_eq!(created["name"], "Gäst Svensson");
    assert_eq!(created["phone2"], Value::Null);

    let (status, read) = get(&sandbox, &format!("Bookings/{id}"), A).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, created);
    assert_eq!(
        get(&sandbox, &format!("bookings/{id}"), B).await.0,
        StatusCode::FORBIDDEN
    );

    let by_hand = sandbox
        .create_booking_by_hand(SandboxBooking::new(
            OBJECT_CABIN,
            time(21, 12),
            time(21, 14),
        ))
        .unwrap();
    // Overlap is start < dateTo && end > dateFrom: touching windows do not count.
    let cases = [
        (time(21, 10), time(21, 12), vec![]),
        (time(21, 8), time(21, 9), vec![]),
        (time(21, 9), time(21, 10), vec![id]),
        (time(21, 8), time(21, 13), vec![id, by_hand.booking_id]),
        (time(21, 13), time(22, 0), vec![by_hand.booking_id]),
    ];
    for (from, to, expected) in cases {
        let (status, list) = get(&sandbox, &list_path(OBJECT_CABIN, from, to), A).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ids(&list, "bookingId"), expected, "{from}..{to}");
    }
    let (_, sauna) = get(
        &sandbox,
        &list_path(OBJECT_SAUNA, time(1, 0), time(30, 0)),
        A,
    )
    .await;
    assert_eq!(sauna, json!([]));

    assert_eq!(
        delete(&sandbox, &format!("bookings/{id}")).await,
        StatusCode::OK
    );
    assert_eq!(
        delete(&sandbox, &format!("bookings/{id}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&sandbox, "bookings/987654").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&sandbox, &format!("bookings/{id}"), A).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(sandbox.bookings_of(OBJECT_CABIN), vec![by_hand.clone()]);
    assert!(sandbox.delete_booking_by_hand(by_hand.booking_id).unwrap());
    assert_eq!(sandbox.booking_count(), 0);

    let writes = sandbox.write_calls();
    assert_eq!(writes.len(), 4, "{writes:?}");
    assert_eq!(writes[0].method, "POST");
    assert_eq!(writes[0].path, "/v1/bookings");
    assert_eq!(writes[1].path, format!("/v1/bookings/{id}"));
    assert_eq!(writes[2].status, 404);
    sandbox.clear_journal();
    assert!(sandbox.journal().is_empty());
}

#[tokio::test]
async fn invalid_bookings_get_400_naming_the_field() {
    let sandbox = start(SandboxOptions::default()).await;
    let base = json!({"bookingObjectId": OBJECT_CABIN, "startDate": "2025-11-21T09:00:00Z", "endDate": "2025-11-21T10:00:00Z"});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let cases = [
        (with("endDate", json!("2025-11-21T08:00:00Z")), "endDate"),
        (with("endDate", json!("2025-11-21T09:00:00Z")), "endDate"),
        (with("startDate", json!("2025-11-21 09:00")), "startDate"),
        (
            with("startDate", json!("2025-11-21T09:00:00+01:00")),
            "startDate",
        ),
        (with("startDate", Value::Null), "startDate"),
        (with("code", json!("12a4")), "code"),
        (with("code", json!("123")), "code"),
        (with("code", json!("123456789")), "code"),
        (with("name", json!("x".repeat(101))), "name"),
        (with("phone1", json!("call me")), "phone1"),
        (with("bookingObjectId", json!("123")), "bookingObjectId"),
    ];
    for (body, field) in cases {
        let (status, answer) = post(&sandbox, "bookings", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["status"], "ERROR");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(field), "{field} not named in {message:?}");
    }
    let (status, _) = post(&sandbox, "bookings", with("name", json!("ä".repeat(100)))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sandbox.booking_count(), 1);
}

#[tokio::test]
async fn a_window_with_1700_bookings_answers_exactly_500() {
    let sandbox = start(SandboxOptions::default()).await;
    let start = time(1, 0);
    for n in 0..1700 {
        let from = start + chrono::Duration::minutes(30 * n);
        sandbox
            .create_booking_by_hand(SandboxBooking::new(
                OBJECT_SAUNA,
                from,
                from + chrono::Duration::minutes(20),
            ))
            .unwrap();
    }
    let end = start + chrono::Duration::days(60);
    let (status, list) = get(&sandbox, &list_path(OBJECT_SAUNA, start, end), A).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 500);
    // A narrow window is answered in full: 10 hours hold 20 bookings.
    let narrow = start + chrono::Duration::hours(10);
    let (_, list) = get(&sandbox, &list_path(OBJECT_SAUNA, start, narrow), A).await;
    assert_eq!(list.as_array().unwrap().len(), 20);
}

fn day_window(day: NaiveDate) -> String {
    let from = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let to = day.and_hms_opt(23, 59, 59).unwrap().and_utc();
    window_path(UNIT_MAIN, from, to)
}

fn window_path(unit: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("dateFrom", &iso(from))
        .append_pair("dateTo", &iso(to))
        .finish();
    format!("unitlogs/{unit}?{query}")
}

#[tokio::test]
async fn logs_are_cut_at_500_and_deterministic_for_a_seed() {
    let sandbox = start(SandboxOptions::default()).await;
    sandbox.set_logs_per_day(UNIT_MAIN, 5000).unwrap();
    let day = NaiveDate::from_ymd_opt(2025, 11, 21).unwrap();
    let (status, first) = get(&sandbox, &day_window(day), A).await;
    assert_eq!(status, StatusCode::OK);
    let entries = first.as_array().unwrap();
    assert_eq!(entries.len(), 500);
    for key in [
        "serverDate",
        "unitDate",
        "sourceID",
        "sourceLabel",
        "actionLabel",
        "logMsg",
    ] {
        assert!(
            entries[0].get(key).is_some(),
            "entry lacks {key}: {}",
            entries[0]
        );
    }
    assert!(
        entries
            .iter()
            .all(|e| e["serverDate"].as_str().unwrap().starts_with("2025-11-21T"))
    );
    let (_, again) = get(&sandbox, &day_window(day), A).await;
    assert_eq!(first, again);

    let other_seed = start(SandboxOptions {
        seed: 2,
        ..SandboxOptions::default()
    })
    .await;
    other_seed.set_logs_per_day(UNIT_MAIN, 5000).unwrap();
    let (_, different) = get(&other_seed, &day_window(day), A).await;
    assert_ne!(first, different);

    // Five minutes hold about 17 of 5,000 a day: answered in full, bounds inclusive.
    let from = Utc.with_ymd_and_hms(2025, 11, 21, 12, 0, 0).unwrap();
    let to = from + chrono::Duration::minutes(5);
    let (_, small) = get(&sandbox, &window_path(UNIT_MAIN, from, to), A).await;
    let small = small.as_array().unwrap();
    assert!(!small.is_empty() && small.len() < 500, "{}", small.len());
    let edge = small[0]["serverDate"].as_str().unwrap().to_owned();
    let edge = DateTime::parse_from_rfc3339(&edge).unwrap().to_utc();
    let (_, exact) = get(&sandbox, &window_path(UNIT_MAIN, edge, edge), A).await;
    assert!(!exact.as_array().unwrap().is_empty());

    let future = sandbox.now() + chrono::Duration::minutes(1);
    let (_, nothing) = get(
        &sandbox,
        &window_path(UNIT_MAIN, future, future + chrono::Duration::days(1)),
        A,
    )
    .await;
    assert_eq!(nothing, json!([]));
    let (status, body) = get(&sandbox, &window_path(UNIT_EVVA, from, to), A).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("EVVA"));
    let (status, body) = get(&sandbox, &format!("unitlogs/{UNIT_MAIN}"), A).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("dateFrom"));
}

#[tokio::test]
async fn injected_log_entries_are_served_with_inclusive_bounds() {
    let sandbox = start(SandboxOptions::default()).await;
    sandbox.set_logs_per_day(UNIT_OLD, 0).unwrap();
    let entry = |minute: u32| SandboxLogEntry {
        server_date: Utc.with_ymd_and_hms(2025, 6, 1, 10, minute, 0).unwrap(),
        unit_date: format!("2025-06-01 12:{minute:02}"),
        source_id: "+46701234567".to_owned(),
        source_label: None,
        action_label: Some("Öppna F1".to_owned()),
        log_msg: "Öppnad med telefonsamtal".to_owned(),
    };
    sandbox
        .add_log_entries(UNIT_OLD, vec![entry(0), entry(5), entry(5), entry(10)])
        .unwrap();
    let from = Utc.with_ymd_and_hms(2025, 6, 1, 10, 5, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2025, 6, 1, 10, 10, 0).unwrap();
    let (status, list) = get(&sandbox, &window_path(UNIT_OLD, from, to), A).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|e| e["sourceID"] == "+46701234567"));
    assert!(
        list.iter()
            .any(|e| e["serverDate"] == "2025-06-01T10:10:00Z")
    );
    assert!(sandbox.add_log_entries(424242, vec![]).is_err());
}

#[tokio::test]
async fn outputs_switch_and_pulses_fall_back_to_off() {
    let sandbox = start(SandboxOptions::default()).await;
    let (status, answer) = post(
        &sandbox,
        "CONTROL",
        json!({"serialNumber": UNIT_MAIN_SERIAL, "outputNumber": "x5", "outputAction": "60"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"status": "OK", "unitId": UNIT_MAIN, "outputNumber": "X5", "outputAction": "60", "messageId": null})
    );
    let (status, answer) = post(
        &sandbox,
        "control",
        json!({"unitId": UNIT_MAIN, "outputNumber": "F1", "outputAction": "on"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["outputAction"], "ON");

    let status_of = |s: &Value, list: &str, name: &str| -> String {
        s[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["output"] == name)
            .map(|o| o["state"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let path = format!("Control?serialNumber={UNIT_MAIN_SERIAL}");
    let (status, io) = get(&sandbox, &path, A).await;
    assert_eq!(status, StatusCode::OK, "{io}");
    assert_eq!(io["unitId"], UNIT_MAIN);
    assert_eq!(io["serialNumber"], UNIT_MAIN_SERIAL);
    assert_eq!(status_of(&io, "xOutputs", "X5"), "on");
    assert_eq!(status_of(&io, "xOutputs", "X4"), "off");
    assert_eq!(status_of(&io, "fOutputs", "F1"), "on");
    assert_eq!(io["fOutputs"].as_array().unwrap().len(), 2);
    assert_eq!(io["xOutputs"].as_array().unwrap().len(), 8);
    assert_eq!(io["inputs"].as_array().unwrap().len(), 2);
    assert!(io["inputs"][0]["input"] == "IN1");
    assert!(io["rawStatus"].as_str().unwrap().starts_with("ASTAT:"));
    let stamp = io["statusTimestamp"].as_str().unwrap();
    let stamp_iso = io["statusTimestampIso"].as_str().unwrap();
    assert_eq!(stamp.replace(' ', "T") + "Z", stamp_iso);

    sandbox.advance_clock(chrono::Duration::seconds(61));
    let (_, io) = get(&sandbox, &format!("control?unitId={UNIT_MAIN}"), A).await;
    assert_eq!(status_of(&io, "xOutputs", "X5"), "off");
    assert_eq!(status_of(&io, "fOutputs", "F1"), "on");
    assert!(sandbox.output_is_on(UNIT_MAIN, "f1"));

    let (_, old) = get(&sandbox, &format!("control?unitId={UNIT_OLD}"), A).await;
    assert_eq!(old["xOutputs"], json!([]));
    let refused = [
        json!({"unitId": UNIT_OLD, "outputNumber": "X1", "outputAction": "ON"}),
        json!({"unitId": UNIT_MAIN, "outputNumber": "X9", "outputAction": "ON"}),
        json!({"unitId": UNIT_MAIN, "outputNumber": "X65", "outputAction": "ON"}),
        json!({"unitId": UNIT_MAIN, "outputNumber": "F1", "outputAction": "100000"}),
        json!({"unitId": UNIT_MAIN, "outputNumber": "F1", "outputAction": 5}),
        json!({"serialNumber": 40530585131396_i64, "outputNumber": "F1", "outputAction": "ON"}),
        json!({"unitId": UNIT_EVVA, "outputNumber": "F1", "outputAction": "ON"}),
        json!({"outputNumber": "F1", "outputAction": "ON"}),
    ];
    for body in refused {
        let (status, _) = post(&sandbox, "control", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let (status, _) = post(
        &sandbox,
        "control",
        json!({"serialNumber": "40530585131396", "outputNumber": "F1", "outputAction": "OFF"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "serial without its leading zero"
    );
    let (status, _) = get(&sandbox, &format!("control?unitId={UNIT_OTHER}"), A).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn routes_are_case_insensitive() {
    let sandbox = start(SandboxOptions::default()).await;
    for path in [
        "units",
        "Units",
        "UNITS/",
        "units/3023",
        "UnitLogs/3023?dateFrom=2025-11-21T00%3A00%3A00Z&dateTo=2025-11-21T00%3A10%3A00Z",
        "BOOKINGOBJECTS",
    ] {
        let (status, body) = get(&sandbox, path, A).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    assert_eq!(
        get(&sandbox, "nothing-here", A).await.0,
        StatusCode::NOT_FOUND
    );
    let paths: Vec<String> = sandbox.journal().into_iter().map(|e| e.path).collect();
    assert_eq!(paths[1], "/v1/units");
    assert_eq!(paths[2], "/v1/units");
}

#[tokio::test]
async fn above_the_rate_limit_the_sandbox_answers_429_with_retry_after() {
    let sandbox = start(SandboxOptions {
        rate_limit: Some(1.0),
        ..SandboxOptions::default()
    })
    .await;
    let mut limited = 0;
    for _ in 0..8 {
        let response = call(&sandbox, reqwest::Method::GET, "units", A)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(retry_after, 1);
        }
    }
    // One token a second: eight calls in well under a few seconds meet several refusals.
    assert!(limited >= 3, "only {limited} of 8 refused");
    sandbox.set_faults(Faults::default());
    assert_eq!(get(&sandbox, "units", A).await.0, StatusCode::OK);
}

#[tokio::test]
async fn full_fault_rate_answers_5xx_and_does_nothing() {
    let sandbox = start(SandboxOptions {
        fault_rate: 1.0,
        ..SandboxOptions::default()
    })
    .await;
    for _ in 0..5 {
        let (status, _) = post(
            &sandbox,
            "bookings",
            json!({"bookingObjectId": OBJECT_CABIN, "startDate": iso(time(21, 9)), "endDate": iso(time(21, 10))}),
        )
        .await;
        assert!([500, 502, 503].contains(&status.as_u16()), "{status}");
    }
    assert_eq!(sandbox.booking_count(), 0);
    assert!(sandbox.write_calls().iter().all(|w| !w.performed_write()));
    sandbox.set_faults(Faults::default());
    let (status, _) = post(
        &sandbox,
        "bookings",
        json!({"bookingObjectId": OBJECT_CABIN, "startDate": iso(time(21, 9)), "endDate": iso(time(21, 10))}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sandbox.booking_count(), 1);
}

#[tokio::test]
async fn a_lost_response_performs_the_write_but_the_client_sees_a_failure() {
    let sandbox = start(SandboxOptions {
        lost_response_rate: 1.0,
        ..SandboxOptions::default()
    })
    .await;
    let outcome = call(&sandbox, reqwest::Method::POST, "bookings", A)
        .json(&json!({"bookingObjectId": OBJECT_CABIN, "startDate": iso(time(21, 9)), "endDate": iso(time(21, 10))}))
        .send()
        .await;
    let failed = match outcome {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(failed, "the client got an answer");
    let created = sandbox.bookings_of(OBJECT_CABIN);
    assert_eq!(created.len(), 1, "the write was not done");
    let journal = sandbox.journal();
    assert!(journal[0].write && journal[0].lost && journal[0].status == 200);

    // Reads are answered; a refused write is answered too (nothing was done to lose).
    assert_eq!(get(&sandbox, "units", A).await.0, StatusCode::OK);
    let (status, _) = post(
        &sandbox,
        "bookings",
        json!({"bookingObjectId": OBJECT_CABIN}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let deleted = call(
        &sandbox,
        reqwest::Method::DELETE,
        &format!("bookings/{}", created[0].booking_id),
        A,
    )
    .send()
    .await;
    assert!(deleted.is_err(), "the delete was answered");
    assert_eq!(sandbox.booking_count(), 0);
}

#[tokio::test]
async fn the_state_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let options = SandboxOptions {
        state_file: Some(dir.path().join("sandbox.json")),
        ..SandboxOptions::default()
    };
    let first = start(options.clone()).await;
    let (status, created) = post(
        &first,
        "bookings",
        json!({"bookingObjectId": OBJECT_LAUNDRY, "startDate": iso(time(21, 9)), "endDate": iso(time(21, 10)), "rfid": "04A2B3C4D5"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post(
        &first,
        "control",
        json!({"unitId": UNIT_OLD, "outputNumber": "F2", "outputAction": "ON"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    first.shutdown().await;

    let second = start(options).await;
    let (status, read) = get(&second, &format!("bookings/{}", created["bookingId"]), A).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, created);
    assert!(second.output_is_on(UNIT_OLD, "F2"));
    let (_, next) = post(
        &second,
        "bookings",
        json!({"bookingObjectId": OBJECT_LAUNDRY, "startDate": iso(time(22, 9)), "endDate": iso(time(22, 10))}),
    )
    .await;
    assert!(next["bookingId"].as_i64().unwrap() > created["bookingId"].as_i64().unwrap());
    second.shutdown().await;
}

#[tokio::test]
async fn the_sandbox_command_serves_until_sigterm() {
    use tokio::io::AsyncBufReadExt;

    let mut child = tokio::process::Command::new(helpers::binary())
        .args(["sandbox", "--listen", "127.0.0.1:0", "--seed", "7"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = url::Url::parse(first.trim()).unwrap();
    assert_eq!(base.host_str(), Some("127.0.0.1"));
    assert_eq!(base.path(), "/v1/");
    let users = lines.next_line().await.unwrap().unwrap();
    assert!(
        users.contains(DEMO_USER) && users.contains(DEMO_PASSWORD),
        "{users}"
    );

    let response = http()
        .get(base.join("units").unwrap())
        .basic_auth(DEMO_USER, Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let units: Value = response.json().await.unwrap();
    assert_eq!(units[0]["unitId"], UNIT_MAIN);

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn the_sandbox_command_refuses_a_public_address() {
    let output = tokio::process::Command::new(helpers::binary())
        .args(["sandbox", "--listen", "0.0.0.0:0"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("loopback"), "{stderr}");
}
