//! Operator commands over the FlexyKey API: units, unit, objects, bookings. Every input is
//! validated before the first call, so a typo never reaches FlexyKey.

use clap::{Args, Subcommand};

use super::table::{or_dash, print_json, print_list, print_table};
use super::{CliError, Context};
use crate::flexykey::{Client, NewBooking, OutputAction, OutputName, UnitRef};
use crate::redact::mask;
use crate::when::{WhenBound, parse_when};

#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// Show one unit's information and IO description
    Show { unit_id: i64 },
    /// Show a unit's inputs and outputs right now
    Status(UnitTarget),
    /// Switch an output: `unit control ID OUTPUT ACTION` or `unit control --serial S OUTPUT
    /// ACTION`; OUTPUT is F1, F2 or X1 to X64 (case-insensitive), ACTION is ON, OFF or a pulse
    /// length in seconds (1 to 99999)
    Control {
        /// The unit's serial number instead of its id
        #[arg(long)]
        serial: Option<String>,
        /// [ID] OUTPUT ACTION
        #[arg(num_args = 2..=3, required = true, value_name = "ID OUTPUT ACTION")]
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
    List {
        #[arg(long)]
        object: i64,
        /// Start of the window: a date (2026-12-01) or an RFC 3339 time
        #[arg(long)]
        from: String,
        /// End of the window
        #[arg(long)]
        to: String,
    },
    /// Create a booking by hand
    Create {
        #[arg(long)]
        object: i64,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// A phone number with country code; up to three
        #[arg(long = "phone")]
        phones: Vec<String>,
        /// Keypad code, 4 to 8 digits
        #[arg(long)]
        code: Option<String>,
        #[arg(long)]
        rfid: Option<String>,
        /// Free text, up to 100 characters
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete one booking by id
    Delete { booking_id: i64 },
}

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
            let status = client(context)?.io_status(&unit_ref).await?;
            if context.json {
                return print_json(&status);
            }
            println!(
                "unit {} (serial {}), status at {}",
                status.unit_id,
                or_dash(status.serial_number.as_deref()),
                status
                    .status_timestamp
                    .map(|t| context.show_time(t))
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
            let (from, to) = window(&from, &to, context)?;
            let mut bookings = client(context)?.bookings(object, from, to).await?;
            bookings.sort_by_key(|b| (b.start, b.booking_id));
            let headers = ["BOOKING", "START", "END", "PHONES", "CODE", "RFID", "NAME"];
            print_list(context, &bookings, &headers, |b| {
                let phones: Vec<String> = b.phones.iter().map(|p| mask(p)).collect();
                vec![
                    b.booking_id.to_string(),
                    context.show_time(b.start),
                    context.show_time(b.end),
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
            let (start, end) = window(&from, &to, context)?;
            let booking = NewBooking {
                booking_object_id: object,
                start,
                end,
                phones: check_phones(phones)?,
                code: check_code(code)?,
                rfid,
                name: check_name(name)?,
            };
            let created = client(context)?.create_booking(&booking).await?;
            if context.json {
                return print_json(&created);
            }
            println!(
                "created booking {} on object {}: {} to {}",
                created.booking_id,
                created.booking_object_id,
                context.show_time(created.start),
                context.show_time(created.end)
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

fn window(
    from: &str,
    to: &str,
    context: &Context,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), CliError> {
    // A booking's end is exclusive: a bare date stands for its midnight at either end.
    let now = chrono::Utc::now();
    let when = |flag: &str, text: &str| {
        parse_when(text, WhenBound::Start, context.tz, now)
            .map_err(|e| CliError::Usage(format!("{flag}: {e}")))
    };
    let start = when("--from", from)?;
    let end = when("--to", to)?;
    if end <= start {
        return Err(CliError::Usage(format!(
            "--to ({to}) must be after --from ({from})"
        )));
    }
    Ok((start, end))
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
        .map(|phone| match crate::sources::phone::international(phone) {
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
