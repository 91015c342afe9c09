//! VEVENT blocks grouped by UID before any is parsed, so that each group is parsed and
//! expanded on its own.

use std::collections::HashMap;

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
    slots: HashMap<u64, u32>,
    runs: u32,
    order: Vec<(u32, u32)>,
}

impl UidGroups {
    pub(super) fn with_capacity(blocks: usize) -> Self {
        UidGroups {
            hasher: std::collections::hash_map::RandomState::new(),
            slots: HashMap::with_capacity(blocks),
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
