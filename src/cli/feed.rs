//! `flexysync feed`: what a calendar yields, before and after the booking rules.

use std::path::PathBuf;

use chrono::{DateTime, NaiveTime, Utc};
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use serde_json::json;

use super::table::render_table;
use super::zone::{ShownZone, ZoneFinder};
use super::{CliError, Context, help};
use crate::config::{
    Choice, CodePolicy, HumanDuration, LocalTime, Preset, SourceConfig, SourceKind, Timezone,
    parse_duration,
};
use crate::sources::ical::{
    self, OccurrenceQuery, Preview, RuleContext, Zone, looks_like_calendar,
};
use crate::text::{EVENT, RESERVATION, count};

#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Print the reservations a source would produce, and why each skipped event was skipped
    #[command(after_help = FEED_PREVIEW_HELP)]
    Preview(Box<PreviewArgs>),
    /// Print every VEVENT occurrence in a window as one JSON array (before any booking rule)
    #[command(after_help = FEED_OCCURRENCES_HELP)]
    Occurrences(OccurrencesArgs),
}

const FEED_PREVIEW_HELP: &str = concat!(
    help::window_rule!(),
    " Dates and times without an offset are read, and times shown, in the source's zone (its \
     `timezone`, else its booking object's unit's), or in --tz.\n\n\
     Example:\n  flexysync feed preview --source cabin-7-airbnb --from 2026-12-01 --to 2026-12-31"
);

const FEED_OCCURRENCES_HELP: &str = concat!(
    help::window_rule!(),
    " Dates, and floating times in the calendar, are read in --tz, else UTC; the JSON's times \
     are as the calendar wrote them.\n\n\
     Example:\n  flexysync feed occurrences --file cabin.ics --from 2026-12-01 --to 2026-12-31"
);

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// A source from the config
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "file",
        required_unless_present = "file"
    )]
    pub source: Option<String>,
    /// A local .ics file, read with the rule flags below
    #[arg(long, value_name = "PATH", requires = "object")]
    pub file: Option<PathBuf>,
    /// Booking object id the reservations are for (with --file)
    #[arg(long, value_name = "ID")]
    pub object: Option<i64>,
    /// Start of the window, included: a date (from its 00:00) or a time [default: yesterday]
    #[arg(long, value_name = "WHEN", requires = "to")]
    pub from: Option<String>,
    /// End of the window, not included: a date means the end of that day (the next day's
    /// 00:00), or a time [default: today + the horizon]
    #[arg(long, value_name = "WHEN", requires = "from")]
    pub to: Option<String>,
    /// Show keypad codes and phone numbers in clear
    #[arg(long)]
    pub show_secrets: bool,
    #[command(flatten)]
    pub rules: RuleFlags,
}

/// The source rules, for `--file`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Rules (with --file)")]
pub struct RuleFlags {
    /// Zone of floating times and all-day stays (IANA or Windows name)
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Which booking site wrote the feed (how it names guests and blocks)
    #[arg(long, default_value = "generic", value_name = "PRESET", value_parser = choice_parser::<Preset>())]
    pub preset: Preset,
    /// Local time an all-day stay starts
    #[arg(long, default_value = "15:00", value_name = "HH:MM")]
    pub check_in: String,
    /// Local time an all-day stay ends
    #[arg(long, default_value = "11:00", value_name = "HH:MM")]
    pub check_out: String,
    /// Access opens this long before the stay (30m, 2h)
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub buffer_before: String,
    /// Access stays open this long after the stay
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub buffer_after: String,
    /// Only events whose summary matches
    #[arg(long, value_name = "REGEX")]
    pub include_summary: Option<String>,
    /// Leave out events whose summary matches
    #[arg(long, value_name = "REGEX")]
    pub exclude_summary: Option<String>,
    /// Where a stay's keypad code comes from
    #[arg(long, default_value = "none", value_name = "POLICY", value_parser = choice_parser::<CodePolicy>())]
    pub code: CodePolicy,
    /// Digits of a derived code (4 to 8)
    #[arg(long, default_value_t = 6, value_name = "DIGITS")]
    pub code_length: u8,
    /// Region of phone numbers without a country code: a calling code ("46") or a country ("SE")
    #[arg(long, default_value = "46", value_name = "REGION")]
    pub default_country: String,
}

#[derive(Debug, Args)]
pub struct OccurrencesArgs {
    /// The .ics file to read
    #[arg(long, value_name = "PATH")]
    pub file: PathBuf,
    #[arg(long, value_name = "WHEN", help = help::FROM_HELP)]
    pub from: String,
    #[arg(long, value_name = "WHEN", help = help::TO_HELP)]
    pub to: String,
}

