//! `flexysync feed`: what a calendar yields, before and after the booking rules.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use serde_json::json;

use super::{CliError, Context};
use crate::config::{
    CodePolicy, HumanDuration, LocalTime, Preset, SourceConfig, SourceKind, Timezone,
    parse_duration,
};
use crate::sources::ical::{
    self, Occurrence, OccurrenceQuery, Preview, RuleContext, Zone, looks_like_calendar,
};

#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Print the reservations a source would produce, and why each skipped event was skipped
    Preview(Box<PreviewArgs>),
    /// Print every VEVENT occurrence in a window as one JSON array (before any booking rule)
    Occurrences(OccurrencesArgs),
}

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
    /// First day of the window (YYYY-MM-DD) [default: yesterday]
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Day after the window (YYYY-MM-DD) [default: today + horizon]
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Show keypad codes and phone numbers in clear
    #[arg(long)]
    pub show_secrets: bool,
    #[command(flatten)]
    pub rules: RuleFlags,
}

/// The source rules, for `--file`.
#[derive(Debug, Args)]
pub struct RuleFlags {
    /// Zone of floating times and all-day stays (IANA or Windows name)
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// airbnb | booking-com | vrbo | google | generic
    #[arg(long, default_value = "generic")]
    pub preset: String,
    #[arg(long, default_value = "15:00", value_name = "HH:MM")]
    pub check_in: String,
    #[arg(long, default_value = "11:00", value_name = "HH:MM")]
    pub check_out: String,
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub buffer_before: String,
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub buffer_after: String,
    #[arg(long, value_name = "REGEX")]
    pub include_summary: Option<String>,
    #[arg(long, value_name = "REGEX")]
    pub exclude_summary: Option<String>,
    /// phone-last4 | derived | none
    #[arg(long, default_value = "none")]
    pub code: String,
    #[arg(long, default_value_t = 6)]
    pub code_length: u8,
    #[arg(long, default_value = "46")]
    pub default_country: String,
}

#[derive(Debug, Args)]
pub struct OccurrencesArgs {
    #[arg(long, value_name = "PATH")]
    pub file: PathBuf,
    /// First day of the window (YYYY-MM-DD, from 00:00)
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Day after the window (YYYY-MM-DD, to 00:00, exclusive)
    #[arg(long, value_name = "DATE")]
    pub to: String,
}

pub async fn run(cmd: FeedCommand, context: &Context) -> Result<(), CliError> {
    match cmd {
        FeedCommand::Preview(args) => preview(*args, context).await,
        FeedCommand::Occurrences(args) => occurrences(args, context),
    }
}

fn usage(message: String) -> CliError {
    CliError::Usage(message)
}

fn parse_date(flag: &str, text: &str) -> Result<NaiveDate, CliError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| usage(format!("{flag} {text:?}: expected a date like 2025-03-07")))
}

/// [from 00:00, to 00:00) in `zone`.
fn window(from: &str, to: &str, zone: &Zone) -> Result<(DateTime<Utc>, DateTime<Utc>), CliError> {
    let from_date = parse_date("--from", from)?;
    let to_date = parse_date("--to", to)?;
    if to_date <= from_date {
        return Err(usage(format!("--to {to} must be after --from {from}")));
    }
    let at = |date: NaiveDate| {
        zone.to_utc(date.and_time(NaiveTime::MIN))
            .ok_or_else(|| usage(format!("{date} is out of range")))
    };
    Ok((at(from_date)?, at(to_date)?))
}

fn read_calendar_file(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|err| usage(format!("{}: cannot read: {err}", path.display())))?;
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
    } else if !looks_like_calendar(&bytes) {
        return Err(usage(format!(
            "{}: not a calendar (expected BEGIN:VCALENDAR at the start)",
            path.display()
        )));
    }
    Ok(bytes)
}

fn occurrences(args: OccurrencesArgs, context: &Context) -> Result<(), CliError> {
    let zone = context.tz.map(Zone::Iana).unwrap_or(Zone::Utc);
    let (window_start, window_end) = window(&args.from, &args.to, &zone)?;
    let bytes = read_calendar_file(&args.file)?;
    let query = OccurrenceQuery {
        floating: zone,
        window_start,
        window_end,
    };
    let (found, warnings) = ical::occurrences_from_text(&bytes, &query);
    for warning in &warnings {
        eprintln!("warning: {}: {warning}", args.file.display());
    }
    // Streamed one object at a time: a big feed never exists twice in memory.
    use std::io::Write as _;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let write = |out: &mut std::io::BufWriter<std::io::StdoutLock<'_>>| -> std::io::Result<()> {
        out.write_all(b"[")?;
        for (i, occ) in found.iter().enumerate() {
            out.write_all(if i == 0 { b"\n  " } else { b",\n  " })?;
            serde_json::to_writer(&mut *out, &occurrence_json(occ))?;
        }
        out.write_all(if found.is_empty() { b"]\n" } else { b"\n]\n" })?;
        out.flush()
    };
    write(&mut out).map_err(|err| CliError::Other(err.into()))
}

