//! One budget, spent by priority. Every FlexyKey call waits its turn at one gate in front of
//! the rate limiter: when the limiter has a permit, it goes to the most urgent waiter, so a
//! running backfill never delays a revocation by more than the one call already under way.
//!
//! The caller sets the priority for a stretch of work with [`with_priority`] (a task-local
//! value, so call signatures stay as they are); calls made outside any such scope take a
//! default by their kind: unit log pulls are archive work, everything else a drift check.
//! Retries of a call keep its priority (they run in the same scope).

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// How urgent a call is; the most urgent first (the order of the variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Deleting the booking of a cancelled stay: access that must end.
    Revocation,
    /// Creating (or replacing) a booking; the soonest stay first.
    Arrival { starts: DateTime<Utc> },
    /// Resolving a write whose outcome is unknown, or a conflict.
    Doubt,
    /// Listing an object's bookings to compare them with the ledger; zone look-ups.
    Drift,
    /// Pulling unit logs into the archive (a backfill included).
    Archive,
}

tokio::task_local! {
    static PRIORITY: Priority;
}

/// Runs `work` with every FlexyKey call in it waiting at `priority`.
pub async fn with_priority<F: Future>(priority: Priority, work: F) -> F::Output {
    PRIORITY.scope(priority, work).await
}

/// The priority of a call made now: the caller's scope, else the default of its endpoint.
pub(super) fn current(endpoint: &str) -> Priority {
    PRIORITY.try_with(|p| *p).unwrap_or_else(|_| {
        if endpoint.starts_with("unitlogs") {
            Priority::Archive
        } else {
            Priority::Drift
        }
    })
}

/// Waiters ordered by (priority, arrival). Every waiter waits on the limiter itself and hands
/// each permit it gets to the first of the queue, which may have come after it: no waiter
/// pumps the limiter for the others, so one whose future is held but no longer polled (a
/// combinator nobody drives, a task waiting on a lock) stalls nobody. The limiter must take a
/// permit only while polled (governor's `until_ready` does).
#[derive(Debug, Default)]
pub(super) struct Gate {
    queue: Mutex<Queue>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: BTreeSet<(Priority, u64)>,
    /// Waiters given a permit that have not yet noticed.
    granted: HashSet<u64>,
    next: u64,
}

impl Queue {
    /// Gives the next permit to the most urgent waiter.
    fn grant_first(&mut self) {
        if let Some(first) = self.waiting.pop_first() {
            self.granted.insert(first.1);
        }
    }
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until this caller may send one request. `permit` waits for the limiter.
    pub(super) async fn turn<P: Future<Output = ()>>(
        &self,
        priority: Priority,
        mut permit: impl FnMut() -> P,
    ) {
        let mut ticket = {
            let mut queue = self.lock();
            let seq = queue.next;
            queue.next = queue.next.wrapping_add(1);
            queue.waiting.insert((priority, seq));
            Ticket {
                gate: self,
                key: (priority, seq),
                done: false,
            }
        };
        // Kept across wake-ups, so a limiter wait is not restarted at every grant.
        let mut limiter = Box::pin(permit());
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().granted.remove(&ticket.key.1) {
                ticket.done = true;
                return;
            }
            tokio::select! {
                biased;
                () = &mut notified => {}
                () = &mut limiter => {
                    self.lock().grant_first();
                    self.changed.notify_waiters();
                    limiter = Box::pin(permit());
                }
            }
        }
    }

    /// How many callers are waiting (for tests and the benchmark's report).
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }
}

