//! `logs export`: the archive as CSV (with a header line) or JSON lines, with FlexyKey's field
//! names, streamed from the ledger in constant memory.

use std::io::Write;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::ArchiveError;
use super::show::matches_grep;
use crate::flexykey::LogEntry;
use crate::ledger::{ArchiveFilter, ArchivedEntry, Ledger};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    JsonLines,
}

/// One exported entry: FlexyKey's field names, plus the unit it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRecord {
    pub unit_id: i64,
    pub server_date: DateTime<Utc>,
    pub unit_date: Option<String>,
    #[serde(rename = "sourceID")]
    pub source_id: Option<String>,
    pub source_label: Option<String>,
    pub action_label: Option<String>,
    pub log_msg: Option<String>,
}

impl From<ArchivedEntry> for ExportRecord {
    fn from(item: ArchivedEntry) -> Self {
        let entry = item.entry;
        ExportRecord {
            unit_id: item.unit_id,
            server_date: entry.server_date,
            unit_date: entry.unit_date,
            source_id: entry.source_id,
            source_label: entry.source_label,
            action_label: entry.action_label,
            log_msg: entry.log_msg,
        }
    }
}

impl From<ExportRecord> for ArchivedEntry {
    fn from(record: ExportRecord) -> Self {
        ArchivedEntry {
            unit_id: record.unit_id,
            entry: LogEntry {
                server_date: record.server_date,
                unit_date: record.unit_date,
                source_id: record.source_id,
                source_label: record.source_label,
                action_label: record.action_label,
                log_msg: record.log_msg,
            },
        }
    }
}

fn output_err(err: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Output {
        what: "the export".to_owned(),
        reason: err.to_string(),
    }
}

/// Writes the entries `filter` (and `grep`, over the message and labels) selects; returns
/// how many. Rows stream from SQLite to `out` one at a time.
pub async fn export<W: Write>(
    ledger: &Ledger,
    filter: &ArchiveFilter,
    grep: Option<&str>,
    format: ExportFormat,
    out: W,
) -> Result<u64, ArchiveError> {
    let needle = grep.map(str::to_lowercase);
    let mut entries = ledger.archive_entries(filter);
    let mut written = 0;
    match format {
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            while let Some(item) = entries.try_next().await? {
                if needle
                    .as_deref()
                    .is_some_and(|n| !matches_grep(&item, None, n))
                {
                    continue;
                }
                writer
                    .serialize(ExportRecord::from(item))
                    .map_err(output_err)?;
                written += 1;
            }
            if written == 0 {
                // Without a row the csv writer has no header to write: write it alone.
                writer
                    .write_record([
                        "unitId",
                        "serverDate",
                        "unitDate",
                        "sourceID",
                        "sourceLabel",
                        "actionLabel",
                        "logMsg",
                    ])
                    .map_err(output_err)?;
            }
            writer.flush().map_err(output_err)?;
        }
        ExportFormat::JsonLines => {
            let mut out = out;
            while let Some(item) = entries.try_next().await? {
                if needle
                    .as_deref()
                    .is_some_and(|n| !matches_grep(&item, None, n))
                {
                    continue;
                }
                serde_json::to_writer(&mut out, &ExportRecord::from(item)).map_err(output_err)?;
                out.write_all(b"\n").map_err(output_err)?;
                written += 1;
            }
            out.flush().map_err(output_err)?;
        }
    }
    Ok(written)
}
