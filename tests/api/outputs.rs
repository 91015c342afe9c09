//! Booking-driven outputs against the sandbox: a week of stays drives F1 and X33 through their
//! transitions with the IO status as evidence, a person's switch is left alone, a command in
//! doubt after a crash is resolved from the IO status, and unknown outputs are refused.

use chrono::{DateTime, Duration, TimeZone, Utc};
mod cli;
mod page;
mod service;

use std::path::Path;

use flexysync::config::{Config, FlexyKeyConfig};
use flexysync::flexykey::Client;
use flexysync::ledger::{Ledger, OutputCommandState};
use flexysync::outputs::{self, Decision, Driver, OutputTarget, Stay, VerifyPolicy, plan};
use flexysync::sandbox::{
    self, COMPANY_A, OBJECT_CABIN, OBJECT_SAUNA, Sandbox, SandboxOptions, UnitSpec, World,
};

const UNIT: i64 = 4100;

struct Fixture {
    sandbox: Sandbox,
    client: Client,
    ledger: Ledger,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let mut unit = UnitSpec::flexykey(UNIT, COMPANY_A, "040530585104100").with_expansion(40);
    unit.name = "Cabin heating".to_owned();
    let options = SandboxOptions {
        world: World::seed().with_unit(unit),
        ..SandboxOptions::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox = Sandbox::start(listener, options).await.unwrap();
    let mut config = FlexyKeyConfig::new(
        sandbox.base_url(),
        sandbox::DEMO_USER,
        sandbox::DEMO_PASSWORD,
    );
    config.requests_per_second = 200.0;
    config.burst = 50;
    let client = Client::new(&config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    Fixture {
        sandbox,
        client,
        ledger,
        _dir: dir,
    }
}

impl Fixture {
    fn driver(&self) -> Driver<'_> {
        Driver {
            client: &self.client,
            ledger: &self.ledger,
            verify: VerifyPolicy {
                reads: 3,
                spacing: std::time::Duration::from_millis(5),
            },
        }
    }

    fn control_posts(&self) -> usize {
        control_calls(&self.sandbox, "POST")
    }

    fn status_reads(&self) -> usize {
        control_calls(&self.sandbox, "GET")
    }
}

/// `POST /Control` (commands) or `GET /Control` (IO status reads) the sandbox answered.
pub(crate) fn control_calls(sandbox: &Sandbox, method: &str) -> usize {
    sandbox
        .journal()
        .iter()
        .filter(|c| c.method == method && c.path.ends_with("/control"))
        .count()
}

fn target(outputs: &str) -> OutputTarget {
    let text = format!(
        "[flexykey]\nusername = \"api\"\npassword = \"pw\"\n\
         [[sources]]\nname = \"hostel\"\nkind = \"webhook\"\nsecret = \"k3y-for-the-hostel-hook\"\n\
         objects = {{ \"sauna\" = {OBJECT_SAUNA} }}\ntimezone = \"Europe/Stockholm\"\n{outputs}"
    );
    let config = Config::from_toml_with_env(&text, Path::new("test.toml"), Vec::new()).unwrap();
    OutputTarget::from_config(&config.outputs[0])
}

fn heating() -> OutputTarget {
    target(&format!(
        "[[outputs]]\nname = \"Cabin heating\"\nunit = {UNIT}\noutput = \"F1\"\n\
         booking_objects = [{OBJECT_CABIN}]\non_before = \"6h\"\noff_after = \"1h\"\nmerge_gap = \"12h\"\n"
    ))
}

fn sauna() -> OutputTarget {
    target(&format!(
        "[[outputs]]\nunit = {UNIT}\noutput = \"x33\"\nsources = [\"hostel\"]\noff_after = \"30m\"\n"
    ))
}

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap()
}

fn stay(object: i64, source: &str, start_h: i64, hours: i64) -> Stay {
    Stay {
        booking_object_id: object,
        source: source.to_owned(),
        start: monday() + Duration::hours(start_h),
        end: monday() + Duration::hours(start_h + hours),
    }
}

/// A week: the cabin has a 2-night stay, a turnover of 4 h to a 3-night stay (one window),
/// then a weekend stay; the sauna has three evening sessions from another source.
fn week() -> Vec<Stay> {
    vec![
        stay(OBJECT_CABIN, "airbnb", 15, 44),
        stay(OBJECT_CABIN, "booking", 63, 68),
        stay(OBJECT_CABIN, "airbnb", 159, 20),
        stay(OBJECT_SAUNA, "hostel", 18, 2),
        stay(OBJECT_SAUNA, "hostel", 90, 3),
        stay(OBJECT_SAUNA, "hostel", 138, 2),
    ]
}

