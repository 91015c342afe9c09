//! Unit logs, control and routing.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use flexysync::sandbox::{
    SandboxLogEntry, SandboxOptions, UNIT_EVVA, UNIT_MAIN, UNIT_MAIN_SERIAL, UNIT_OLD, UNIT_OTHER,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{A, get, iso, post, start};

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
