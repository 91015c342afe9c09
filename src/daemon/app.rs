//! The running service's shared state and its jobs: a source's pass, the archive pull, the
//! periodic full pass that also checks drift. Jobs never hold a config across a reload: each
//! takes the config current when it starts.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::lifecycle;
use super::metrics as m;
use super::scheduler::JobLocks;
use super::status_page::ErrorRow;
use crate::clock::Clock;
use crate::config::Config;
use crate::flexykey::Client;
use crate::ledger::Ledger;
use crate::progress::Progress;
use crate::reconcile::deadline::within_deadline;
use crate::reconcile::feeds::FeedReader;
use crate::reconcile::pass::{PassError, PassOptions, PassReport, run_pass};
use crate::reconcile::waiting::PassWaiting;

/// Job names besides the sources' own.
pub const ARCHIVE_JOB: &str = "archive";
pub const FULL_PASS_JOB: &str = "full-pass";

const RECENT_ERRORS: usize = 20;
/// How long a source's pass waits, when no pass runs, for sources due at the same moment.
pub const GATHER_WINDOW: Duration = Duration::from_millis(250);
/// How long webhook deliveries are kept, for looking into what a sender sent.
pub const WEBHOOK_EVENT_DAYS: i64 = 90;

/// What every job and request handler shares.
pub struct App {
    config: RwLock<Arc<Config>>,
    pub ledger: Ledger,
    client: RwLock<Client>,
    pub http: reqwest::Client,
    pub locks: JobLocks,
    code_secret: Vec<u8>,
    recent_errors: Mutex<VecDeque<ErrorRow>>,
    /// Passes run one at a time: a full pass and a source's own pass never overlap.
    pass_lock: tokio::sync::Mutex<()>,
    /// Who waits for the next pass (sources due, callers); the running pass's drift round
    /// gives way to them.
    waiting: Arc<PassWaiting>,
    /// Fires on shutdown: a pass finishes its write in flight and starts no other.
    stop: tokio_util::sync::CancellationToken,
    /// The next full pass lists every object (after a start, or a client that changed: the
    /// account behind it may not be the one the ledger remembers).
    check_all: std::sync::atomic::AtomicBool,
    /// Marked by the running pass's calls, reads and writes; the watchdog reads it.
    pub progress: Progress,
    /// The time detection judges by (check-in deadlines, outages); the system's but in tests.
    clock: Clock,
}

impl App {
    pub fn new(
        config: Config,
        ledger: Ledger,
        client: Client,
        http: reqwest::Client,
        code_secret: Vec<u8>,
        stop: tokio_util::sync::CancellationToken,
    ) -> App {
        App {
            config: RwLock::new(Arc::new(config)),
            ledger,
            client: RwLock::new(client),
            http,
            locks: JobLocks::default(),
            code_secret,
            recent_errors: Mutex::default(),
            pass_lock: tokio::sync::Mutex::new(()),
            waiting: PassWaiting::new(),
            stop,
            check_all: std::sync::atomic::AtomicBool::new(true),
            progress: Progress::new(),
            clock: Clock::system(),
        }
    }

    /// The same app judging detection by `clock` (a test's, advanced instead of waited for).
    pub fn with_clock(mut self, clock: Clock) -> App {
        self.clock = clock;
        self
    }

    /// The config in force now.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Swaps in a reloaded config, and the client built from its `[flexykey]` section when
    /// that changed (a rotated password, another rate).
    pub fn replace_config(&self, config: Config, client: Option<Client>) {
        if let Some(client) = client {
            *self.client.write().unwrap_or_else(|p| p.into_inner()) = client;
            self.check_all.store(true, Ordering::SeqCst);
        }
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
    }