#[tokio::test]
async fn a_week_of_stays_drives_f1_and_x33_with_the_io_status_as_evidence() {
    let f = fixture().await;
    let targets = [heating(), sauna()];
    let stays = week();
    // The daemon's checks: every transition, and every 3 h in between.
    let mut instants: Vec<DateTime<Utc>> = (0..=7 * 8)
        .map(|i| monday() + Duration::hours(3 * i))
        .collect();
    for t in &targets {
        instants.extend(
            plan::transitions(t.rule, &t.selection, &stays)
                .iter()
                .map(|t| t.at),
        );
    }
    instants.sort();
    instants.dedup();
    for now in &instants {
        let reports = f.driver().step_all(&targets, &stays, *now).await;
        for (target, report) in targets.iter().zip(&reports) {
            assert!(
                report.error.is_none(),
                "{}: {:?}",
                target.label,
                report.error
            );
            let windows = plan::windows(target.rule, &target.selection, &stays);
            let desired = plan::desired_at(&windows, *now);
            // The evidence: the unit's IO status, read through the API.
            let status = f.client.io_status(&target.unit_ref()).await.unwrap();
            let observed = outputs::drive::output_state(&status, target).unwrap();
            assert_eq!(observed, desired, "{} at {now}", target.label);
        }
    }
    let heating_windows = plan::windows(targets[0].rule, &targets[0].selection, &stays);
    let sauna_windows = plan::windows(targets[1].rule, &targets[1].selection, &stays);
    assert_eq!(heating_windows.len(), 2, "the 4 h turnover is kept on");
    assert_eq!(sauna_windows.len(), 3);
    // Two commands per merged interval, every one verified by a status read.
    let posts = f.control_posts();
    assert_eq!(posts, 2 * (heating_windows.len() + sauna_windows.len()));
    for target in &targets {
        let journal = f
            .ledger
            .recent_output_commands(&target.key, 100)
            .await
            .unwrap();
        let sent: Vec<_> = journal
            .iter()
            .filter(|c| c.state.counts_as_send())
            .collect();
        assert!(sent.iter().all(|c| c.state == OutputCommandState::Verified));
    }
    let reads = f.status_reads() - instants.len() * targets.len();
    eprintln!(
        "outputs week: {} stays, {} merged intervals, {posts} commands ({:.2} per stay, 2 per interval), \
         {reads} status reads by the driver over {} checks",
        stays.len(),
        heating_windows.len() + sauna_windows.len(),
        posts as f64 / stays.len() as f64,
        instants.len()
    );
}

#[tokio::test]
async fn a_person_s_switch_is_left_alone_until_the_next_planned_transition() {
    let f = fixture().await;
    let target = heating();
    let stays = vec![stay(OBJECT_CABIN, "airbnb", 24, 48)];
    let at = |h: i64| monday() + Duration::hours(h);
    f.driver()
        .step_all(std::slice::from_ref(&target), &stays, at(18))
        .await;
    assert!(f.sandbox.output_is_on(UNIT, "F1"));
    // The guest calls the unit and switches the heating off.
    f.sandbox.switch_output_by_hand(UNIT, "f1", false).unwrap();
    let posts = f.control_posts();
    let report = &f
        .driver()
        .step_all(std::slice::from_ref(&target), &stays, at(30))
        .await[0];
    assert_eq!(report.decision, Decision::Override { observed_on: false });
    for h in [36, 48, 60] {
        let report = &f
            .driver()
            .step_all(std::slice::from_ref(&target), &stays, at(h))
            .await[0];
        assert_eq!(report.decision, Decision::Nothing);
    }
    assert!(!f.sandbox.output_is_on(UNIT, "F1"));
    assert_eq!(f.control_posts(), posts, "flexysync switched it back");
    let journal = f
        .ledger
        .recent_output_commands(&target.key, 10)
        .await
        .unwrap();
    assert_eq!(journal[0].state, OutputCommandState::Override);
    // Switched on by hand again before the stay ends: the planned OFF still happens.
    f.sandbox.switch_output_by_hand(UNIT, "F1", true).unwrap();
    f.driver()
        .step_all(std::slice::from_ref(&target), &stays, at(73))
        .await;
    assert!(!f.sandbox.output_is_on(UNIT, "F1"));
    assert_eq!(f.control_posts(), posts + 1);
}

