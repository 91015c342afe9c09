//! `flexysync run`: the long-running service. Binds nothing itself: the caller passes the
//! listener (tests use port 0) and a token that stops it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::app::{ARCHIVE_JOB, App, FULL_PASS_JOB};
use super::lifecycle::{self, Request};
use super::scheduler::{JobFn, schedule_loop};
use super::server;
use crate::config::{Config, FlexyKeyConfig, parse_schedule};
use crate::flexykey::Client;
use crate::ledger::Ledger;
use crate::sources::webhook::{WebhookSources, WebhookState};

/// How long in-flight work may take to finish after SIGTERM before the process exits anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// A burst of webhook events for one source makes one pass after this quiet time.
pub const WEBHOOK_DEBOUNCE: Duration = Duration::from_secs(2);
/// Every owned booking is compared with FlexyKey's lists at least this often.
const FULL_PASS_SCHEDULE: &str = "17 * * * *";

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error("{0}")]
    Client(#[from] crate::flexykey::ApiError),
    #[error("listener: {0}")]
    Listen(std::io::Error),
    #[error("signals: {0}")]
    Signals(std::io::Error),
    #[error("feed HTTP client: {0}")]
    Http(String),
}

/// Where `run` reloads its config from on SIGHUP.
pub struct RunOptions {
    pub config_path: Option<PathBuf>,
    pub listen_for_signals: bool,
}

/// Runs the service until `stop` is cancelled or SIGTERM/SIGINT arrives.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    stop: CancellationToken,
    options: RunOptions,
) -> Result<(), DaemonError> {
    let ledger = Ledger::open_exclusive(&config.ledger.path).await?;
    let client = Client::new(&config.flexykey)?;
    let http = crate::reconcile::feeds::feed_http_client()
        .map_err(|e| DaemonError::Http(e.to_string()))?;
    let code_secret = crate::reconcile::feeds::code_secret(&config, &ledger).await?;
    super::metrics::handle();

    let (trigger_tx, trigger_rx) = mpsc::unbounded_channel::<String>();
    let webhook_sources = WebhookSources::new(&config.sources);
    let webhooks = WebhookState::new(ledger.clone(), webhook_sources.clone(), trigger_tx);
    let app = Arc::new(App::new(
        config,
        ledger,
        client,
        http,
        code_secret,
        stop.clone(),
    ));

    let address = listener.local_addr().map_err(DaemonError::Listen)?;
    let router = server::router(app.clone(), webhooks);
    let server_stop = stop.clone();
    let tracker = TaskTracker::new();
    tracker.spawn(super::listener::serve_with_limits(
        listener,
        router,
        super::listener::ConnectionLimits::default(),
        server_stop,
    ));
    let mut signals = if options.listen_for_signals {
        Some(lifecycle::listen().map_err(DaemonError::Signals)?)
    } else {
        None
    };
    lifecycle::notify_ready();
    tracing::info!(%address, "flexysync is running");

    let mut jobs = start_jobs(&app, &stop, &tracker);
    tracker.spawn(debounce_triggers(app.clone(), trigger_rx, stop.clone()));
    let mut watchdog =
        tokio::time::interval(lifecycle::watchdog_interval().unwrap_or(Duration::from_secs(3600)));

    loop {
        let request = async {
            match signals.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = watchdog.tick() => lifecycle::watchdog_ping(),
            request = request => match request {
                Some(Request::Shutdown) | None => {
                    tracing::info!("shutting down: finishing the calls in flight");
                    break;
                }
                Some(Request::Reload) => {
                    if reload(&app, &options, &webhook_sources) {
                        jobs.cancel();
                        jobs = start_jobs(&app, &stop, &tracker);
                    }
                }
            },
        }
    }
    lifecycle::notify_stopping();
    stop.cancel();
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "work still running after {} s; exiting anyway",
            SHUTDOWN_GRACE.as_secs()
        );
    }
    app.ledger.close().await;
    Ok(())
}

