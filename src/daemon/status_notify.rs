//! The status page's section about guests and alerts: check-ins, no-shows, guests locked out,
//! double bookings, and notifications not (yet) delivered. Its own file so that the page's
//! other sections change without touching it.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::status_page::{cell, escape};
use crate::ledger::{Delivery, DeliveryState, Ledger, LedgerError};
use crate::notify::{Event, EventKind};

/// How far back the section looks.
const LOOKBACK: Duration = Duration::days(3);
const GUEST_KINDS: [EventKind; 5] = [
    EventKind::GuestCheckedIn,
    EventKind::GuestNoShow,
    EventKind::GuestDenied,
    EventKind::StayDoubleBooked,
    EventKind::ArrivalUnconfirmed,
];

#[derive(Debug, Clone, Default, Serialize)]
pub struct NotifyView {
    pub activity: Vec<ActivityRow>,
    /// Deliveries pending or failed, newest first.
    pub undelivered: Vec<UndeliveredRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActivityRow {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub headline: String,
    pub object: String,
    pub guest: String,
    pub urgent: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct UndeliveredRow {
    pub event: String,
    pub kind: String,
    pub target: String,
    pub state: String,
    pub attempts: u32,
    pub error: String,
}

fn activity_row(event: &Event) -> ActivityRow {
    let d = &event.details;
    let mut guest = d.label.clone().unwrap_or_default();
    if let Some(other) = &d.other {
        guest = format!("{guest} ⟷ {} ({})", other.label, other.source);
    }
    ActivityRow {
        at: d.at.unwrap_or(event.occurred_at),
        kind: event.kind.as_str().to_owned(),
        headline: event.kind.headline().to_owned(),
        object: d
            .object
            .as_ref()
            .map(|o| {
                if o.name.is_empty() {
                    format!("object {}", o.id)
                } else {
                    o.name.clone()
                }
            })
            .unwrap_or_default(),
        guest,
        urgent: event.kind.is_urgent(),
    }
}

fn undelivered_row(delivery: &Delivery) -> UndeliveredRow {
    UndeliveredRow {
        event: delivery.event.id.clone(),
        kind: delivery.event.kind.as_str().to_owned(),
        target: delivery.target.clone(),
        state: delivery.state.as_str().to_owned(),
        attempts: delivery.attempts,
        error: delivery.last_error.clone().unwrap_or_default(),
    }
}

/// Gathers the section from the ledger.
pub async fn gather(ledger: &Ledger, now: DateTime<Utc>) -> Result<NotifyView, LedgerError> {
    let events = ledger
        .recent_events(&GUEST_KINDS, now - LOOKBACK, 50)
        .await?;
    let mut undelivered: Vec<UndeliveredRow> = Vec::new();
    for state in [DeliveryState::Failed, DeliveryState::Pending] {
        let rows = ledger.list_deliveries(Some(state), 20).await?;
        undelivered.extend(rows.iter().map(undelivered_row));
    }
    Ok(NotifyView {
        activity: events.iter().map(activity_row).collect(),
        undelivered,
    })
}

/// The section's HTML.
pub fn render(view: &NotifyView, tz: chrono_tz::Tz) -> String {
    let time = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %d %b %H:%M").to_string();
    let mut html = String::from("<h2>Guests and alerts</h2>\n");
    if view.activity.is_empty() {
        html.push_str(
            "<p>No check-ins, no-shows, denials or double bookings in the last three days.</p>\n",
        );
    } else {
        html.push_str("<table class=\"stack\"><tr><th>When</th><th>What</th><th>Object</th><th>Guest</th></tr>\n");
        for row in &view.activity {
            let class = if row.urgent { " class=\"bad\"" } else { "" };
            let _ = writeln!(
                html,
                "<tr{class}>{}{}{}{}</tr>",
                cell("When", &escape(&time(row.at))),
                cell("What", &escape(&row.headline)),
                cell("Object", &escape(&row.object)),
                cell("Guest", &escape(&row.guest))
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str("<h2>Notifications not delivered</h2>\n");
    if view.undelivered.is_empty() {
        html.push_str("<p class=\"ok\">None.</p>\n");
    } else {
        html.push_str("<table class=\"stack\"><tr><th>Event</th><th>Target</th><th>State</th><th>Tries</th><th>Last error</th></tr>\n");
        for row in &view.undelivered {
            let class = if row.state == "failed" { "bad" } else { "warn" };
            let _ = writeln!(
                html,
                "<tr>{}{}<td data-label=\"State\" class=\"{class}\">{}</td>{}{}</tr>",
                cell(
                    "Event",
                    &format!("{} {}", escape(&row.kind), escape(&row.event))
                ),
                cell("Target", &escape(&row.target)),
                escape(&row.state),
                cell("Tries", &row.attempts.to_string()),
                cell("Last error", &escape(&row.error))
            );
        }
        html.push_str("</table>\n");
    }
    html
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::notify::{EventDetails, EventObject, OtherStay};

    #[test]
    fn denials_and_double_bookings_are_red_and_text_is_escaped() {
        let at = Utc.with_ymd_and_hms(2026, 7, 1, 13, 5, 0).unwrap();
        let event = |kind, label: &str, other| Event {
            id: "evt_x".into(),
            kind,
            occurred_at: at,
            details: EventDetails {
                object: Some(EventObject {
                    id: 123,
                    name: "Cabin 7".into(),
                    timezone: None,
                }),
                label: Some(label.into()),
                other,
                ..EventDetails::default()
            },
        };
        let view = NotifyView {
            activity: vec![
                activity_row(&event(EventKind::GuestDenied, "<b>Anna</b>", None)),
                activity_row(&event(EventKind::GuestCheckedIn, "Erik", None)),
                activity_row(&event(
                    EventKind::StayDoubleBooked,
                    "Airbnb guest",
                    Some(OtherStay {
                        source: "bookingcom".into(),
                        label: "B.com guest".into(),
                        start: at,
                        end: at,
                    }),
                )),
            ],
            undelivered: vec![],
        };
        let html = render(&view, chrono_tz::Europe::Stockholm);
        assert!(html.contains("<tr class=\"bad\"><td data-label=\"When\">Wed 01 Jul 15:05</td><td data-label=\"What\">Guest locked out</td><td data-label=\"Object\">Cabin 7</td><td data-label=\"Guest\">&lt;b&gt;Anna&lt;/b&gt;</td></tr>"), "{html}");
        assert!(
            html.contains(
                "<tr><td data-label=\"When\">Wed 01 Jul 15:05</td><td data-label=\"What\">Guest checked in</td>"
            ),
            "{html}"
        );
        assert!(
            html.contains("Airbnb guest ⟷ B.com guest (bookingcom)"),
            "{html}"
        );
        assert!(html.contains("Notifications not delivered</h2>\n<p class=\"ok\">None."));
    }
}
