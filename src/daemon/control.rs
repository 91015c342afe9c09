//! The control channel: while the daemon runs, `flexysync sync` (with `--dry-run`, `--source`,
//! `--confirm`), `flexysync status` and `flexysync events retry` ask it instead of opening the
//! ledger themselves. The
//! daemon does the work with its own ledger, under its own pass lock (between its scheduled
//! passes, never two at once), and answers with what the command prints. It is served on a unix
//! socket beside the ledger (mode 0600) and on the admin listener; there a request must carry
//! the token the daemon wrote beside the ledger (mode 0600 too), so that reaching loopback is
//! not enough to let held deletions through: only who may read the state directory may act.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::net::UnixListener;

use super::app::App;
use crate::config::Config;
use crate::ledger::LedgerError;
use crate::reconcile::pass::{PassError, PassOptions, PassReport};
use crate::reconcile::status::{StatusReport, status_report};

/// The one path of the channel: `GET` says who answers, `POST` runs a command.
pub const CONTROL_PATH: &str = "/control";

/// A command the CLI was given, with the options that decide how it prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlRequest {
    pub command: ControlCommand,
    pub json: bool,
    /// `--tz`, as the operator wrote it.
    pub tz: Option<String>,
    /// The CLI's config file, which its messages name.
    pub config_path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum ControlCommand {
    Sync {
        dry_run: bool,
        source: Option<String>,
        confirm: Vec<String>,
    },
    Status,
    /// `events retry`: failed deliveries (of one event, or all) queued again.
    EventsRetry {
        event: Option<String>,
    },
}

/// What the command prints on stdout, and how it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlReply {
    pub stdout: String,
    pub failure: Option<ControlFailure>,
}

/// A command's failure: its one line for stderr and its exit code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlFailure {
    pub message: String,
    pub exit_code: u8,
}

/// Who answers the channel: the CLI talks only to the daemon that owns its own ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlHello {
    pub ledger: PathBuf,
    pub pid: u32,
    pub version: String,
}

/// Turns what the daemon did into what the command prints. The CLI supplies it (its own
/// rendering), so that a command the daemon answered prints what it prints when run alone.
/// Async because the rendering looks up the objects' time zones, as the CLI does.
pub trait Presenter: Send + Sync {
    fn pass<'a>(
        &'a self,
        request: &'a ControlRequest,
        config: &'a Config,
        outcome: Result<PassReport, PassError>,
    ) -> BoxFuture<'a, ControlReply>;
    fn status<'a>(
        &'a self,
        request: &'a ControlRequest,
        config: &'a Config,
        outcome: Result<StatusReport, LedgerError>,
    ) -> BoxFuture<'a, ControlReply>;
    /// `events retry`: how many failed deliveries were queued again.
    fn events_retry<'a>(
        &'a self,
        request: &'a ControlRequest,
        event: Option<&'a str>,
        outcome: Result<u64, LedgerError>,
    ) -> BoxFuture<'a, ControlReply>;
}

/// `ledger.db` → `ledger.db.sock`.
pub fn socket_path(ledger: &Path) -> PathBuf {
    beside(ledger, ".sock")
}

/// `ledger.db` → `ledger.db.control-token`: what a request on the admin listener must carry.
pub fn token_path(ledger: &Path) -> PathBuf {
    beside(ledger, ".control-token")
}

fn beside(ledger: &Path, suffix: &str) -> PathBuf {
    let mut name = ledger.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[derive(Clone)]
struct Control {
    app: Arc<App>,
    presenter: Arc<dyn Presenter>,
    /// Required as `Authorization: Bearer ...` (the admin listener); `None` on the socket,
    /// whose mode already says who may connect.
    token: Option<Arc<str>>,
}

/// The channel's routes; with a `token`, only requests that carry it are answered.
pub fn routes(app: Arc<App>, presenter: Arc<dyn Presenter>, token: Option<Arc<str>>) -> Router {
    Router::new()
        .route(CONTROL_PATH, get(hello).post(command))
        .with_state(Control {
            app,
            presenter,
            token,
        })
}

/// Whether the request may use the channel.
fn allowed(control: &Control, headers: &HeaderMap) -> bool {
    use subtle::ConstantTimeEq;
    let Some(token) = &control.token else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    given.as_bytes().ct_eq(token.as_bytes()).into()
}

fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        "the control channel on this listener needs the token beside the ledger\n",
    )
        .into_response()
}

