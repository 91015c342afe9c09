//! The sandbox over real HTTP on loopback, with plain reqwest and hand-written JSON (never the
//! flexysync client), so that the contract is checked from the outside.

mod faults_and_restarts;
mod logs_and_control;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use flexysync::sandbox::{
    DEMO_PASSWORD, DEMO_USER, OBJECT_CABIN, OBJECT_LAUNDRY, OBJECT_OTHER, OBJECT_SAUNA,
    OTHER_PASSWORD, OTHER_USER, Sandbox, SandboxBooking, SandboxOptions, UNIT_EVVA, UNIT_MAIN,
    UNIT_MAIN_SERIAL, UNIT_OLD, UNIT_OTHER,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(super) async fn start(options: SandboxOptions) -> Sandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sandbox::start(listener, options).await.unwrap()
}

pub(super) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A request as company A's user (or another user), relative to the base URL.
pub(super) fn call(
    sandbox: &Sandbox,
    method: reqwest::Method,
    path: &str,
    user: (&str, &str),
) -> reqwest::RequestBuilder {
    let url = sandbox.base_url().join(path).unwrap();
    http().request(method, url).basic_auth(user.0, Some(user.1))
}

pub(super) const A: (&str, &str) = (DEMO_USER, DEMO_PASSWORD);
pub(super) const B: (&str, &str) = (OTHER_USER, OTHER_PASSWORD);

pub(super) async fn get(sandbox: &Sandbox, path: &str, user: (&str, &str)) -> (StatusCode, Value) {
    let response = call(sandbox, reqwest::Method::GET, path, user)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(super) async fn post(sandbox: &Sandbox, path: &str, body: Value) -> (StatusCode, Value) {
    let response = call(sandbox, reqwest::Method::POST, path, A)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(super) async fn delete(sandbox: &Sandbox, path: &str) -> StatusCode {
    call(sandbox, reqwest::Method::DELETE, path, A)
        .send()
        .await
        .unwrap()
        .status()
}

pub(super) fn time(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, day, hour, 0, 0).unwrap()
}

pub(super) fn iso(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `?bookingObjectId=…&dateFrom=…&dateTo=…`, URL-encoded.
pub(super) fn list_path(object: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("bookingObjectId", &object.to_string())
        .append_pair("dateFrom", &iso(from))
        .append_pair("dateTo", &iso(to))
        .finish();
    format!("bookings?{query}")
}

pub(super) fn ids(list: &Value, key: &str) -> Vec<i64> {
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
