//! The CLI's side of the control channel: finding the daemon that owns this config's ledger
//! (its socket beside the ledger, else `server.admin_listen` with the token beside the ledger),
//! asking it, printing its answer; and the presenter the daemon answers with, which is the
//! commands' own rendering.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::{CliError, Context};
use crate::config::Config;
use crate::daemon::control::{
    CONTROL_PATH, ControlCommand, ControlFailure, ControlHello, ControlReply, ControlRequest,
    Presenter, socket_path, token_path,
};
use crate::ledger::LedgerError;
use crate::reconcile::pass::{PassError, PassReport};
use crate::reconcile::status::StatusReport;

/// How long finding the daemon may take before the command runs on its own.
const HELLO_TIMEOUT: Duration = Duration::from_secs(3);
/// A pass the daemon runs for us waits for any pass already running; this bounds the wait.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A running daemon that owns this config's ledger.
pub struct Daemon {
    http: reqwest::Client,
    url: String,
    pid: u32,
    via: String,
}

/// The daemon to ask, or `None`: then the command runs in this process as it always has.
pub async fn find(config: &Config) -> Option<Daemon> {
    let socket = socket_path(&config.ledger.path);
    if socket.exists()
        && let Ok(http) = reqwest::Client::builder()
            .unix_socket(socket.clone())
            .connect_timeout(HELLO_TIMEOUT)
            .build()
        && let Some(daemon) = greet(
            http,
            "http://flexysync".to_owned(),
            format!("socket {}", socket.display()),
            &config.ledger.path,
        )
        .await
    {
        return Some(daemon);
    }
    // Who cannot read the token may not act through the admin listener either.
    let token = std::fs::read_to_string(token_path(&config.ledger.path)).ok()?;
    let mut headers = reqwest::header::HeaderMap::new();
    let mut bearer =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.trim())).ok()?;
    bearer.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, bearer);
    let address = reachable(config.server.admin_listen);
    let http = reqwest::Client::builder()
        .no_proxy()
        .default_headers(headers)
        .connect_timeout(HELLO_TIMEOUT)
        .build()
        .ok()?;
    greet(
        http,
        format!("http://{address}"),
        format!("admin listener {address}"),
        &config.ledger.path,
    )
    .await
}

/// An address to connect to for one that was bound: `0.0.0.0` and `::` mean this host.
fn reachable(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound.port())
        }
        _ => bound,
    }
}

/// Asks who answers; only a daemon on this very ledger will do (another instance may listen
/// on the same admin port).
async fn greet(http: reqwest::Client, base: String, via: String, ledger: &Path) -> Option<Daemon> {
    let url = format!("{base}{CONTROL_PATH}");
    let response = http.get(&url).timeout(HELLO_TIMEOUT).send().await.ok()?;
    let hello: ControlHello = response.error_for_status().ok()?.json().await.ok()?;
    if !same_file(&hello.ledger, ledger) {
        tracing::debug!(%via, theirs = %hello.ledger.display(), "a daemon on another ledger");
        return None;
    }
    Some(Daemon {
        http,
        url,
        pid: hello.pid,
        via,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
    canonical(a) == canonical(b)
}

impl Daemon {
    /// Has the daemon run `command` and prints its answer as the command would.
    pub async fn ask(&self, command: ControlCommand, context: &Context) -> Result<(), CliError> {
        tracing::debug!(via = %self.via, pid = self.pid, "asking the running daemon");
        let request = ControlRequest {
            command,
            json: context.json,
            tz: context.tz.map(|tz| tz.name().to_owned()),
            config_path: context.config_path().to_owned(),
        };
        let lost = |err: reqwest::Error| {
            CliError::Other(anyhow::anyhow!(
                "the running daemon (process {}, {}) did not answer: {}",
                self.pid,
                self.via,
                crate::net_error::describe(err)
            ))
        };
        let reply: ControlReply = self
            .http
            .post(&self.url)
            .json(&request)
            .timeout(COMMAND_TIMEOUT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(lost)?
            .json()
            .await
            .map_err(lost)?;
        print!("{}", reply.stdout);
        match reply.failure {
            None => Ok(()),
            Some(ControlFailure { message, exit_code }) => {
                Err(CliError::Answered { message, exit_code })
            }
        }
    }
}

/// What a command prints on stdout, and how it ends.
pub struct Output {
    pub stdout: String,
    pub result: Result<(), CliError>,
}

impl Output {
    /// Prints it and ends as it says (the command ran in this process).
    pub fn finish(self) -> Result<(), CliError> {
        print!("{}", self.stdout);
        self.result
    }

    fn into_reply(self) -> ControlReply {
        ControlReply {
            stdout: self.stdout,
            failure: self.result.err().map(|err| ControlFailure {
                message: err.to_string(),
                exit_code: err.exit_code(),
            }),
        }
    }
}

/// The daemon's presenter: `sync` and `status` rendered as the CLI renders them.
pub fn presenter() -> Arc<dyn Presenter> {
    Arc::new(CliPresenter)
}

struct CliPresenter;

/// The options the command was given (its `--json`, `--tz`, config path), or the refusal of a
/// `--tz` that names no zone.
fn request_context(request: &ControlRequest) -> Result<Context, ControlReply> {
    let tz = match request.tz.as_deref().map(|name| {
        crate::config::resolve_timezone(name)
            .ok_or_else(|| CliError::Usage(format!("--tz {name:?}: unknown time zone")))
    }) {
        Some(Err(err)) => {
            let refused = Output {
                stdout: String::new(),
                result: Err(err),
            };
            return Err(refused.into_reply());
        }
        Some(Ok(tz)) => Some(tz),
        None => None,
    };
    Ok(Context {
        config_path: request.config_path.clone(),
        json: request.json,
        tz,
    })
}

impl Presenter for CliPresenter {
    fn pass<'a>(
        &'a self,
        request: &'a ControlRequest,
        config: &'a Config,
        outcome: Result<PassReport, PassError>,
    ) -> BoxFuture<'a, ControlReply> {
        Box::pin(async move {
            match request_context(request) {
                Ok(context) => super::sync::present_sync(outcome, config, &context)
                    .await
                    .into_reply(),
                Err(refused) => refused,
            }
        })
    }

    fn status<'a>(
        &'a self,
        request: &'a ControlRequest,
        config: &'a Config,
        outcome: Result<StatusReport, LedgerError>,
    ) -> BoxFuture<'a, ControlReply> {
        Box::pin(async move {
            match request_context(request) {
                Ok(context) => super::sync::present_status(outcome, config, &context)
                    .await
                    .into_reply(),
                Err(refused) => refused,
            }
        })
    }

    fn events_retry<'a>(
        &'a self,
        request: &'a ControlRequest,
        event: Option<&'a str>,
        outcome: Result<u64, LedgerError>,
    ) -> BoxFuture<'a, ControlReply> {
        Box::pin(async move {
            match request_context(request) {
                Ok(context) => super::events::present_retry(outcome, event, &context).into_reply(),
                Err(refused) => refused,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_admin_address_is_reached_on_this_host() {
        let reach = |text: &str| reachable(text.parse().unwrap()).to_string();
        assert_eq!(reach("0.0.0.0:9090"), "127.0.0.1:9090");
        assert_eq!(reach("[::]:9090"), "[::1]:9090");
        assert_eq!(reach("10.0.0.5:9090"), "10.0.0.5:9090");
    }
}