async fn hello(State(control): State<Control>, headers: HeaderMap) -> Response {
    if !allowed(&control, &headers) {
        return refused();
    }
    Json(ControlHello {
        ledger: control.app.ledger.path().to_owned(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
    .into_response()
}

async fn command(
    State(control): State<Control>,
    headers: HeaderMap,
    Json(request): Json<ControlRequest>,
) -> Response {
    if !allowed(&control, &headers) {
        return refused();
    }
    let Control { app, presenter, .. } = control;
    let app_config = app.config();
    let reply = match &request.command {
        ControlCommand::Sync {
            dry_run,
            source,
            confirm,
        } => {
            tracing::info!(
                dry_run,
                source = source.as_deref().unwrap_or("all"),
                confirm = ?confirm,
                "sync asked for on the control channel"
            );
            let options = PassOptions {
                dry_run: *dry_run,
                sources: source.iter().cloned().collect(),
                confirm: confirm.clone(),
                // As `sync` run alone: the operator asked for a look at everything.
                check_all: true,
                ..PassOptions::default()
            };
            // Its own task: a command line that goes away (Ctrl-C) does not cut the pass short.
            let pass = tokio::spawn(async move { app.pass_with(options).await });
            match pass.await {
                Ok(outcome) => presenter.pass(&request, &app_config, outcome).await,
                Err(err) => ControlReply {
                    stdout: String::new(),
                    failure: Some(ControlFailure {
                        message: format!("the pass stopped unexpectedly: {err}"),
                        exit_code: 1,
                    }),
                },
            }
        }
        ControlCommand::Status => {
            let outcome = status_report(&app_config, &app.ledger, Utc::now()).await;
            presenter.status(&request, &app_config, outcome).await
        }
        ControlCommand::EventsRetry { event } => {
            tracing::info!(
                event = event.as_deref().unwrap_or("all"),
                "failed deliveries retried on the control channel"
            );
            let outcome = app
                .ledger
                .retry_deliveries(event.as_deref(), Utc::now())
                .await;
            presenter
                .events_retry(&request, event.as_deref(), outcome)
                .await
        }
    };
    Json(reply).into_response()
}

/// Writes a new random token beside the ledger, readable by this user only (written under a
/// temporary name and renamed, so it is never readable with another mode or half written).
pub fn write_token(ledger: &Path) -> std::io::Result<Arc<str>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let token = hex::encode(rand::random::<[u8; 32]>());
    let path = token_path(ledger);
    let temporary = beside(&path, &format!(".{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| file.write_all(token.as_bytes()))
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(err);
    }
    Ok(Arc::from(token))
}

/// Binds the control socket beside the ledger, readable and writable by this user only. It is
/// bound under a temporary name and renamed into place once its mode is set, so that nobody
/// else can connect in between; the rename also replaces a socket a killed daemon left behind
/// (the caller holds the ledger's lock, so no live daemon owns it).
pub fn bind_socket(ledger: &Path) -> std::io::Result<(UnixListener, PathBuf)> {
    let path = socket_path(ledger);
    let temporary = beside(&path, &format!(".{}", std::process::id()));
    // A leftover of an earlier process with the same pid; bind fails if it exists.
    let _ = std::fs::remove_file(&temporary);
    let listener = UnixListener::bind(&temporary)?;
    let placed = std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(err) = placed {
        let _ = std::fs::remove_file(&temporary);
        return Err(err);
    }
    Ok((listener, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_socket_sits_beside_the_ledger_for_its_owner_only_and_replaces_a_stale_one() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.db");
        // A killed daemon's socket file stays behind.
        std::fs::write(socket_path(&ledger), "stale").unwrap();
        let (_listener, path) = bind_socket(&ledger).unwrap();
        assert_eq!(path, dir.path().join("ledger.db.sock"));
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary name left: {names:?}");
    }

    #[test]
    fn the_token_is_new_each_time_and_for_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.db");
        let first = write_token(&ledger).unwrap();
        let second = write_token(&ledger).unwrap();
        assert_ne!(first, second);
        assert_eq!(first.len(), 64);
        let path = token_path(&ledger);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), &*second);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn requests_keep_their_shape_on_the_wire() {
        let request = ControlRequest {
            command: ControlCommand::Sync {
                dry_run: true,
                source: None,
                confirm: vec!["cabin".into()],
            },
            json: false,
            tz: Some("Europe/Stockholm".into()),
            config_path: "/etc/flexysync/config.toml".into(),
        };
        let text = serde_json::to_string(&request).unwrap();
        assert!(text.contains(r#""command":"sync""#), "{text}");
        let back: ControlRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, request);
    }
}
