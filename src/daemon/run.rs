//! `flexysync run`: the long-running service. Binds no TCP port itself: the caller passes the
//! listeners (tests use port 0) and a token that stops it. The control socket beside the
//! ledger is its own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::app::{ARCHIVE_JOB, App, FULL_PASS_JOB};
use super::control::{self, Presenter};
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
    #[error("control channel token beside the ledger: {0}")]
    ControlToken(std::io::Error),
    #[error("signals: {0}")]
    Signals(std::io::Error),
    #[error("feed HTTP client: {0}")]
    Http(String),
}

/// Where `run` reloads its config from on SIGHUP, and how its control channel answers.
pub struct RunOptions {
    pub config_path: Option<PathBuf>,
    pub listen_for_signals: bool,
    pub presenter: Arc<dyn Presenter>,
}

/// How the control channel answers, and the token the admin listener's side requires.
struct Controls {
    presenter: Arc<dyn Presenter>,
    token: Arc<str>,
}

/// The two TCP listeners: `server.listen` (webhooks) and `server.admin_listen`.
pub struct Listeners {
    pub hooks: TcpListener,
    pub admin: TcpListener,
}

/// Runs the service until `stop` is cancelled or SIGTERM/SIGINT arrives.
pub async fn serve(
    config: Config,
    listeners: Listeners,
    stop: CancellationToken,
    options: RunOptions,
) -> Result<(), DaemonError> {
    let ledger = Ledger::open_exclusive(&config.ledger.path).await?;
    let client = Client::new(&config.flexykey)?;
    let http = crate::reconcile::feeds::feed_http_client()
        .map_err(|e| DaemonError::Http(e.to_string()))?;
    let code_secret = crate::reconcile::feeds::code_secret(&config, &ledger).await?;
    super::metrics::initialise(&config);

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

    let address = listeners.hooks.local_addr().map_err(DaemonError::Listen)?;
    let admin_address = listeners.admin.local_addr().map_err(DaemonError::Listen)?;
    let tracker = TaskTracker::new();
    let token = control::write_token(app.ledger.path()).map_err(DaemonError::ControlToken)?;
    let control = Controls {
        presenter: options.presenter.clone(),
        token,
    };
    let socket = serve_all(listeners, &app, webhooks, control, &tracker, &stop);
    let mut signals = if options.listen_for_signals {
        Some(lifecycle::listen().map_err(DaemonError::Signals)?)
    } else {
        None
    };
    lifecycle::notify_ready();
    tracing::info!(
        %address,
        admin = %admin_address,
        control_socket = socket.as_ref().map(|p| p.display().to_string()),
        "flexysync is running"
    );

    let mut jobs = start_jobs(&app, &stop, &tracker);
    tracker.spawn(debounce_triggers(app.clone(), trigger_rx, stop.clone()));
    let mut watchdog =
        tokio::time::interval(lifecycle::watchdog_interval().unwrap_or(Duration::from_secs(3600)));
    // Pinged from evidence of progress, not from this loop alone (a hung pass must trip it).
    let stall_limit = lifecycle::watchdog_timeout().unwrap_or(Duration::from_secs(3600));

    loop {
        let request = async {
            match signals.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = watchdog.tick() => {
                lifecycle::watchdog_tick(&app.progress, stall_limit);
            }
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
    if let Some(socket) = socket {
        let _ = std::fs::remove_file(socket);
    }
    let _ = std::fs::remove_file(control::token_path(app.ledger.path()));
    app.ledger.close().await;
    Ok(())
}

/// Serves webhooks on one listener, the admin routes on the other and the control channel also
/// on the socket beside the ledger. Returns the socket's path; without it (a path too long for
/// a socket) the admin listener still carries the channel.
fn serve_all(
    listeners: Listeners,
    app: &Arc<App>,
    webhooks: WebhookState,
    control: Controls,
    tracker: &TaskTracker,
    stop: &CancellationToken,
) -> Option<PathBuf> {
    // Both TCP listeners shed idle and slow-header connections; the unix socket is the owner's.
    let limited = |listener, router| {
        super::listener::serve_with_limits(
            listener,
            router,
            super::listener::ConnectionLimits::default(),
            stop.clone(),
        )
    };
    tracker.spawn(limited(listeners.hooks, server::public_router(webhooks)));
    let guarded = control::routes(app.clone(), control.presenter.clone(), Some(control.token));
    tracker.spawn(limited(
        listeners.admin,
        server::admin_router(app.clone(), guarded),
    ));
    match control::bind_socket(app.ledger.path()) {
        Ok((socket, path)) => {
            let open = control::routes(app.clone(), control.presenter, None);
            spawn_server(tracker, stop, socket, open);
            Some(path)
        }
        Err(err) => {
            tracing::warn!(
                path = %control::socket_path(app.ledger.path()).display(),
                error = %err,
                "no control socket; commands reach the daemon on the admin listener"
            );
            None
        }
    }
}

fn spawn_server<L>(
    tracker: &TaskTracker,
    stop: &CancellationToken,
    listener: L,
    router: axum::Router,
) where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let stop = stop.clone();
    tracker.spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(err) = served {
            tracing::error!(error = %err, "HTTP server stopped");
        }
    });
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
                    "server.admin_listen",
                    running.server.admin_listen != config.server.admin_listen,
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
            super::metrics::initialise(&config);
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

/// Starts the schedule loops, the outputs' driver, the notify queues and one full pass now.
/// Returns the token that stops them (a child of `stop`).
fn start_jobs(
    app: &Arc<App>,
    stop: &CancellationToken,
    tracker: &TaskTracker,
) -> CancellationToken {
    let jobs = stop.child_token();
    let config = app.config();
    let full = spawn_schedules(app, &jobs, tracker);
    tracker.spawn(super::outputs::drive_outputs(app.clone(), jobs.clone()));
    // One delivery queue per [[notify]] target, restarted with the jobs on a reload.
    crate::notify::deliver::start_queues(&config.notify, &app.ledger, &app.http, &jobs, tracker);
    // One full pass right away: a fresh start should not wait for the first fire.
    let app = app.clone();
    tracker.spawn(async move { app.locks.run_exclusive(FULL_PASS_JOB, &full).await });
    jobs
}

/// One schedule loop per source, the archive's and the hourly full pass's, stopped by `jobs`.
/// Returns the full pass's job (the daemon also runs it once at start). Public for the API
/// budget benchmark, which drives the same loops.
pub fn spawn_schedules(app: &Arc<App>, jobs: &CancellationToken, tracker: &TaskTracker) -> JobFn {
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
    let full: JobFn = {
        let app = app.clone();
        Arc::new(move || {
            let app = app.clone();
            Box::pin(async move {
                app.pass(None).await;
                app.maintenance().await;
            })
        })
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
    full
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
        // All at once, so that they share one pass.
        let passes = pending.into_iter().map(|name| {
            let job_app = app.clone();
            let source = name.clone();
            let job: JobFn = Arc::new(move || {
                let (app, source) = (job_app.clone(), source.clone());
                Box::pin(async move {
                    app.pass(Some(&source)).await;
                })
            });
            let app = app.clone();
            async move { app.locks.run_exclusive(&name, &job).await }
        });
        futures::future::join_all(passes).await;
    }
}
