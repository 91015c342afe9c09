//! The daemon's clock for detection: the system clock, or the system clock moved by an offset
//! that a test advances, so that "failing for over an hour" or "no check-in six hours after
//! arrival" are tried without waiting hours.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// Cheap to clone; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Seconds added to the system clock; 0 for the real time.
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        let offset = Duration::seconds(self.offset_seconds.load(Ordering::SeqCst));
        Utc::now() + offset
    }

    /// Moves this clock (and its clones) forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_runs_ahead_in_every_clone() {
        let clock = Clock::system();
        let clone = clock.clone();
        assert!((clock.now() - Utc::now()).num_seconds().abs() <= 1);
        clock.advance(Duration::hours(2));
        let ahead = clone.now() - Utc::now();
        assert!(ahead >= Duration::minutes(119) && ahead <= Duration::minutes(121));
    }
}
