//! One window rule everywhere: `[from, to)`, a bare date as `--to` is the end of that day, read
//! in the booking object's or unit's zone (the sandbox's units are in W. Europe Standard Time,
//! Europe/Berlin), on the days the clocks change.

use chrono::{DateTime, TimeZone, Utc};
use flexysync::config::FlexyKeyConfig;
use flexysync::flexykey::{Client, NewBooking};
use flexysync::sandbox::{self, Sandbox, SandboxOptions};

use crate::helpers::{code, run, sandbox_config, start_sandbox, stderr, stdout};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn client(sandbox: &Sandbox) -> Client {
    let config = FlexyKeyConfig::new(
        sandbox.base_url(),
        sandbox::DEMO_USER,
        sandbox::DEMO_PASSWORD,
    );
    Client::new(&config).unwrap()
}

async fn book(client: &Client, name: &str, start: DateTime<Utc>, minutes: i64) -> i64 {
    let booking = NewBooking {
        booking_object_id: sandbox::OBJECT_CABIN,
        start,
        end: start + chrono::TimeDelta::minutes(minutes),
        phones: vec![],
        code: None,
        rfid: None,
        name: Some(name.to_owned()),
    };
    client.create_booking(&booking).await.unwrap().booking_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_list_reads_a_day_in_the_objects_zone_on_both_clock_change_days() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox_config(dir.path(), &sandbox, "");
    let client = client(&sandbox);
    // 2026-03-29 in Berlin (23 hours): 2026-03-28T23:00Z to 2026-03-29T22:00Z.
    let spring_first = book(&client, "Spring first", utc(2026, 3, 28, 23, 15), 30).await;
    let spring_last = book(&client, "Spring last", utc(2026, 3, 29, 21, 15), 30).await;
    let spring_after = book(&client, "Spring after", utc(2026, 3, 29, 22, 0), 30).await;
    // 2026-10-25 in Berlin (25 hours): 2026-10-24T22:00Z to 2026-10-25T23:00Z.
    let fall_last = book(&client, "Fall last", utc(2026, 10, 25, 22, 15), 30).await;
    let fall_before = book(&client, "Fall before", utc(2026, 10, 24, 21, 0), 30).await;

    let listed = |from: &'static str, to: &'static str| {
        let config = config.clone();
        async move {
            let out = run(
                &config,
                &[
                    "--json", "bookings", "list", "--object", "123", "--from", from, "--to", to,
                ],
            )
            .await;
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            let list: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
            list.iter()
                .map(|b| b["booking_id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    let spring = listed("2026-03-29", "2026-03-29").await;
    assert!(
        spring.contains(&spring_first),
        "00:15 local on the 29th: {spring:?}"
    );
    assert!(
        spring.contains(&spring_last),
        "23:15 local on the 29th: {spring:?}"
    );
    assert!(
        !spring.contains(&spring_after),
        "00:00 on the 30th is past --to: {spring:?}"
    );
    let fall = listed("2026-10-25", "2026-10-25").await;
    assert!(
        fall.contains(&fall_last),
        "23:15 local, the day's 25th hour: {fall:?}"
    );
    assert!(
        !fall.contains(&fall_before),
        "23:00 local on the 24th: {fall:?}"
    );

    // The table says which zone it is in and shows local times; --tz overrides both the
    // reading and the showing.
    for (tz, caption, fall_last_shown) in [
        (
            None,
            "Times in Europe/Berlin (booking object 123's unit 3023).",
            "2026-10-25 23:15:00 CET",
        ),
        (
            Some("UTC"),
            "Times in UTC (--tz).",
            "2026-10-25 22:15:00 UTC",
        ),
    ] {
        let mut args: Vec<&str> = tz.map(|tz| vec!["--tz", tz]).unwrap_or_default();
        args.extend(["bookings", "list", "--object", "123"]);
        args.extend(["--from", "2026-10-25", "--to", "2026-10-25"]);
        let text = stdout(&run(&config, &args).await);
        assert!(text.starts_with(caption), "{text}");
        assert!(text.contains(fall_last_shown), "{text}");
        assert!(!text.contains("Fall before"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_fetch_reads_the_units_day_across_the_autumn_clock_change() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox_config(dir.path(), &sandbox, "");
    let out = run(
        &config,
        &[
            "--json",
            "logs",
            "fetch",
            "3023",
            "--from",
            "2026-10-25",
            "--to",
            "2026-10-25",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let times: Vec<DateTime<Utc>> = entries
        .iter()
        .map(|e| e["serverDate"].as_str().unwrap().parse().unwrap())
        .collect();
    let (start, end) = (utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0));
    assert!(times.iter().all(|t| (start..end).contains(t)), "{times:?}");
    let truth = client(&sandbox)
        .unit_logs(3023, start, end - chrono::TimeDelta::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        times.len(),
        truth.len(),
        "every entry of the 25-hour local day"
    );
    assert!(
        times.iter().any(|t| *t >= utc(2026, 10, 25, 22, 0)),
        "the day's last local hour is in: {times:?}"
    );
}
