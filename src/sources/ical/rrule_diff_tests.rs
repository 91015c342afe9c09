//! The simple engine against calcard's: for thousands of generated series and for every RRULE
//! of the fixtures and of `../shared/corpus/ical`, `expand_rule` answers the same whichever
//! engine makes the starts.

use calcard::icalendar::ICalendarRecurrenceRule;
use chrono::{Duration, FixedOffset, Months, NaiveDate, NaiveDateTime};

use super::super::rrule_simple::SimpleRule;
use super::super::rule_text::parse_rule;
use super::super::zone::Zone;
use super::{Engine, Expansion, RuleClock, Series, expand_with};

/// A small deterministic generator (xorshift), so that a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n as u64).expect("small")
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, in_four: usize) -> bool {
        self.below(4) < in_four
    }
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("date-time")
}

/// Both engines' answers for one series; panics with the case when they differ.
fn same_answer(
    rule: &ICalendarRecurrenceRule,
    text: &str,
    start: NaiveDateTime,
    clock: &RuleClock<'_>,
    window: (NaiveDateTime, NaiveDateTime),
    max_iterations: usize,
) -> Result<Expansion, String> {
    let series = Series {
        start,
        clock,
        keep_from: window.0,
        cutoff: window.1,
        max_iterations,
    };
    let fast = expand_with(Engine::SimpleWhereItFits, rule, &series);
    let slow = expand_with(Engine::CalcardOnly, rule, &series);
    assert_eq!(
        fast,
        slow,
        "RRULE:{text} from {start} (all day: {}), keep from {}, cutoff {}, cap {max_iterations}",
        clock.zone.is_none(),
        window.0,
        window.1
    );
    slow
}

/// UNTIL for a case: before, on or after DTSTART, or on an instance, in one of the three forms.
fn until_text(dice: &mut Dice, start: NaiveDateTime, freq: &str, interval: u32) -> String {
    let steps = u32::try_from(dice.below(12)).expect("small") * interval;
    let on_instance = match freq {
        "DAILY" => start.checked_add_signed(Duration::days(i64::from(steps))),
        "WEEKLY" => start.checked_add_signed(Duration::weeks(i64::from(steps))),
        "MONTHLY" => start.checked_add_months(Months::new(steps)),
        _ => start.checked_add_months(Months::new(steps * 12)),
    }
    .expect("in range");
    let hours = i64::try_from(dice.below(30_000)).expect("small");
    let until = match dice.below(6) {
        0 => start - Duration::days(1),
        1 => start - Duration::seconds(1),
        2 => start,
        3 | 4 => on_instance,
        _ => start + Duration::hours(hours),
    };
    match dice.below(3) {
        0 => until.format("%Y%m%dT%H%M%S").to_string(),
        1 => until.format("%Y%m%dT%H%M%SZ").to_string(),
        _ => until.format("%Y%m%d").to_string(),
    }
}

fn random_start(dice: &mut Dice, all_day: bool) -> NaiveDateTime {
    let edges = [
        "2024-02-29",
        "2024-01-31",
        "2024-03-30",
        "2023-12-28",
        "2025-08-29",
        "2025-10-31",
        "2026-02-28",
        "2020-12-31",
        "2025-05-31",
        "2021-11-30",
    ];
    let day = if dice.chance(2) {
        NaiveDate::parse_from_str(dice.pick(&edges), "%Y-%m-%d").expect("date")
    } else {
        let first = NaiveDate::from_ymd_opt(2018, 1, 1).expect("date");
        first + Duration::days(i64::try_from(dice.below(3650)).expect("small"))
    };
    let time = if all_day {
        "00:00:00"
    } else {
        dice.pick(&["00:00:00", "09:30:00", "13:07:59", "23:59:59", "17:00:01"])
    };
    at(&format!("{day} {time}"))
}

