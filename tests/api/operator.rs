//! The operator CLI over the FlexyKey API, run as the real binary against the sandbox:
//! every command, and the error paths with their exit codes.

use flexysync::sandbox::{self, Faults, SandboxOptions};

use crate::helpers::{code, run, start_sandbox, stderr, stdout, write_config};

const PASSWORD: &str = sandbox::DEMO_PASSWORD;

struct Fixture {
    sandbox: flexysync::sandbox::Sandbox,
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

async fn fixture(options: SandboxOptions) -> Fixture {
    let sandbox = start_sandbox(options).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &sandbox.base_url(),
        sandbox::DEMO_USER,
        PASSWORD,
        "",
    );
    Fixture {
        sandbox,
        _dir: dir,
        config,
    }
}

/// Every log line and error message of a run, checked for the password.
fn assert_no_secret(output: &std::process::Output) {
    let all = format!("{}{}", stdout(output), stderr(output));
    assert!(!all.contains(PASSWORD), "the password leaked: {all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_objects_and_unit_details_are_listed() {
    let f = fixture(SandboxOptions::default()).await;
    let out = run(&f.config, &["units"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("3023") && text.contains("040530585131396"),
        "{text}"
    );
    assert!(
        text.contains("Europe/Berlin"),
        "Windows zone resolved: {text}"
    );
    assert_no_secret(&out);

    let out = run(&f.config, &["--json", "units"]).await;
    let units: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        units
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["serial_number"] == "040530585131396")
    );

    let out = run(&f.config, &["unit", "show", "3023"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("X1"), "{}", stdout(&out));

    let out = run(&f.config, &["objects"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("123") && stdout(&out).contains("Cabin 7"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_are_switched_and_read_back_by_id_or_serial() {
    let f = fixture(SandboxOptions::default()).await;
    let out = run(&f.config, &["unit", "control", "3023", "x3", "ON"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("X3"), "{}", stdout(&out));
    assert!(f.sandbox.output_is_on(3023, "X3"));
    let serial = sandbox::UNIT_MAIN_SERIAL;
    let out = run(
        &f.config,
        &["unit", "control", "--serial", serial, "F2", "5"],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        f.sandbox.output_is_on(3023, "F2"),
        "a pulse switches on first"
    );
    let out = run(
        &f.config,
        &["--json", "unit", "status", "--serial", "040530585131396"],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let x3 = status["x_outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "X3")
        .cloned()
        .unwrap();
    assert_eq!(x3["state"].as_str().unwrap().to_ascii_lowercase(), "on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_outputs_and_actions_are_refused_before_any_call() {
    let f = fixture(SandboxOptions::default()).await;
    f.sandbox.clear_journal();
    for (output, action) in [("X65", "ON"), ("F1", "0"), ("Q1", "ON"), ("F1", "100000")] {
        let out = run(&f.config, &["unit", "control", "3023", output, action]).await;
        assert_eq!(code(&out), 2, "{output} {action}: {}", stderr(&out));
        assert!(stderr(&out).contains("expected"), "{}", stderr(&out));
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "one clear line: {}",
            stderr(&out)
        );
    }
    assert!(f.sandbox.journal().is_empty(), "no call may reach FlexyKey");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_are_created_listed_and_deleted() {
    let f = fixture(SandboxOptions::default()).await;
    let out = run(
        &f.config,
        &[
            "--json",
            "bookings",
            "create",
            "--object",
            "123",
            "--from",
            "2026-12-01T15:00:00Z",
            "--to",
            "2026-12-04T11:00:00Z",
            "--phone",
            "+46701234567",
            "--code",
            "482193",
            "--name",
            "Guest",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_no_secret(&out);
    let created: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let id = created["booking_id"].as_i64().unwrap();

    let out = run(
        &f.config,
        &[
            "bookings",
            "list",
            "--object",
            "123",
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-31",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&id.to_string()), "{text}");
    assert!(
        !text.contains("+46701234567"),
        "phones are masked in tables: {text}"
    );
    assert!(text.contains("567"), "{text}");

    let out = run(&f.config, &["bookings", "delete", &id.to_string()]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&f.config, &["bookings", "delete", &id.to_string()]).await;
    assert_eq!(
        code(&out),
        3,
        "an unknown booking is a refusal: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_another_companys_unit_are_refusals() {
    let f = fixture(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let wrong = write_config(
        dir.path(),
        &f.sandbox.base_url(),
        sandbox::DEMO_USER,
        "not-the-password-xyz",
        "",
    );
    let out = run(&wrong, &["units"]).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("not-the-password-xyz"),
        "{}",
        stderr(&out)
    );

    let out = run(
        &f.config,
        &["unit", "show", &sandbox::UNIT_OTHER.to_string()],
    )
    .await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_flexykey_exits_4_and_a_bad_config_exits_2() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/v1/")).unwrap();
    let config = write_config(dir.path(), &url, "u", "p-secret", "");
    let out = run(&config, &["units"]).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));

    std::fs::write(&config, "[flexykey]\nusername = 1\n").unwrap();
    let out = run(&config, &["units"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("config.toml"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_retried_through_5xx_and_429() {
    let f = fixture(SandboxOptions::default()).await;
    f.sandbox.set_faults(Faults {
        fault_rate: 0.5,
        ..Faults::default()
    });
    // The sandbox's faults are deterministic for its seed: some of these reads meet a 5xx.
    for _ in 0..5 {
        let out = run(&f.config, &["objects"]).await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stdout(&out).contains("Cabin 7"));
    }
    let journal = f.sandbox.journal();
    assert!(
        journal.iter().any(|e| e.status >= 500),
        "a fault was injected and retried: {journal:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_is_reported_as_outcome_unknown_and_not_duplicated() {
    let f = fixture(SandboxOptions::default()).await;
    f.sandbox.set_faults(Faults {
        lost_response_rate: 1.0,
        ..Faults::default()
    });
    let out = run(
        &f.config,
        &[
            "bookings",
            "create",
            "--object",
            "124",
            "--from",
            "2026-12-01T08:00:00Z",
            "--to",
            "2026-12-01T11:00:00Z",
        ],
    )
    .await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown"), "{}", stderr(&out));
    assert_eq!(
        f.sandbox.bookings_of(124).len(),
        1,
        "done once, never retried"
    );
    let posts = f
        .sandbox
        .journal()
        .iter()
        .filter(|e| e.method == "POST")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_is_waited_for() {
    let f = fixture(SandboxOptions::default()).await;
    f.sandbox.set_faults(Faults {
        rate_limit: Some(1.0),
        ..Faults::default()
    });
    // Three reads in one command at one request per second: some get 429 and are retried.
    let out = run(&f.config, &["unit", "show", "3023"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&f.config, &["objects"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&f.config, &["units"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let journal = f.sandbox.journal();
    assert!(journal.iter().any(|e| e.status == 429), "{journal:?}");
    assert_eq!(
        journal.iter().filter(|e| e.status == 200).count(),
        3,
        "each read got through"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_over_500_are_listed_completely_exactly_once() {
    use chrono::{Duration, TimeZone, Utc};
    let f = fixture(SandboxOptions::default()).await;
    let start = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    for i in 0..1_600 {
        let from = start + Duration::minutes(i * 20);
        let booking = flexysync::sandbox::SandboxBooking::new(123, from, from + Duration::hours(3))
            .with_name(&format!("hand {i}"));
        f.sandbox.create_booking_by_hand(booking).unwrap();
    }
    let out = run(
        &f.config,
        &[
            "--json",
            "bookings",
            "list",
            "--object",
            "123",
            "--from",
            "2027-01-01",
            "--to",
            "2027-02-01",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listed: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let ids: std::collections::HashSet<i64> = listed
        .iter()
        .map(|b| b["booking_id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed.len(), 1_600);
    assert_eq!(ids.len(), 1_600, "no booking twice");

    // Logs: 2,000 entries on one past day, some identical but for serverDate.
    f.sandbox.set_logs_per_day(3023, 2_000).unwrap();
    let config =
        flexysync::config::FlexyKeyConfig::new(f.sandbox.base_url(), sandbox::DEMO_USER, PASSWORD);
    let client = flexysync::flexykey::Client::new(&config).unwrap();
    let day = (f.sandbox.now() - Duration::days(3))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let entries = client
        .unit_logs(3023, day, day + Duration::seconds(86_399))
        .await
        .unwrap();
    assert_eq!(entries.len(), 2_000);
    let distinct: std::collections::HashSet<String> = entries
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert_eq!(distinct.len(), 2_000, "every entry once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limiter_holds_with_the_sandbox_journal_as_witness() {
    let f = fixture(SandboxOptions::default()).await;
    let mut config =
        flexysync::config::FlexyKeyConfig::new(f.sandbox.base_url(), sandbox::DEMO_USER, PASSWORD);
    config.requests_per_second = 10.0;
    config.burst = 5;
    let client = flexysync::flexykey::Client::new(&config).unwrap();
    f.sandbox.clear_journal();
    let started = std::time::Instant::now();
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.booking_objects().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(4_500),
        "{:?}",
        started.elapsed()
    );
    let journal = f.sandbox.journal();
    assert_eq!(journal.len(), 50);
    let first = journal.iter().map(|e| e.at).min().unwrap();
    let last = journal.iter().map(|e| e.at).max().unwrap();
    // 5 at once, then 45 at 10 per second: the server saw them spread over at least 4.4 s.
    assert!(
        (last - first).num_milliseconds() >= 4_400,
        "{}",
        (last - first).num_milliseconds()
    );
}
