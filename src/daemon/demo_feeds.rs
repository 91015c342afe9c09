//! The demo's calendars: the bundled templates in `config/demo/`, served over loopback HTTP
//! with dates relative to today, and changed between the demo's two passes the way a real
//! feed changes (one stay cancelled, one moved).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{Duration, NaiveDate, Utc};

const AIRBNB: &str = include_str!("../../config/demo/airbnb.ics");
const BOOKING: &str = include_str!("../../config/demo/booking.ics");
const CLEANING: &str = include_str!("../../config/demo/cleaning.ics");

/// The Airbnb stay the second pass cancels, and the one it moves a day later.
pub const CANCELLED_UID: &str = "1418fb94e984-aa11c0ffee0000000000000000000002@airbnb.com";
pub const MOVED_UID: &str = "1418fb94e984-bb22c0ffee0000000000000000000003@airbnb.com";

#[derive(Debug, Default)]
struct Changes {
    cancelled: bool,
    moved: bool,
}

/// The demo feed server's state: today's date and what has changed.
#[derive(Clone)]
pub struct DemoFeeds {
    today: NaiveDate,
    changes: Arc<Mutex<Changes>>,
}

impl DemoFeeds {
    pub fn new(today: NaiveDate) -> Self {
        DemoFeeds {
            today,
            changes: Arc::default(),
        }
    }

    /// The feed names and their rendered text, as served now.
    pub fn feeds(&self) -> BTreeMap<&'static str, String> {
        let changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        let mut airbnb = AIRBNB.to_owned();
        if changes.cancelled {
            airbnb = remove_event(&airbnb, CANCELLED_UID);
        }
        if changes.moved {
            airbnb = shift_event(&airbnb, MOVED_UID, 1);
        }
        [
            ("airbnb", airbnb),
            ("booking", BOOKING.to_owned()),
            ("cleaning", CLEANING.to_owned()),
        ]
        .into_iter()
        .map(|(name, text)| (name, render(&text, self.today)))
        .collect()
    }

    /// Cancels one Airbnb stay and moves another by a day.
    pub fn change(&self) {
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        changes.cancelled = true;
        changes.moved = true;
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/{file}", get(serve))
            .with_state(self.clone())
    }
}

async fn serve(State(feeds): State<DemoFeeds>, Path(file): Path<String>) -> impl IntoResponse {
    let name = file.strip_suffix(".ics").unwrap_or(&file);
    match feeds.feeds().remove(name) {
        Some(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
            text,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Replaces `{{day+N}}` with the date N days after `today` (`YYYYMMDD`) and `{{stamp}}` with
/// the current UTC time in iCalendar form.
pub fn render(template: &str, today: NaiveDate) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let token = &rest[start + 2..start + end];
        match token {
            "stamp" => out.push_str(&Utc::now().format("%Y%m%dT%H%M%SZ").to_string()),
            _ => {
                let days = token
                    .strip_prefix("day+")
                    .and_then(|n| n.parse::<i64>().ok())
                    .unwrap_or(0);
                let date = today + Duration::days(days);
                out.push_str(&date.format("%Y%m%d").to_string());
            }
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

fn event_bounds(text: &str, uid: &str) -> Option<(usize, usize)> {
    let at = text.find(&format!("UID:{uid}"))?;
    let start = text[..at].rfind("BEGIN:VEVENT")?;
    let end = at + text[at..].find("END:VEVENT\n")? + "END:VEVENT\n".len();
    Some((start, end))
}

fn remove_event(text: &str, uid: &str) -> String {
    match event_bounds(text, uid) {
        Some((start, end)) => format!("{}{}", &text[..start], &text[end..]),
        None => text.to_owned(),
    }
}

/// Moves an event's `{{day+N}}` dates by `days`.
fn shift_event(text: &str, uid: &str, days: i64) -> String {
    let Some((start, end)) = event_bounds(text, uid) else {
        return text.to_owned();
    };
    let mut event = String::new();
    let mut rest = &text[start..end];
    while let Some(at) = rest.find("{{day+") {
        event.push_str(&rest[..at]);
        let close = rest[at..].find("}}").map(|c| at + c).unwrap_or(rest.len());
        let n: i64 = rest[at + 6..close].parse().unwrap_or(0);
        event.push_str(&format!("{{{{day+{}}}}}", n + days));
        rest = rest.get(close + 2..).unwrap_or("");
    }
    event.push_str(rest);
    format!("{}{}{}", &text[..start], event, &text[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_relative_dates_and_changes_apply() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let feeds = DemoFeeds::new(today);
        let before = feeds.feeds();
        assert!(before["airbnb"].contains("DTSTART;VALUE=DATE:20261128"));
        assert!(!before["airbnb"].contains("{{"));
        assert!(before["airbnb"].contains(CANCELLED_UID));
        assert!(before["cleaning"].contains("DTSTART;TZID=Europe/Stockholm:20261128T100000"));
        feeds.change();
        let after = feeds.feeds();
        assert!(!after["airbnb"].contains(CANCELLED_UID));
        // The moved stay (day+11 to day+14) now starts on day+12.
        assert!(after["airbnb"].contains("DTSTART;VALUE=DATE:20261209"));
        assert!(!after["airbnb"].contains("DTSTART;VALUE=DATE:20261208"));
        assert_eq!(
            before["booking"].lines().count(),
            after["booking"].lines().count()
        );
    }
}
