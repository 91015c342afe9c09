//! The status page's timelines: one server-rendered SVG per door (booking object, by its
//! name) for the next 14 days. Stays coloured by source, outlined by their booking state
//! (dashed: not booked at FlexyKey), the guest's check-in, a no-show and refusals at the door
//! marked on the stay, output ON windows and pulses below them, a switch by hand marked. No
//! JavaScript; labels stay readable at 390 px because the SVG keeps few, large marks and the
//! details are in the HTML legend and `<title>`s. Names and door events come from the ledger
//! (the pass keeps the names, detection writes the events): drawing the page calls no API.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Serialize;

use super::status_page::escape;
use crate::config::Config;
use crate::ledger::{BookingState, Ledger, LedgerError, OutputCommandState};
use crate::notify::EventKind;
use crate::outputs::{self, PLAN_DAYS, Step, Window};

/// How far back door events are looked for: a stay shown may have begun this long ago.
const EVENTS_LOOKBACK: Duration = Duration::days(60);
/// Source colours, in config order (colour-blind-safe Okabe–Ito hues).
const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999933",
];
const ON_COLOUR: &str = "#D55E00";
const CHECKIN_COLOUR: &str = "#111";
const DENIED_COLOUR: &str = "#c00";
const DAY_WIDTH: i64 = 28;
const STYLE: &str = "<style>figure.door{margin:0 0 1.2rem}figure.door figcaption{font-weight:bold;margin:.2rem 0}\
figure.door svg{display:block;width:100%;max-width:48rem;height:auto}\
.legend span{margin-right:.8rem;white-space:nowrap}.legend i{display:inline-block;width:.9em;height:.9em;\
margin-right:.3em;vertical-align:middle;border:1px solid #222}.legend i.unbooked{border:2px dashed #222}\
.legend i.byhand{background:repeating-linear-gradient(45deg,#c00 0 2px,#fff 2px 4px)}\
.legend i.noshow{border:2px dotted #c00}\
ul.outputs{margin:.3rem 0;padding-left:1.2rem}</style>\n";
const WIDTH: i64 = DAY_WIDTH * PLAN_DAYS;

