//! A printed start, end or recurrence id as `feed occurrences` holds it: whole days or whole
//! seconds, written digit by digit from the integer (no date type built per value: on a
//! 20,000-event feed the conversions were 5 % of the run).

use chrono::{DateTime, NaiveDate};

use super::expand::When;

/// Days from 0001-01-01 (day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;
const SECONDS_A_DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stamp {
    /// A date, as days from CE (chrono's `num_days_from_ce`).
    Day(i32),
    /// An instant, as seconds from 1970 (UTC).
    Second(i64),
}

impl Stamp {
    pub fn of(when: When) -> Self {
        match when {
            When::Date(date) => Stamp::Day(chrono::Datelike::num_days_from_ce(&date)),
            When::Instant(at) => Stamp::Second(at.timestamp()),
        }
    }

    /// Appends what [`When::write_to`] appends for the same value.
    #[cfg(test)]
    pub fn write_to(self, out: &mut Vec<u8>) {
        self.write_with(out, &mut LastDay::default());
    }

    /// [`Stamp::write_to`], the date's digits taken from `last` when it is the same day (a
    /// sorted listing prints the same few days over and over).
    pub fn write_with(self, out: &mut Vec<u8>, last: &mut LastDay) {
        let (days_from_epoch, time) = match self {
            Stamp::Day(days) => (i64::from(days) - EPOCH_DAYS_FROM_CE, None),
            Stamp::Second(seconds) => (
                seconds.div_euclid(SECONDS_A_DAY),
                Some(seconds.rem_euclid(SECONDS_A_DAY)),
            ),
        };
        if last.days != Some(days_from_epoch) {
            let (year, month, day) = civil_date(days_from_epoch);
            if !(0..=9999).contains(&year) {
                // Printed as chrono prints it (a sign, more digits): never in a real feed.
                self.when().write_to(out);
                return;
            }
            let year = year as u32;
            let [c0, c1] = digits(year / 100);
            let [y0, y1] = digits(year % 100);
            let [m0, m1] = digits(month);
            let [d0, d1] = digits(day);
            last.text = [c0, c1, y0, y1, b'-', m0, m1, b'-', d0, d1];
            last.days = Some(days_from_epoch);
        }
        out.extend_from_slice(&last.text);
        if let Some(time) = time {
            let time = time as u32;
            let [h0, h1] = digits(time / 3600);
            let [n0, n1] = digits(time / 60 % 60);
            let [s0, s1] = digits(time % 60);
            out.extend_from_slice(&[b'T', h0, h1, b':', n0, n1, b':', s0, s1, b'Z']);
        }
    }

    fn when(self) -> When {
        match self {
            Stamp::Day(days) => When::Date(
                NaiveDate::from_num_days_from_ce_opt(days)
                    // Made from valid dates only.
                    .unwrap_or(NaiveDate::MIN),
            ),
            Stamp::Second(seconds) => When::Instant(
                DateTime::from_timestamp(seconds, 0)
                    // Made from valid instants only.
                    .unwrap_or(DateTime::UNIX_EPOCH),
            ),
        }
    }
}

/// The last date printed, as days from 1970 and its ten characters.
#[derive(Debug, Default)]
pub(super) struct LastDay {
    days: Option<i64>,
    text: [u8; 10],
}

fn digits(n: u32) -> [u8; 2] {
    [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]
}

/// (year, month, day) of a day counted from 1970-01-01, in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
fn civil_date(days_from_epoch: i64) -> (i64, u32, u32) {
    let z = days_from_epoch + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).expect("utf-8")
    }

    /// Every day from before year 0 to after 9999 (leap days, century years, the four-digit
    /// edges), and instants around each day's edges.
    #[test]
    fn stamps_print_what_chrono_dates_print() {
        let first = NaiveDate::from_ymd_opt(-2, 12, 25).expect("date");
        let last = NaiveDate::from_ymd_opt(10_001, 1, 3).expect("date");
        let mut date = first;
        let mut compared = 0;
        // Shared by the whole walk, as a listing shares it.
        let mut last_day = LastDay::default();
        while date <= last {
            let day = When::Date(date);
            assert_eq!(
                printed(|out| Stamp::of(day).write_to(out)),
                printed(|out| day.write_to(out))
            );
            for again in [
                day,
                When::Instant(date.and_hms_opt(23, 59, 59).expect("time").and_utc()),
            ] {
                assert_eq!(
                    printed(|out| Stamp::of(again).write_with(out, &mut last_day)),
                    printed(|out| again.write_to(out))
                );
            }
            if compared % 97 == 0 {
                let midnight = date.and_hms_opt(0, 0, 0).expect("time").and_utc();
                for offset in [0, 1, 59, 3_599, 43_210, 86_399] {
                    let at = When::Instant(midnight + chrono::Duration::seconds(offset));
                    assert_eq!(
                        printed(|out| Stamp::of(at).write_to(out)),
                        printed(|out| at.write_to(out))
                    );
                }
            }
            compared += 1;
            date = date.succ_opt().expect("next day");
        }
        assert!(compared > 3_650_000);
        assert_eq!(
            printed(|out| Stamp::Second(-1).write_to(out)),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(
            printed(|out| Stamp::of(When::Date(
                NaiveDate::from_ymd_opt(2024, 2, 29).expect("date")
            ))
            .write_to(out)),
            "2024-02-29"
        );
    }
}