fn random_rule(dice: &mut Dice, start: NaiveDateTime) -> String {
    let freq = dice.pick(&["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]);
    let interval = dice.pick(&[0, 1, 1, 2, 3, 4, 5]);
    let mut parts = vec![format!("FREQ={freq}")];
    if interval > 0 {
        parts.push(format!("INTERVAL={interval}"));
    }
    let days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
    if dice.chance(2) {
        parts.push(format!("WKST={}", dice.pick(&days)));
    }
    // BYDAY mostly on WEEKLY; elsewhere, or with an ordinal, the rule goes to calcard.
    if (freq == "WEEKLY" && dice.chance(3)) || dice.below(10) == 0 {
        let chosen: Vec<&str> = days.iter().copied().filter(|_| dice.chance(2)).collect();
        let mut byday = if chosen.is_empty() {
            vec!["SA"]
        } else {
            chosen
        };
        if dice.below(10) == 0 {
            byday.push("2TU");
        }
        parts.push(format!("BYDAY={}", byday.join(",")));
    }
    if dice.chance(2) {
        parts.push(format!("COUNT={}", 1 + dice.below(40)));
    }
    if dice.chance(2) {
        let until = until_text(dice, start, freq, interval.max(1));
        parts.push(format!("UNTIL={until}"));
    }
    if dice.below(20) == 0 {
        parts.push("BYMONTHDAY=15".to_owned());
    }
    parts.join(";")
}

#[test]
fn simple_engine_answers_as_calcard_on_generated_series() {
    let oslo = Zone::Iana(chrono_tz::Europe::Oslo);
    let utc = Zone::Iana(chrono_tz::UTC);
    let kolkata = Zone::Fixed(FixedOffset::east_opt(5 * 3600 + 1800).expect("offset"));
    let mut dice = Dice(0x5eed_1234_abcd_0001);
    let (mut simple, mut made, mut truncated) = (0, 0, 0);
    for _ in 0..12_000 {
        let all_day = dice.chance(1);
        let clock = RuleClock {
            zone: if all_day {
                None
            } else {
                Some(dice.pick(&[&oslo, &utc, &kolkata]))
            },
            date_zone: dice.pick(&[&oslo, &utc]),
        };
        let start = random_start(&mut dice, all_day);
        let text = random_rule(&mut dice, start);
        let mut rule = parse_rule(&text, &mut vec![]).expect("readable rule");
        if dice.below(40) == 0 {
            rule.count = Some(0);
        }
        let days = |n: usize| Duration::days(i64::try_from(n).expect("small"));
        let keep_from = match dice.below(3) {
            0 => start - days(10),
            1 => start,
            _ => start + days(dice.below(1500)),
        };
        let cutoff = match dice.below(4) {
            0 => start - days(1),
            1 => keep_from + days(400),
            _ => start + days(dice.below(2000)) + Duration::seconds(59),
        };
        let cap = dice.pick(&[0, 1, 2, 3, 7, 20, 100, 5000]);
        let answer = same_answer(&rule, &text, start, &clock, (keep_from, cutoff), cap);
        simple += usize::from(SimpleRule::of(&rule).is_some());
        if let Ok(expansion) = answer {
            made += usize::from(!expansion.starts.is_empty());
            truncated += usize::from(expansion.truncated);
        }
    }
    // The comparison means something only if the fast path ran on many series that made starts.
    assert!(simple > 8_000, "only {simple} simple rules");
    assert!(made > 5_000, "only {made} series made starts");
    assert!(truncated > 1_000, "only {truncated} series truncated");
}

/// RFC 5545 §3.3.10's WKST example, and months without DTSTART's day, on the simple engine.
#[test]
fn simple_engine_keeps_rfc_examples() {
    let utc = Zone::Iana(chrono_tz::UTC);
    let clock = RuleClock {
        zone: Some(&utc),
        date_zone: &utc,
    };
    let cases = [
        (
            "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
            "1997-08-05 09:00:00",
            vec!["1997-08-05", "1997-08-10", "1997-08-19", "1997-08-24"],
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
            "1997-08-05 09:00:00",
            vec!["1997-08-05", "1997-08-17", "1997-08-19", "1997-08-31"],
        ),
        (
            "FREQ=MONTHLY;COUNT=4",
            "2024-01-31 09:00:00",
            vec!["2024-01-31", "2024-03-31", "2024-05-31", "2024-07-31"],
        ),
        (
            "FREQ=YEARLY;UNTIL=20330101T000000Z",
            "2024-02-29 09:00:00",
            vec!["2024-02-29", "2028-02-29", "2032-02-29"],
        ),
    ];
    for (text, start, days) in cases {
        let rule = parse_rule(text, &mut vec![]).expect("readable rule");
        assert!(SimpleRule::of(&rule).is_some(), "{text} is simple");
        let start = at(start);
        let window = (start, at("2040-01-01 00:00:00"));
        let expansion = same_answer(&rule, text, start, &clock, window, 5000).expect("expanded");
        let got: Vec<String> = expansion
            .starts
            .iter()
            .map(|s| s.date().to_string())
            .collect();
        assert_eq!(got, days, "{text}");
    }
}

/// The RRULE and DTSTART values of each VEVENT in `text` (unfolded, parameters dropped).
fn rules_with_starts(text: &str) -> Vec<(String, Option<NaiveDateTime>)> {
    let unfolded = text
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "")
        .replace("\n\t", "");
    let (mut found, mut rules, mut start) = (Vec::new(), Vec::new(), None);
    for line in unfolded.lines() {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let name = name.split(';').next().unwrap_or("").to_ascii_uppercase();
        match name.as_str() {
            "BEGIN" => (rules, start) = (Vec::new(), None),
            "RRULE" => rules.push(value.to_owned()),
            "DTSTART" => {
                let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                let padded = format!("{digits:0<14}");
                start = NaiveDateTime::parse_from_str(&padded, "%Y%m%d%H%M%S").ok();
            }
            "END" => found.extend(rules.drain(..).map(|rule| (rule, start))),
            _ => {}
        }
    }
    found
}

#[test]
fn simple_engine_answers_as_calcard_on_fixture_and_corpus_rules() {
    let files = crate::sources::ical::test_support::calendar_files(&[
        "tests/fixtures/ical",
        "../shared/corpus/ical",
    ]);
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/ical");
    if !corpus.is_dir() {
        eprintln!(
            "{} is absent: only the fixtures' rules are compared",
            corpus.display()
        );
    }
    let oslo = Zone::Iana(chrono_tz::Europe::Oslo);
    let clocks = [
        RuleClock {
            zone: Some(&oslo),
            date_zone: &oslo,
        },
        RuleClock {
            zone: None,
            date_zone: &oslo,
        },
    ];
    let (mut compared, mut simple) = (0, 0);
    for file in &files {
        let bytes = std::fs::read(file).expect("calendar");
        for (text, start) in rules_with_starts(&String::from_utf8_lossy(&bytes)) {
            let Ok(rule) = parse_rule(&text, &mut vec![]) else {
                continue;
            };
            simple += usize::from(SimpleRule::of(&rule).is_some());
            let starts = [
                start,
                Some(at("2024-01-31 09:00:00")),
                Some(at("2024-02-29 00:00:00")),
            ];
            for start in starts.into_iter().flatten() {
                for clock in &clocks {
                    let start = if clock.zone.is_none() {
                        start.date().and_time(chrono::NaiveTime::MIN)
                    } else {
                        start
                    };
                    for (keep_from, cutoff, cap) in [
                        (start, start + Duration::days(3 * 366), 5000),
                        (
                            start + Duration::days(900),
                            start + Duration::days(1300),
                            5000,
                        ),
                        (start, start + Duration::days(3660), 7),
                    ] {
                        let _ = same_answer(&rule, &text, start, clock, (keep_from, cutoff), cap);
                        compared += 1;
                    }
                }
            }
        }
    }
    assert!(compared > 100, "only {compared} series compared");
    assert!(simple > 10, "only {simple} simple rules among the files");
}