/// The exact shape other calendar libraries are checked against.
pub fn occurrence_json(occ: &Occurrence) -> serde_json::Value {
    json!({
        "uid": occ.uid,
        "recurrence_id": occ.recurrence_id.map(|r| r.to_string()),
        "start": occ.start.to_string(),
        "end": occ.end.to_string(),
        "all_day": occ.all_day,
        "floating": occ.floating,
        "summary": occ.summary,
        "status": occ.status,
    })
}

fn parse_flag<T>(flag: &str, text: &str, options: &[(&str, T)]) -> Result<T, CliError>
where
    T: Copy,
{
    options
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            usage(format!(
                "{flag} {text:?}: expected one of {}",
                names.join(", ")
            ))
        })
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
        preset: parse_flag(
            "--preset",
            &flags.preset,
            &[
                ("airbnb", Preset::Airbnb),
                ("booking-com", Preset::BookingCom),
                ("vrbo", Preset::Vrbo),
                ("google", Preset::Google),
                ("generic", Preset::Generic),
            ],
        )?,
        include_summary: flags.include_summary.clone(),
        exclude_summary: flags.exclude_summary.clone(),
        code: parse_flag(
            "--code",
            &flags.code,
            &[
                ("phone-last4", CodePolicy::PhoneLast4),
                ("derived", CodePolicy::Derived),
                ("none", CodePolicy::None),
            ],
        )?,
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
    let show_zone = context.tz.map(Zone::Iana).unwrap_or(Zone::Utc);
    let (preview, name) = if let Some(name) = &args.source {
        let config = context.load_config()?;
        let source = config
            .sources
            .iter()
            .find(|s| &s.name == name)
            .ok_or_else(|| usage(format!("--source {name:?}: no such source in the config")))?
            .clone();
        let secret = code_secret(&config).await;
        let rules = rule_context(&args, now, config.sync.horizon_days, &show_zone, &secret)?;
        (read_config_source(&source, &rules).await?, name.clone())
    } else {
        let path = args
            .file
            .clone()
            .ok_or_else(|| usage("give --source NAME or --file PATH".into()))?;
        let object = args
            .object
            .ok_or_else(|| usage("--file needs --object ID".into()))?;
        let source = source_from_flags(path.clone(), object, &args.rules)?;
        let bytes = read_calendar_file(&path)?;
        // Not the installation's secret: derived codes shown for a file are examples only.
        let secret = b"flexysync-preview".to_vec();
        let rules = rule_context(&args, now, 180, &show_zone, &secret)?;
        (
            ical::preview_from_bytes(&bytes, &source, &rules),
            path.display().to_string(),
        )
    };
    print_preview(&preview, &name, args.show_secrets, context);
    Ok(())
}

fn rule_context<'a>(
    args: &PreviewArgs,
    now: DateTime<Utc>,
    horizon_days: u32,
    zone: &Zone,
    secret: &'a [u8],
) -> Result<RuleContext<'a>, CliError> {
    let window = match (&args.from, &args.to) {
        (Some(from), Some(to)) => Some(window(from, to, zone)?),
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

fn print_preview(preview: &Preview, name: &str, show: bool, context: &Context) {
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
    println!("{} reservation(s) from {name}:", preview.reservations.len());
    for r in &preview.reservations {
        let phones: Vec<String> = r.credentials.phones.iter().map(|p| mask(p, show)).collect();
        println!(
            "  {} → {}  object {}  {}  code {}  phones [{}]",
            context.show_time(r.start),
            context.show_time(r.end),
            r.booking_object_id,
            r.label,
            r.credentials
                .code
                .as_deref()
                .map(|c| mask(c, show))
                .unwrap_or_else(|| "-".into()),
            phones.join(", "),
        );
    }
    if !preview.skipped.is_empty() {
        println!("{} skipped:", preview.skipped.len());
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
