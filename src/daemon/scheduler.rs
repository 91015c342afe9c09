//! The scheduler: one loop per job (a source, the archive, the drift check) that sleeps until
//! the job's next crontab fire, runs it, and catches up once when a fire was missed (the
//! machine slept, or the previous run outlasted the interval). A job never runs twice at once:
//! scheduled runs and webhook triggers share one lock per job.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use croner::Cron;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// The next time `cron` fires strictly after `after`, or `None` when it never fires again.
pub fn next_fire(cron: &Cron, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&after, false).ok()
}

/// What the loop does next, given the last time it ran the job and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A fire time lies between the last run and now: run once, right away.
    RunNow,
    /// Sleep until the next fire.
    SleepUntil(DateTime<Utc>),
    /// The schedule never fires again.
    Never,
}

/// Pure decision of the loop, so it can be tested without a clock.
pub fn next_step(cron: &Cron, last_run: DateTime<Utc>, now: DateTime<Utc>) -> Step {
    match next_fire(cron, last_run) {
        Some(fire) if fire <= now => Step::RunNow,
        Some(fire) => Step::SleepUntil(fire),
        None => Step::Never,
    }
}

pub type JobFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
pub type JobFn = Arc<dyn Fn() -> JobFuture + Send + Sync>;

/// One lock per job name, shared by the schedule loops and the triggers.
#[derive(Clone, Default)]
pub struct JobLocks {
    locks: Arc<std::sync::Mutex<HashMap<String, Arc<Mutex<()>>>>>,
}

impl JobLocks {
    pub fn lock_for(&self, name: &str) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(name.to_owned()).or_default().clone()
    }

    /// Runs `job` under the job's lock; waits for a run in progress to finish first, so a
    /// trigger that arrives mid-run is served by one more run afterwards.
    pub async fn run_exclusive(&self, name: &str, job: &JobFn) {
        let lock = self.lock_for(name);
        let _guard = lock.lock().await;
        job().await;
    }
}

/// Runs `job` on `cron` until `cancel` fires. `started` is when the loop began: a fire before
/// it is not "missed".
pub async fn schedule_loop(
    name: String,
    cron: Cron,
    job: JobFn,
    locks: JobLocks,
    cancel: CancellationToken,
    started: DateTime<Utc>,
) {
    let mut last_run = started;
    loop {
        let now = Utc::now();
        match next_step(&cron, last_run, now) {
            Step::RunNow => {
                last_run = now;
                // Not raced against `cancel`: a run in progress finishes (and journals what
                // it did); the pass itself stops between operations on shutdown.
                locks.run_exclusive(&name, &job).await;
                if cancel.is_cancelled() {
                    return;
                }
            }
            Step::SleepUntil(fire) => {
                // Sleep in short steps: a wall-clock jump (suspend, NTP) is noticed within a
                // minute instead of after a long monotonic sleep.
                let wait = (fire - now)
                    .to_std()
                    .unwrap_or_default()
                    .min(std::time::Duration::from_secs(60));
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            Step::Never => {
                tracing::warn!(job = %name, "schedule never fires again; the job is idle");
                cancel.cancelled().await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cron(text: &str) -> Cron {
        crate::config::parse_schedule(text).unwrap()
    }

    #[test]
    fn five_field_lines_fire_on_the_right_day() {
        // Monday 07:00: the `cron` crate would fire this on Sunday (STACK.md).
        let monday = cron("0 7 * * 1");
        let saturday = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        let fire = next_fire(&monday, saturday).unwrap();
        assert_eq!(fire, Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap());
    }

    #[test]
    fn missed_fires_run_once_then_sleep() {
        let every_ten = cron("*/10 * * * *");
        let last = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        // An hour asleep: several fires were missed; one run now, not six.
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 11, 3, 0).unwrap();
        assert_eq!(next_step(&every_ten, last, now), Step::RunNow);
        assert_eq!(
            next_step(&every_ten, now, now),
            Step::SleepUntil(Utc.with_ymd_and_hms(2026, 11, 27, 11, 10, 0).unwrap())
        );
    }

    #[tokio::test]
    async fn a_job_never_runs_twice_at_once() {
        let locks = JobLocks::default();
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let job: JobFn = {
            let (running, most) = (running.clone(), most.clone());
            Arc::new(move || {
                let (running, most) = (running.clone(), most.clone());
                Box::pin(async move {
                    use std::sync::atomic::Ordering::SeqCst;
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    running.fetch_sub(1, SeqCst);
                })
            })
        };
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let (locks, job) = (locks.clone(), job.clone());
                tokio::spawn(async move { locks.run_exclusive("cabin", &job).await })
            })
            .collect();
        for run in runs {
            run.await.unwrap();
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
