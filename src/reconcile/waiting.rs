//! Who waits for the next pass: sources whose schedules fired or whose webhooks arrived while
//! a pass runs, and callers waiting for the pass lock (the full pass, `sync` through the
//! control channel). The running pass's drift round gives way when anyone waits, so a
//! cancellation never waits behind drift lists of objects where nothing changed.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Shared between the daemon (which registers waiters) and the running pass (which asks).
#[derive(Debug, Default)]
pub struct PassWaiting {
    /// Sources due for the next pass; the pass that starts takes them all.
    due_sources: Mutex<BTreeSet<String>>,
    /// Callers waiting for the pass lock with options of their own.
    callers: AtomicUsize,
    /// Objects whose drift check a pass skipped while it listed every object (`check_all`):
    /// listed by the next pass whose scope holds them, as though their check were due.
    recheck: Mutex<BTreeSet<i64>>,
}

impl PassWaiting {
    pub fn new() -> Arc<PassWaiting> {
        Arc::new(PassWaiting::default())
    }

    /// True when a pass waits to run after the current one.
    pub fn is_waiting(&self) -> bool {
        self.callers.load(Ordering::SeqCst) > 0 || !lock(&self.due_sources).is_empty()
    }

    /// `source` is due: the next pass reads it.
    pub fn add_source(&self, source: &str) {
        lock(&self.due_sources).insert(source.to_owned());
    }

    /// The sources due now, taken by the pass about to start.
    pub fn take_sources(&self) -> BTreeSet<String> {
        std::mem::take(&mut *lock(&self.due_sources))
    }

    /// Marks one caller waiting until the returned guard is dropped (the lock taken, or the
    /// caller gone).
    pub fn caller(self: &Arc<Self>) -> CallerWaits {
        self.callers.fetch_add(1, Ordering::SeqCst);
        CallerWaits(self.clone())
    }

    /// The objects whose skipped drift checks a pass must still make.
    pub fn recheck(&self) -> BTreeSet<i64> {
        lock(&self.recheck).clone()
    }

    /// After a pass: `listed` are checked; `skipped` (checks it gave way on) are still owed.
    /// A pass over every source (`whole`) settles the set: what it neither listed nor skipped
    /// is out of every scope.
    pub fn settle_recheck(&self, listed: &BTreeSet<i64>, skipped: &BTreeSet<i64>, whole: bool) {
        let mut recheck = lock(&self.recheck);
        if whole {
            recheck.clear();
        }
        recheck.retain(|o| !listed.contains(o));
        recheck.extend(skipped.iter().copied());
    }
}

/// One caller waiting for the pass lock; the count drops with it.
#[derive(Debug)]
pub struct CallerWaits(Arc<PassWaiting>);

impl Drop for CallerWaits {
    fn drop(&mut self) {
        self.0.callers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A poisoned lock still holds usable data: a panic elsewhere must not stop the passes.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_sources_and_waiting_callers_both_count_until_taken_or_gone() {
        let waiting = PassWaiting::new();
        assert!(!waiting.is_waiting());
        waiting.add_source("cabin");
        assert!(waiting.is_waiting());
        assert_eq!(waiting.take_sources(), BTreeSet::from(["cabin".to_owned()]));
        assert!(!waiting.is_waiting());
        let caller = waiting.caller();
        assert!(waiting.is_waiting());
        drop(caller);
        assert!(!waiting.is_waiting());
    }

    #[test]
    fn skipped_checks_stay_owed_until_listed_and_a_whole_pass_settles_them() {
        let waiting = PassWaiting::new();
        waiting.settle_recheck(&BTreeSet::new(), &BTreeSet::from([1, 2, 3]), true);
        // A source's pass listed 1 and owes nothing else.
        waiting.settle_recheck(&BTreeSet::from([1]), &BTreeSet::new(), false);
        assert_eq!(waiting.recheck(), BTreeSet::from([2, 3]));
        // A whole pass listed 2 and gave way before 4; 3 is no longer in any scope.
        waiting.settle_recheck(&BTreeSet::from([2]), &BTreeSet::from([4]), true);
        assert_eq!(waiting.recheck(), BTreeSet::from([4]));
    }
}
