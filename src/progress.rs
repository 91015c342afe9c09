//! Evidence that a pass is getting somewhere, for the systemd watchdog. A pass runs inside
//! [`Progress::track`]; every FlexyKey call, ledger write and source read that completes in it
//! calls [`mark`]. The watchdog is pinged only while no tracked pass has gone without a mark
//! for longer than its interval: a hung pass gets the service restarted, a long one that
//! keeps making progress does not.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static CURRENT: Progress;
}

/// Records that something completed in the pass running in this task (nothing otherwise:
/// webhook writes and archive pulls are not a pass's progress).
pub fn mark() {
    let _ = CURRENT.try_with(Progress::mark);
}

/// Shared by the daemon's loop (which reads it) and its passes (which mark it).
#[derive(Debug, Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    origin: Instant,
    /// Milliseconds after `origin` of the last mark.
    last: AtomicU64,
    /// Passes running now.
    busy: AtomicUsize,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                last: AtomicU64::new(0),
                busy: AtomicUsize::new(0),
            }),
        }
    }

    /// Something completed just now.
    pub fn mark(&self) {
        let millis = Instant::now()
            .saturating_duration_since(self.inner.origin)
            .as_millis();
        self.inner
            .last
            .fetch_max(u64::try_from(millis).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Runs `pass` as a tracked pass: [`mark`] inside it marks this progress.
    pub async fn track<F: Future>(&self, pass: F) -> F::Output {
        self.inner.busy.fetch_add(1, Ordering::Relaxed);
        self.mark();
        let _done = Busy(self);
        CURRENT.scope(self.clone(), pass).await
    }

    /// How long the running passes have gone without a mark; `None` when none runs.
    pub fn stalled_for(&self) -> Option<Duration> {
        if self.inner.busy.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let last =
            self.inner.origin + Duration::from_millis(self.inner.last.load(Ordering::Relaxed));
        Some(Instant::now().saturating_duration_since(last))
    }

    /// Whether the watchdog may be pinged: no pass runs, or the last mark is at most `limit` old.
    pub fn healthy(&self, limit: Duration) -> bool {
        self.stalled_for().is_none_or(|stalled| stalled <= limit)
    }
}

/// Counts a tracked pass as ended however it ends (finished, or dropped at a deadline).
struct Busy<'a>(&'a Progress);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.inner.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pass_that_marks_stays_healthy_and_one_that_stops_marking_does_not() {
        let progress = Progress::new();
        let limit = Duration::from_secs(60);
        assert!(progress.healthy(limit), "no pass: healthy");
        // Ten minutes of work, a mark every 30 s: long, but never stalled.
        let working = progress.track(async {
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_secs(30)).await;
                mark();
            }
        });
        let watch = async {
            let mut worst = Duration::ZERO;
            for _ in 0..40 {
                tokio::time::sleep(Duration::from_secs(15)).await;
                worst = worst.max(progress.stalled_for().unwrap_or_default());
                assert!(progress.healthy(limit), "stalled for {worst:?}");
            }
        };
        tokio::join!(working, watch);
        assert!(progress.healthy(limit));

        // A pass hung on a call that never completes.
        let hung = progress.track(tokio::time::sleep(Duration::from_secs(600)));
        let watch = async {
            tokio::time::sleep(Duration::from_secs(59)).await;
            assert!(progress.healthy(limit));
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert!(!progress.healthy(limit), "a hung pass must stop the pings");
        };
        tokio::join!(hung, watch);
        assert!(progress.healthy(limit), "the pass ended");
    }

    #[tokio::test(start_paused = true)]
    async fn marks_outside_a_pass_count_for_nothing_and_a_dropped_pass_ends() {
        let progress = Progress::new();
        let limit = Duration::from_secs(10);
        let stuck = progress.track(async {
            // A mark from another task (a webhook write) is not this pass's progress.
            tokio::spawn(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                mark();
            });
            std::future::pending::<()>().await
        });
        let timed_out = tokio::time::timeout(Duration::from_secs(30), async {
            tokio::join!(stuck, async {
                tokio::time::sleep(Duration::from_secs(20)).await;
                assert!(!progress.healthy(limit));
            })
        })
        .await;
        assert!(timed_out.is_err());
        assert_eq!(
            progress.stalled_for(),
            None,
            "the dropped pass no longer counts"
        );
    }
}
