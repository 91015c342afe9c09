//! Property tests of the output plan and of acting on it: the union rule, no flapping, and a
//! crash at any point of a command followed by a restart.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::decide::{self, Decision};
use super::drive::{journaled, superseded};
use super::plan::{self, Rule, Selection, Stay, Step, Window};
use crate::ledger::{OutputCommand, OutputCommandState};

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    base() + Duration::minutes(minutes)
}

fn stay(object: i64, start: i64, length: i64) -> Stay {
    Stay {
        booking_object_id: object,
        source: format!("src{}", object % 2),
        start: at(start),
        end: at(start + length),
    }
}

fn window_rule(before: i64, after: i64, gap: i64) -> Rule {
    Rule::Window {
        on_before: Duration::minutes(before),
        off_after: Duration::minutes(after),
        merge_gap: Duration::minutes(gap),
    }
}

fn selection() -> Selection {
    Selection {
        booking_objects: vec![1, 2],
        sources: vec![],
    }
}

/// The union rule, written from its definition: on inside a widened stay, or between two
/// stays closer than the merge gap.
fn oracle(rule: Rule, stays: &[Stay], t: DateTime<Utc>) -> bool {
    let Rule::Window {
        on_before,
        off_after,
        merge_gap,
    } = rule
    else {
        unreachable!()
    };
    let picked: Vec<&Stay> = stays.iter().filter(|s| selection().drives(s)).collect();
    picked
        .iter()
        .any(|s| s.start - on_before <= t && t < s.end + off_after)
        || picked.iter().any(|a| {
            picked.iter().any(|b| {
                a.end <= b.start && b.start - a.end < merge_gap && a.end <= t && t < b.start
            })
        })
}

fn stays_strategy() -> impl Strategy<Value = Vec<Stay>> {
    prop::collection::vec((1i64..=3, 0i64..20_000, 1i64..6_000), 0..12)
        .prop_map(|raw| raw.into_iter().map(|(o, s, l)| stay(o, s, l)).collect())
}

fn rule_strategy() -> impl Strategy<Value = Rule> {
    (0i64..600, 0i64..600, 0i64..2_000).prop_map(|(b, a, g)| window_rule(b, a, g))
}

/// A unit, a journal and the driver's sequence (journal, send, resolve) in memory.
#[derive(Default)]
struct Sim {
    unit_on: bool,
    journal: Vec<OutputCommand>,
    /// (planned transition, step) of every command that reached the unit.
    delivered: Vec<(DateTime<Utc>, Step)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    None,
    AfterJournal,
    AfterSend,
}

impl Sim {
    fn push(&mut self, planned_at: DateTime<Utc>, state: OutputCommandState, now: DateTime<Utc>) {
        self.journal.push(OutputCommand {
            id: self.journal.len() as i64,
            output_key: "1/F1".into(),
            planned_at,
            action: String::new(),
            state,
            journaled_at: now,
            resolved_at: None,
            observed_on: Some(self.unit_on),
            detail: None,
        });
    }

