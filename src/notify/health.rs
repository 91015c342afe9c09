//! `source.failing` / `source.recovered` and `deletions.held` / `deletions.released`: a pure
//! function of each source's state and the outage events already told.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use super::event::{Event, EventDetails, EventKind, NewEvent};

/// A calendar unreadable this long is told.
pub const FAILING_AFTER: Duration = Duration::hours(1);

/// One source's state as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceState {
    pub name: String,
    /// Since when reads have failed (the last success, or the first failure); `None` while
    /// the last read succeeded.
    pub failing_since: Option<DateTime<Utc>>,
    pub failure: Option<String>,
    /// Since when its deletions are held; `None` when they are not.
    pub held_since: Option<DateTime<Utc>>,
    pub hold_reason: Option<String>,
}

fn outage_key(source: &str, since: DateTime<Utc>) -> String {
    format!("{source}|{}", since.timestamp())
}

/// New outage events and the recoveries of outages told earlier (`told`: recent events of
/// the four kinds, from the outbox).
pub fn source_events(states: &[SourceState], told: &[Event], now: DateTime<Utc>) -> Vec<NewEvent> {
    let told_ids: HashSet<&str> = told.iter().map(|e| e.id.as_str()).collect();
    let mut events = Vec::new();
    let pairs = [
        (EventKind::SourceFailing, EventKind::SourceRecovered),
        (EventKind::DeletionsHeld, EventKind::DeletionsReleased),
    ];
    for state in states {
        let current = [
            state
                .failing_since
                .filter(|since| now - *since >= FAILING_AFTER)
                .map(|since| (since, state.failure.clone())),
            state
                .held_since
                .map(|since| (since, state.hold_reason.clone())),
        ];
        for ((start_kind, end_kind), now_state) in pairs.into_iter().zip(current) {
            if let Some((since, reason)) = &now_state {
                let details = EventDetails {
                    source: Some(state.name.clone()),
                    start: Some(*since),
                    detail: reason.clone(),
                    ..EventDetails::default()
                };
                let key = outage_key(&state.name, *since);
                events.push(NewEvent::new(start_kind, key, *since).with(details));
            }
            // Outages told before that are not the current one have ended.
            for old in told.iter().filter(|e| e.kind == start_kind) {
                let (Some(source), Some(since)) = (&old.details.source, old.details.start) else {
                    continue;
                };
                let ongoing = now_state.as_ref().is_some_and(|(s, _)| *s == since);
                if source != &state.name || ongoing {
                    continue;
                }
                let end =
                    NewEvent::new(end_kind, outage_key(source, since), now).with(EventDetails {
                        source: Some(source.clone()),
                        start: Some(since),
                        end: Some(now),
                        ..EventDetails::default()
                    });
                if !told_ids.contains(end.id().as_str()) {
                    events.push(end);
                }
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 7, 1, hour, 0, 0).unwrap()
    }

    fn state(failing: Option<u32>, held: Option<u32>) -> SourceState {
        SourceState {
            name: "airbnb".into(),
            failing_since: failing.map(at),
            failure: failing.map(|_| "HTTP 503".into()),
            held_since: held.map(at),
            hold_reason: held.map(|_| "shrank by 60 %".into()),
        }
    }

    fn stored(event: NewEvent) -> Event {
        Event {
            id: event.id(),
            kind: event.kind,
            occurred_at: event.occurred_at,
            details: event.details,
        }
    }

    #[test]
    fn an_outage_is_told_after_an_hour_once_and_its_end_once() {
        // (state, now, kinds told)
        assert!(
            source_events(
                &[state(Some(10), None)],
                &[],
                at(10) + Duration::minutes(59)
            )
            .is_empty()
        );
        let failing = source_events(&[state(Some(10), None)], &[], at(11));
        assert_eq!(failing.len(), 1);
        assert_eq!(failing[0].kind, EventKind::SourceFailing);
        // Still failing later: the same event (same id), no recovery.
        let later = source_events(
            &[state(Some(10), None)],
            &[stored(failing[0].clone())],
            at(15),
        );
        assert_eq!(
            later.iter().map(NewEvent::id).collect::<Vec<_>>(),
            [failing[0].id()]
        );
        // Readable again: one recovery, and not again once told.
        let told = vec![stored(failing[0].clone())];
        let recovered = source_events(&[state(None, None)], &told, at(16));
        assert_eq!(recovered.len(), 1);
        assert_eq!(recovered[0].kind, EventKind::SourceRecovered);
        let mut told = told;
        told.push(stored(recovered[0].clone()));
        assert!(source_events(&[state(None, None)], &told, at(17)).is_empty());
    }

    #[test]
    fn held_deletions_are_told_at_once_and_released_when_the_hold_ends() {
        let held = source_events(&[state(None, Some(9))], &[], at(9));
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].kind, EventKind::DeletionsHeld);
        let released = source_events(&[state(None, None)], &[stored(held[0].clone())], at(12));
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].kind, EventKind::DeletionsReleased);
    }
}
