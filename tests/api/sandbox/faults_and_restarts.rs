//! Faults, lost responses, the state file and the `sandbox` command.

use std::time::Duration;

use flexysync::sandbox::{
    DEMO_PASSWORD, DEMO_USER, Faults, OBJECT_CABIN, OBJECT_LAUNDRY, SandboxOptions, UNIT_MAIN,
    UNIT_OLD,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{A, call, get, http, iso, post, start, time};
use crate::helpers;

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

type StdoutLines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// `flexysync sandbox --listen 127.0.0.1:0 ARGS`: the process, its stdout's remaining lines,
/// and the base URL it printed first.
async fn sandbox_command(args: &[&str]) -> (tokio::process::Child, StdoutLines, url::Url) {
    use tokio::io::AsyncBufReadExt;

    let mut child = tokio::process::Command::new(helpers::binary())
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .args(args)
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
    (child, lines, url::Url::parse(first.trim()).unwrap())
}

#[tokio::test]
async fn the_sandbox_command_serves_until_sigterm() {
    let (mut child, mut lines, base) = sandbox_command(&["--seed", "7"]).await;
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

#[tokio::test]
async fn an_unwritable_state_file_fails_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("sandbox.json");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = flexysync::sandbox::Sandbox::start(
        listener,
        SandboxOptions {
            state_file: Some(path),
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("missing-dir"), "{err}");
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let sandbox = start(SandboxOptions::default()).await;
    sandbox.set_faults(Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    });
    assert_eq!(sandbox.faults().latency, Duration::from_millis(300));
    let began = std::time::Instant::now();
    assert_eq!(get(&sandbox, "units", A).await.0, StatusCode::OK);
    assert!(began.elapsed() >= Duration::from_millis(300));
}

/// `--refuse-creates-on` lets a config be tried against an object FlexyKey refuses: creates
/// there get 403, the others go through; an object the sandbox does not have is a usage error.
#[tokio::test]
async fn the_sandbox_command_refuses_creates_on_the_objects_named() {
    let unknown = tokio::process::Command::new(helpers::binary())
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--refuse-creates-on",
            "999",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("--refuse-creates-on 999: the sandbox has no booking object 999")
            && stderr.contains("123, 124, 125"),
        "{stderr}"
    );

    let laundry = OBJECT_LAUNDRY.to_string();
    let (mut child, _, base) = sandbox_command(&["--refuse-creates-on", &laundry]).await;
    let create = |object: i64| {
        http()
            .post(base.join("bookings").unwrap())
            .basic_auth(DEMO_USER, Some(DEMO_PASSWORD))
            .json(&json!({"bookingObjectId": object, "startDate": iso(time(21, 9)), "endDate": iso(time(21, 10))}))
            .send()
    };
    let refused = create(OBJECT_LAUNDRY).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let done = create(OBJECT_CABIN).await.unwrap();
    assert!(done.status().is_success(), "{}", done.status());
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}