    fn step(&mut self, transitions: &[plan::Transition], now: DateTime<Utc>, crash: Crash) {
        let position = plan::position(transitions, now);
        let key = decide::transition_key(&position);
        let history: Vec<OutputCommand> = self
            .journal
            .iter()
            .filter(|c| c.planned_at == key)
            .cloned()
            .collect();
        let last_index = self.journal.iter().rposition(|c| c.planned_at == key);
        let decision = decide::decide(
            &position,
            false,
            journaled(&history, false),
            self.unit_on,
            now,
        );
        match decision {
            Decision::AlreadyInPlace => self.push(key, OutputCommandState::InPlace, now),
            Decision::Override { .. } => self.push(key, OutputCommandState::Override, now),
            Decision::DoubtResolved => {
                self.journal[last_index.unwrap()].state = OutputCommandState::Verified
            }
            Decision::Send { step } => {
                if let Some(i) = last_index.filter(|_| journaled(&history, false).in_doubt) {
                    self.journal[i].state = superseded(self.journal[i].state);
                }
                self.push(key, OutputCommandState::Intent, now);
                if crash == Crash::AfterJournal {
                    return;
                }
                self.unit_on = step == Step::On;
                self.delivered.push((key, step));
                if crash == Crash::AfterSend {
                    return;
                }
                self.journal.last_mut().unwrap().state = OutputCommandState::Verified;
            }
            Decision::Nothing | Decision::GiveUp => {}
            other => panic!("unexpected decision for an ON/OFF output: {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn desired_state_at_any_instant_is_the_union_rule(
        stays in stays_strategy(),
        rule in rule_strategy(),
        probes in prop::collection::vec(-1_000i64..30_000, 40),
    ) {
        let windows = plan::windows(rule, &selection(), &stays);
        // Every boundary and its neighbours, plus random instants.
        let mut instants: Vec<DateTime<Utc>> = probes.into_iter().map(at).collect();
        for w in &windows {
            for edge in [w.on, w.off] {
                instants.extend([edge - Duration::seconds(1), edge, edge + Duration::seconds(1)]);
            }
        }
        for t in instants {
            prop_assert_eq!(plan::desired_at(&windows, t), oracle(rule, &stays, t), "at {}", t);
        }
    }

    #[test]
    fn one_on_and_one_off_per_merged_interval(
        stays in stays_strategy(),
        rule in rule_strategy(),
        ticks in prop::collection::vec(-1_000i64..30_000, 1..80),
    ) {
        let windows = plan::windows(rule, &selection(), &stays);
        // Disjoint, sorted, never touching: touching windows would flap OFF and ON at once.
        for pair in windows.windows(2) {
            prop_assert!(pair[0].off < pair[1].on);
        }
        let transitions = plan::transitions(rule, &selection(), &stays);
        prop_assert_eq!(transitions.len(), windows.len() * 2);
        // A driver that checks at arbitrary instants sends at most one ON and one OFF per
        // window, whatever the number of checks.
        let mut sim = Sim::default();
        let mut ticks: Vec<DateTime<Utc>> = ticks.into_iter().map(at).collect();
        ticks.sort();
        for now in ticks {
            sim.step(&transitions, now, Crash::None);
        }
        for window in &windows {
            let ons = sim.delivered.iter().filter(|(k, s)| *k == window.on && *s == Step::On).count();
            let offs = sim.delivered.iter().filter(|(k, s)| *k == window.off && *s == Step::Off).count();
            prop_assert!(ons <= 1 && offs <= 1, "window {:?}: {} ON, {} OFF", window, ons, offs);
        }
        prop_assert!(sim.delivered.len() <= transitions.len() + 1);
    }

    #[test]
    fn a_crash_at_any_point_then_a_restart_reaches_the_plan_without_a_duplicate(
        stays in stays_strategy(),
        rule in rule_strategy(),
        ticks in prop::collection::vec((-1_000i64..30_000, 0u8..3), 1..60),
    ) {
        let windows = plan::windows(rule, &selection(), &stays);
        let transitions = plan::transitions(rule, &selection(), &stays);
        let mut sim = Sim::default();
        let mut ticks: Vec<(DateTime<Utc>, Crash)> = ticks
            .into_iter()
            .map(|(t, c)| (at(t), [Crash::None, Crash::AfterJournal, Crash::AfterSend][c as usize]))
            .collect();
        ticks.sort_by_key(|(t, _)| *t);
        for (now, crash) in &ticks {
            sim.step(&transitions, *now, *crash);
        }
        // The restart: one step with no crash.
        let last = ticks.last().unwrap().0;
        sim.step(&transitions, last, Crash::None);
        prop_assert_eq!(sim.unit_on, plan::desired_at(&windows, last));
        let mut keys: Vec<DateTime<Utc>> = sim.delivered.iter().map(|(k, _)| *k).collect();
        let all = keys.len();
        keys.dedup();
        prop_assert_eq!(keys.len(), all, "a transition was sent twice: {:?}", sim.delivered);
    }
}

#[test]
fn stays_closer_than_the_merge_gap_stay_on_in_between_and_others_do_not() {
    let rule = window_rule(360, 60, 720);
    // 4 h between the first two stays (< 12 h): one window; 2 days to the third: its own.
    let stays = [
        stay(1, 0, 1_000),
        stay(2, 1_240, 1_000),
        stay(1, 5_120, 600),
    ];
    let windows = plan::windows(rule, &selection(), &stays);
    assert_eq!(
        windows,
        vec![
            Window {
                on: at(-360),
                off: at(2_300)
            },
            Window {
                on: at(4_760),
                off: at(5_780)
            },
        ]
    );
    // A stay on another object drives nothing.
    assert!(plan::windows(rule, &selection(), &[stay(3, 0, 10)]).is_empty());
}

#[test]
fn pulses_fire_once_per_distinct_start_and_late_ones_are_skipped() {
    let stays = [stay(1, 100, 50), stay(2, 100, 80), stay(1, 400, 10)];
    let transitions = plan::transitions(Rule::Pulse { seconds: 5 }, &selection(), &stays);
    assert_eq!(transitions.len(), 2);
    let position = plan::position(&transitions, at(101));
    let fresh = decide::decide(&position, true, Default::default(), false, at(101));
    assert_eq!(
        fresh,
        Decision::Send {
            step: Step::Pulse(5)
        }
    );
    let late = decide::decide(
        &plan::position(&transitions, at(130)),
        true,
        Default::default(),
        false,
        at(130),
    );
    assert_eq!(late, Decision::SkipLatePulse);
    let before = decide::decide(
        &plan::position(&transitions, at(50)),
        true,
        Default::default(),
        false,
        at(50),
    );
    assert_eq!(before, Decision::Nothing);
}

#[test]
fn a_person_s_switch_is_left_alone_until_the_next_transition() {
    let stays = [stay(1, 100, 100)];
    let transitions = plan::transitions(window_rule(0, 0, 0), &selection(), &stays);
    let mut sim = Sim::default();
    sim.step(&transitions, at(100), Crash::None);
    assert!(sim.unit_on);
    // Someone calls the unit and switches it off during the stay.
    sim.unit_on = false;
    sim.step(&transitions, at(120), Crash::None);
    sim.step(&transitions, at(150), Crash::None);
    assert!(!sim.unit_on, "flexysync switched it back on");
    assert_eq!(
        sim.journal
            .iter()
            .filter(|c| c.state == OutputCommandState::Override)
            .count(),
        1
    );
    // Switched on by hand again: the OFF at the stay's end still happens.
    sim.unit_on = true;
    sim.step(&transitions, at(200), Crash::None);
    assert!(!sim.unit_on);
    assert_eq!(
        sim.delivered,
        vec![(at(100), Step::On), (at(200), Step::Off)]
    );
}