#[tokio::test]
async fn a_command_in_doubt_after_a_crash_is_resolved_from_the_io_status_and_sent_at_most_once() {
    let f = fixture().await;
    let target = heating();
    let stays = vec![stay(OBJECT_CABIN, "airbnb", 24, 48)];
    let on_at = monday() + Duration::hours(18);
    let now = on_at + Duration::minutes(1);
    // Crash after journaling and sending: the unit is on, the intent never resolved.
    f.ledger
        .journal_output(
            &target.key,
            on_at,
            "ON",
            OutputCommandState::Intent,
            None,
            now,
        )
        .await
        .unwrap();
    f.client
        .control(
            &target.unit_ref(),
            &target.output,
            flexysync::flexykey::OutputAction::On,
        )
        .await
        .unwrap();
    let posts = f.control_posts();
    let report = &f
        .driver()
        .step_all(std::slice::from_ref(&target), &stays, now)
        .await[0];
    assert_eq!(report.decision, Decision::DoubtResolved);
    assert_eq!(
        f.control_posts(),
        posts,
        "re-sent a command that had happened"
    );
    // Crash after journaling, before sending: the OFF is sent once on restart.
    let off_at = monday() + Duration::hours(73);
    f.ledger
        .journal_output(
            &target.key,
            off_at,
            "OFF",
            OutputCommandState::Intent,
            None,
            off_at,
        )
        .await
        .unwrap();
    f.driver()
        .step_all(std::slice::from_ref(&target), &stays, off_at)
        .await;
    f.driver()
        .step_all(
            std::slice::from_ref(&target),
            &stays,
            off_at + Duration::hours(1),
        )
        .await;
    assert!(!f.sandbox.output_is_on(UNIT, "F1"));
    assert_eq!(f.control_posts(), posts + 1);
    let states: Vec<_> = f
        .ledger
        .output_commands_for(&target.key, off_at)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.state)
        .collect();
    assert_eq!(
        states,
        [OutputCommandState::Lost, OutputCommandState::Verified]
    );
}

#[tokio::test]
async fn an_output_the_unit_does_not_have_is_refused_at_start_up_with_its_list() {
    let f = fixture().await;
    let missing = target(&format!(
        "[[outputs]]\nunit = {UNIT}\noutput = \"X50\"\nbooking_objects = [1]\n"
    ));
    let err = outputs::check_targets(&f.client, &[heating(), missing])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("outputs[1].output") && err.contains("X50"),
        "{err}"
    );
    assert!(err.contains("X40") && !err.contains("IN1"), "{err}");
    let old = target(&format!(
        "[[outputs]]\nunit = \"{}\"\noutput = \"X1\"\nbooking_objects = [1]\n",
        sandbox::UNIT_OLD_SERIAL
    ));
    let err = outputs::check_targets(&f.client, &[old])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("F1, F2"), "{err}");
    outputs::check_targets(&f.client, &[heating(), sauna()])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_gate_pulses_once_at_a_stay_start_and_a_late_pulse_is_not_sent() {
    let f = fixture().await;
    let gate = target(&format!(
        "[[outputs]]\nname = \"Gate\"\nunit = {UNIT}\noutput = \"F2\"\nbooking_objects = [{OBJECT_CABIN}]\npulse_at_start = 600\n"
    ));
    let stays = vec![
        stay(OBJECT_CABIN, "airbnb", 15, 20),
        stay(OBJECT_CABIN, "airbnb", 63, 20),
    ];
    let at = |h: i64, m: i64| monday() + Duration::hours(h) + Duration::minutes(m);
    let targets = std::slice::from_ref(&gate);
    for now in [at(15, 1), at(15, 3), at(15, 20)] {
        f.driver().step_all(targets, &stays, now).await;
    }
    assert_eq!(f.control_posts(), 1, "one pulse per stay start");
    assert!(
        f.sandbox.output_is_on(UNIT, "F2"),
        "the 600 s pulse is running"
    );
    let journal = f.ledger.recent_output_commands(&gate.key, 5).await.unwrap();
    assert_eq!(journal[0].action, "600");
    assert_eq!(journal[0].state, OutputCommandState::Verified);
    // flexysync was down at the second arrival and comes back 30 minutes late.
    let report = &f.driver().step_all(targets, &stays, at(63, 30)).await[0];
    assert_eq!(report.decision, Decision::SkipLatePulse);
    f.driver().step_all(targets, &stays, at(63, 40)).await;
    assert_eq!(f.control_posts(), 1);
}