pub async fn run(cmd: FeedCommand, context: &Context) -> Result<(), CliError> {
    match cmd {
        FeedCommand::Preview(args) => preview(*args, context).await,
        // `cli::main` runs this one before it builds a runtime; this arm is for other callers.
        FeedCommand::Occurrences(args) => occurrences(args, context),
    }
}

fn usage(message: String) -> CliError {
    CliError::Usage(message)
}

fn read_calendar_file(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|err| usage(format!("{}: cannot read: {err}", path.display())))?;
    check_calendar(path, &bytes)?;
    Ok(bytes)
}

/// Bytes of a regular file looked at to tell a calendar before it is read through a window.
const CALENDAR_HEAD: u64 = 64 * 1024;

/// The file, opened; its bytes too unless it is a regular file whose head shows a calendar
/// (that one is read through a window: `ical::occurrence_listing_of_file`).
fn open_calendar_file(path: &PathBuf) -> Result<(std::fs::File, Option<Vec<u8>>), CliError> {
    use std::io::{Read as _, Seek as _};
    let cannot = |err: std::io::Error| usage(format!("{}: cannot read: {err}", path.display()));
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    if file.metadata().map_err(cannot)?.is_file() {
        let mut head = Vec::new();
        (&file)
            .take(CALENDAR_HEAD)
            .read_to_end(&mut head)
            .map_err(cannot)?;
        // A head that does not show a calendar (long leading blank lines?) is judged whole.
        if check_calendar(path, &head).is_ok() {
            return Ok((file, None));
        }
        file.rewind().map_err(cannot)?;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(cannot)?;
    check_calendar(path, &bytes)?;
    Ok((file, Some(bytes)))
}

/// Refuses what is not a calendar; warns about bare VEVENTs.
fn check_calendar(path: &std::path::Path, bytes: &[u8]) -> Result<(), CliError> {
    let bare_event = String::from_utf8_lossy(&bytes[..bytes.len().min(64)])
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_uppercase()
        .starts_with("BEGIN:VEVENT");
    if bare_event {
        eprintln!(
            "warning: {}: no BEGIN:VCALENDAR; read as bare VEVENTs",
            path.display()
        );
    } else if !looks_like_calendar(bytes) {
        return Err(usage(format!(
            "{}: not a calendar (expected BEGIN:VCALENDAR at the start)",
            path.display()
        )));
    }
    Ok(())
}

pub(super) fn occurrences(args: OccurrencesArgs, context: &Context) -> Result<(), CliError> {
    let shown = context.flag_or_utc();
    let (window_start, window_end) = shown.window(&args.from, &args.to, Utc::now())?;
    let zone = context.tz.map(Zone::Iana).unwrap_or(Zone::Utc);
    let (file, bytes) = open_calendar_file(&args.file)?;
    let query = OccurrenceQuery {
        floating: zone,
        window_start,
        window_end,
    };
    // The text is outlined through a window (or dropped once outlined) and read again block
    // by block: a big feed's text and its list are never in memory together.
    let (listing, warnings) = match bytes {
        Some(bytes) => ical::occurrence_listing_reread(&file, bytes, &query),
        None => ical::occurrence_listing_of_file(&file, &query)
            .map_err(|err| usage(format!("{}: cannot read: {err}", args.file.display())))?,
    };
    for warning in &warnings {
        eprintln!("warning: {}: {warning}", args.file.display());
    }
    // Streamed one object at a time from the compact listing: no JSON tree, no full list.
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    listing
        .write_json(&mut out)
        .map_err(|err| CliError::Other(err.into()))
}

/// A clap parser for a config [`Choice`]: the same words as the config file, listed in the
/// help and in clap's error.
fn choice_parser<T: Choice + Send + Sync>() -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(T::names()).try_map(|word| T::from_word(&word))
}

