//! `flexysync logs`: live fetch, and the archive's pull, backfill, show and export.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};

use serde_json::json;

use super::table::{print_json, render_table};
use super::zone::ShownZone;
use super::{CliError, Context, help};
use crate::archive::{
    self, ArchiveError, CredentialIndex, ExportFormat, ExportRecord, ShowOptions,
    mask_phone_numbers,
};
use crate::config::{Config, UnitSelection};
use crate::flexykey::Client;
use crate::ledger::{ArchiveFilter, Ledger};
use crate::text::{ENTRY, WINDOW, count};
use crate::when::WhenBound;
use progress::CliProgress;

mod progress;

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Fetch a unit's logs live from FlexyKey (not the archive)
    #[command(after_help = LOGS_FETCH_HELP)]
    Fetch {
        /// The unit's id (see `flexysync units`)
        unit_id: i64,
        #[arg(long, value_name = "WHEN", help = help::FROM_HELP)]
        from: String,
        #[arg(long, value_name = "WHEN", help = help::TO_HELP)]
        to: String,
    },
    /// Pull every archived unit's new entries once (what the service does on its schedule)
    #[command(after_help = "Example:\n  flexysync logs pull")]
    Pull,
    /// Read units' history into the archive; run again with the same --from to resume
    #[command(after_help = LOGS_BACKFILL_HELP)]
    Backfill {
        /// Only this unit [default: the units of [archive] units]
        #[arg(long, value_name = "ID")]
        unit: Option<i64>,
        #[arg(long, value_name = "WHEN", help = help::FROM_HELP)]
        from: String,
        /// End of the window, not included: a date means the end of that day (the next day's
        /// 00:00), or a time [default: now]
        #[arg(long, value_name = "WHEN")]
        to: Option<String>,
    },
    /// Show archived entries as a table, in each unit's local time
    #[command(after_help = LOGS_SHOW_HELP)]
    Show(FilterArgs),
    /// Export archived entries as CSV or JSON lines (FlexyKey's field names, times in UTC)
    #[command(after_help = LOGS_EXPORT_HELP)]
    Export {
        /// csv (with a header line) or jsonl (one JSON object a line); needed unless --json,
        /// which means jsonl
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

/// Where the logs commands read dates and show times, said under each of them.
macro_rules! logs_help {
    ($example:literal) => {
        concat!(
            help::window_rule!(),
            " Dates and times without an offset are read, and times shown, in the unit's zone \
             (as the archive or FlexyKey knows it; with several units, theirs when they share \
             one), or in --tz, else UTC.\n\nExample:\n  ",
            $example
        )
    };
}

const LOGS_FETCH_HELP: &str =
    logs_help!("flexysync logs fetch 3023 --from 2026-03-14 --to 2026-03-14");
const LOGS_BACKFILL_HELP: &str =
    logs_help!("flexysync logs backfill --unit 3023 --from 2026-01-01");
const LOGS_SHOW_HELP: &str =
    logs_help!("flexysync logs show --source-id +46701234567 --from 2026-03-14 --to 2026-03-14");
const LOGS_EXPORT_HELP: &str = logs_help!(
    "flexysync logs export --format csv --from 2026-01-01 --to 2026-03-31 --output q1.csv"
);

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

/// The filters `show` and `export` share.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only this unit
    #[arg(long, value_name = "ID")]
    unit: Option<i64>,
    #[arg(long, value_name = "WHEN", help = help::FROM_HELP)]
    from: Option<String>,
    #[arg(long, value_name = "WHEN", help = help::TO_HELP)]
    to: Option<String>,
    /// Only entries from this phone number or card
    #[arg(long, value_name = "PHONE_OR_CARD")]
    source_id: Option<String>,
    /// Only entries whose message or labels contain this text (any case)
    #[arg(long, value_name = "TEXT")]
    grep: Option<String>,
}

pub async fn run(cmd: LogsCommand, context: &Context) -> Result<(), CliError> {
    let now = Utc::now();
    match cmd {
        LogsCommand::Fetch { unit_id, from, to } => fetch(context, unit_id, &from, &to, now).await,
        LogsCommand::Pull => pull(context, now).await,
        LogsCommand::Backfill { unit, from, to } => {
            backfill(context, unit, &from, to.as_deref(), now).await
        }
        LogsCommand::Show(filter) => show(context, filter, now).await,
        LogsCommand::Export {
            format,
            output,
            filter,
        } => export(context, format, output, filter, now).await,
    }
}

