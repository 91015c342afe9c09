//! A run of UID groups expanded in feed order: each group's blocks read, parsed and expanded
//! into a sink, under the feed's caps and parse budget (one run per thread, or the whole feed).

use super::event::{self, Component};
use super::expand::{self, ExpandOptions, OccurrenceSink};
use super::{BlockTexts, MAX_WARNINGS, text, zone};

/// What expanding a run of UID groups shares with every other run of the same feed.
pub(super) struct GroupRun<'p> {
    pub opts: &'p ExpandOptions,
    pub zones: &'p zone::ZoneTable,
    /// UID groups in the whole feed (for the budget's warning).
    pub total: usize,
    pub began: std::time::Instant,
    pub budget: Option<std::time::Duration>,
}

impl GroupRun<'_> {
    /// Expands the groups of `order` (whole runs of [`uid_groups`]) into `out`, keeping at most
    /// [`MAX_WARNINGS`] warnings; how many more there were.
    pub fn expand(
        &self,
        source: &mut impl BlockTexts,
        order: &[(u32, u32)],
        incomplete: &mut Option<String>,
        (warnings, unreadable): (&mut Vec<String>, &mut Vec<Option<String>>),
        out: &mut impl OccurrenceSink,
    ) -> usize {
        let opts = self.opts;
        let mut costliest: Option<(std::time::Duration, String)> = None;
        let mut suppressed = 0usize;
        for (done, group) in order.chunk_by(|a, b| a.0 == b.0).enumerate() {
            // Checked between series (each is bounded by the caps), after the first one, so
            // that the warning can name the costliest.
            if let Some(budget) = self.budget
                && done > 0
                && self.began.elapsed() > budget
            {
                let reason = over_budget(budget, done, self.total, costliest.as_ref());
                warnings.push(reason.clone());
                *incomplete = Some(reason);
                break;
            }
            // Timed only for the budget's warning (a clock read per group is not free).
            let group_began = self.budget.map(|_| std::time::Instant::now());
            let mut components: Vec<Component> = Vec::with_capacity(group.len());
            for (_, index) in group {
                let Some(block) = source.block(*index, warnings) else {
                    continue;
                };
                match event::parse_block(&block, self.zones, out.detail(), warnings) {
                    Some(component) => components.push(component),
                    None => {
                        unreadable.push(text::quick_uid(block.text).map(|uid| uid.into_owned()))
                    }
                }
            }
            let first = group_began
                .and(components.first())
                .map(|c| (c.uid.clone(), c.line));
            for list in by_parsed_uid(components) {
                if let Some(why) = expand::expand_group(list, opts, warnings, out) {
                    incomplete.get_or_insert(why);
                }
            }
            if let Some(cost) = group_began.map(|began| began.elapsed())
                && let Some((uid, line)) = first
                && costliest.as_ref().is_none_or(|(most, _)| cost > *most)
            {
                costliest = Some((cost, format!("UID {uid} (line {line})")));
            }
            if warnings.len() > MAX_WARNINGS {
                suppressed += warnings.len() - MAX_WARNINGS;
                warnings.truncate(MAX_WARNINGS);
            }
            if out.len() > opts.max_total {
                out.truncate(opts.max_total);
                let reason = format!(
                    "more than {} occurrences in the window: the rest of the calendar was cut",
                    opts.max_total
                );
                warnings.push(reason.clone());
                *incomplete = Some(reason);
                break;
            }
        }
        suppressed
    }
}

/// A group's components by their parsed UID: a block whose UID the quick scan misread still
/// groups by the UID it has. Almost always one group, taken as it is.
fn by_parsed_uid(components: Vec<Component>) -> Vec<Vec<Component>> {
    let Some(head) = components.first() else {
        return Vec::new();
    };
    if components.iter().all(|c| c.uid == head.uid) {
        return vec![components];
    }
    let mut by_uid: Vec<(std::sync::Arc<str>, Vec<Component>)> = Vec::new();
    for component in components {
        match by_uid.iter_mut().find(|(uid, _)| *uid == component.uid) {
            Some((_, list)) => list.push(component),
            None => by_uid.push((component.uid.clone(), vec![component])),
        }
    }
    by_uid.into_iter().map(|(_, list)| list).collect()
}

fn over_budget(
    budget: std::time::Duration,
    done: usize,
    total: usize,
    costliest: Option<&(std::time::Duration, String)>,
) -> String {
    let most = costliest
        .map(|(cost, what)| {
            format!(
                "; the costliest series was {what} ({} ms)",
                cost.as_millis()
            )
        })
        .unwrap_or_default();
    format!(
        "reading the feed took longer than its {} s budget: stopped after {done} of {total} \
         events{most}",
        budget.as_secs_f64()
    )
}
