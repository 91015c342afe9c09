//! Delivery: one queue per target, each in its own task, so one target's outage never delays
//! another. At least once: a delivery is marked done only after the receiver said so, and a
//! crash in between sends it again (with the same event id, for the receiver to drop).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::event::EventKind;
use super::send::{SendError, Sender};
use crate::config::NotifyTarget;
use crate::ledger::{Ledger, LedgerError};

/// Deliveries are retried for this long after their first attempt.
pub const RETRY_PERIOD: Duration = Duration::hours(24);
/// The first retry waits this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::seconds(5);
const MAX_BACKOFF: Duration = Duration::hours(1);
/// A new target starts with the events of this last stretch.
const FIRST_LOOK: Duration = Duration::hours(24);
/// How often a queue looks for new events when nothing woke it.
const IDLE_POLL: StdDuration = StdDuration::from_secs(2);
/// Deliveries handled per look.
const BATCH: u32 = 50;

/// Metric: deliveries by target and outcome (`delivered`, `retry`, `failed`).
pub const DELIVERIES_METRIC: &str = "flexysync_notify_deliveries_total";

/// The wait after the `attempts`-th failed attempt (1 = the first), capped.
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    let wait = FIRST_BACKOFF * 2_i32.pow(doublings);
    wait.min(MAX_BACKOFF)
}

/// When to try again after `attempts` failed attempts, or `None` when the waits so far add up
/// to the retry period: the delivery has failed.
pub fn next_attempt(attempts: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let waited: Duration = (1..attempts)
        .map(backoff)
        .fold(Duration::zero(), |a, b| a + b);
    (waited < RETRY_PERIOD).then(|| now + backoff(attempts))
}

/// One target's queue.
pub struct Queue {
    pub sender: Sender,
    pub kinds: Vec<EventKind>,
    pub ledger: Ledger,
}

impl Queue {
    /// Takes in new events, then tries every due delivery once. Returns how many were tried.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, LedgerError> {
        let name = &self.sender.name;
        self.ledger
            .enqueue_deliveries(name, &self.kinds, FIRST_LOOK, now)
            .await?;
        let due = self.ledger.due_deliveries(name, now, BATCH).await?;
        for delivery in &due {
            let outcome = self.sender.send(&delivery.event).await;
            let now = Utc::now();
            let attempts = delivery.attempts + 1;
            let (label, record) = match &outcome {
                Ok(()) => ("delivered", Ok(())),
                Err(SendError::Retry(why)) => match next_attempt(attempts, now) {
                    Some(next) => ("retry", Err((why.as_str(), Some(next)))),
                    None => ("failed", Err((why.as_str(), None))),
                },
                Err(SendError::Permanent(why)) => ("failed", Err((why.as_str(), None))),
            };
            match &outcome {
                Ok(()) => {
                    tracing::info!(target_name = %name, event = %delivery.event.id, kind = %delivery.event.kind, "event delivered")
                }
                Err(err) => {
                    tracing::warn!(target_name = %name, event = %delivery.event.id, kind = %delivery.event.kind, attempts, outcome = label, error = %err, "event not delivered")
                }
            }
            metrics::counter!(DELIVERIES_METRIC, "target" => name.clone(), "outcome" => label)
                .increment(1);
            self.ledger
                .record_attempt(&delivery.event.id, name, record, now)
                .await?;
        }
        Ok(due.len())
    }

    /// Runs until `stop`: delivers what is due, sleeps until the next due time, a poll, or a
    /// nudge on `wake` (an event was written).
    pub async fn run(self, wake: Arc<Notify>, stop: CancellationToken) {
        loop {
            let tried = match self.run_once(Utc::now()).await {
                Ok(tried) => tried,
                Err(err) => {
                    tracing::error!(target_name = %self.sender.name, error = %err, "notify queue cannot read the ledger");
                    0
                }
            };
            if tried as u32 >= BATCH {
                continue;
            }
            let next = self
                .ledger
                .next_delivery_due(&self.sender.name)
                .await
                .ok()
                .flatten();
            let wait = next
                .map(|at| (at - Utc::now()).to_std().unwrap_or_default())
                .unwrap_or(IDLE_POLL)
                .min(IDLE_POLL);
            tokio::select! {
                () = stop.cancelled() => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Starts one queue per `[[notify]]` target; a target that cannot be set up is logged and
/// left out (the config was validated, so this is rare: an address lettre refuses).
pub fn start_queues(
    targets: &[NotifyTarget],
    ledger: &Ledger,
    http: &reqwest::Client,
    stop: &CancellationToken,
    tracker: &TaskTracker,
) {
    for target in targets {
        match Sender::new(target, http.clone()) {
            Ok(sender) => {
                for outcome in ["delivered", "retry", "failed"] {
                    metrics::counter!(DELIVERIES_METRIC, "target" => target.name.clone(), "outcome" => outcome)
                        .absolute(0);
                }
                let queue = Queue {
                    sender,
                    kinds: target.kinds.clone(),
                    ledger: ledger.clone(),
                };
                tracker.spawn(queue.run(Arc::new(Notify::new()), stop.clone()));
            }
            Err(err) => {
                tracing::error!(target_name = %target.name, error = %err, "notify target not started")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::seconds(5));
        assert_eq!(backoff(2), Duration::seconds(10));
        assert_eq!(backoff(5), Duration::seconds(80));
        assert_eq!(backoff(11), Duration::hours(1));
        assert_eq!(backoff(u32::MAX), Duration::hours(1));
    }

    #[test]
    fn retries_stop_once_a_day_of_waiting_is_spent() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut attempts = 1;
        let mut waited = Duration::zero();
        while let Some(next) = next_attempt(attempts, now) {
            waited += next - now;
            attempts += 1;
        }
        assert!(waited >= RETRY_PERIOD, "{waited}");
        assert!(waited < RETRY_PERIOD + MAX_BACKOFF, "{waited}");
        assert!((30..40).contains(&attempts), "{attempts}");
    }
}