fn source_from_flags(
    path: PathBuf,
    object: i64,
    flags: &RuleFlags,
) -> Result<SourceConfig, CliError> {
    let time = |flag: &str, text: &str| {
        NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map(LocalTime)
            .map_err(|_| usage(format!("{flag} {text:?}: expected a time like 15:00")))
    };
    let duration = |flag: &str, text: &str| {
        parse_duration(text)
            .map(HumanDuration)
            .map_err(|reason| usage(format!("{flag} {text:?}: {reason}")))
    };
    let timezone = match &flags.timezone {
        Some(name) => Some(Timezone(
            crate::config::resolve_timezone(name)
                .ok_or_else(|| usage(format!("--timezone {name:?}: unknown time zone")))?,
        )),
        None => None,
    };
    for (flag, pattern) in [
        ("--include-summary", &flags.include_summary),
        ("--exclude-summary", &flags.exclude_summary),
    ] {
        if let Some(pattern) = pattern
            && let Err(err) = regex::Regex::new(pattern)
        {
            return Err(usage(format!(
                "{flag}: not a valid regular expression: {}",
                crate::config::regex_reason(&err)
            )));
        }
    }
    if !(4..=8).contains(&flags.code_length) {
        return Err(usage(format!(
            "--code-length {}: expected 4 to 8",
            flags.code_length
        )));
    }
    if let Err(err) = crate::model::phone::parse_region(&flags.default_country) {
        return Err(usage(format!("--default-country: {err}")));
    }
    Ok(SourceConfig {
        name: "file".to_owned(),
        kind: SourceKind::Ical,
        url: None,
        path: Some(path),
        booking_object_id: Some(object),
        timezone,
        check_in: time("--check-in", &flags.check_in)?,
        check_out: time("--check-out", &flags.check_out)?,
        buffer_before: duration("--buffer-before", &flags.buffer_before)?,
        buffer_after: duration("--buffer-after", &flags.buffer_after)?,
        preset: flags.preset,
        include_summary: flags.include_summary.clone(),
        exclude_summary: flags.exclude_summary.clone(),
        code: flags.code,
        code_length: flags.code_length,
        default_country: flags.default_country.clone(),
        schedule: "*/10 * * * *".to_owned(),
        max_bytes: 20 * 1024 * 1024,
        secret: None,
        secret_file: None,
        objects: Default::default(),
        snapshot_url: None,
        max_stay_days: None,
        overlap_ok: false,
    })
}

async fn preview(args: PreviewArgs, context: &Context) -> Result<(), CliError> {
    let now = Utc::now();
    let (preview, name, zone) = if let Some(name) = &args.source {
        let config = context.load_config()?;
        let source = config
            .sources
            .iter()
            .find(|s| &s.name == name)
            .ok_or_else(|| usage(format!("--source {name:?}: no such source in the config")))?
            .clone();
        // The pass reads a source without `timezone` in its booking object's zone: so does
        // the preview, and shows its times there unless --tz says otherwise.
        let object_zone = match (source.timezone, source.booking_object_id) {
            (Some(tz), _) => Some(ShownZone {
                tz: tz.0,
                origin: format!("source {}'s timezone", source.name),
            }),
            (None, Some(object_id)) => {
                let client = crate::flexykey::Client::new(&config.flexykey).ok();
                let mut finder = ZoneFinder::new(&config, client.as_ref()).await;
                let zone = finder.object(object_id).await;
                finder.close().await;
                zone
            }
            (None, None) => None,
        };
        let zone = context
            .tz_flag()
            .or(object_zone.clone())
            .unwrap_or_else(|| {
                ShownZone::utc(format!(
                    "the zone of source {}'s booking object is not known",
                    source.name
                ))
            });
        let secret = code_secret(&config).await;
        let mut rules = rule_context(&args, now, config.sync.horizon_days, &zone, &secret)?;
        rules.default_timezone = object_zone.map(|zone| zone.tz);
        (
            read_config_source(&source, &rules).await?,
            name.clone(),
            zone,
        )
    } else {
        let path = args
            .file
            .clone()
            .ok_or_else(|| usage("give --source NAME or --file PATH".into()))?;
        let object = args
            .object
            .ok_or_else(|| usage("--file needs --object ID".into()))?;
        let source = source_from_flags(path.clone(), object, &args.rules)?;
        let zone = context.tz_flag().unwrap_or_else(|| match source.timezone {
            Some(tz) => ShownZone {
                tz: tz.0,
                origin: "--timezone".to_owned(),
            },
            None => ShownZone::utc("no --timezone given"),
        });
        let bytes = read_calendar_file(&path)?;
        // Not the installation's secret: derived codes shown for a file are examples only.
        let secret = b"flexysync-preview".to_vec();
        let rules = rule_context(&args, now, 180, &zone, &secret)?;
        (
            ical::preview_from_bytes(&bytes, &source, &rules),
            path.display().to_string(),
            zone,
        )
    };
    print_preview(&preview, &name, args.show_secrets, context, &zone);
    Ok(())
}

