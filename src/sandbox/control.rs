//! `POST /control` (switch an output, pulses end by themselves: computed lazily from the
//! clock) and `GET /control` (IO status with a composed `ASTAT:` line).

use chrono::Duration;
use serde_json::Value;

use super::resources::{own_unit, parse_id, server_error};
use super::rng::SplitMix;
use super::routes::{Answer, Call, Failure, ok};
use super::state::OutputState;
use super::wire::{ControlWire, InputWire, OutputWire, StatusWire, format_time};
use super::world::{UnitSpec, World};
use super::{Shared, lock};

pub(crate) fn switch(shared: &Shared, call: &Call) -> Answer {
    let body = call.json_object()?;
    let unit_id = match body.get("unitId") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .ok_or_else(|| Failure::bad_request("unitId: expected an integer"))?,
        ),
        Some(_) => return Err(Failure::bad_request("unitId: expected an integer")),
    };
    let serial = match body.get("serialNumber") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if is_serial(text) => Some(text.clone()),
        Some(_) => {
            return Err(Failure::bad_request(
                "serialNumber: expected a digit string (leading zeros kept)",
            ));
        }
    };
    let output = match body.get("outputNumber") {
        Some(Value::String(text)) => output_name(text)?,
        None | Some(Value::Null) => return Err(Failure::bad_request("outputNumber is required")),
        Some(_) => return Err(Failure::bad_request("outputNumber: expected a string")),
    };
    let action = match body.get("outputAction") {
        Some(Value::String(text)) => Action::parse(text)?,
        None | Some(Value::Null) => return Err(Failure::bad_request("outputAction is required")),
        Some(_) => {
            return Err(Failure::bad_request(
                "outputAction: expected \"ON\", \"OFF\" or a pulse length in seconds, as a string",
            ));
        }
    };
    let mut state = lock(&shared.state);
    let unit = find_unit(&state.world, call.company, unit_id, serial.as_deref())?;
    switchable(unit, &output)?;
    let unit_id = unit.unit_id;
    let now = shared.now();
    let new_state = match action {
        Action::On => OutputState {
            on: true,
            until: None,
        },
        Action::Off => OutputState::default(),
        Action::Pulse(seconds) => OutputState {
            on: true,
            until: Some(now + Duration::seconds(i64::from(seconds))),
        },
    };
    state.set_output(unit_id, &output, new_state);
    state.save().map_err(server_error)?;
    ok(ControlWire {
        status: "OK",
        unit_id,
        output_number: output,
        output_action: action.to_string(),
        message_id: None,
    })
}

pub(crate) fn status(shared: &Shared, call: &Call) -> Answer {
    let unit_id = call
        .param("unitId")
        .map(|text| parse_id("unitId", text))
        .transpose()?;
    let serial = call.param("serialNumber").map(str::trim);
    if unit_id.is_none() && serial.is_none() {
        return Err(Failure::bad_request("unitId or serialNumber is required"));
    }
    let state = lock(&shared.state);
    let unit = find_unit(&state.world, call.company, unit_id, serial)?;
    if !unit.is_flexykey() {
        return Err(Failure::bad_request(format!(
            "unit {} is an {} unit: it has no IO status",
            unit.unit_id, unit.unit_type
        )));
    }
    let now = shared.now();
    let inputs: Vec<InputWire> = unit
        .inputs
        .iter()
        .enumerate()
        .map(|(index, input)| InputWire {
            input: input.clone(),
            state: on_off(input_is_on(shared.seed, unit.unit_id, index)),
        })
        .collect();
    let outputs: Vec<OutputWire> = unit
        .outputs
        .iter()
        .map(|output| OutputWire {
            output: output.clone(),
            state: on_off(state.output(unit.unit_id, output).is_on(now)),
        })
        .collect();
    let (f_outputs, x_outputs): (Vec<OutputWire>, Vec<OutputWire>) =
        outputs.into_iter().partition(|o| o.output.starts_with('F'));
    let bits = |states: &[&'static str]| -> String {
        states
            .iter()
            .map(|s| if *s == "on" { '1' } else { '0' })
            .collect()
    };
    let raw_status = format!(
        "ASTAT:IN={};F={};X={};T={}",
        bits(&inputs.iter().map(|i| i.state).collect::<Vec<_>>()),
        bits(&f_outputs.iter().map(|o| o.state).collect::<Vec<_>>()),
        bits(&x_outputs.iter().map(|o| o.state).collect::<Vec<_>>()),
        now.format("%y%m%d%H%M%S"),
    );
    ok(StatusWire {
        unit_id: unit.unit_id,
        serial_number: unit.serial_number.clone(),
        status_timestamp: now.format("%Y-%m-%d %H:%M:%S").to_string(),
        status_timestamp_iso: format_time(now),
        raw_status,
        inputs,
        f_outputs,
        x_outputs,
    })
}

