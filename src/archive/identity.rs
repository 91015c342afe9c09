//! An entry's identity. FlexyKey log entries have no id and two can be identical but for
//! `serverDate`, so the identity is a hash over the unit and every field.

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use crate::flexykey::LogEntry;
use crate::ledger::HashedLogEntry;

/// The form an entry is archived in: `serverDate` at whole seconds (the API's precision, and
/// what the ledger stores) and empty texts as absent (CSV cannot tell the two apart).
pub fn normalize(mut entry: LogEntry) -> LogEntry {
    entry.server_date = entry.server_date.trunc_subsecs(0);
    for field in [
        &mut entry.unit_date,
        &mut entry.source_id,
        &mut entry.source_label,
        &mut entry.action_label,
        &mut entry.log_msg,
    ] {
        if field.as_deref() == Some("") {
            *field = None;
        }
    }
    entry
}

/// sha256 over the unit id and every field of the (normalized) entry, each field tagged and
/// length-prefixed so that no two different entries share an encoding.
pub fn entry_hash(unit_id: i64, entry: &LogEntry) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"flexysync-unit-log-v1");
    hasher.update(unit_id.to_le_bytes());
    hasher.update(seconds(entry.server_date).to_le_bytes());
    for field in [
        &entry.unit_date,
        &entry.source_id,
        &entry.source_label,
        &entry.action_label,
        &entry.log_msg,
    ] {
        match field {
            None => hasher.update([0u8]),
            Some(text) => {
                hasher.update([1u8]);
                hasher.update((text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
        }
    }
    hasher.finalize().into()
}

fn seconds(time: DateTime<Utc>) -> i64 {
    time.timestamp()
}

/// Normalizes and hashes a fetched batch for the ledger.
pub fn hash_entries(unit_id: i64, entries: Vec<LogEntry>) -> Vec<HashedLogEntry> {
    entries
        .into_iter()
        .map(|entry| {
            let entry = normalize(entry);
            HashedLogEntry {
                hash: entry_hash(unit_id, &entry),
                entry,
            }
        })
        .collect()
}
