//! Ingest speed of the unit log archive: hashing entries and storing them in a real SQLite
//! ledger (WAL, one transaction per window), new entries and already archived ones.
//! Target: at least 100,000 entries per second.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flexysync::archive::hash_entries;
use flexysync::flexykey::LogEntry;
use flexysync::ledger::Ledger;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Entries per stored window: a busy unit's day.
const WINDOW_ENTRIES: usize = 10_000;

/// `count` distinct entries, one a second from the `first`-th second of 2026, shuffled (the
/// API gives no order).
fn batch(first: u64, count: usize) -> Vec<LogEntry> {
    let base: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
    let mut entries: Vec<LogEntry> = (0..count as u64)
        .map(|offset| {
            let n = first + offset;
            let server_date = base + TimeDelta::seconds((n % 31_536_000) as i64);
            let phone = format!("+4670{:07}", n % 10_000_000);
            LogEntry {
                server_date,
                unit_date: Some(server_date.format("%Y-%m-%d %H:%M").to_string()),
                source_id: Some(phone.clone()),
                source_label: Some(format!("Användare {}", n % 50)),
                action_label: Some("Öppnad".to_owned()),
                log_msg: Some(format!("Samtal från {phone}, utgång F1 puls 5 s, #{n}")),
            }
        })
        .collect();
    entries.shuffle(&mut StdRng::seed_from_u64(first));
    entries
}

fn ingest(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = runtime
        .block_on(Ledger::open(&dir.path().join("ledger.db")))
        .unwrap();
    let end = Utc::now();
    let mut group = c.benchmark_group("archive_ingest");
    group.throughput(Throughput::Elements(WINDOW_ENTRIES as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));

    let mut next = 0u64;
    group.bench_function("new_entries", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let entries = batch(next, WINDOW_ENTRIES);
                next += WINDOW_ENTRIES as u64;
                let started = Instant::now();
                let hashed = hash_entries(3023, entries);
                let stored = runtime
                    .block_on(ledger.archive_store_pulled(3023, &hashed, end))
                    .unwrap();
                spent += started.elapsed();
                assert_eq!(stored, WINDOW_ENTRIES as u64);
            }
            spent
        })
    });

    let known = batch(0, WINDOW_ENTRIES);
    group.bench_function("already_archived", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let entries = known.clone();
                let started = Instant::now();
                let hashed = hash_entries(3023, entries);
                let stored = runtime
                    .block_on(ledger.archive_store_pulled(3023, &hashed, end))
                    .unwrap();
                spent += started.elapsed();
                assert_eq!(stored, 0);
            }
            spent
        })
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