/// A place in the queue; given up when the waiting call is dropped (shutdown, a deadline), so
/// that a permit granted to it is not lost.
struct Ticket<'a> {
    gate: &'a Gate,
    key: (Priority, u64),
    done: bool,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let regranted = {
            let mut queue = self.gate.lock();
            queue.waiting.remove(&self.key);
            let granted = queue.granted.remove(&self.key.1);
            if granted {
                queue.grant_first();
            }
            granted
        };
        if regranted {
            self.gate.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::sync::mpsc;

    /// A limiter that gives a permit only when the test says so.
    #[derive(Clone)]
    struct Paused(Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<()>>>);

    impl Paused {
        fn new() -> (Paused, mpsc::UnboundedSender<()>) {
            let (tx, rx) = mpsc::unbounded_channel();
            (Paused(Arc::new(tokio::sync::Mutex::new(rx))), tx)
        }

        async fn permit(&self) {
            let _ = self.0.lock().await.recv().await;
        }
    }

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + hours * 3600, 0).unwrap()
    }

    async fn until_waiting(gate: &Gate, count: usize) {
        while gate.waiting() < count {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn permits_go_out_by_priority_then_soonest_start_then_arrival() {
        let gate = Arc::new(Gate::default());
        let (limiter, permits) = Paused::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        let asked = [
            ("archive 1", Priority::Archive),
            ("drift", Priority::Drift),
            ("archive 2", Priority::Archive),
            ("create in 3 h", Priority::Arrival { starts: at(3) }),
            ("doubt", Priority::Doubt),
            ("create in 1 h", Priority::Arrival { starts: at(1) }),
            ("revocation", Priority::Revocation),
        ];
        let mut tasks = vec![];
        for (index, (name, priority)) in asked.into_iter().enumerate() {
            let (queue, limiter, order) = (gate.clone(), limiter.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                queue.turn(priority, || limiter.permit()).await;
                order.lock().unwrap().push(name);
            }));
            until_waiting(&gate, index + 1).await;
        }
        // One permit at a time, as a limiter spaces them.
        for released in 1..=tasks.len() {
            permits.send(()).unwrap();
            while order.lock().unwrap().len() < released {
                tokio::task::yield_now().await;
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            vec![
                "revocation",
                "create in 1 h",
                "create in 3 h",
                "doubt",
                "drift",
                "archive 1",
                "archive 2"
            ]
        );
    }

    #[tokio::test]
    async fn a_backfill_delays_a_revocation_by_at_most_the_call_under_way() {
        let gate = Arc::new(Gate::default());
        let (limiter, permits) = Paused::new();
        let sent = Arc::new(Mutex::new(Vec::new()));
        // Four archive workers, each sending one call after another.
        let mut workers = vec![];
        for worker in 0..4 {
            let (gate, limiter, sent) = (gate.clone(), limiter.clone(), sent.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    gate.turn(Priority::Archive, || limiter.permit()).await;
                    sent.lock().unwrap().push(format!("archive {worker}"));
                    tokio::task::yield_now().await;
                }
            }));
        }
        until_waiting(&gate, 4).await;
        for released in 1..=6 {
            permits.send(()).unwrap();
            while sent.lock().unwrap().len() < released {
                tokio::task::yield_now().await;
            }
        }
        let before = sent.lock().unwrap().len();
        let revocation = {
            let (gate, limiter, sent) = (gate.clone(), limiter.clone(), sent.clone());
            tokio::spawn(async move {
                gate.turn(Priority::Revocation, || limiter.permit()).await;
                sent.lock().unwrap().push("revocation".to_owned());
            })
        };
        until_waiting(&gate, 5).await;
        // Permits one at a time until the revocation is through (or clearly starved).
        for released in 1..=8 {
            permits.send(()).unwrap();
            while sent.lock().unwrap().len() < before + released {
                tokio::task::yield_now().await;
            }
            if revocation.is_finished() {
                break;
            }
        }
        let sent = sent.lock().unwrap().clone();
        let position = sent
            .iter()
            .position(|s| s == "revocation")
            .expect("the revocation got no permit in 8 tries");
        assert!(
            position <= before + 1,
            "archive calls went before the revocation: {:?}",
            &sent[before..]
        );
        for worker in workers {
            worker.abort();
        }
        revocation.abort();
    }

    #[tokio::test]
    async fn a_waiter_dropped_while_waiting_for_the_limiter_or_granted_loses_no_permit() {
        let gate = Arc::new(Gate::default());
        let (limiter, permits) = Paused::new();
        // The first waiter waits on the limiter, then goes away.
        let first = {
            let (gate, limiter) = (gate.clone(), limiter.clone());
            tokio::spawn(async move { gate.turn(Priority::Drift, || limiter.permit()).await })
        };
        until_waiting(&gate, 1).await;
        let second = {
            let (gate, limiter) = (gate.clone(), limiter.clone());
            tokio::spawn(async move { gate.turn(Priority::Archive, || limiter.permit()).await })
        };
        until_waiting(&gate, 2).await;
        first.abort();
        let _ = first.await;
        permits.send(()).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), second)
            .await
            .expect("the second waiter took over the limiter")
            .unwrap();
        assert_eq!(gate.waiting(), 0);
    }

    /// A limiter like governor's: a permit is taken by whoever checks while one is free, so a
    /// waiter that is never polled again takes none.
    #[derive(Clone, Default)]
    struct Tokens(Arc<(Mutex<usize>, Notify)>);

    impl Tokens {
        fn add(&self, count: usize) {
            *self.0.0.lock().unwrap() += count;
            self.0.1.notify_waiters();
        }

        async fn permit(&self) {
            loop {
                let freed = self.0.1.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                {
                    let mut free = self.0.0.lock().unwrap();
                    if *free > 0 {
                        *free -= 1;
                        return;
                    }
                }
                freed.await;
            }
        }

        /// A task waiting its turn at `gate` with this limiter; it ends with its priority.
        fn spawn_waiter(
            &self,
            gate: &Arc<Gate>,
            priority: Priority,
        ) -> tokio::task::JoinHandle<Priority> {
            let (gate, limiter) = (gate.clone(), self.clone());
            tokio::spawn(async move {
                gate.turn(priority, || limiter.permit()).await;
                priority
            })
        }
    }

    #[tokio::test]
    async fn a_waiter_parked_unpolled_while_it_waits_stalls_no_other_waiter() {
        let gate = Arc::new(Gate::default());
        let limiter = Tokens::default();
        // The first waiter is polled once (it would be the one waiting on the limiter), then
        // held but never polled again: inside a combinator nobody drives, or a task waiting on
        // a lock.
        let mut parked = Box::pin(gate.turn(Priority::Drift, || limiter.permit()));
        assert!(futures::poll!(parked.as_mut()).is_pending());
        let mut others = vec![];
        for (index, priority) in [Priority::Archive, Priority::Revocation]
            .into_iter()
            .enumerate()
        {
            others.push(limiter.spawn_waiter(&gate, priority));
            until_waiting(&gate, index + 2).await;
        }
        limiter.add(1);
        let first = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                if let Some(done) = others.iter().position(|task| task.is_finished()) {
                    return others.remove(done).await.unwrap();
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("a permit reached no waiter while one waiter was parked");
        // The permit went to the most urgent waiter, not to the parked drift check that came
        // first.
        assert_eq!(first, Priority::Revocation);
        limiter.add(1);
        // The parked drift check is more urgent than the archive call: it holds the next permit
        // until it is polled again.
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while futures::poll!(parked.as_mut()).is_pending() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the parked drift check got the second permit once polled again");
        assert!(!others[0].is_finished(), "the archive call went first");
        limiter.add(1);
        let last = tokio::time::timeout(std::time::Duration::from_secs(5), others.remove(0))
            .await
            .expect("the archive call got the last permit")
            .unwrap();
        assert_eq!(last, Priority::Archive);
        assert_eq!(gate.waiting(), 0);
    }

    #[tokio::test]
    async fn a_permit_granted_to_a_parked_waiter_that_is_then_dropped_goes_to_the_next() {
        let gate = Arc::new(Gate::default());
        let limiter = Tokens::default();
        let mut parked = Box::pin(gate.turn(Priority::Revocation, || limiter.permit()));
        assert!(futures::poll!(parked.as_mut()).is_pending());
        let archive = limiter.spawn_waiter(&gate, Priority::Archive);
        until_waiting(&gate, 2).await;
        // The archive waiter takes the one permit and hands it to the parked revocation.
        limiter.add(1);
        while gate.waiting() > 1 {
            tokio::task::yield_now().await;
        }
        assert!(!archive.is_finished(), "the archive call went first");
        drop(parked);
        tokio::time::timeout(std::time::Duration::from_secs(5), archive)
            .await
            .expect("the dropped waiter's permit went to the archive call")
            .unwrap();
        assert_eq!(gate.waiting(), 0);
    }

    #[tokio::test]
    async fn calls_outside_a_scope_take_their_kinds_default_and_scopes_nest() {
        assert_eq!(current("unitlogs.list"), Priority::Archive);
        assert_eq!(current("bookings.list"), Priority::Drift);
        let inner = with_priority(Priority::Revocation, async {
            with_priority(Priority::Doubt, async { current("bookings.list") }).await
        })
        .await;
        assert_eq!(inner, Priority::Doubt);
        let outer = with_priority(Priority::Revocation, async { current("unitlogs.list") }).await;
        assert_eq!(outer, Priority::Revocation);
    }
}