/// The unit by id (preferred) or serial number; both given must agree.
fn find_unit<'a>(
    world: &'a World,
    company: u32,
    unit_id: Option<i64>,
    serial: Option<&str>,
) -> Result<&'a UnitSpec, Failure> {
    let unit = match (unit_id, serial) {
        (Some(id), _) => own_unit(world, company, id)?,
        (None, Some(serial)) => {
            let unit = world.unit_by_serial(serial).ok_or_else(|| {
                Failure::new(
                    axum::http::StatusCode::NOT_FOUND,
                    format!("no unit with serial number {serial}"),
                )
            })?;
            own_unit(world, company, unit.unit_id)?
        }
        (None, None) => return Err(Failure::bad_request("unitId or serialNumber is required")),
    };
    if let Some(serial) = serial
        && unit.serial_number != serial
    {
        return Err(Failure::bad_request(format!(
            "serialNumber {serial} is not the serial number of unit {}",
            unit.unit_id
        )));
    }
    Ok(unit)
}

fn switchable(unit: &UnitSpec, output: &str) -> Result<(), Failure> {
    if !unit.is_flexykey() {
        return Err(Failure::bad_request(format!(
            "unit {} is an {} unit: its outputs cannot be switched",
            unit.unit_id, unit.unit_type
        )));
    }
    if !unit.outputs.iter().any(|o| o == output) {
        return Err(Failure::bad_request(format!(
            "outputNumber: unit {} has no output {output}",
            unit.unit_id
        )));
    }
    Ok(())
}

fn is_serial(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `F1`, `F2`, `X1`–`X64`, any case, normalised to upper case.
fn output_name(text: &str) -> Result<String, Failure> {
    let upper = text.trim().to_ascii_uppercase();
    let valid = match upper.as_bytes() {
        b"F1" | b"F2" => true,
        [b'X', first, ..] if *first != b'0' => upper[1..]
            .parse::<u8>()
            .is_ok_and(|n| (1..=64).contains(&n)),
        _ => false,
    };
    if valid {
        Ok(upper)
    } else {
        Err(Failure::bad_request(format!(
            "outputNumber: {text:?} is not F1, F2 or X1 to X64"
        )))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    On,
    Off,
    Pulse(u32),
}

impl Action {
    fn parse(text: &str) -> Result<Action, Failure> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("on") {
            return Ok(Action::On);
        }
        if text.eq_ignore_ascii_case("off") {
            return Ok(Action::Off);
        }
        match text.parse::<u32>() {
            Ok(seconds) if (1..=99_999).contains(&seconds) && !text.starts_with('+') => {
                Ok(Action::Pulse(seconds))
            }
            _ => Err(Failure::bad_request(format!(
                "outputAction: {text:?} is not ON, OFF or a pulse of 1 to 99999 seconds"
            ))),
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::On => f.write_str("ON"),
            Action::Off => f.write_str("OFF"),
            Action::Pulse(seconds) => write!(f, "{seconds}"),
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Inputs do not change in the sandbox: each is on or off by the seed.
fn input_is_on(seed: u64, unit_id: i64, index: usize) -> bool {
    SplitMix::from_parts(&[seed, unit_id as u64, index as u64, 0x1A]).below(2) == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_and_actions_are_checked() {
        assert_eq!(output_name("x33").unwrap(), "X33");
        assert_eq!(output_name("f2").unwrap(), "F2");
        for bad in ["X65", "X0", "X01", "F3", "IN1", ""] {
            assert!(output_name(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(Action::parse("on").unwrap(), Action::On);
        assert_eq!(Action::parse("99999").unwrap(), Action::Pulse(99_999));
        for bad in ["0", "100000", "+5", "-1", "open"] {
            assert!(Action::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
