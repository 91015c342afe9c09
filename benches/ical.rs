//! Parse + expand a generated feed of 20,000 events (10 % recurring, several zones) in the
//! default window (now − 1 day to now + 180 days). Reports MB/s and events/s. `cli_path` is
//! what `flexysync feed occurrences --from 2025-09-01 --to 2026-09-01` does with that feed:
//! parse, expand a one-year window and write the JSON array (`cli_path_file`: the same read
//! from a file, as the CLI reads it).
//!
//! `ICAL_BENCH_WRITE=path cargo bench --bench ical` also writes the feed to `path`, for the
//! python comparison (`benches/ical_python.py FILE 2025-09-01 2026-09-01 --versus
//! target/release/flexysync`) and a peak-memory run of `feed occurrences`.

use std::fmt::Write as _;
use std::hint::black_box;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flexysync::sources::ical::{
    OccurrenceQuery, Zone, occurrence_listing, occurrence_listing_of_file, occurrences_from_text,
};

const EVENTS: usize = 20_000;
const ZONES: [&str; 5] = [
    "Europe/Stockholm",
    "America/New_York",
    "Asia/Tokyo",
    "UTC",
    "W. Europe Standard Time",
];

/// A deterministic feed: every tenth event recurs (daily, weekly or monthly), zones rotate,
/// a quarter of the one-off events are all-day stays.
fn generate() -> String {
    let mut text =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//flexysync bench//EN\r\n");
    let base = NaiveDate::from_ymd_opt(2025, 9, 1)
        .expect("date")
        .and_hms_opt(8, 0, 0)
        .expect("time");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..EVENTS {
        let start = base + Duration::minutes((next() % (400 * 24 * 4)) as i64 * 15);
        let zone = ZONES[i % ZONES.len()];
        let _ = write!(
            text,
            "BEGIN:VEVENT\r\nUID:bench-{i}@flexysync.test\r\nDTSTAMP:20250901T000000Z\r\nSEQUENCE:0\r\n"
        );
        if i % 4 == 1 && i % 10 != 0 {
            let day = start.date();
            let nights = 1 + next() % 7;
            let _ = write!(
                text,
                "DTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:Reserved\r\n",
                day.format("%Y%m%d"),
                (day + Duration::days(nights as i64)).format("%Y%m%d")
            );
        } else {
            let end = start + Duration::minutes(30 + (next() % 8) as i64 * 30);
            let _ = write!(
                text,
                "DTSTART;TZID={zone}:{}\r\nDTEND;TZID={zone}:{}\r\nSUMMARY:Guest {i}\r\n",
                start.format("%Y%m%dT%H%M%S"),
                end.format("%Y%m%dT%H%M%S")
            );
        }
        if i % 10 == 0 {
            let rule = match next() % 3 {
                0 => "FREQ=DAILY;COUNT=30",
                1 => "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20261231T000000Z",
                _ => "FREQ=MONTHLY;INTERVAL=1",
            };
            let _ = write!(text, "RRULE:{rule}\r\n");
        }
        text.push_str("DESCRIPTION:Reservation URL: https://www.example.com/hosting/reservations/d\r\n etails/HM");
        let _ = write!(
            text,
            "{i:08}\\nPhone Number (Last 4 Digits): {:04}\r\nEND:VEVENT\r\n",
            next() % 10_000
        );
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

fn bench(c: &mut Criterion) {
    let feed = generate();
    if let Ok(path) = std::env::var("ICAL_BENCH_WRITE") {
        std::fs::write(&path, &feed).expect("write the generated feed");
    }
    let now = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("now");
    let query = OccurrenceQuery {
        floating: Zone::Utc,
        window_start: now - Duration::days(1),
        window_end: now + Duration::days(180),
    };
    let (found, _) = occurrences_from_text(feed.as_bytes(), &query);
    eprintln!(
        "feed: {} bytes, {EVENTS} events, {} occurrences in the window",
        feed.len(),
        found.len()
    );

    let mut group = c.benchmark_group("ical");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(feed.len() as u64));
    group.bench_function("parse_expand_bytes", |b| {
        b.iter(|| occurrences_from_text(black_box(feed.as_bytes()), black_box(&query)))
    });
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("parse_expand_events", |b| {
        b.iter(|| occurrences_from_text(black_box(feed.as_bytes()), black_box(&query)))
    });
    let year = OccurrenceQuery {
        floating: Zone::Utc,
        window_start: Utc
            .with_ymd_and_hms(2025, 9, 1, 0, 0, 0)
            .single()
            .expect("from"),
        window_end: Utc
            .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
            .single()
            .expect("to"),
    };
    let mut sink = Vec::with_capacity(16 << 20);
    let (found, _) = occurrences_from_text(feed.as_bytes(), &year);
    eprintln!(
        "cli_path: {} occurrences in the one-year window",
        found.len()
    );
    group.throughput(Throughput::Bytes(feed.len() as u64));
    group.bench_function("cli_path", |b| {
        b.iter(|| {
            sink.clear();
            let (listing, _) = occurrence_listing(black_box(feed.as_bytes()), &year);
            listing.write_json(&mut sink).expect("written to memory");
            black_box(sink.len())
        })
    });
    // The same from a file, as the CLI reads one: outlined through a window, blocks read again.
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    std::io::Write::write_all(&mut file, feed.as_bytes()).expect("feed written");
    group.bench_function("cli_path_file", |b| {
        b.iter(|| {
            sink.clear();
            let opened = std::fs::File::open(file.path()).expect("opened");
            let (listing, _) = occurrence_listing_of_file(&opened, &year).expect("read");
            listing.write_json(&mut sink).expect("written to memory");
            black_box(sink.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
