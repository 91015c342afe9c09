//! Operator commands over the FlexyKey API: units, unit, objects, bookings. Every input is
//! validated before the first call, so a typo never reaches FlexyKey.

use chrono::Utc;
use clap::{Args, Subcommand};

use super::table::{or_dash, print_json, print_list, print_table};
use super::{CliError, Context, help};
use crate::flexykey::{Client, NewBooking, OutputAction, OutputName, UnitRef};
use crate::redact::mask;

#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// Show one unit's information and IO description
    #[command(after_help = "Example:\n  flexysync unit show 3023")]
    Show {
        /// The unit's id (see `flexysync units`)
        unit_id: i64,
    },
    /// Show a unit's inputs and outputs right now
    #[command(
        after_help = "The status time is shown in the unit's zone, or in --tz.\n\n\
                      Example:\n  flexysync unit status --serial 040530585131396"
    )]
    Status(UnitTarget),
    /// Switch an output on or off, or pulse it
    #[command(
        override_usage = "flexysync unit control <ID> <OUTPUT> <ACTION>\n       \
                          flexysync unit control --serial <SERIAL> <OUTPUT> <ACTION>",
        after_help = "Arguments:\n  \
                      <ID>      The unit's id (left out with --serial)\n  \
                      <OUTPUT>  F1, F2 or X1 to X64 (any case)\n  \
                      <ACTION>  ON, OFF, or a pulse length in seconds (1 to 99999)\n\n\
                      Example:\n  flexysync unit control 3023 F1 5"
    )]
    Control {
        /// The unit's serial number instead of its id (leading zeros kept)
        #[arg(long)]
        serial: Option<String>,
        /// The unit's id (unless --serial), the output and the action
        #[arg(num_args = 2..=3, required = true, value_name = "ARG", hide = true)]
        args: Vec<String>,
    },
}

/// A unit by id, or by `--serial`.
#[derive(Debug, Args)]
pub struct UnitTarget {
    /// The unit's id
    #[arg(required_unless_present = "serial", conflicts_with = "serial")]
    pub unit_id: Option<i64>,
    /// The unit's serial number instead of its id (leading zeros kept)
    #[arg(long)]
    pub serial: Option<String>,
}

