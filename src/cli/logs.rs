//! `flexysync logs`: live fetch, and the archive's pull, backfill, show and export.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, Context};
use crate::archive::{
    self, ArchiveError, BackfillProgress, CredentialIndex, ExportFormat, ExportRecord, ShowOptions,
    UnitBackfill, mask_phone_numbers,
};
use crate::config::{Config, UnitSelection};
use crate::flexykey::Client;
use crate::ledger::{ArchiveFilter, Ledger};
use crate::when::{WhenBound, parse_when};

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Fetch a unit's logs live from FlexyKey (not the archive)
    Fetch {
        unit_id: i64,
        /// Start: a date (UTC day) or an RFC 3339 time
        #[arg(long, value_name = "WHEN")]
        from: String,
        /// End, inclusive: a date (its last second) or an RFC 3339 time
        #[arg(long, value_name = "WHEN")]
        to: String,
    },
    /// Pull every archived unit's new entries once (what the service does on its schedule)
    Pull,
    /// Read units' history into the archive; run again with the same --from to resume
    Backfill {
        /// Only this unit [default: the units of [archive] units]
        #[arg(long, value_name = "ID")]
        unit: Option<i64>,
        /// Start: a date (UTC day) or an RFC 3339 time
        #[arg(long, value_name = "WHEN")]
        from: String,
        /// End, inclusive: a date (its last second) or an RFC 3339 time [default: now]
        #[arg(long, value_name = "WHEN")]
        to: Option<String>,
    },
    /// Show archived entries as a table, in each unit's local time
    Show(FilterArgs),
    /// Export archived entries as CSV or JSON lines (FlexyKey's field names)
    Export {
        /// csv (with a header line) or jsonl (one JSON object a line)
        #[arg(long, value_enum)]
        format: FormatArg,
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

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
    /// From (inclusive): a date or an RFC 3339 time
    #[arg(long, value_name = "WHEN")]
    from: Option<String>,
    /// To (inclusive): a date (its last second) or an RFC 3339 time
    #[arg(long, value_name = "WHEN")]
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
        LogsCommand::Fetch { unit_id, from, to } => {
            let from = when("--from", &from, WhenBound::Start, now)?;
            let to = when("--to", &to, WhenBound::End, now)?;
            fetch(context, unit_id, from, to).await
        }
        LogsCommand::Pull => pull(context, now).await,
        LogsCommand::Backfill { unit, from, to } => {
            let from = when("--from", &from, WhenBound::Start, now)?;
            let to = match to {
                Some(to) => when("--to", &to, WhenBound::End, now)?,
                None => now,
            };
            if from > to {
                return Err(CliError::Usage(format!(
                    "--from {} is after --to {}",
                    context.show_time(from),
                    context.show_time(to)
                )));
            }
            backfill(context, unit, from, to, now).await
        }
        LogsCommand::Show(filter) => show(context, filter, now).await,
        LogsCommand::Export {
            format,
            output,
            filter,
        } => export(context, format, output, filter, now).await,
    }
}

fn when(
    flag: &str,
    text: &str,
    bound: WhenBound,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, CliError> {
    // The logs commands read dates as UTC days (see the flags' help), whatever `--tz` says.
    parse_when(text, bound, None, now)
        .map_err(|reason| CliError::Usage(format!("{flag}: {reason}")))
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
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(), CliError> {
    let config = context.load_config()?;
    let client = Client::new(&config.flexykey)?;
    let mut entries = client.unit_logs(unit_id, from, to).await?;
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
        print_fetched(&mut out, context, &entries)
    };
    result.map_err(|err| CliError::Other(anyhow::anyhow!("writing to standard output: {err}")))
}

fn print_fetched(
    out: &mut impl Write,
    context: &Context,
    entries: &[crate::flexykey::LogEntry],
) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<24} {:<16} {:<20} MESSAGE",
        "SERVER TIME", "SOURCE", "ACTION"
    )?;
    for entry in entries {
        writeln!(
            out,
            "{:<24} {:<16} {:<20} {}",
            context.show_time(entry.server_date),
            mask_phone_numbers(entry.source_id.as_deref().unwrap_or("")),
            entry.action_label.as_deref().unwrap_or(""),
            mask_phone_numbers(entry.log_msg.as_deref().unwrap_or("")),
        )?;
    }
    writeln!(out, "{} entries", entries.len())
}