/// Re-reads the config; keeps the old one when the new one is invalid. True when replaced.
fn reload(app: &App, options: &RunOptions, webhooks: &WebhookSources) -> bool {
    let Some(path) = &options.config_path else {
        tracing::warn!("SIGHUP ignored: this instance has no config file to re-read");
        return false;
    };
    lifecycle::notify_reloading();
    let outcome = match Config::load(path)
        .map_err(|e| e.to_string())
        .and_then(|config| {
            let running = app.config();
            let client = if same_account(&running.flexykey, &config.flexykey) {
                None
            } else {
                Some(Client::new(&config.flexykey).map_err(|e| e.to_string())?)
            };
            Ok((config, client, running))
        }) {
        Ok((config, client, running)) => {
            for (key, changed) in [
                ("ledger.path", running.ledger.path != config.ledger.path),
                (
                    "server.listen",
                    running.server.listen != config.server.listen,
                ),
                (
                    "log",
                    running.log.level != config.log.level
                        || running.log.format != config.log.format,
                ),
            ] {
                if changed {
                    tracing::warn!(
                        key,
                        "changed in the config; takes effect at the next restart"
                    );
                }
            }
            let new_client = client.is_some();
            webhooks.replace(&config.sources);
            app.replace_config(config, client);
            tracing::info!(path = %path.display(), new_client, "config reloaded");
            true
        }
        Err(err) => {
            tracing::error!(error = %err, "config reload refused; the running config stays");
            false
        }
    };
    lifecycle::notify_ready();
    outcome
}

/// Whether two `[flexykey]` sections make the same client.
fn same_account(a: &FlexyKeyConfig, b: &FlexyKeyConfig) -> bool {
    use secrecy::ExposeSecret;
    let password = |c: &FlexyKeyConfig| c.password.as_ref().map(|p| p.expose_secret().to_owned());
    a.base_url == b.base_url
        && a.username == b.username
        && password(a) == password(b)
        && a.requests_per_second == b.requests_per_second
        && a.burst == b.burst
        && a.timeout_seconds == b.timeout_seconds
}

/// Starts one schedule loop per source, the archive and the full pass. Returns the token that
/// stops them (a child of `stop`).
fn start_jobs(
    app: &Arc<App>,
    stop: &CancellationToken,
    tracker: &TaskTracker,
) -> CancellationToken {
    let jobs = stop.child_token();
    let config = app.config();
    let now = Utc::now();
    let mut loops: Vec<(String, String, JobFn)> = vec![];
    for source in &config.sources {
        let (app, name) = (app.clone(), source.name.clone());
        let job: JobFn = Arc::new(move || {
            let (app, name) = (app.clone(), name.clone());
            Box::pin(async move {
                app.pass(Some(&name)).await;
            })
        });
        loops.push((source.name.clone(), source.schedule.clone(), job));
    }
    if config.archive.enabled {
        let app = app.clone();
        let job: JobFn = Arc::new(move || {
            let app = app.clone();
            Box::pin(async move { app.archive().await })
        });
        loops.push((ARCHIVE_JOB.to_owned(), config.archive.schedule.clone(), job));
    }
    let full = {
        let app = app.clone();
        let job: JobFn = Arc::new(move || {
            let app = app.clone();
            Box::pin(async move {
                app.pass(None).await;
                app.maintenance().await;
            })
        });
        job
    };
    loops.push((
        FULL_PASS_JOB.to_owned(),
        FULL_PASS_SCHEDULE.to_owned(),
        full.clone(),
    ));
    for (name, schedule, job) in loops {
        let Ok(cron) = parse_schedule(&schedule) else {
            // Validated at load; a failure here means the validation and the loop disagree.
            tracing::error!(job = %name, %schedule, "schedule does not parse; job not started");
            continue;
        };
        tracker.spawn(schedule_loop(
            name,
            cron,
            job,
            app.locks.clone(),
            jobs.clone(),
            now,
        ));
    }
    tracker.spawn(super::outputs::drive_outputs(app.clone(), jobs.clone()));
    // One full pass right away: a fresh start should not wait for the first fire.
    let app = app.clone();
    tracker.spawn(async move { app.locks.run_exclusive(FULL_PASS_JOB, &full).await });
    jobs
}

/// Webhook events name their source; a burst makes one pass after a quiet moment.
async fn debounce_triggers(
    app: Arc<App>,
    mut triggers: mpsc::UnboundedReceiver<String>,
    stop: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            _ = stop.cancelled() => return,
            next = triggers.recv() => match next { Some(name) => name, None => return },
        };
        let mut pending = std::collections::BTreeSet::from([first]);
        let quiet = tokio::time::sleep(WEBHOOK_DEBOUNCE);
        tokio::pin!(quiet);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = &mut quiet => break,
                next = triggers.recv() => match next {
                    Some(name) => { pending.insert(name); }
                    None => break,
                },
            }
        }
        for name in pending {
            let job_app = app.clone();
            let source = name.clone();
            let job: JobFn = Arc::new(move || {
                let (app, source) = (job_app.clone(), source.clone());
                Box::pin(async move {
                    app.pass(Some(&source)).await;
                })
            });
            app.locks.run_exclusive(&name, &job).await;
        }
    }
}
