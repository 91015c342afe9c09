//! The contract's JSON, spelled here independently of `crate::flexykey` (see DESIGN.md): a
//! misspelling on either side then fails a test instead of being mirrored.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::state::{SandboxBooking, SandboxLogEntry};
use super::world::{IoPointSpec, ObjectSpec, UnitSpec};

/// `2025-11-21T10:21:11Z`: UTC, second precision.
pub(crate) const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

pub(crate) fn format_time(time: DateTime<Utc>) -> String {
    time.format(TIME_FORMAT).to_string()
}

/// Parses exactly the documented time format (a `Z` suffix, no fraction, no offset).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, TIME_FORMAT)
        .ok()
        .map(|naive| naive.and_utc())
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody<'a> {
    pub(crate) status: &'static str,
    pub(crate) message: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct UnitWire {
    #[serde(rename = "unitId")]
    unit_id: i64,
    #[serde(rename = "unitType")]
    unit_type: String,
    #[serde(rename = "serialnumber")]
    serialnumber: String,
    #[serde(rename = "ownPhoneOrID")]
    own_phone_or_id: String,
    #[serde(rename = "name")]
    name: String,
    #[serde(rename = "softVersion")]
    soft_version: String,
    #[serde(rename = "unitInfo")]
    unit_info: String,
    #[serde(rename = "unitNote")]
    unit_note: Option<String>,
    #[serde(rename = "timezoneId")]
    timezone_id: String,
    #[serde(rename = "timezoneInfo")]
    timezone_info: String,
    #[serde(rename = "created")]
    created: String,
    #[serde(rename = "io", skip_serializing_if = "Option::is_none")]
    io: Option<Vec<IoPointWire>>,
}

#[derive(Debug, Serialize)]
struct IoPointWire {
    #[serde(rename = "localNumber")]
    local_number: i64,
    #[serde(rename = "globalNumber")]
    global_number: String,
    #[serde(rename = "description")]
    description: String,
}

impl From<&UnitSpec> for UnitWire {
    fn from(unit: &UnitSpec) -> Self {
        UnitWire {
            unit_id: unit.unit_id,
            unit_type: unit.unit_type.clone(),
            serialnumber: unit.serial_number.clone(),
            own_phone_or_id: unit.own_phone_or_id.clone(),
            name: unit.name.clone(),
            soft_version: unit.soft_version.clone(),
            unit_info: unit.unit_info.clone(),
            unit_note: unit.unit_note.clone(),
            timezone_id: unit.timezone_id.clone(),
            timezone_info: unit.timezone_info.clone(),
            created: format_time(unit.created),
            io: unit
                .io
                .as_ref()
                .map(|points| points.iter().map(IoPointWire::from).collect()),
        }
    }
}

impl From<&IoPointSpec> for IoPointWire {
    fn from(point: &IoPointSpec) -> Self {
        IoPointWire {
            local_number: point.local_number,
            global_number: point.global_number.clone(),
            description: point.description.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ObjectWire {
    #[serde(rename = "bookingObjectId")]
    booking_object_id: i64,
    #[serde(rename = "name")]
    name: String,
    #[serde(rename = "unitIds")]
    unit_ids: Vec<i64>,
}

impl From<&ObjectSpec> for ObjectWire {
    fn from(object: &ObjectSpec) -> Self {
        ObjectWire {
            booking_object_id: object.booking_object_id,
            name: object.name.clone(),
            unit_ids: object.unit_ids.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct BookingWire {
    #[serde(rename = "bookingId")]
    booking_id: i64,
    #[serde(rename = "bookingObjectId")]
    booking_object_id: i64,
    #[serde(rename = "startDate")]
    start_date: String,
    #[serde(rename = "endDate")]
    end_date: String,
    #[serde(rename = "phone1")]
    phone1: Option<String>,
    #[serde(rename = "phone2")]
    phone2: Option<String>,
    #[serde(rename = "phone3")]
    phone3: Option<String>,
    #[serde(rename = "code")]
    code: Option<String>,
    #[serde(rename = "rfid")]
    rfid: Option<String>,
    #[serde(rename = "name")]
    name: Option<String>,
}

impl From<&SandboxBooking> for BookingWire {
    fn from(b: &SandboxBooking) -> Self {
        BookingWire {
            booking_id: b.booking_id,
            booking_object_id: b.booking_object_id,
            start_date: format_time(b.start_date),
            end_date: format_time(b.end_date),
            phone1: b.phone1.clone(),
            phone2: b.phone2.clone(),
            phone3: b.phone3.clone(),
            code: b.code.clone(),
            rfid: b.rfid.clone(),
            name: b.name.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct DeletedWire {
    #[serde(rename = "status")]
    pub(crate) status: &'static str,
    #[serde(rename = "bookingId")]
    pub(crate) booking_id: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct LogWire {
    #[serde(rename = "serverDate")]
    server_date: String,
    #[serde(rename = "unitDate")]
    unit_date: String,
    #[serde(rename = "sourceID")]
    source_id: String,
    #[serde(rename = "sourceLabel")]
    source_label: Option<String>,
    #[serde(rename = "actionLabel")]
    action_label: Option<String>,
    #[serde(rename = "logMsg")]
    log_msg: String,
}

impl From<&SandboxLogEntry> for LogWire {
    fn from(e: &SandboxLogEntry) -> Self {
        LogWire {
            server_date: format_time(e.server_date),
            unit_date: e.unit_date.clone(),
            source_id: e.source_id.clone(),
            source_label: e.source_label.clone(),
            action_label: e.action_label.clone(),
            log_msg: e.log_msg.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ControlWire {
    #[serde(rename = "status")]
    pub(crate) status: &'static str,
    #[serde(rename = "unitId")]
    pub(crate) unit_id: i64,
    #[serde(rename = "outputNumber")]
    pub(crate) output_number: String,
    #[serde(rename = "outputAction")]
    pub(crate) output_action: String,
    #[serde(rename = "messageId")]
    pub(crate) message_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct InputWire {
    #[serde(rename = "input")]
    pub(crate) input: String,
    #[serde(rename = "state")]
    pub(crate) state: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct OutputWire {
    #[serde(rename = "output")]
    pub(crate) output: String,
    #[serde(rename = "state")]
    pub(crate) state: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct StatusWire {
    #[serde(rename = "unitId")]
    pub(crate) unit_id: i64,
    #[serde(rename = "serialNumber")]
    pub(crate) serial_number: String,
    #[serde(rename = "statusTimestamp")]
    pub(crate) status_timestamp: String,
    #[serde(rename = "statusTimestampIso")]
    pub(crate) status_timestamp_iso: String,
    #[serde(rename = "rawStatus")]
    pub(crate) raw_status: String,
    #[serde(rename = "inputs")]
    pub(crate) inputs: Vec<InputWire>,
    #[serde(rename = "fOutputs")]
    pub(crate) f_outputs: Vec<OutputWire>,
    #[serde(rename = "xOutputs")]
    pub(crate) x_outputs: Vec<OutputWire>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_time_format_parses() {
        let time = parse_time("2025-11-21T10:21:11Z").unwrap();
        assert_eq!(format_time(time), "2025-11-21T10:21:11Z");
        for bad in [
            "2025-11-21T10:21:11+00:00",
            "2025-11-21T10:21:11.5Z",
            "2025-11-21 10:21:11",
            "2025-11-21",
            "",
        ] {
            assert!(parse_time(bad).is_none(), "{bad} accepted");
        }
    }
}
