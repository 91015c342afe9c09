//! Signals and systemd notifications. Outside systemd every notification is a no-op.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// What the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// SIGTERM or SIGINT: stop accepting, finish what is in flight, exit.
    Shutdown,
    /// SIGHUP: re-read and validate the config; keep the old one if the new one is invalid.
    Reload,
}

/// Listens for SIGTERM, SIGINT and SIGHUP and forwards them as requests.
pub fn listen() -> std::io::Result<mpsc::UnboundedReceiver<Request>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let request = tokio::select! {
                Some(()) = term.recv() => Request::Shutdown,
                Some(()) = int.recv() => Request::Shutdown,
                Some(()) = hup.recv() => Request::Reload,
                else => return,
            };
            if tx.send(request).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// `READY=1`: after migrations and bind.
pub fn notify_ready() {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
}

/// `STATUS=…`: shown by `systemctl status`.
pub fn notify_status(status: &str) {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(status)]);
}

pub fn notify_reloading() {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading]);
}

pub fn notify_stopping() {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
}

/// `WATCHDOG=1`, from the main loop, so that a wedged loop gets the service restarted.
pub fn watchdog_ping() {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
}

/// One watchdog tick: pings unless a running pass has made no progress (no FlexyKey call,
/// ledger write or source read completed) for longer than `limit`, so that a hung pass gets
/// the service restarted while a long one that keeps working does not. True when it pinged.
pub fn watchdog_tick(progress: &crate::progress::Progress, limit: std::time::Duration) -> bool {
    if progress.healthy(limit) {
        watchdog_ping();
        return true;
    }
    tracing::error!(
        stalled_seconds = progress.stalled_for().unwrap_or_default().as_secs(),
        "the running pass has made no progress for longer than the watchdog allows; \
         the watchdog is no longer pinged"
    );
    false
}

/// `WatchdogSec=`: how long systemd waits for a ping, or never.
pub fn watchdog_timeout() -> Option<std::time::Duration> {
    sd_notify::watchdog_enabled()
}

/// How often to ping: half the `WatchdogSec=` systemd set, or never.
pub fn watchdog_interval() -> Option<std::time::Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}
