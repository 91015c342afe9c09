//! The daemon's two listeners. `server.listen` may face the internet and serves only the
//! webhook endpoint and `/healthz`; `server.admin_listen` serves the status page at `/`,
//! `/metrics`, `/healthz`, `/readyz` and the control channel. The caller binds both, so tests
//! use port 0.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;

use super::app::App;
use super::metrics as m;
use super::status_page::{self, ArrivalRow, HeldRow, PassRow, SourceRow, StatusView};
use super::timeline;
use crate::ledger::PassRecord;
use crate::reconcile::status::{StatusReport, status_report};
use crate::sources::webhook::{self, WebhookState};

/// A source counts against readiness once it has failed this many reads in a row and has had
/// no fresh read for this long.
const FAILING_READS: u32 = 3;
const FAILING_FOR: Duration = Duration::from_secs(3600);

/// `server.listen`: webhooks and `/healthz`, nothing that shows guests or lets anyone act.
pub fn public_router(webhooks: WebhookState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(webhook::routes(webhooks))
        .layer(request_timeout())
}

/// `server.admin_listen`: the status page, metrics, probes, and `control` (the control channel).
pub fn admin_router(app: Arc<App>, control: Router) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/", get(status))
        .with_state(app)
        .layer(request_timeout())
        // A pass asked for on the control channel takes as long as it takes.
        .merge(control)
}

fn request_timeout() -> tower_http::timeout::TimeoutLayer {
    tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        Duration::from_secs(30),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Why the service is not ready, or nothing.
async fn readiness_problems(app: &App) -> Vec<String> {
    let mut problems = vec![];
    if let Err(err) = app.ledger.check_writable().await {
        problems.push(format!("ledger not writable: {err}"));
    }
    if app.client().last_call_ok() == Some(false) {
        problems.push("FlexyKey did not answer the last call".to_owned());
    }
    let now = Utc::now();
    match app.ledger.source_reads().await {
        Ok(reads) => {
            let config = app.config();
            for read in reads
                .iter()
                .filter(|r| config.sources.iter().any(|s| s.name == r.source))
            {
                let stale = read
                    .last_fresh_at
                    .is_none_or(|fresh| (now - fresh).to_std().unwrap_or_default() > FAILING_FOR);
                if read.consecutive_failures >= FAILING_READS && stale {
                    problems.push(format!(
                        "source {} has failed {} reads in a row: {}",
                        read.source,
                        read.consecutive_failures,
                        read.last_reason.as_deref().unwrap_or("no reason recorded")
                    ));
                }
            }
        }
        Err(err) => problems.push(format!("ledger not readable: {err}")),
    }
    problems
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    let problems = readiness_problems(&app).await;
    if problems.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready:\n{}\n", problems.join("\n")),
        )
            .into_response()
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    // Gauges that describe the ledger are read at scrape time.
    let config = app.config();
    if let Ok(reads) = app.ledger.source_reads().await {
        for source in &config.sources {
            let fresh = reads
                .iter()
                .find(|read| read.source == source.name)
                .and_then(|read| read.last_fresh_at);
            metrics::gauge!(m::LAST_FRESH_READ, "source" => source.name.clone())
                .set(fresh.map_or(0.0, |at| at.timestamp() as f64));
        }
    }
    if let Ok(open) = app.ledger.open_journal().await {
        metrics::gauge!(m::IN_DOUBT).set(open.len() as f64);
    }
    if let Ok(report) = status_report(&config, &app.ledger, Utc::now()).await {
        metrics::gauge!(m::ARRIVALS_UNCONFIRMED).set(f64::from(report.flagged_arrivals));
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        m::render(),
    )
        .into_response()
}

/// The status page's content, from the ledger's status report, its last passes and the
/// daemon's recent errors.
pub fn status_view(report: &StatusReport, passes: &[PassRecord], app: &App) -> StatusView {
    let sources = report
        .sources
        .iter()
        .map(|s| SourceRow {
            name: s.name.clone(),
            last_fresh: s.last_fresh_at,
            outcome: match (s.last_outcome, s.failure_kind) {
                (Some(outcome), Some(kind)) => format!("{outcome} ({})", kind.as_str()),
                (Some(outcome), None) => outcome.to_owned(),
                (None, _) => "never read".to_owned(),
            },
            reason: s.last_reason.clone().or_else(|| s.shrink_hold.clone()),
            consecutive_failures: i64::from(s.consecutive_failures),
        })
        .collect();
    let mut arrivals: Vec<ArrivalRow> = report
        .objects
        .iter()
        .flat_map(|object| {
            object.arrivals.iter().map(|a| ArrivalRow {
                source: a.source.clone(),
                booking_object_id: object.booking_object_id,
                label: a.label.clone(),
                start: a.start,
                end: a.end,
                confirmed: a.confirmed,
                state: if a.confirmed {
                    "booked".into()
                } else {
                    "NOT BOOKED".into()
                },
            })
        })
        .collect();
    arrivals.sort_by_key(|a| (a.start, a.booking_object_id));
    let mut held: Vec<HeldRow> = report
        .sources
        .iter()
        .filter(|s| !s.held_deletions.is_empty() || s.shrink_hold.is_some())
        .map(|s| HeldRow {
            source: s.name.clone(),
            count: s.held_deletions.len() as i64,
            why: s.shrink_hold.clone().unwrap_or_else(|| {
                s.held_deletions
                    .first()
                    .map(|h| h.reason.clone())
                    .unwrap_or_default()
            }),
        })
        .collect();
    // A runaway source's creates, held by the growth guard.
    held.extend(report.sources.iter().filter_map(|s| {
        s.creates_hold.as_ref().map(|why| HeldRow {
            source: s.name.clone(),
            count: 0,
            why: why.clone(),
        })
    }));
    StatusView {
        sources,
        arrivals,
        held,
        notify: Default::default(),
        errors: app.recent_errors(),
        passes: passes
            .iter()
            .filter(|p| !p.dry_run)
            .map(|p| PassRow {
                started: p.started_at,
                finished: p.finished_at,
                summary: format!(
                    "{} created, {} deleted, {} adopted, {} failed, {} held",
                    p.counts.created,
                    p.counts.deleted,
                    p.counts.adopted,
                    p.counts.failed,
                    p.counts.held
                ),
                ok: p.converged,
            })
            .collect(),
        timelines: vec![],
    }
}

async fn status(State(app): State<Arc<App>>) -> Response {
    let config = app.config();
    let now = Utc::now();
    let gathered = match status_report(&config, &app.ledger, now).await {
        Ok(report) => app
            .ledger
            .recent_passes(10)
            .await
            .map(|passes| (report, passes)),
        Err(err) => Err(err),
    };
    match gathered {
        Ok((report, passes)) => {
            let mut view = status_view(&report, &passes, &app);
            view.timelines = timeline::gather(&config, &app.ledger, now)
                .await
                .unwrap_or_default();
            // A ledger that cannot say what was told still shows the rest of the page.
            view.notify = super::status_notify::gather(&app.ledger, now)
                .await
                .unwrap_or_default();
            let tz = display_zone(&config);
            Html(status_page::render(&view, now, tz)).into_response()
        }
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the ledger cannot be read: {err}\n"),
        )
            .into_response(),
    }
}

/// The zone the page shows times in: the first source's, else UTC.
fn display_zone(config: &crate::config::Config) -> chrono_tz::Tz {
    config
        .sources
        .iter()
        .find_map(|s| s.timezone.map(|t| t.0))
        .unwrap_or(chrono_tz::UTC)
}
