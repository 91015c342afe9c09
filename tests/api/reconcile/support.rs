//! The reconciler tests' world: a sandbox (optionally with faults and a state file), a feed
//! served over loopback (or written to a file), a config, a ledger, and the real binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration as Span, Timelike, Utc};
use flexysync::config::Config;
use flexysync::flexykey::Client;
use flexysync::ledger::Ledger;
use flexysync::reconcile::feeds::sync_once;
use flexysync::reconcile::marker::{marker, marker_in};
use flexysync::reconcile::pass::{PassOptions, PassReport};
use flexysync::reconcile::status::{StatusReport, status_report};
use flexysync::sandbox::{Sandbox, SandboxBooking, SandboxOptions};
use tokio::net::TcpListener;

pub const OBJECT: i64 = 123;

/// Tomorrow 00:00 UTC: every test stay starts after it unless it says otherwise.
pub fn first_arrival() -> DateTime<Utc> {
    let tomorrow = Utc::now() + Span::days(1);
    tomorrow
        .with_hour(0)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(tomorrow)
}

#[derive(Debug, Clone)]
pub struct Stay {
    pub index: usize,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Stay {
    pub fn new(index: usize, base: DateTime<Utc>, offset_hours: usize, hours: i64) -> Stay {
        let start = base + Span::hours(offset_hours as i64);
        Stay::at(index, start, start + Span::hours(hours))
    }

    pub fn at(index: usize, start: DateTime<Utc>, end: DateTime<Utc>) -> Stay {
        let second = |t: DateTime<Utc>| t.with_nanosecond(0).unwrap_or(t);
        Stay {
            index,
            start: second(start),
            end: second(end),
        }
    }

    pub fn shift(&mut self, hours: i64) {
        self.start += Span::hours(hours);
        self.end += Span::hours(hours);
    }

    fn uid(&self) -> String {
        format!("stay-{}@flexysync.test", self.index)
    }

    /// The reservation key the iCal source gives it.
    pub fn key(&self) -> String {
        format!("cabin/{}/", self.uid())
    }

    /// The guest's phone number: it must never be printed.
    pub fn code_hint(&self) -> String {
        format!("+467012{:05}", self.index)
    }

    fn vevent(&self) -> String {
        let t = |time: DateTime<Utc>| time.format("%Y%m%dT%H%M%SZ").to_string();
        format!(
            "BEGIN:VEVENT\r\nUID:{}\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\n\
             SUMMARY:Guest {}\r\nDESCRIPTION:Phone: {}\r\nEND:VEVENT\r\n",
            self.uid(),
            t(self.start),
            t(self.end),
            self.index,
            self.code_hint()
        )
    }
}

pub fn calendar(stays: &[Stay]) -> String {
    let mut text =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//flexysync tests//EN\r\n");
    for stay in stays {
        text.push_str(&stay.vevent());
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

#[derive(Debug, Clone)]
pub enum FeedMode {
    Calendar(String),
    Status(u16),
    Hang,
    Html,
}

/// A calendar feed on a loopback port, and the same calendar in a file.
pub struct Feed {
    mode: Arc<Mutex<FeedMode>>,
    pub url: String,
    pub file: PathBuf,
}

impl Feed {
    async fn serve(file: PathBuf) -> Feed {
        let mode = Arc::new(Mutex::new(FeedMode::Calendar(calendar(&[]))));
        let shared = mode.clone();
        let app = Router::new().route(
            "/cal.ics",
            get(move || {
                let mode = shared.lock().unwrap().clone();
                async move { answer(mode).await }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Feed {
            mode,
            url: format!("http://{addr}/cal.ics"),
            file,
        }
    }

    pub fn set_calendar(&self, stays: &[Stay]) {
        let text = calendar(stays);
        std::fs::write(&self.file, &text).unwrap();
        *self.mode.lock().unwrap() = FeedMode::Calendar(text);
    }

    pub fn set_mode(&self, mode: FeedMode) {
        *self.mode.lock().unwrap() = mode;
    }
}

async fn answer(mode: FeedMode) -> Response {
    match mode {
        FeedMode::Calendar(text) => ([("content-type", "text/calendar")], text).into_response(),
        FeedMode::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        FeedMode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK.into_response()
        }
        FeedMode::Html => (
            [("content-type", "text/html")],
            "<!DOCTYPE html><html><body>Maintenance</body></html>",
        )
            .into_response(),
    }
}

#[derive(Debug, Clone, Default)]
pub struct SandboxFaults {
    pub fault_rate: f64,
    pub lost_response_rate: f64,
    pub state_file: bool,
}

/// When the crash test kills the binary.
#[derive(Debug, Clone, Copy)]
pub enum KillMoment {
    After(Duration),
    /// As soon as the sandbox has journaled this many more write calls.
    AfterWrites(usize),
}

#[derive(Debug, Clone, Default)]
pub struct PassFlags {
    pub confirm: Vec<String>,
    /// List every object and look every zone up again (the daemon's first pass).
    pub check_all: bool,
}

impl PassFlags {
    /// The operator's `sync --confirm SOURCE`.
    pub fn confirming(source: &str) -> PassFlags {
        PassFlags {
            confirm: vec![source.to_owned()],
            ..PassFlags::default()
        }
    }
}

pub struct World {
    pub sandbox: Sandbox,
    pub feed: Feed,
    pub ledger_path: PathBuf,
    config_path: PathBuf,
    sandbox_addr: SocketAddr,
    faults: SandboxFaults,
    state_file: Option<PathBuf>,
    extra_sync: String,
    extra_sources: String,
    file_feed: bool,
    _dir: tempfile::TempDir,
}

impl World {
    pub async fn start(faults: SandboxFaults, extra_sync: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let state_file = faults.state_file.then(|| dir.path().join("sandbox.json"));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sandbox_addr = listener.local_addr().unwrap();
        let sandbox = Sandbox::start(listener, sandbox_options(&faults, &state_file))
            .await
            .unwrap();
        let feed = Feed::serve(dir.path().join("cabin.ics")).await;
        let world = World {
            sandbox,
            feed,
            ledger_path: dir.path().join("state/ledger.db"),
            config_path: dir.path().join("config.toml"),
            sandbox_addr,
            faults,
            state_file,
            extra_sync: extra_sync.to_owned(),
            extra_sources: String::new(),
            file_feed: false,
            _dir: dir,
        };
        world.write_config();
        world
    }

    /// A world with the webhook source `laundry` (resource `room-a` on object 124) beside the
    /// cabin's feed.
    pub async fn with_laundry_hook() -> World {
        let mut world = World::start(Default::default(), "").await;
        world.add_sources(
            "[[sources]]\nname = \"laundry\"\nkind = \"webhook\"\n\
             secret = \"test-secret-for-the-hook\"\nobjects = { \"room-a\" = 124 }\n",
        );
        world
    }

    /// Doors `objects` with an empty calendar each (sources named `door-ID`), returned by name.
    pub fn add_quiet_doors(&mut self, objects: std::ops::Range<i64>) -> Vec<String> {
        let quiet = self.write_file("quiet.ics", &calendar(&[]));
        let mut names = vec![];
        for object in objects {
            self.sandbox.add_object(flexysync::sandbox::ObjectSpec::new(
                object,
                flexysync::sandbox::COMPANY_A,
                &format!("Door {object}"),
                &[flexysync::sandbox::UNIT_MAIN],
            ));
            self.add_sources(&format!(
                "[[sources]]\nname = \"door-{object}\"\nkind = \"ical\"\npath = {:?}\n\
                 booking_object_id = {object}\ntimezone = \"Europe/Stockholm\"\n\n",
                quiet.display().to_string()
            ));
            names.push(format!("door-{object}"));
        }
        names
    }

    /// The feed is read from its file (the crash test runs the binary many times).
    pub fn use_file_feed(&mut self) {
        self.file_feed = true;
        self.write_config();
    }

    /// Writes a file beside the config; returns its path.
    pub fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self._dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Appends `[[sources]]` tables to the config.
    pub fn add_sources(&mut self, toml: &str) {
        self.extra_sources.push_str(toml);
        self.write_config();
    }

    fn write_config(&self) {
        let location = if self.file_feed {
            format!("path = {:?}", self.feed.file.display().to_string())
        } else {
            format!("url = {:?}", self.feed.url)
        };
        let text = format!(
            "[flexykey]\nbase_url = \"{}\"\nusername = \"api-user\"\npassword = \"sandbox-password\"\n\
             requests_per_second = 400.0\nburst = 100\ntimeout_seconds = 5\n\n\
             [ledger]\npath = {:?}\n\n[sync]\n{}\n\
             [[sources]]\nname = \"cabin\"\nkind = \"ical\"\n{location}\nbooking_object_id = {OBJECT}\n\
             timezone = \"Europe/Stockholm\"\ncode = \"phone-last4\"\n\n{}",
            self.sandbox.base_url(),
            self.ledger_path.display().to_string(),
            self.extra_sync,
            self.extra_sources,
        );
        std::fs::write(&self.config_path, text).unwrap();
    }

    fn config(&self) -> Config {
        Config::load(&self.config_path).unwrap()
    }

    pub fn config_path(&self) -> &std::path::Path {
        &self.config_path
    }

    /// Records a webhook delivery for source `laundry` in the ledger, as the endpoint would.
    pub async fn deliver(
        &self,
        event: &str,
        booking: &flexysync::ledger::webhooks::WebhookBooking,
        at: DateTime<Utc>,
    ) {
        let ledger = Ledger::open(&self.ledger_path).await.unwrap();
        ledger
            .record_webhook_delivery(&flexysync::ledger::webhooks::WebhookDelivery {
                source: "laundry",
                event_id: event,
                event_type: "booking.upserted",
                occurred_at: at,
                received_at: at,
                raw_json: "{}",
                booking,
            })
            .await
            .unwrap();
        ledger.close().await;
    }

    /// One pass through the library, with a 1-second feed timeout.
    pub async fn sync(&self, flags: PassFlags) -> PassReport {
        let config = self.config();
        let ledger = open_exclusive(&config.ledger.path).await;
        let client = Client::new(&config.flexykey).unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let options = PassOptions {
            confirm: flags.confirm,
            check_all: flags.check_all,
            ..PassOptions::default()
        };
        let report = sync_once(&config, &ledger, &client, &http, &options)
            .await
            .unwrap();
        ledger.close().await;
        report
    }

    pub async fn status(&self) -> StatusReport {
        let config = self.config();
        let ledger = Ledger::open(&config.ledger.path).await.unwrap();
        let report = status_report(&config, &ledger, Utc::now()).await.unwrap();
        ledger.close().await;
        report
    }

    /// Bookings on the object that carry flexysync's marker.
    pub fn fs_bookings(&self) -> Vec<SandboxBooking> {
        self.sandbox
            .bookings_of(OBJECT)
            .into_iter()
            .filter(|b| b.name.as_deref().and_then(marker_in).is_some())
            .collect()
    }

    /// Bookings made by hand in FlexyWeb, over the same days as the stays.
    pub fn hand_made(&self, count: usize) -> Vec<SandboxBooking> {
        (0..count)
            .map(|i| {
                let start = first_arrival() + Span::hours(12 * i as i64 + 10);
                let booking = SandboxBooking::new(OBJECT, start, start + Span::hours(2))
                    .with_name("Cleaning")
                    .with_code("9090");
                self.sandbox.create_booking_by_hand(booking).unwrap()
            })
            .collect()
    }

    pub fn assert_untouched(&self, hand_made: &[SandboxBooking]) {
        for booking in hand_made {
            assert_eq!(
                self.sandbox.booking(booking.booking_id).as_ref(),
                Some(booking),
                "a hand-made booking was touched"
            );
        }
    }

    /// Exactly one booking per stay (same window, unless it began in the past), and no other
    /// booking carrying flexysync's marker.
    pub fn assert_exactly_one_booking_per_stay(&self, stays: &[Stay]) {
        let ours = self.fs_bookings();
        for stay in stays {
            let mark = marker(&stay.key());
            let found: Vec<&SandboxBooking> = ours
                .iter()
                .filter(|b| b.name.as_deref().and_then(marker_in) == Some(mark.as_str()))
                .collect();
            assert_eq!(found.len(), 1, "stay {}: {found:#?}", stay.index);
            assert_eq!(found[0].end_date, stay.end, "stay {}", stay.index);
            assert!(found[0].start_date >= stay.start, "stay {}", stay.index);
            assert_eq!(found[0].phone1.as_deref(), Some(stay.code_hint().as_str()));
        }
        assert_eq!(ours.len(), stays.len(), "orphans: {ours:#?}");
    }

    /// The ledger's disk is lost.
    pub fn lose_ledger(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.ledger_path.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
        assert!(!self.ledger_path.exists());
    }

    /// Runs the real binary to the end.
    pub async fn binary(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(crate::helpers::binary())
            .args(args)
            .arg("--config")
            .arg(&self.config_path)
            .env_remove("FLEXYSYNC_CONFIG")
            .kill_on_drop(true)
            .output()
            .await
            .unwrap()
    }

    /// Starts `sync` and kills it with SIGKILL at `moment`; true when it was still running.
    pub async fn run_and_kill(&self, moment: KillMoment) -> bool {
        let mut child = tokio::process::Command::new(crate::helpers::binary())
            .args(["sync", "--config"])
            .arg(&self.config_path)
            .env_remove("FLEXYSYNC_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let running = match moment {
            KillMoment::After(wait) => tokio::time::timeout(wait, child.wait()).await.is_err(),
            KillMoment::AfterWrites(count) => {
                // Right after the sandbox performed a write, while its answer is on the way:
                // the narrowest window between a FlexyKey write and the ledger's record of it.
                let target = self.sandbox.write_calls().len() + count;
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                loop {
                    if child.try_wait().unwrap().is_some() {
                        break false;
                    }
                    if self.sandbox.write_calls().len() >= target
                        || std::time::Instant::now() > deadline
                    {
                        break true;
                    }
                    std::hint::spin_loop();
                }
            }
        };
        if running {
            child.start_kill().unwrap();
        }
        child.wait().await.unwrap();
        running
    }

    /// Stops the sandbox and starts it again on the same port from its state file.
    pub async fn restart_sandbox(&mut self) {
        let faults = self.sandbox.faults();
        self.sandbox.clone().shutdown().await;
        let listener = TcpListener::bind(self.sandbox_addr).await.unwrap();
        self.sandbox = Sandbox::start(listener, sandbox_options(&self.faults, &self.state_file))
            .await
            .unwrap();
        self.sandbox.set_faults(faults);
    }
}

/// The lock is a `flock`: a child process that another test forks at the moment this test
/// releases it keeps it alive until its `exec`. Within one test process, wait that out.
async fn open_exclusive(path: &std::path::Path) -> Ledger {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match Ledger::open_exclusive(path).await {
            Ok(ledger) => return ledger,
            Err(flexysync::ledger::LedgerError::Locked { .. })
                if std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(err) => panic!("{err}"),
        }
    }
}

fn sandbox_options(faults: &SandboxFaults, state_file: &Option<PathBuf>) -> SandboxOptions {
    SandboxOptions {
        fault_rate: faults.fault_rate,
        lost_response_rate: faults.lost_response_rate,
        state_file: state_file.clone(),
        ..SandboxOptions::default()
    }
}