    /// The FlexyKey client in force now (cheap to clone: it shares its limiter).
    pub fn client(&self) -> Client {
        self.client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn recent_errors(&self) -> Vec<ErrorRow> {
        let errors = self.recent_errors.lock().unwrap_or_else(|p| p.into_inner());
        errors.iter().rev().cloned().collect()
    }

    fn remember_error(&self, message: String) {
        let mut errors = self.recent_errors.lock().unwrap_or_else(|p| p.into_inner());
        if errors.len() == RECENT_ERRORS {
            errors.pop_front();
        }
        errors.push_back(ErrorRow {
            at: Utc::now(),
            message,
        });
    }

    /// One pass: of one source, or of all (`None`), which also checks every object for drift.
    /// Sources whose schedules fire at the same moment, or while another pass runs, are
    /// gathered into one pass, so a thousand feeds on one tick cost one pass, not a thousand
    /// in a row (nor a pass of the first one, then one of the rest).
    pub async fn pass(&self, only_source: Option<&str>) -> Option<PassReport> {
        let Some(name) = only_source else {
            return self.pass_with(PassOptions::default()).await.ok();
        };
        self.waiting.add_source(name);
        let one_at_a_time = match self.pass_lock.try_lock() {
            Ok(free) => {
                // The first of the schedules firing on this tick: the others wake within
                // milliseconds and join it.
                tokio::time::sleep(GATHER_WINDOW).await;
                free
            }
            Err(_) => self.pass_lock.lock().await,
        };
        // A source a reload removed while it waited is dropped, not allowed to fail the others.
        let config = self.config();
        let due: Vec<String> = (self.waiting.take_sources().into_iter())
            .filter(|due| config.sources.iter().any(|s| &s.name == due))
            .collect();
        if due.is_empty() {
            return None; // an earlier pass took this source along
        }
        let options = PassOptions {
            sources: due,
            ..PassOptions::default()
        };
        self.pass_locked(options, one_at_a_time).await.ok()
    }

    /// A pass with the operator's options (a dry run, confirmed sources), after any pass
    /// already running: passes run one at a time. A dry run leaves no trace in the counts.
    pub async fn pass_with(&self, options: PassOptions) -> Result<PassReport, PassError> {
        let waits = self.waiting.caller();
        let one_at_a_time = self.pass_lock.lock().await;
        drop(waits);
        self.pass_locked(options, one_at_a_time).await
    }

    /// The pass itself, run while `_one_at_a_time` holds the pass lock.
    async fn pass_locked(
        &self,
        mut options: PassOptions,
        _one_at_a_time: tokio::sync::MutexGuard<'_, ()>,
    ) -> Result<PassReport, PassError> {
        let config = self.config();
        let reader = FeedReader::new(
            self.http.clone(),
            self.ledger.clone(),
            Utc::now(),
            config.sync.horizon_days,
            self.code_secret.clone(),
        );
        // The first full pass, and the first after the client changed, lists every object.
        let check_all = options.sources.is_empty()
            && !options.dry_run
            && self.check_all.swap(false, Ordering::SeqCst);
        options.check_all |= check_all;
        options.waiting = Some(self.waiting.clone());
        options.owed_checks = self.waiting.recheck();
        // Shutdown and the deadline both stop the pass at its next safe point.
        let stop = self.stop.child_token();
        options.stop = Some(stop.clone());
        let started = Utc::now();
        let scope = match options.sources.as_slice() {
            [] => "all sources".to_owned(),
            [one] => one.clone(),
            many => crate::text::count(many.len(), crate::text::SOURCE),
        };
        let scope = scope.as_str();
        let client = self.client();
        let limit = config.sync.pass_timeout;
        let pass = run_pass(&config, &self.ledger, &client, &reader, &options);
        let grace = Duration::from_secs(config.flexykey.timeout_seconds.saturating_add(10));
        let ran = within_deadline(pass, &stop, limit.0, grace);
        let (outcome, late) =
            self.progress
                .track(ran)
                .await
                .split(scope.to_owned(), limit.to_string(), grace);
        if let Some(late) = late.as_ref().filter(|_| !self.stop.is_cancelled()) {
            metrics::counter!(m::PASSES, "result" => late.kind()).increment(1);
            tracing::error!(scope, error = %late, "sync pass stopped by its deadline");
            self.remember_error(late.to_string());
        }
        let outcome = match (outcome, late) {
            (Some(outcome), _) => outcome,
            (None, late) => Err(PassError::Abandoned(
                late.map(|l| l.to_string()).unwrap_or_default(),
            )),
        };
        match &outcome {
            Ok(report) if !report.dry_run => {
                let whole = options.sources.is_empty();
                (self.waiting).settle_recheck(&report.listed, &report.drift.owed, whole);
                self.record_pass(scope, started, report);
                self.detect_events().await;
            }
            // A dry run, or an operator naming a source that does not exist.
            Ok(_) | Err(PassError::UnknownSource(_) | PassError::UnknownConfirm(_)) => {}
            // Reported above as the deadline's failure.
            Err(PassError::Abandoned(_)) => {}
            Err(err) => {
                if check_all {
                    self.check_all.store(true, Ordering::SeqCst);
                }
                metrics::counter!(m::PASSES, "result" => "error").increment(1);
                tracing::error!(scope, error = %err, "sync pass failed");
                self.remember_error(format!("pass over {scope}: {err}"));
            }
        }
        outcome
    }

    fn record_pass(&self, scope: &str, started: DateTime<Utc>, report: &PassReport) {
        let counts = report.counts();
        let result = if report.converged {
            "converged"
        } else {
            "not_converged"
        };
        metrics::counter!(m::PASSES, "result" => result).increment(1);
        metrics::counter!(m::OPERATIONS, "kind" => "create", "result" => "done")
            .increment(u64::from(counts.created));
        metrics::counter!(m::OPERATIONS, "kind" => "delete", "result" => "done")
            .increment(u64::from(counts.deleted));
        metrics::counter!(m::OPERATIONS, "kind" => "any", "result" => "failed")
            .increment(u64::from(counts.failed));
        let held = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        metrics::counter!(m::OPERATIONS, "kind" => "delete", "result" => "held")
            .increment(held(report.plan.held.len()));
        metrics::counter!(m::OPERATIONS, "kind" => "create", "result" => "held")
            .increment(held(report.plan.held_creates.len()));
        for source in &report.sources {
            if let Some(failure) = &source.failure {
                let (name, kind) = (source.name.clone(), failure.kind.as_str());
                metrics::counter!(m::READ_FAILURES, "source" => name, "kind" => kind).increment(1);
            }
        }
        for failure in report.failures() {
            metrics::counter!(m::PASS_FAILURES, "kind" => failure.kind.as_str()).increment(1);
        }
        metrics::counter!(m::OBJECTS_LISTED, "listed" => "yes")
            .increment(u64::from(report.listed_objects));
        metrics::counter!(m::OBJECTS_LISTED, "listed" => "no")
            .increment(u64::from(report.unlisted_objects));
        let mut summary = format!(
            "{scope}: {} created, {} deleted, {} adopted, {} failed, {} held",
            counts.created, counts.deleted, counts.adopted, counts.failed, counts.held
        );
        if let Some(drift) = report.drift.summary() {
            summary.push_str(&format!("; {drift}"));
        }
        // One line per pass with its counts, for the operator reading the journal.
        tracing::info!(
            scope,
            created = counts.created,
            deleted = counts.deleted,
            adopted = counts.adopted,
            failed = counts.failed,
            held = counts.held,
            converged = report.converged,
            drift_lists_made = report.drift.made,
            drift_lists_planned = report.drift.planned,
            "pass finished"
        );
        for failure in report.failures() {
            self.remember_error(format!("{scope}: {failure}"));
        }
        lifecycle::notify_status(&format!(
            "last pass {}: {summary}",
            started.format("%H:%M:%S")
        ));
    }

    /// Housekeeping after the hourly full pass: webhook deliveries are kept for
    /// [`WEBHOOK_EVENT_DAYS`] days (each booking's current state stays for good).
    pub async fn maintenance(&self) {
        let before = Utc::now() - chrono::Duration::days(WEBHOOK_EVENT_DAYS);
        match self.ledger.prune_webhook_events(before).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old webhook deliveries forgotten"),
            Err(err) => tracing::warn!(error = %err, "pruning webhook deliveries failed"),
        }
    }

    /// Check-ins, no-shows, denials, double bookings and outages found since the last look
    /// go to the outbox (each once).
    async fn detect_events(&self) {
        let config = self.config();
        match crate::notify::produce::detect_and_record(&self.ledger, &config, self.clock.now())
            .await
        {
            Ok(0) => {}
            Ok(added) => tracing::info!(added, "events detected"),
            Err(err) => tracing::warn!(error = %err, "event detection failed"),
        }
    }

    /// Pulls every selected unit's new log entries into the archive.
    pub async fn archive(&self) {
        let config = self.config();
        if !config.archive.enabled {
            return;
        }
        let client = self.client();
        match crate::archive::pull(&client, &self.ledger, &config.archive, Utc::now()).await {
            Ok(report) => {
                metrics::counter!(m::LOG_ENTRIES).increment(report.stored());
                tracing::info!(
                    units = report.units.len(),
                    stored = report.stored(),
                    failed = report.failed.len(),
                    "archive pull finished"
                );
                for (unit_id, reason) in &report.failed {
                    self.remember_error(format!("archive of unit {unit_id}: {reason}"));
                }
                self.detect_events().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "archive pull failed");
                self.remember_error(format!("archive: {err}"));
            }
        }
    }
}