/// The zone `--from` and `--to` are read in: `--tz`, else the units' zone when they all share
/// one (or the one unit's), else UTC.
fn shared_zone(
    context: &Context,
    zones: &HashMap<i64, chrono_tz::Tz>,
    unit_ids: &[i64],
) -> ShownZone {
    if let Some(zone) = context.tz_flag() {
        return zone;
    }
    let mut found = unit_ids.iter().map(|id| zones.get(id).copied());
    match found.next() {
        Some(Some(first)) if found.all(|tz| tz == Some(first)) => ShownZone {
            tz: first,
            origin: match unit_ids {
                [unit_id] => format!("unit {unit_id}'s zone"),
                _ => "the units' zone".to_owned(),
            },
        },
        _ => ShownZone::utc("the units' zones differ or are not known"),
    }
}

fn archive_err(err: ArchiveError) -> CliError {
    match (&err, err.api_error()) {
        (_, Some(api)) => CliError::Api(api.clone()),
        (ArchiveError::NoLogs { .. }, None) => CliError::Usage(err.to_string()),
        (_, None) => CliError::Other(anyhow::Error::new(err)),
    }
}

async fn open_ledger(config: &Config) -> Result<Ledger, CliError> {
    Ledger::open(&config.ledger.path)
        .await
        .map_err(|err| CliError::Other(anyhow::Error::new(err)))
}

/// For the commands that write the archive (`pull`, `backfill`): the single-instance lock, as
/// `sync` takes it, so that they never write beside a running daemon; refused with its pid.
async fn open_ledger_to_write(config: &Config) -> Result<Ledger, CliError> {
    Ledger::open_exclusive(&config.ledger.path)
        .await
        .map_err(|err| CliError::Other(anyhow::Error::new(err)))
}