fn rule_context<'a>(
    args: &PreviewArgs,
    now: DateTime<Utc>,
    horizon_days: u32,
    zone: &ShownZone,
    secret: &'a [u8],
) -> Result<RuleContext<'a>, CliError> {
    let window = match (&args.from, &args.to) {
        (Some(from), Some(to)) => Some(zone.window(from, to, now)?),
        (None, None) => None,
        _ => return Err(usage("give both --from and --to, or neither".into())),
    };
    Ok(RuleContext {
        now,
        horizon_days,
        default_timezone: None,
        code_secret: secret,
        window,
    })
}

async fn code_secret(config: &crate::config::Config) -> Vec<u8> {
    if let Some(secret) = &config.sync.code_secret {
        return secret.expose_secret().as_bytes().to_vec();
    }
    if config.ledger.path.exists()
        && let Ok(ledger) = crate::ledger::Ledger::open(&config.ledger.path).await
    {
        let stored = ledger.meta("code_secret").await.ok().flatten();
        ledger.close().await;
        if let Some(stored) = stored {
            return stored.into_bytes();
        }
    }
    eprintln!(
        "note: no code secret yet (none in the config or the ledger): derived codes are examples"
    );
    b"flexysync-preview".to_vec()
}

async fn read_config_source(
    source: &SourceConfig,
    rules: &RuleContext<'_>,
) -> Result<Preview, CliError> {
    let bytes = match (&source.url, &source.path) {
        (None, Some(path)) => read_calendar_file(path)?,
        _ => fetch_bytes(source).await?,
    };
    Ok(ical::preview_from_bytes(&bytes, source, rules))
}

/// The feed's bytes, for a preview with its own window (the reservations' skipped list needs
/// the rules applied here rather than inside `read_source`).
async fn fetch_bytes(source: &SourceConfig) -> Result<Vec<u8>, CliError> {
    // The client `sync` reads feeds with, so that a preview sees what a pass would.
    let http =
        crate::reconcile::feeds::feed_http_client().map_err(|err| CliError::Other(err.into()))?;
    crate::sources::fetch::fetch_bytes(&http, source)
        .await
        .map_err(|err| CliError::Other(anyhow::anyhow!("source {}: {err}", source.name)))
}

/// A preview hides more than `crate::redact::mask`: a short value (a keypad code) entirely,
/// a longer one (a phone number) all but its last two characters; `--show` shows it whole.
fn mask(value: &str, show: bool) -> String {
    if show {
        return value.to_owned();
    }
    let keep = if value.len() > 6 { 2 } else { 0 };
    let hidden = value.len() - keep;
    format!("{}{}", "•".repeat(hidden), &value[hidden..])
}

fn print_preview(preview: &Preview, name: &str, show: bool, context: &Context, zone: &ShownZone) {
    for warning in &preview.warnings {
        eprintln!("warning: {name}: {warning}");
    }
    if context.json {
        let reservations: Vec<serde_json::Value> = preview
            .reservations
            .iter()
            .map(|r| {
                json!({
                    "key": r.key,
                    "booking_object_id": r.booking_object_id,
                    "start": r.start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "end": r.end.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "label": r.label,
                    "phones": r.credentials.phones.iter().map(|p| mask(p, show)).collect::<Vec<_>>(),
                    "code": r.credentials.code.as_deref().map(|c| mask(c, show)),
                    "fingerprint": r.fingerprint(),
                })
            })
            .collect();
        let out = json!({
            "reservations": reservations,
            "skipped": preview.skipped,
            "warnings": preview.warnings,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return;
    }
    println!(
        "{} from {name}. {}",
        count(preview.reservations.len(), RESERVATION),
        zone.caption()
    );
    let rows: Vec<Vec<String>> = preview
        .reservations
        .iter()
        .map(|r| {
            let phones: Vec<String> = r.credentials.phones.iter().map(|p| mask(p, show)).collect();
            vec![
                zone.time(r.start),
                zone.time(r.end),
                r.booking_object_id.to_string(),
                r.label.clone(),
                r.credentials
                    .code
                    .as_deref()
                    .map(|c| mask(c, show))
                    .unwrap_or_else(|| "-".into()),
                if phones.is_empty() {
                    "-".into()
                } else {
                    phones.join(", ")
                },
            ]
        })
        .collect();
    if !rows.is_empty() {
        print!(
            "{}",
            render_table(
                &["START", "END", "OBJECT", "LABEL", "CODE", "PHONES"],
                &rows
            )
        );
    }
    if !preview.skipped.is_empty() {
        println!("{} skipped:", count(preview.skipped.len(), EVENT));
        for s in &preview.skipped {
            println!(
                "  {}  {}  {}: {}",
                s.start,
                s.uid,
                s.summary.as_deref().unwrap_or("(no summary)"),
                s.reason
            );
        }
    }
}
