//! Complete lists from an API that cuts every list answer at [`LIST_CAP`] entries without
//! saying so: an answer that is exactly full is split at the middle of its interval (second
//! precision) and both halves are fetched, until no answer is full.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use chrono::{DateTime, TimeZone, Utc};

use super::ApiError;
use super::wire::{LIST_CAP, format_time};

/// How the server matches entries against `[dateFrom, dateTo]`, which decides how to split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bounds {
    /// Entries that overlap the interval (bookings): split into `[from, mid]` and `[mid, to]`,
    /// since an entry overlapping both halves is listed twice and merged by its key. (A
    /// zero-length booking exactly at `mid` would be in neither half; FlexyKey does not store
    /// such bookings.)
    Overlap,
    /// Entries at an instant, both ends inclusive (log entries): split into `[from, mid]` and
    /// `[mid + 1 s, to]`, so that nothing is listed in both halves.
    Inclusive,
}

/// Fetches `[from, to]` with `fetch`, splitting every full answer, and merges the answers:
/// per key, an entry is kept as many times as the one answer that holds it most often. So an
/// entry listed by two halves (a booking spanning the split) comes back once, while entries
/// one answer lists twice (two identical log lines) stay twice. `what` names the unit or
/// object for the error when a one-second interval is still full. An inverted interval
/// (`from > to`) is empty and costs no call.
pub(super) async fn fetch_complete<T, K, F, Fut>(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bounds: Bounds,
    what: &str,
    mut fetch: F,
    key: impl Fn(&T) -> K,
) -> Result<Vec<T>, ApiError>
where
    K: Eq + Hash,
    F: FnMut(DateTime<Utc>, DateTime<Utc>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ApiError>>,
{
    // Whole seconds, as they are sent; rounded outwards, so the answer is never narrower.
    let low = from.timestamp();
    let high = match bounds {
        Bounds::Overlap if to.timestamp_subsec_nanos() > 0 => to.timestamp().saturating_add(1),
        _ => to.timestamp(),
    };
    let mut merged = Vec::new();
    let mut emitted: HashMap<K, usize> = HashMap::new();
    // Depth-first, left half first, so the answers come in time order.
    let mut pending = vec![(low, high)];
    while let Some((low, high)) = pending.pop() {
        if low > high {
            continue;
        }
        let (start, end) = (instant(low)?, instant(high)?);
        let answer = fetch(start, end).await?;
        if answer.len() == LIST_CAP {
            let Some((left, right)) = split(low, high, bounds) else {
                return Err(ApiError::Protocol {
                    reason: format!(
                        "FlexyKey returned the maximum of {LIST_CAP} entries for {what} between {} and {}; the interval cannot be split further, so entries may be missing",
                        format_time(start),
                        format_time(end)
                    ),
                });
            };
            pending.push(right);
            pending.push(left);
            continue;
        }
        let mut in_answer: HashMap<K, usize> = HashMap::new();
        for entry in answer {
            let seen = in_answer.entry(key(&entry)).or_insert(0);
            *seen += 1;
            let seen = *seen;
            let kept = emitted.entry(key(&entry)).or_insert(0);
            if seen > *kept {
                *kept += 1;
                merged.push(entry);
            }
        }
    }
    Ok(merged)
}

/// The two halves of `[low, high]` (whole seconds), or `None` for an interval too short.
fn split(low: i64, high: i64, bounds: Bounds) -> Option<((i64, i64), (i64, i64))> {
    let width = high.checked_sub(low)?;
    let mid = low.checked_add(width / 2)?;
    match bounds {
        Bounds::Overlap if width >= 2 => Some(((low, mid), (mid, high))),
        Bounds::Inclusive if width >= 1 => Some(((low, mid), (mid.checked_add(1)?, high))),
        _ => None,
    }
}

fn instant(seconds: i64) -> Result<DateTime<Utc>, ApiError> {
    Utc.timestamp_opt(seconds, 0)
        .single()
        .ok_or_else(|| ApiError::Protocol {
            reason: format!("time {seconds} s since 1970 is out of range"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        instant(seconds).unwrap()
    }

    /// A fake list endpoint over instants: inclusive bounds, cut at the cap.
    fn inclusive_server(
        points: &[i64],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<i64>, ApiError> {
        let mut hits: Vec<i64> = points
            .iter()
            .copied()
            .filter(|p| (from.timestamp()..=to.timestamp()).contains(p))
            .collect();
        hits.truncate(LIST_CAP);
        Ok(hits)
    }

    #[test]
    fn halves_never_repeat_an_instant_and_overlap_halves_share_the_midpoint() {
        assert_eq!(split(0, 1, Bounds::Inclusive), Some(((0, 0), (1, 1))));
        assert_eq!(split(0, 0, Bounds::Inclusive), None);
        assert_eq!(split(0, 10, Bounds::Overlap), Some(((0, 5), (5, 10))));
        assert_eq!(split(0, 1, Bounds::Overlap), None);
    }

    #[tokio::test]
    async fn a_full_one_second_interval_is_a_protocol_error_naming_it() {
        let points = vec![100; 600];
        let result = fetch_complete(
            at(0),
            at(1000),
            Bounds::Inclusive,
            "unit 3023",
            |from, to| std::future::ready(inclusive_server(&points, from, to)),
            |p| *p,
        )
        .await;
        let Err(ApiError::Protocol { reason }) = result else {
            panic!("expected a protocol error, got {result:?}");
        };
        assert!(reason.contains("unit 3023"), "{reason}");
        assert!(reason.contains("1970-01-01T00:01:40Z"), "{reason}");
    }

    #[tokio::test]
    async fn duplicates_within_one_answer_are_kept_and_inverted_intervals_cost_nothing() {
        // 1,200 instants plus a few exact duplicates: all come back, each as often as stored.
        let mut points: Vec<i64> = (0..1200).collect();
        points.extend([7, 7, 900]);
        let mut calls = 0;
        let got = fetch_complete(
            at(0),
            at(5000),
            Bounds::Inclusive,
            "unit 1",
            |from, to| {
                calls += 1;
                std::future::ready(inclusive_server(&points, from, to))
            },
            |p| *p,
        )
        .await
        .unwrap();
        let mut expected = points.clone();
        expected.sort();
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, expected);
        assert!(calls > 3, "the interval was never split");
        let none = fetch_complete(
            at(10),
            at(5),
            Bounds::Inclusive,
            "unit 1",
            |_, _| std::future::ready(Err::<Vec<i64>, _>(ApiError::Auth)),
            |p| *p,
        )
        .await
        .unwrap();
        assert!(none.is_empty());
    }
}
