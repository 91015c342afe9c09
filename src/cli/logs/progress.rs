//! `logs backfill`'s progress: a bar on a terminal, one line per stored day otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use crate::archive::{BackfillProgress, UnitBackfill};
use crate::text::{DAY, ENTRY, count};

/// A progress bar on a terminal, one plain line per stored day otherwise.
pub(super) struct CliProgress {
    bar: Option<Mutex<Option<ProgressBar>>>,
    /// With `--json`, standard output carries only the JSON.
    json: bool,
}

impl CliProgress {
    pub(super) fn new(json: bool) -> Self {
        CliProgress {
            bar: std::io::stderr().is_terminal().then(|| Mutex::new(None)),
            json,
        }
    }
}

impl BackfillProgress for CliProgress {
    fn unit_started(&self, unit_id: i64, total: u64, done: u64) {
        match &self.bar {
            Some(slot) => {
                let bar = ProgressBar::new(total).with_position(done);
                if let Ok(style) =
                    ProgressStyle::with_template("unit {msg} {wide_bar} {pos}/{len} days {eta}")
                {
                    bar.set_style(style);
                }
                bar.set_message(unit_id.to_string());
                if let Ok(mut slot) = slot.lock() {
                    *slot = Some(bar);
                }
            }
            None if done > 0 => eprintln!(
                "unit {unit_id}: resuming backfill, {done} of {} stored",
                count(total, DAY)
            ),
            None => eprintln!("unit {unit_id}: backfilling {}", count(total, DAY)),
        }
    }

    fn window_stored(&self, unit_id: i64, position: DateTime<Utc>, stored: u64) {
        match &self.bar {
            Some(slot) => {
                if let Ok(slot) = slot.lock()
                    && let Some(bar) = slot.as_ref()
                {
                    bar.inc(1);
                }
            }
            None => eprintln!(
                "unit {unit_id}: stored up to {} ({stored} new)",
                position.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        }
    }

    fn unit_finished(&self, report: &UnitBackfill) {
        if let Some(slot) = &self.bar
            && let Ok(mut slot) = slot.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
        if !self.json {
            println!(
                "unit {}: backfill complete through {}: {} new of {} fetched",
                report.unit_id,
                report.to.format("%Y-%m-%d %H:%M:%S UTC"),
                report.stored,
                count(report.fetched, ENTRY)
            );
        }
    }
}
