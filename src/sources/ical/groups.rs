//! VEVENT blocks grouped by UID before any is parsed, so that each group is parsed and
//! expanded on its own.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::text;

/// `(group, block index)` pairs sorted into runs, one per raw UID in the order each UID first
/// appears (8 bytes a block, whatever the feed holds), and the number of runs. A block without
/// a UID is a run of its own. UIDs are told apart by a 64-bit hash with a per-run random key
/// (half the memory of the strings): two that collide share a run, where the parsed UIDs
/// still part them.
pub(super) fn uid_groups(events: &[text::Block<'_>]) -> (Vec<(u32, u32)>, usize) {
    let mut groups = UidGroups::with_capacity(events.len());
    for block in events {
        groups.add(block.text);
    }
    groups.finish()
}

/// [`uid_groups`] built one block at a time (for a feed outlined through a window).
pub(super) struct UidGroups {
    hasher: std::collections::hash_map::RandomState,
    /// Keyed by the UID's keyed hash, which is not hashed again.
    slots: HashMap<u64, u32, BuildHasherDefault<KeyIsHash>>,
    runs: u32,
    order: Vec<(u32, u32)>,
}

impl UidGroups {
    pub(super) fn with_capacity(blocks: usize) -> Self {
        UidGroups {
            hasher: std::collections::hash_map::RandomState::new(),
            slots: HashMap::with_capacity_and_hasher(blocks, BuildHasherDefault::default()),
            runs: 0,
            order: Vec::with_capacity(blocks),
        }
    }

    /// The next VEVENT block's text.
    pub(super) fn add(&mut self, block: &str) {
        use std::hash::BuildHasher as _;
        let runs = &mut self.runs;
        let mut fresh = || {
            *runs = runs.saturating_add(1);
            *runs - 1
        };
        let group = match text::quick_uid(block) {
            Some(uid) => *self
                .slots
                .entry(self.hasher.hash_one(uid.as_ref()))
                .or_insert_with(&mut fresh),
            None => fresh(),
        };
        let index = u32::try_from(self.order.len()).unwrap_or(u32::MAX);
        self.order.push((group, index));
    }

    pub(super) fn finish(mut self) -> (Vec<(u32, u32)>, usize) {
        self.order.sort_unstable();
        (self.order, self.runs as usize)
    }
}

/// A `u64` key that is already a hash with a random key: it is its own hash (hashing it again
/// with SipHash cost as much as hashing the UID).
#[derive(Default)]
pub(super) struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; anything else is folded in rather than lost.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ical::text::Block;

    fn blocks(texts: &[&'static str]) -> Vec<Block<'static>> {
        texts
            .iter()
            .map(|text| Block {
                text,
                line: 1,
                calendar: 0,
            })
            .collect()
    }

    #[test]
    fn blocks_are_grouped_by_uid_in_the_order_each_uid_first_appears() {
        let events = blocks(&[
            "BEGIN:VEVENT\nUID:b\nEND:VEVENT\n",
            "BEGIN:VEVENT\nUID:a\nEND:VEVENT\n",
            "BEGIN:VEVENT\nSUMMARY:no uid\nEND:VEVENT\n",
            "BEGIN:VEVENT\nuid: b \nEND:VEVENT\n",
            "BEGIN:VEVENT\nUID:a\nEND:VEVENT\n",
            "BEGIN:VEVENT\nUID:c\nEND:VEVENT\n",
        ]);
        let (order, runs) = uid_groups(&events);
        assert_eq!(runs, 4);
        assert_eq!(order, [(0, 0), (0, 3), (1, 1), (1, 4), (2, 2), (3, 5)]);
    }

    #[test]
    fn a_key_that_is_a_hash_is_its_own_hash() {
        let mut hasher = KeyIsHash::default();
        hasher.write_u64(0x1234_5678_9abc_def0);
        assert_eq!(hasher.finish(), 0x1234_5678_9abc_def0);
        let mut other = KeyIsHash::default();
        other.write(&[1, 2]);
        assert_eq!(other.finish(), 0x0102);
    }
}