async fn pull(context: &Context, now: DateTime<Utc>) -> Result<(), CliError> {
    let config = context.load_config()?;
    let client = Client::new(&config.flexykey)?;
    let ledger = open_ledger_to_write(&config).await?;
    let report = archive::pull(&client, &ledger, &config.archive, now)
        .await
        .map_err(archive_err)?;
    for unit in &report.units {
        println!(
            "unit {}: {} new of {} fetched ({} windows){}",
            unit.unit_id,
            unit.stored,
            unit.fetched,
            unit.windows,
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

/// A progress bar on a terminal, one plain line per stored day otherwise.
struct CliProgress {
    bar: Option<Mutex<Option<ProgressBar>>>,
}

impl CliProgress {
    fn new() -> Self {
        CliProgress {
            bar: std::io::stderr().is_terminal().then(|| Mutex::new(None)),
        }
    }
}

impl BackfillProgress for CliProgress {
    fn unit_started(&self, unit_id: i64, total: u64, done: u64) {
        match &self.bar {
            Some(slot) => {
                let bar = ProgressBar::new(total).with_position(done);
                if let Ok(style) =
                    ProgressStyle::with_template("unit {msg} {wide_bar} {pos}/{len} days {eta}")
                {
                    bar.set_style(style);
                }
                bar.set_message(unit_id.to_string());
                if let Ok(mut slot) = slot.lock() {
                    *slot = Some(bar);
                }
            }
            None if done > 0 => {
                eprintln!("unit {unit_id}: resuming backfill, {done} of {total} days stored")
            }
            None => eprintln!("unit {unit_id}: backfilling {total} days"),
        }
    }

    fn window_stored(&self, unit_id: i64, position: DateTime<Utc>, stored: u64) {
        match &self.bar {
            Some(slot) => {
                if let Ok(slot) = slot.lock()
                    && let Some(bar) = slot.as_ref()
                {
                    bar.inc(1);
                }
            }
            None => eprintln!(
                "unit {unit_id}: stored up to {} ({stored} new)",
                position.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        }
    }

    fn unit_finished(&self, report: &UnitBackfill) {
        if let Some(slot) = &self.bar
            && let Ok(mut slot) = slot.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
        println!(
            "unit {}: backfill complete up to {}: {} new of {} fetched",
            report.unit_id,
            report.to.format("%Y-%m-%dT%H:%M:%SZ"),
            report.stored,
            report.fetched
        );
    }
}

async fn backfill(
    context: &Context,
    unit: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), CliError> {
    let config = context.load_config()?;
    let client = Client::new(&config.flexykey)?;
    let ledger = open_ledger_to_write(&config).await?;
    let selection = match unit {
        Some(unit_id) => UnitSelection::Listed(vec![unit_id]),
        None => config.archive.units.clone(),
    };
    let report = archive::backfill(
        &client,
        &ledger,
        &selection,
        from,
        to,
        now,
        &CliProgress::new(),
    )
    .await
    .map_err(archive_err)?;
    for unit_id in &report.skipped {
        println!("unit {unit_id}: skipped (not a FlexyKey unit: no logs)");
    }
    Ok(())
}

fn filter_of(args: &FilterArgs, now: DateTime<Utc>) -> Result<ArchiveFilter, CliError> {
    Ok(ArchiveFilter {
        unit_id: args.unit,
        from: args
            .from
            .as_deref()
            .map(|text| when("--from", text, WhenBound::Start, now))
            .transpose()?,
        to: args
            .to
            .as_deref()
            .map(|text| when("--to", text, WhenBound::End, now))
            .transpose()?,
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
    let filter = filter_of(&args, now)?;
    let ledger = open_ledger(&config).await?;
    let unit_ids: Vec<i64> = match filter.unit_id {
        Some(unit_id) => vec![unit_id],
        None => ledger
            .archive_units()
            .await
            .map_err(|err| CliError::Other(err.into()))?
            .into_iter()
            .map(|unit| unit.unit_id)
            .collect(),
    };
    let zones = if context.tz.is_some() {
        HashMap::new()
    } else {
        unit_zones(&config, &ledger, &unit_ids).await?
    };
    let labels = CredentialIndex::load(&ledger, &unit_ids)
        .await
        .map_err(archive_err)?;
    let options = ShowOptions {
        filter,
        grep: args.grep,
        zone_override: context.tz,
    };
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    archive::show(&ledger, &options, &zones, &labels, out)
        .await
        .map_err(archive_err)?;
    Ok(())
}

async fn export(
    context: &Context,
    format: FormatArg,
    output: Option<PathBuf>,
    args: FilterArgs,
    now: DateTime<Utc>,
) -> Result<(), CliError> {
    let config = context.load_config()?;
    let filter = filter_of(&args, now)?;
    let ledger = open_ledger(&config).await?;
    let format = match format {
        FormatArg::Csv => ExportFormat::Csv,
        FormatArg::Jsonl => ExportFormat::JsonLines,
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
        eprintln!("{written} entries written to {}", path.display());
    }
    Ok(())
}