#[derive(Debug, Clone, Default, Serialize)]
pub struct DoorTimeline {
    pub booking_object_id: i64,
    pub name: String,
    pub stays: Vec<TimelineStay>,
    pub outputs: Vec<TimelineOutput>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineStay {
    pub source: String,
    pub label: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// A booking for this version of the stay exists at FlexyKey.
    pub booked: bool,
    /// The guest's first entry.
    pub checked_in: Option<DateTime<Utc>>,
    /// No entry by check-in plus `no_show_hours`.
    pub no_show: bool,
    /// The door refused the guest's phone or tag at these times.
    pub denials: Vec<DateTime<Utc>>,
}

/// What detection told about one stay (by its key).
#[derive(Debug, Clone, Default)]
struct DoorEvents {
    checked_in: Option<DateTime<Utc>>,
    no_show: bool,
    denials: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineOutput {
    pub label: String,
    pub windows: Vec<Window>,
    pub pulses: Vec<DateTime<Utc>>,
    /// A person switched it since flexysync's last command: left alone until `next`.
    pub switched_by_hand: bool,
    pub next: Option<DateTime<Utc>>,
}

/// Gathers the timelines from the ledger: stays, bookings, door events, the output journal and
/// the objects' kept names.
pub async fn gather(
    config: &Config,
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Result<Vec<DoorTimeline>, LedgerError> {
    let horizon = now + Duration::days(PLAN_DAYS);
    let reservations = ledger.reservations().await?;
    let owned = ledger.owned_bookings().await?;
    let told = door_events(ledger, now).await?;
    let mut doors: BTreeMap<i64, DoorTimeline> = BTreeMap::new();
    for stored in &reservations {
        let r = &stored.reservation;
        if r.end <= now || r.start >= horizon {
            continue;
        }
        let booked = owned.iter().any(|b| {
            b.state == BookingState::Active
                && b.reservation_key == r.key
                && b.fingerprint == stored.fingerprint
        });
        let events = told.get(&r.key).cloned().unwrap_or_default();
        door(&mut doors, r.booking_object_id)
            .stays
            .push(TimelineStay {
                source: r.source.clone(),
                label: r.label.clone(),
                start: r.start,
                end: r.end,
                booked,
                checked_in: events.checked_in,
                no_show: events.no_show,
                denials: events.denials,
            });
    }
    let stays = outputs::stays_of(&reservations);
    for target in outputs::targets(&config.outputs) {
        let plan = target.plan(&stays, now);
        let recent = ledger.recent_output_commands(&target.key, 1).await?;
        let output = TimelineOutput {
            label: target.label.clone(),
            windows: plan.windows.clone(),
            pulses: plan
                .upcoming
                .iter()
                .filter(|t| matches!(t.step, Step::Pulse(_)))
                .map(|t| t.at)
                .collect(),
            switched_by_hand: recent.first().is_some_and(|c| {
                c.state == OutputCommandState::Override
                    && Some(c.planned_at) == plan.position.current.map(|t| t.at)
            }),
            next: plan.position.next.map(|t| t.at),
        };
        // Shown on each door that drives it; on every door with stays from its sources.
        let mut objects = target.selection.booking_objects.clone();
        for stay in &stays {
            if target.selection.sources.contains(&stay.source) {
                objects.push(stay.booking_object_id);
            }
        }
        objects.sort_unstable();
        objects.dedup();
        for object in objects {
            door(&mut doors, object).outputs.push(output.clone());
        }
    }
    let names = object_names(ledger, config).await?;
    let mut doors: Vec<DoorTimeline> = doors.into_values().collect();
    for door in &mut doors {
        door.name = names
            .get(&door.booking_object_id)
            .cloned()
            .unwrap_or_else(|| format!("Booking object {}", door.booking_object_id));
        door.stays.sort_by_key(|s| s.start);
    }
    Ok(doors)
}

fn door(doors: &mut BTreeMap<i64, DoorTimeline>, id: i64) -> &mut DoorTimeline {
    doors.entry(id).or_insert_with(|| DoorTimeline {
        booking_object_id: id,
        ..DoorTimeline::default()
    })
}

/// Check-ins, no-shows and denials by the key of their stay.
async fn door_events(
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Result<HashMap<String, DoorEvents>, LedgerError> {
    let kinds = [
        EventKind::GuestCheckedIn,
        EventKind::GuestNoShow,
        EventKind::GuestDenied,
    ];
    let events = ledger
        .recent_events(&kinds, now - EVENTS_LOOKBACK, 2000)
        .await?;
    let mut by_stay: HashMap<String, DoorEvents> = HashMap::new();
    for event in events {
        let Some(key) = event.details.stay.clone() else {
            continue;
        };
        let at = event.details.at.unwrap_or(event.occurred_at);
        let told = by_stay.entry(key).or_default();
        match event.kind {
            EventKind::GuestCheckedIn => told.checked_in = Some(at),
            EventKind::GuestNoShow => told.no_show = true,
            _ => told.denials.push(at),
        }
    }
    for told in by_stay.values_mut() {
        told.denials.sort();
    }
    Ok(by_stay)
}

/// Names the pass keeps from FlexyKey's list, else the webhook sources' object maps.
async fn object_names(
    ledger: &Ledger,
    config: &Config,
) -> Result<BTreeMap<i64, String>, LedgerError> {
    let mut names: BTreeMap<i64, String> = ledger
        .object_names()
        .await?
        .into_iter()
        .filter_map(|kept| Some((kept.booking_object_id, kept.name?)))
        .collect();
    for source in &config.sources {
        for (name, id) in source.objects.iter() {
            names.entry(*id).or_insert_with(|| name.clone());
        }
    }
    Ok(names)
}

/// The "Doors" section: a legend, then one titled SVG per door.
pub fn render(
    doors: &[DoorTimeline],
    sources: &[String],
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> String {
    let mut html = String::from(STYLE);
    html.push_str("<h2>Doors, next 14 days</h2>\n");
    if doors.is_empty() {
        html.push_str("<p>No stays and no outputs within 14 days.</p>\n");
        return html;
    }
    html.push_str("<p class=\"legend\">");
    for (index, source) in sources.iter().enumerate() {
        let _ = write!(
            html,
            "<span><i style=\"background:{}\"></i>{}</span> ",
            colour(index),
            escape(source)
        );
    }
    let _ = writeln!(
        html,
        "<span><i class=\"unbooked\"></i>not booked at FlexyKey</span> \
         <span><i style=\"background:{ON_COLOUR}\"></i>output ON</span> \
         <span><i class=\"byhand\"></i>switched by hand</span> \
         <span><i style=\"background:{CHECKIN_COLOUR};width:.25em\"></i>check-in</span> \
         <span><i class=\"noshow\"></i>no-show</span> \
         <span><i style=\"background:{DENIED_COLOUR};border-radius:50%\"></i>refused at the door</span></p>"
    );
    // Local midnight today: the timeline's left edge.
    let local_today = now.with_timezone(&tz).date_naive();
    let start = tz
        .from_local_datetime(&local_today.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    for door in doors {
        html.push_str(&door_svg(door, sources, start, now, tz));
    }
    html
}

fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// A stay's door events: the check-in as a bar across the stay, refusals as red dots on its
/// lower edge, a no-show as a red dotted outline.
fn door_event_marks(
    svg: &mut String,
    stay: &TimelineStay,
    x: &impl Fn(DateTime<Utc>) -> i64,
    time: &impl Fn(DateTime<Utc>) -> String,
    stays_y: i64,
    row: i64,
) {
    let label = escape(&stay.label);
    if let Some(at) = stay.checked_in {
        let _ = write!(
            svg,
            "<rect class=\"checkin\" x=\"{}\" y=\"{}\" width=\"3\" height=\"{}\" fill=\"{CHECKIN_COLOUR}\" stroke=\"#fff\" stroke-width=\"0.5\">\
<title>{label} checked in {}</title></rect>",
            x(at).saturating_sub(1),
            stays_y - 3,
            row + 6,
            escape(&time(at)),
        );
    }
    if stay.no_show {
        let (left, right) = (x(stay.start), x(stay.end));
        let _ = write!(
            svg,
            "<rect class=\"noshow\" x=\"{left}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"none\" stroke=\"{DENIED_COLOUR}\" stroke-width=\"2\" stroke-dasharray=\"1 2\">\
<title>{label}: no check-in (no-show)</title></rect>",
            stays_y - 2,
            (right - left).max(2),
            row + 4,
        );
    }
    for at in &stay.denials {
        let _ = write!(
            svg,
            "<circle class=\"denied\" cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{DENIED_COLOUR}\" stroke=\"#fff\" stroke-width=\"1\">\
<title>{label} refused at the door {}</title></circle>",
            x(*at),
            stays_y + row,
            escape(&time(*at)),
        );
    }
}

fn door_svg(
    door: &DoorTimeline,
    sources: &[String],
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> String {
    let span = Duration::days(PLAN_DAYS);
    let x = |t: DateTime<Utc>| -> i64 {
        let offset = (t - start).num_seconds().clamp(0, span.num_seconds());
        offset * WIDTH / span.num_seconds()
    };
    let time = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %d %b %H:%M").to_string();
    let stays_y = 28;
    let row = 22;
    let height = stays_y + row + 6 + door.outputs.len() as i64 * (row - 4) + 4;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<figure class=\"door\"><figcaption>{}</figcaption>\
<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{} timeline\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(&door.name),
        escape(&door.name)
    );
    for day in 0..PLAN_DAYS {
        let left = day * DAY_WIDTH;
        let date = (start + Duration::days(day)).with_timezone(&tz);
        let weekend = matches!(date.format("%u").to_string().as_str(), "6" | "7");
        if weekend {
            let _ = write!(
                svg,
                "<rect x=\"{left}\" y=\"0\" width=\"{DAY_WIDTH}\" height=\"{height}\" fill=\"#f4f4f4\"/>"
            );
        }
        let _ = write!(
            svg,
            "<line x1=\"{left}\" y1=\"0\" x2=\"{left}\" y2=\"{height}\" stroke=\"#ccc\" stroke-width=\"1\"/>\
<text x=\"{mid}\" y=\"10\" font-size=\"9\" text-anchor=\"middle\" fill=\"#666\">{}</text>\
<text x=\"{mid}\" y=\"22\" font-size=\"11\" text-anchor=\"middle\" fill=\"#222\">{}</text>",
            date.format("%a")
                .to_string()
                .chars()
                .take(2)
                .collect::<String>(),
            date.format("%-d"),
            mid = left + DAY_WIDTH / 2,
        );
    }
    for stay in &door.stays {
        let index = sources
            .iter()
            .position(|s| *s == stay.source)
            .unwrap_or(sources.len());
        let (left, right) = (x(stay.start), x(stay.end));
        let dash = if stay.booked {
            ""
        } else {
            " stroke-dasharray=\"4 3\" fill-opacity=\"0.35\""
        };
        let _ = write!(
            svg,
            "<rect class=\"stay\" x=\"{left}\" y=\"{stays_y}\" width=\"{}\" height=\"{row}\" rx=\"3\" fill=\"{}\" stroke=\"#222\" stroke-width=\"{}\"{dash}>\
<title>{} · {} · {} – {} · {}</title></rect>",
            (right - left).max(2),
            colour(index),
            if stay.booked { 1 } else { 2 },
            escape(&stay.label),
            escape(&stay.source),
            escape(&time(stay.start)),
            escape(&time(stay.end)),
            if stay.booked { "booked" } else { "NOT BOOKED" },
        );
        door_event_marks(&mut svg, stay, &x, &time, stays_y, row);
    }
    for (index, output) in door.outputs.iter().enumerate() {
        let y = stays_y + row + 6 + index as i64 * (row - 4);
        let _ = write!(
            svg,
            "<line x1=\"0\" y1=\"{mid}\" x2=\"{WIDTH}\" y2=\"{mid}\" stroke=\"#bbb\" stroke-width=\"1\"/>",
            mid = y + (row - 8) / 2
        );
        for window in &output.windows {
            let (left, right) = (x(window.on), x(window.off));
            let _ = write!(
                svg,
                "<rect class=\"on\" x=\"{left}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{ON_COLOUR}\"><title>{} ON {} – {}</title></rect>",
                (right - left).max(2),
                row - 8,
                escape(&output.label),
                escape(&time(window.on)),
                escape(&time(window.off)),
            );
        }
        for pulse in &output.pulses {
            let _ = write!(
                svg,
                "<rect class=\"pulse\" x=\"{}\" y=\"{}\" width=\"3\" height=\"{}\" fill=\"{ON_COLOUR}\"><title>{} pulse {}</title></rect>",
                x(*pulse).saturating_sub(1),
                y - 2,
                row - 4,
                escape(&output.label),
                escape(&time(*pulse)),
            );
        }
        if output.switched_by_hand {
            let until = output.next.map(x).unwrap_or(WIDTH);
            let _ = write!(
                svg,
                "<rect class=\"byhand\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"url(#hatch)\" stroke=\"#900\"><title>{} switched by hand: left alone until its next transition</title></rect>",
                x(now),
                y - 2,
                (until - x(now)).max(4),
                row - 4,
                escape(&output.label),
            );
        }
    }
    let now_x = x(now);
    let _ = write!(
        svg,
        "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"3\" height=\"6\" fill=\"#c00\" fill-opacity=\"0.5\"/></pattern></defs>\
<line x1=\"{now_x}\" y1=\"0\" x2=\"{now_x}\" y2=\"{height}\" stroke=\"#c00\" stroke-width=\"2\"><title>now</title></line></svg>"
    );
    // The outputs by name, under the picture: text stays text, readable at any width.
    if !door.outputs.is_empty() {
        svg.push_str("<ul class=\"outputs\">");
        for output in &door.outputs {
            let _ = write!(
                svg,
                "<li>{}{}{}</li>",
                escape(&output.label),
                if output.switched_by_hand {
                    " <b class=\"bad\">switched by hand: left alone until its next transition</b>"
                } else {
                    ""
                },
                output
                    .next
                    .map(|t| format!(" · next change {}", escape(&time(t))))
                    .unwrap_or_default(),
            );
        }
        svg.push_str("</ul>");
    }
    svg.push_str("</figure>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_outputs_and_a_switch_by_hand_are_drawn_and_names_escaped() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let h = |hours: i64| now + Duration::hours(hours);
        let door = DoorTimeline {
            booking_object_id: 123,
            name: "Cabin <7>".into(),
            stays: vec![
                TimelineStay {
                    source: "airbnb".into(),
                    label: "Guest & co".into(),
                    start: h(6),
                    end: h(50),
                    booked: true,
                    checked_in: Some(h(8)),
                    no_show: false,
                    denials: vec![h(7), h(7) + Duration::minutes(3)],
                },
                TimelineStay {
                    source: "vrbo".into(),
                    label: "Later".into(),
                    start: h(100),
                    end: h(150),
                    booked: false,
                    checked_in: None,
                    no_show: true,
                    denials: vec![],
                },
            ],
            outputs: vec![TimelineOutput {
                label: "Heating".into(),
                windows: vec![Window {
                    on: h(0),
                    off: h(51),
                }],
                pulses: vec![],
                switched_by_hand: true,
                next: Some(h(51)),
            }],
        };
        let sources = ["airbnb".to_owned(), "vrbo".to_owned()];
        let html = render(&[door], &sources, now, chrono_tz::Europe::Stockholm);
        assert!(
            html.contains("<figcaption>Cabin &lt;7&gt;</figcaption>"),
            "{html}"
        );
        assert!(html.contains("Guest &amp; co"));
        assert_eq!(html.matches("class=\"stay\"").count(), 2);
        // Coloured by source, the unbooked one dashed.
        assert!(html.contains(&format!("fill=\"{}\"", PALETTE[0])));
        assert!(html.contains(&format!(
            "fill=\"{}\" stroke=\"#222\" stroke-width=\"2\" stroke-dasharray",
            PALETTE[1]
        )));
        assert_eq!(html.matches("class=\"on\"").count(), 1);
        assert!(html.contains("class=\"byhand\"") && html.contains("switched by hand: left alone"));
        // The check-in (local time in its title), two refusals, the other stay's no-show.
        assert_eq!(html.matches("class=\"checkin\"").count(), 1);
        assert!(
            html.contains("Guest &amp; co checked in Mon 07 Dec 18:00"),
            "{html}"
        );
        assert_eq!(html.matches("class=\"denied\"").count(), 2);
        assert!(html.contains("refused at the door Mon 07 Dec 17:03"));
        assert_eq!(html.matches("<rect class=\"noshow\"").count(), 1);
        assert!(html.contains("Later: no check-in (no-show)"));
        assert!(!html.contains("<script"));
        assert!(render(&[], &sources, now, chrono_tz::UTC).contains("No stays and no outputs"));
    }
}