impl UnitTarget {
    fn to_ref(&self) -> Result<UnitRef, CliError> {
        match (&self.unit_id, &self.serial) {
            (Some(id), None) => Ok(UnitRef::Id(*id)),
            (None, Some(serial))
                if !serial.is_empty() && serial.chars().all(|c| c.is_ascii_digit()) =>
            {
                Ok(UnitRef::Serial(serial.clone()))
            }
            (None, Some(serial)) => Err(CliError::Usage(format!(
                "--serial {serial:?}: expected the unit's serial number, digits only"
            ))),
            _ => Err(CliError::Usage(
                "give a unit id or --serial, not both".into(),
            )),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum BookingsCommand {
    /// List a booking object's bookings that overlap a window
    #[command(after_help = BOOKINGS_LIST_HELP)]
    List {
        /// The booking object (see `flexysync objects`)
        #[arg(long, value_name = "ID")]
        object: i64,
        #[arg(long, value_name = "WHEN", help = help::FROM_HELP)]
        from: String,
        #[arg(long, value_name = "WHEN", help = help::TO_HELP)]
        to: String,
    },
    /// Create a booking by hand, valid from --from until --to
    #[command(after_help = BOOKINGS_CREATE_HELP)]
    Create {
        /// The booking object the booking opens (see `flexysync objects`)
        #[arg(long, value_name = "ID")]
        object: i64,
        /// When access starts: a date (its 00:00) or a time (2026-12-01T15:00)
        #[arg(long, value_name = "WHEN")]
        from: String,
        /// When access ends: a date means the end of that day (the next day's 00:00), or a
        /// time (2026-12-05T11:00)
        #[arg(long, value_name = "WHEN")]
        to: String,
        /// A phone number with country code (+46701234567); up to three
        #[arg(long = "phone", value_name = "PHONE")]
        phones: Vec<String>,
        /// Keypad code, 4 to 8 digits
        #[arg(long, value_name = "DIGITS")]
        code: Option<String>,
        /// An RFID tag's id, as FlexyKey shows it
        #[arg(long, value_name = "TAG")]
        rfid: Option<String>,
        /// Free text, up to 100 characters
        #[arg(long, value_name = "TEXT")]
        name: Option<String>,
    },
    /// Delete one booking by id
    #[command(after_help = "Example:\n  flexysync bookings delete 48213")]
    Delete {
        /// The booking's id (see `flexysync bookings list`)
        booking_id: i64,
    },
}

/// Where the bookings commands read dates and show times.
macro_rules! object_zone_help {
    () => {
        " Dates and times without an offset are read, and times shown, in the booking \
         object's zone (its source's `timezone`, else its unit's), or in --tz."
    };
}

const BOOKINGS_LIST_HELP: &str = concat!(
    help::window_rule!(),
    object_zone_help!(),
    "\n\nExample:\n  flexysync bookings list --object 123 --from 2026-12-01 --to 2026-12-31"
);

const BOOKINGS_CREATE_HELP: &str = concat!(
    "The booking is valid [from, to): a bare date as --to means the end of that day.",
    object_zone_help!(),
    "\n\nExample:\n  flexysync bookings create --object 123 --from 2026-12-01T15:00 \
     --to 2026-12-05T11:00 --phone +46701234567 --name \"Anna Svensson\""
);

fn client(context: &Context) -> Result<Client, CliError> {
    let config = context.load_config()?;
    Ok(Client::new(&config.flexykey)?)
}

pub async fn units(context: &Context) -> Result<(), CliError> {
    let units = client(context)?.units().await?;
    let headers = ["ID", "TYPE", "SERIAL", "NAME", "ZONE", "VERSION"];
    print_list(context, &units, &headers, |unit| {
        vec![
            unit.unit_id.to_string(),
            unit.unit_type.clone(),
            or_dash(unit.serial_number.as_deref()),
            or_dash(unit.name.as_deref()),
            unit.timezone()
                .map(|tz| tz.name().to_owned())
                .unwrap_or_else(|| or_dash(unit.timezone_id.as_deref())),
            or_dash(unit.soft_version.as_deref()),
        ]
    })
}

pub async fn unit(cmd: UnitCommand, context: &Context) -> Result<(), CliError> {
    match cmd {
        UnitCommand::Show { unit_id } => {
            let unit = client(context)?.unit(unit_id).await?;
            if context.json {
                return print_json(&unit);
            }
            let zone = unit.timezone().map(|tz| tz.name().to_owned());
            let facts = [
                ("unit", unit.unit_id.to_string()),
                ("type", unit.unit_type.clone()),
                ("serial", or_dash(unit.serial_number.as_deref())),
                ("name", or_dash(unit.name.as_deref())),
                ("phone or id", or_dash(unit.own_phone_or_id.as_deref())),
                ("software", or_dash(unit.soft_version.as_deref())),
                (
                    "time zone",
                    format!(
                        "{} ({})",
                        or_dash(unit.timezone_id.as_deref()),
                        or_dash(zone.as_deref())
                    ),
                ),
                ("note", or_dash(unit.unit_note.as_deref())),
                ("created", or_dash(unit.created.as_deref())),
                ("info", or_dash(unit.unit_info.as_deref())),
            ];
            for (label, value) in facts {
                println!("{label:<12} {value}");
            }
            if !unit.io.is_empty() {
                println!();
                let rows: Vec<Vec<String>> = unit
                    .io
                    .iter()
                    .map(|io| {
                        vec![
                            io.global_number.clone(),
                            io.local_number
                                .map(|n| n.to_string())
                                .unwrap_or_else(|| "-".into()),
                            or_dash(io.description.as_deref()),
                        ]
                    })
                    .collect();
                print_table(&["IO", "LOCAL", "DESCRIPTION"], &rows);
            }
            Ok(())
        }
        UnitCommand::Status(target) => {
            let unit_ref = target.to_ref()?;
            let config = context.load_config()?;
            let client = Client::new(&config.flexykey)?;
            let status = client.io_status(&unit_ref).await?;
            if context.json {
                return print_json(&status);
            }
            let zone = context
                .unit_zone(&config, Some(&client), status.unit_id)
                .await;
            println!(
                "unit {} (serial {}), status at {}",
                status.unit_id,
                or_dash(status.serial_number.as_deref()),
                status
                    .status_timestamp
                    .map(|t| zone.time(t))
                    .unwrap_or_else(|| "-".into())
            );
            let mut rows = vec![];
            for (kind, points) in [
                ("input", &status.inputs),
                ("output", &status.f_outputs),
                ("expansion output", &status.x_outputs),
            ] {
                for point in points {
                    rows.push(vec![
                        point.name.clone(),
                        kind.to_owned(),
                        point.state.clone(),
                    ]);
                }
            }
            print_table(&["IO", "KIND", "STATE"], &rows);
            Ok(())
        }
        UnitCommand::Control { serial, args } => {
            // Validated before any call: a refused value never reaches FlexyKey.
            let (target, output, action) = control_args(serial, args)?;
            let unit_ref = target.to_ref()?;
            let output: OutputName = output.parse().map_err(CliError::Usage)?;
            let action: OutputAction = action.parse().map_err(CliError::Usage)?;
            let result = client(context)?.control(&unit_ref, &output, action).await?;
            if context.json {
                return print_json(&result);
            }
            println!(
                "{}: output {} set to {} ({})",
                result
                    .unit_id
                    .map(|id| format!("unit {id}"))
                    .unwrap_or_else(|| "unit".into()),
                result.output_number,
                result.output_action,
                result.status
            );
            Ok(())
        }
    }
}

pub async fn objects(context: &Context) -> Result<(), CliError> {
    let objects = client(context)?.booking_objects().await?;
    print_list(context, &objects, &["OBJECT", "NAME", "UNITS"], |object| {
        let units: Vec<String> = object.unit_ids.iter().map(i64::to_string).collect();
        vec![
            object.booking_object_id.to_string(),
            or_dash(object.name.as_deref()),
            units.join(", "),
        ]
    })
}

pub async fn bookings(cmd: BookingsCommand, context: &Context) -> Result<(), CliError> {
    match cmd {
        BookingsCommand::List { object, from, to } => {
            let config = context.load_config()?;
            let client = Client::new(&config.flexykey)?;
            let zone = context.object_zone(&config, Some(&client), object).await;
            let (from, to) = zone.window(&from, &to, Utc::now())?;
            let mut bookings = client.bookings(object, from, to).await?;
            bookings.sort_by_key(|b| (b.start, b.booking_id));
            if !context.json {
                println!("{}", zone.caption());
            }
            let headers = ["BOOKING", "START", "END", "PHONES", "CODE", "RFID", "NAME"];
            print_list(context, &bookings, &headers, |b| {
                let phones: Vec<String> = b.phones.iter().map(|p| mask(p)).collect();
                vec![
                    b.booking_id.to_string(),
                    zone.time(b.start),
                    zone.time(b.end),
                    if phones.is_empty() {
                        "-".into()
                    } else {
                        phones.join(" ")
                    },
                    b.code.as_deref().map(mask).unwrap_or_else(|| "-".into()),
                    b.rfid.as_deref().map(mask).unwrap_or_else(|| "-".into()),
                    or_dash(b.name.as_deref()),
                ]
            })
        }
        BookingsCommand::Create {
            object,
            from,
            to,
            phones,
            code,
            rfid,
            name,
        } => {
            let config = context.load_config()?;
            let client = Client::new(&config.flexykey)?;
            let zone = context.object_zone(&config, Some(&client), object).await;
            let (start, end) = zone.window(&from, &to, Utc::now())?;
            let booking = NewBooking {
                booking_object_id: object,
                start,
                end,
                phones: check_phones(phones)?,
                code: check_code(code)?,
                rfid,
                name: check_name(name)?,
            };
            let created = client.create_booking(&booking).await?;
            if context.json {
                return print_json(&created);
            }
            println!(
                "created booking {} on object {}: {} to {}",
                created.booking_id,
                created.booking_object_id,
                zone.time(created.start),
                zone.time(created.end)
            );
            Ok(())
        }
        BookingsCommand::Delete { booking_id } => {
            client(context)?.delete_booking(booking_id).await?;
            if context.json {
                return print_json(&serde_json::json!({ "deleted": booking_id }));
            }
            println!("deleted booking {booking_id}");
            Ok(())
        }
    }
}

/// Splits `[ID] OUTPUT ACTION`: the id is there unless `--serial` names the unit.
fn control_args(
    serial: Option<String>,
    mut args: Vec<String>,
) -> Result<(UnitTarget, String, String), CliError> {
    let expected = if serial.is_some() { 2 } else { 3 };
    if args.len() != expected {
        return Err(CliError::Usage(if serial.is_some() {
            "with --serial, give OUTPUT and ACTION, e.g. `unit control --serial 040530585131396 F1 ON`".into()
        } else {
            "give ID OUTPUT ACTION, e.g. `unit control 3023 F1 ON`".into()
        }));
    }
    let action = args.pop().unwrap_or_default();
    let output = args.pop().unwrap_or_default();
    let unit_id = match args.pop() {
        Some(id) => Some(id.parse::<i64>().map_err(|_| {
            CliError::Usage(format!("unit id {id:?}: expected a number such as 3023"))
        })?),
        None => None,
    };
    Ok((UnitTarget { unit_id, serial }, output, action))
}

fn check_phones(phones: Vec<String>) -> Result<Vec<String>, CliError> {
    if phones.len() > 3 {
        return Err(CliError::Usage(format!(
            "--phone: a booking takes at most three phone numbers, {} given",
            phones.len()
        )));
    }
    phones
        .iter()
        .map(|phone| match crate::model::phone::international(phone) {
            Some(number) => Ok(number.into_string()),
            None => Err(CliError::Usage(format!(
                "--phone {}: expected a valid international number such as +46701234567 \
                 (libphonenumber's rules)",
                mask(phone)
            ))),
        })
        .collect()
}

fn check_code(code: Option<String>) -> Result<Option<String>, CliError> {
    match code {
        Some(code)
            if !(4..=8).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_digit()) =>
        {
            Err(CliError::Usage("--code: expected 4 to 8 digits".into()))
        }
        other => Ok(other),
    }
}

fn check_name(name: Option<String>) -> Result<Option<String>, CliError> {
    match name {
        Some(name) if name.chars().count() > 100 => Err(CliError::Usage(format!(
            "--name: at most 100 characters, {} given",
            name.chars().count()
        ))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_for_a_manual_booking_are_valid_international_numbers_in_e164() {
        let phones = check_phones(vec![
            "+46 70-123 45 67".to_owned(),
            "0039 06 1234 5678".to_owned(),
        ]);
        assert_eq!(phones.unwrap(), ["+46701234567", "+390612345678"]);
        for wrong in ["0701234567", "+46 70 12", "+447700900123", "+46 70 CALL"] {
            let err = check_phones(vec![wrong.to_owned()])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("expected a valid international number"),
                "{wrong}: {err}"
            );
            assert!(!err.contains(wrong), "{wrong}: {err}");
        }
    }
}
