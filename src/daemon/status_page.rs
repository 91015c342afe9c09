//! The status page: server-rendered HTML, no JavaScript, readable at a glance by a host whose
//! guest stands at the door. Arrivals within 24 hours without a confirmed booking are red.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Everything the page shows, gathered from the ledger by the caller.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusView {
    pub sources: Vec<SourceRow>,
    pub arrivals: Vec<ArrivalRow>,
    pub held: Vec<HeldRow>,
    pub errors: Vec<ErrorRow>,
    pub passes: Vec<PassRow>,
    /// One timeline per door for the next 14 days (see `timeline.rs`).
    pub timelines: Vec<super::timeline::DoorTimeline>,
    /// Guests and alerts (check-ins, no-shows, denials, double bookings; undelivered events).
    pub notify: super::status_notify::NotifyView,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceRow {
    pub name: String,
    pub last_fresh: Option<DateTime<Utc>>,
    /// fresh, unchanged, failed (with the kind of failure: `failed (fetch)`), never read
    pub outcome: String,
    pub reason: Option<String>,
    pub consecutive_failures: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArrivalRow {
    pub source: String,
    pub booking_object_id: i64,
    pub label: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Is a booking for it confirmed at FlexyKey?
    pub confirmed: bool,
    pub state: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeldRow {
    pub source: String,
    pub count: i64,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    pub at: DateTime<Utc>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PassRow {
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub summary: String,
    pub ok: bool,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    match secs {
        s if s < 0 => "in the future".to_owned(),
        s if s < 120 => format!("{s} s ago"),
        s if s < 7200 => format!("{} min ago", s / 60),
        s if s < 172_800 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// A cell of a `stack` table: on a phone it shows its column's name before its `html`.
pub(super) fn cell(label: &str, html: &str) -> String {
    format!("<td data-label=\"{label}\">{html}</td>")
}

/// Renders the page. `tz` is the zone times are shown in.
pub fn render(view: &StatusView, now: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    let time = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %d %b %H:%M").to_string();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"refresh\" content=\"60\"><title>flexysync status</title><style>\
body{{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;background:#fff}}\
table{{border-collapse:collapse;margin-bottom:1.5rem;min-width:40rem}}\
th,td{{text-align:left;padding:.3rem .7rem;border-bottom:1px solid #ddd}}\
th{{background:#f3f3f3}}.bad{{background:#fdd;color:#900;font-weight:bold}}\
.ok{{color:#070}}.warn{{color:#a60}}h1{{font-size:1.4rem}}h2{{font-size:1.1rem;margin-top:1.5rem}}\
@media (max-width:40rem){{body{{margin:.8rem}}table{{min-width:0;width:100%}}\
th,td{{padding:.25rem .4rem}}td:last-child{{overflow-wrap:anywhere}}\
table.stack,table.stack tbody,table.stack tr,table.stack td{{display:block}}\
table.stack tr:first-child{{display:none}}table.stack tr{{border-bottom:1px solid #ddd;padding:.3rem 0}}\
table.stack td{{border:0;padding:.1rem .4rem}}\
table.stack td[data-label]::before{{content:attr(data-label) \": \";color:#666;font-weight:normal}}}}\
</style></head><body>\n<h1>flexysync status</h1>\n<p>As of {} ({}).</p>\n",
        escape(&time(now)),
        escape(tz.name())
    );
    let source_names: Vec<String> = view.sources.iter().map(|s| s.name.clone()).collect();
    html.push_str(&super::timeline::render(
        &view.timelines,
        &source_names,
        now,
        tz,
    ));

    html.push_str("<h2>Sources</h2>\n<table><tr><th>Source</th><th>Last fresh read</th><th>Outcome</th><th>Note</th></tr>\n");
    for source in &view.sources {
        let class = if source.outcome.starts_with("failed") {
            "bad"
        } else {
            "ok"
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{}</td></tr>",
            escape(&source.name),
            source
                .last_fresh
                .map(|t| ago(now, t))
                .unwrap_or_else(|| "never".into()),
            escape(&source.outcome),
            escape(&match (&source.reason, source.consecutive_failures) {
                (Some(reason), n) if n > 0 => format!(
                    "{reason} ({} in a row)",
                    crate::text::count(n, crate::text::FAILURE)
                ),
                (Some(reason), _) => reason.clone(),
                (None, _) => String::new(),
            }),
        );
    }
    html.push_str("</table>\n");

    // On a phone each arrival stacks into a card, its cells labelled (the `stack` style).
    html.push_str("<h2>Upcoming arrivals</h2>\n<table class=\"stack\"><tr><th>Arrival</th><th>Departure</th><th>Object</th><th>Guest</th><th>Booking</th></tr>\n");
    for arrival in &view.arrivals {
        let soon = arrival.start - now <= chrono::Duration::hours(24);
        let class = if !arrival.confirmed && soon {
            " class=\"bad\""
        } else {
            ""
        };
        let _ = writeln!(
            html,
            "<tr{class}>{}{}{}{}{}</tr>",
            cell("Arrival", &escape(&time(arrival.start))),
            cell("Departure", &escape(&time(arrival.end))),
            cell("Object", &arrival.booking_object_id.to_string()),
            cell("Guest", &escape(&arrival.label)),
            cell("Booking", &escape(&arrival.state)),
        );
    }
    if view.arrivals.is_empty() {
        html.push_str("<tr><td colspan=\"5\">No arrivals within the horizon.</td></tr>\n");
    }
    html.push_str("</table>\n");

    html.push_str("<h2>Held deletions</h2>\n");
    if view.held.is_empty() {
        html.push_str("<p class=\"ok\">None.</p>\n");
    } else {
        html.push_str("<table><tr><th>Source</th><th>Held</th><th>Why</th></tr>\n");
        for held in &view.held {
            let _ = writeln!(
                html,
                "<tr class=\"bad\"><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&held.source),
                held.count,
                escape(&held.why)
            );
        }
        html.push_str("</table>\n");
    }

    // Guests and alerts: a section of its own (status_notify.rs).
    html.push_str(&super::status_notify::render(&view.notify, tz));

    html.push_str("<h2>Recent errors</h2>\n");
    if view.errors.is_empty() {
        html.push_str("<p class=\"ok\">None.</p>\n");
    } else {
        html.push_str("<table><tr><th>When</th><th>Error</th></tr>\n");
        for error in &view.errors {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td class=\"warn\">{}</td></tr>",
                escape(&time(error.at)),
                escape(&error.message)
            );
        }
        html.push_str("</table>\n");
    }

    html.push_str(
        "<h2>Last passes</h2>\n<table><tr><th>Started</th><th>Took</th><th>Result</th></tr>\n",
    );
    for pass in &view.passes {
        let took = pass
            .finished
            .map(|f| {
                format!(
                    "{:.1} s",
                    (f - pass.started).num_milliseconds() as f64 / 1000.0
                )
            })
            .unwrap_or_else(|| "running".into());
        let class = if pass.ok { "ok" } else { "bad" };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{took}</td><td class=\"{class}\">{}</td></tr>",
            escape(&time(pass.started)),
            escape(&pass.summary)
        );
    }
    html.push_str("</table>\n</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn soon_unconfirmed_arrivals_are_red_and_text_is_escaped() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        let arrival = |hours: i64, confirmed: bool, label: &str| ArrivalRow {
            source: "cabin".into(),
            booking_object_id: 123,
            label: label.into(),
            start: now + chrono::Duration::hours(hours),
            end: now + chrono::Duration::hours(hours + 48),
            confirmed,
            state: if confirmed {
                "booked".into()
            } else {
                "not booked".into()
            },
        };
        let view = StatusView {
            arrivals: vec![
                arrival(5, false, "<script>Soon</script>"),
                arrival(6, true, "Booked soon"),
                arrival(72, false, "Later"),
            ],
            ..StatusView::default()
        };
        let html = render(&view, now, chrono_tz::Europe::Stockholm);
        assert!(html.contains("&lt;script&gt;Soon"), "{html}");
        assert!(!html.contains("<script>"));
        let red_rows: Vec<&str> = html
            .lines()
            .filter(|l| l.starts_with("<tr class=\"bad\""))
            .collect();
        assert_eq!(red_rows.len(), 1, "{red_rows:?}");
        assert!(red_rows[0].contains("Soon"));
    }
}
