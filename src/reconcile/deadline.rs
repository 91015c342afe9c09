//! A pass's deadline (`sync.pass_timeout`). When it passes, the pass's stop token fires: no
//! FlexyKey call starts after it, so no write either, and the write in flight finishes and is
//! journaled as usual. A pass that still has not returned after a grace period (a read that
//! ignores the token) is abandoned: its journaled intents are resolved by the next pass, as
//! after a crash.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How a pass run under a deadline ended.
#[derive(Debug)]
pub enum Deadline<T> {
    /// Done before the deadline.
    Finished(T),
    /// Stopped at a safe point after the deadline; what it did until then.
    Stopped(T),
    /// Still running a grace period after the deadline, and dropped.
    Abandoned,
}

impl<T> Deadline<T> {
    /// What the pass returned, if it did, and the failure to report when it ran late. `limit`
    /// is `sync.pass_timeout` as written; `grace` the wait after it.
    pub fn split(
        self,
        scope: String,
        limit: String,
        grace: Duration,
    ) -> (Option<T>, Option<DeadlineError>) {
        match self {
            Deadline::Finished(done) => (Some(done), None),
            Deadline::Stopped(done) => (Some(done), Some(DeadlineError::Stopped { scope, limit })),
            Deadline::Abandoned => {
                let grace = grace.as_secs();
                (
                    None,
                    Some(DeadlineError::Abandoned {
                        scope,
                        limit,
                        grace,
                    }),
                )
            }
        }
    }
}

/// The typed failure of a pass that ran past its deadline, for logs, metrics and the status
/// page's recent errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    #[error(
        "the pass over {scope} ran longer than sync.pass_timeout ({limit}) and was stopped at a \
         safe point: no write started after it; what is left is done by the next pass"
    )]
    Stopped { scope: String, limit: String },
    #[error(
        "the pass over {scope} ran longer than sync.pass_timeout ({limit}) and had not stopped \
         {grace} s later; it was abandoned (a write in flight stays journaled and is resolved \
         by the next pass)"
    )]
    Abandoned {
        scope: String,
        limit: String,
        grace: u64,
    },
}

impl DeadlineError {
    /// A metrics label.
    pub fn kind(&self) -> &'static str {
        match self {
            DeadlineError::Stopped { .. } => "deadline_stopped",
            DeadlineError::Abandoned { .. } => "deadline_abandoned",
        }
    }
}

/// Runs `pass` until `limit`; then fires `stop` and waits at most `grace` for it to return.
/// `stop` must be the token the pass was given (`PassOptions::stop`).
pub async fn within_deadline<F: Future>(
    pass: F,
    stop: &CancellationToken,
    limit: Duration,
    grace: Duration,
) -> Deadline<F::Output> {
    tokio::pin!(pass);
    tokio::select! {
        done = &mut pass => return Deadline::Finished(done),
        _ = tokio::time::sleep(limit) => {}
    }
    stop.cancel();
    match tokio::time::timeout(grace, pass).await {
        Ok(done) => Deadline::Stopped(done),
        Err(_) => Deadline::Abandoned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pass_is_stopped_at_its_deadline_and_dropped_after_the_grace() {
        let stop = CancellationToken::new();
        let quick = within_deadline(async { 7 }, &stop, Duration::from_secs(60), Duration::ZERO);
        assert!(matches!(quick.await, Deadline::Finished(7)));
        assert!(!stop.is_cancelled());

        // Obeys the token: stops at the next safe point.
        let token = stop.clone();
        let obeying = async move {
            token.cancelled().await;
            "stopped"
        };
        let got = within_deadline(
            obeying,
            &stop,
            Duration::from_secs(60),
            Duration::from_secs(5),
        );
        assert!(matches!(got.await, Deadline::Stopped("stopped")));

        // Ignores it: abandoned.
        let stop = CancellationToken::new();
        let hung = std::future::pending::<()>();
        let got = within_deadline(hung, &stop, Duration::from_secs(60), Duration::from_secs(5));
        assert!(matches!(got.await, Deadline::Abandoned));
        assert!(stop.is_cancelled());
    }

    #[test]
    fn a_late_pass_is_a_typed_failure_that_names_the_key() {
        let grace = Duration::from_secs(40);
        let (done, late) = Deadline::Finished(1).split("cabin".into(), "10m".into(), grace);
        assert_eq!((done, late), (Some(1), None));
        let (done, late) = Deadline::Stopped(2).split("cabin".into(), "10m".into(), grace);
        let late = late.unwrap();
        assert_eq!((done, late.kind()), (Some(2), "deadline_stopped"));
        assert!(
            late.to_string().contains("sync.pass_timeout (10m)"),
            "{late}"
        );
        let (done, late) =
            Deadline::<u8>::Abandoned.split("all sources".into(), "10m".into(), grace);
        let late = late.unwrap();
        assert_eq!((done, late.kind()), (None, "deadline_abandoned"));
        assert!(late.to_string().contains("40 s later"), "{late}");
    }
}