async fn fetch(
    context: &Context,
    unit_id: i64,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<(), CliError> {
    let config = context.load_config()?;
    let client = Client::new(&config.flexykey)?;
    let zone = context.unit_zone(&config, Some(&client), unit_id).await;
    let (from, to) = zone.window(from, to, now)?;
    let mut entries = client.unit_logs(unit_id, from, to).await?;
    // FlexyKey's interval includes its end; the command line's window does not.
    entries.retain(|entry| entry.server_date < to);
    entries.sort_by_key(|entry| entry.server_date);
    let mut out = std::io::stdout().lock();
    let result = if context.json {
        let records: Vec<ExportRecord> = entries
            .into_iter()
            .map(|entry| crate::ledger::ArchivedEntry { unit_id, entry }.into())
            .collect();
        serde_json::to_writer_pretty(&mut out, &records)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        print_fetched(&mut out, &zone, &entries)
    };
    result.map_err(|err| CliError::Other(anyhow::anyhow!("writing to standard output: {err}")))
}

fn print_fetched(
    out: &mut impl Write,
    zone: &ShownZone,
    entries: &[crate::flexykey::LogEntry],
) -> std::io::Result<()> {
    writeln!(out, "{}", zone.caption())?;
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|entry| {
            vec![
                zone.time(entry.server_date),
                mask_phone_numbers(entry.source_id.as_deref().unwrap_or("")),
                entry.action_label.clone().unwrap_or_default(),
                mask_phone_numbers(entry.log_msg.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    let headers = ["SERVER TIME", "SOURCE", "ACTION", "MESSAGE"];
    write!(out, "{}", render_table(&headers, &rows))?;
    writeln!(out, "{}", count(entries.len(), ENTRY))
}

async fn pull(context: &Context, now: DateTime<Utc>) -> Result<(), CliError> {
    let config = context.load_config()?;
    let client = Client::new(&config.flexykey)?;
    let ledger = open_ledger_to_write(&config).await?;
    let report = archive::pull(&client, &ledger, &config.archive, now)
        .await
        .map_err(archive_err)?;
    if context.json {
        print_json(&pull_json(&report))?;
    } else {
        for unit in &report.units {
            println!(
                "unit {}: {} new of {} fetched ({}){}",
                unit.unit_id,
                unit.stored,
                count(unit.fetched, ENTRY),
                count(unit.windows, WINDOW),
                if unit.expired > 0 {
                    format!(", {} expired", unit.expired)
                } else {
                    String::new()
                }
            );
        }
        for unit_id in &report.skipped {
            println!("unit {unit_id}: skipped (not a FlexyKey unit: no logs)");
        }
    }
    match report.failed.first() {
        None => Ok(()),
        Some(_) => Err(CliError::NotConverged(
            report
                .failed
                .iter()
                .map(|(unit_id, reason)| format!("unit {unit_id}: {reason}"))
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

/// `logs pull --json` (docs/cli-json.md).
fn pull_json(report: &archive::PullReport) -> serde_json::Value {
    let failed: Vec<serde_json::Value> = report
        .failed
        .iter()
        .map(|(unit_id, reason)| json!({ "unit_id": unit_id, "reason": reason }))
        .collect();
    json!({
        "units": report.units,
        "skipped": report.skipped,
        "failed": failed,
        "expired_elsewhere": report.expired_elsewhere,
    })
}

async fn backfill(
    context: &Context,
    unit: Option<i64>,
    from: &str,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), CliError> {
    let config = context.load_config()?;
    let client = Client::new(&config.flexykey)?;
    let zone = match unit {
        Some(unit_id) => context.unit_zone(&config, Some(&client), unit_id).await,
        None => context.flag_or_utc(),
    };
    let from = zone.when("--from", from, WhenBound::Start, now)?;
    let to = match to {
        Some(to) => zone.when("--to", to, WhenBound::End, now)?,
        None => now,
    };
    if from >= to {
        return Err(CliError::Usage(format!(
            "--from {} is not before --to {} (the window is [from, to))",
            zone.time(from),
            zone.time(to)
        )));
    }
    let ledger = open_ledger_to_write(&config).await?;
    let selection = match unit {
        Some(unit_id) => UnitSelection::Listed(vec![unit_id]),
        None => config.archive.units.clone(),
    };
    // The archive's backfill range includes its end second; the window does not.
    let last = to - chrono::TimeDelta::seconds(1);
    let progress = CliProgress::new(context.json);
    let report = archive::backfill(&client, &ledger, &selection, from, last, now, &progress)
        .await
        .map_err(archive_err)?;
    if context.json {
        return print_json(&json!({ "units": report.units, "skipped": report.skipped }));
    }
    for unit_id in &report.skipped {
        println!("unit {unit_id}: skipped (not a FlexyKey unit: no logs)");
    }
    Ok(())
}

fn filter_of(
    args: &FilterArgs,
    zone: &ShownZone,
    now: DateTime<Utc>,
) -> Result<ArchiveFilter, CliError> {
    let from = args
        .from
        .as_deref()
        .map(|text| zone.when("--from", text, WhenBound::Start, now))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|text| zone.when("--to", text, WhenBound::End, now))
        .transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(CliError::Usage(format!(
            "--from {} is not before --to {} (the window is [from, to))",
            zone.time(from),
            zone.time(to)
        )));
    }
    Ok(ArchiveFilter {
        unit_id: args.unit,
        from,
        to,
        source_id: args.source_id.as_deref().map(|id| id.trim().to_owned()),
    })
}

/// Each unit's zone: cached in the ledger; read from FlexyKey (and cached) for units whose
/// zone was never read, when FlexyKey answers within a few seconds; else UTC.
async fn unit_zones(
    config: &Config,
    ledger: &Ledger,
    unit_ids: &[i64],
) -> Result<HashMap<i64, chrono_tz::Tz>, CliError> {
    let mut zones = HashMap::new();
    let known = ledger
        .archive_units()
        .await
        .map_err(|err| CliError::Other(err.into()))?;
    // Once FlexyKey fails to answer, the other units are not asked either.
    let mut client = Client::new(&config.flexykey).ok();
    for &unit_id in unit_ids {
        let cached = known.iter().find(|unit| unit.unit_id == unit_id);
        let mut zone = cached.and_then(|unit| unit.timezone.clone());
        if cached.is_some_and(|unit| unit.info_at.is_some()) {
            // Cached: use it.
        } else if let Some(reachable) = &client {
            let unit =
                match tokio::time::timeout(Duration::from_secs(5), reachable.unit(unit_id)).await {
                    Ok(Ok(unit)) => unit,
                    Ok(Err(err)) if err.is_refusal() => continue,
                    Ok(Err(_)) | Err(_) => {
                        client = None;
                        continue;
                    }
                };
            let info = crate::ledger::ArchiveUnitInfo {
                unit_id,
                unit_type: unit.unit_type.clone(),
                name: unit.name.clone(),
                timezone: unit.timezone().map(|tz| tz.name().to_owned()),
            };
            zone = info.timezone.clone();
            ledger
                .archive_record_unit_info(&info, Utc::now())
                .await
                .map_err(|err| CliError::Other(err.into()))?;
        }
        if let Some(tz) = zone.as_deref().and_then(crate::config::resolve_timezone) {
            zones.insert(unit_id, tz);
        }
    }
    Ok(zones)
}

async fn show(context: &Context, args: FilterArgs, now: DateTime<Utc>) -> Result<(), CliError> {
    let config = context.load_config()?;
    let ledger = open_ledger(&config).await?;
    let unit_ids = archive_unit_ids(&ledger, args.unit).await?;
    let zones = if context.tz.is_some() {
        HashMap::new()
    } else {
        unit_zones(&config, &ledger, &unit_ids).await?
    };
    let zone = shared_zone(context, &zones, &unit_ids);
    let filter = filter_of(&args, &zone, now)?;
    let labels = CredentialIndex::load(&ledger, &unit_ids)
        .await
        .map_err(archive_err)?;
    // The table says its zone in the time column's heading.
    let shared = context.tz.is_some()
        || unit_ids
            .iter()
            .all(|id| zones.get(id).copied().unwrap_or(chrono_tz::UTC) == zone.tz);
    let time_heading = if shared {
        format!("TIME ({})", zone.tz.name())
    } else {
        "TIME (each unit's zone)".to_owned()
    };
    let options = ShowOptions {
        filter,
        grep: args.grep,
        zone_override: context.tz,
        json: context.json,
        time_heading: Some(time_heading),
    };
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    archive::show(&ledger, &options, &zones, &labels, out)
        .await
        .map_err(archive_err)?;
    Ok(())
}

/// The unit named, or every unit the archive knows.
async fn archive_unit_ids(ledger: &Ledger, unit: Option<i64>) -> Result<Vec<i64>, CliError> {
    Ok(match unit {
        Some(unit_id) => vec![unit_id],
        None => ledger
            .archive_units()
            .await
            .map_err(|err| CliError::Other(err.into()))?
            .into_iter()
            .map(|unit| unit.unit_id)
            .collect(),
    })
}

async fn export(
    context: &Context,
    format: Option<FormatArg>,
    output: Option<PathBuf>,
    args: FilterArgs,
    now: DateTime<Utc>,
) -> Result<(), CliError> {
    let config = context.load_config()?;
    let ledger = open_ledger(&config).await?;
    let zone = match context.tz_flag() {
        Some(zone) => zone,
        None => {
            let unit_ids = archive_unit_ids(&ledger, args.unit).await?;
            let zones = unit_zones(&config, &ledger, &unit_ids).await?;
            shared_zone(context, &zones, &unit_ids)
        }
    };
    let filter = filter_of(&args, &zone, now)?;
    // `--json` alone means JSON lines: the export's own JSON form.
    let format = match (format, context.json) {
        (Some(FormatArg::Csv), _) => ExportFormat::Csv,
        (Some(FormatArg::Jsonl), _) | (None, true) => ExportFormat::JsonLines,
        (None, false) => {
            return Err(CliError::Usage(
                "--format: give csv or jsonl (or --json for jsonl)".into(),
            ));
        }
    };
    let out: Box<dyn Write> = match &output {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|err| {
            CliError::Other(anyhow::anyhow!("--output {}: {err}", path.display()))
        })?),
        None => Box::new(std::io::stdout().lock()),
    };
    let written = archive::export(
        &ledger,
        &filter,
        args.grep.as_deref(),
        format,
        std::io::BufWriter::new(out),
    )
    .await
    .map_err(archive_err)?;
    if let Some(path) = output {
        eprintln!("{} written to {}", count(written, ENTRY), path.display());
    }
    Ok(())
}
