//! An entry's identity. FlexyKey log entries have no id and two can be identical in every
//! field (two events in one second), so the identity is a hash over the unit and every field
//! plus the entry's *occurrence*: its ordinal among the identical entries of one answer.
//! An answer that lists an entry k times yields occurrences 0..k; an overlapping answer that
//! lists the same k again yields the same k identities, so it matches instead of multiplying.

use std::collections::HashMap;

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

/// Normalizes and hashes one FlexyKey answer (all of a window) for the ledger, numbering
/// identical entries 0, 1, 2… in the order they come. The answer must be whole: every
/// second it covers is covered completely, as the client's windows and bisection ensure.
pub fn hash_entries(unit_id: i64, entries: Vec<LogEntry>) -> Vec<HashedLogEntry> {
    let mut seen: HashMap<[u8; 32], u32> = HashMap::with_capacity(entries.len());
    entries
        .into_iter()
        .map(|entry| {
            let entry = normalize(entry);
            let hash = entry_hash(unit_id, &entry);
            let count = seen.entry(hash).or_insert(0);
            let occurrence = *count;
            *count += 1;
            HashedLogEntry {
                hash,
                occurrence,
                entry,
            }
        })
        .collect()
}
