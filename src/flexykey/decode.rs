//! Decoding helpers for the wire types, free of any field name: FlexyKey's JSON is typed
//! loosely (a serial number may come as a number, an id as a digit string, a list as `null`),
//! and none of that should fail a whole answer.

use serde::{Deserialize, Deserializer, de};
use serde_json::Value;

/// Any JSON scalar as text (`null` and absent as `None`): a serial number sent as a number
/// still arrives, and one sent as a string keeps its leading zeros.
pub(super) fn lenient_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => Some(other.to_string()),
    })
}

/// An integer id, sent as a JSON number or a digit string.
pub(super) fn lenient_id<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected an integer id, found {number}"))),
        Some(Value::String(text)) => text
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected an integer id, found {text:?}"))),
        Some(other) => Err(de::Error::custom(format!(
            "expected an integer id, found {other}"
        ))),
    }
}

/// `null` or absent list as empty.
pub(super) fn lenient_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A list answer: a bare JSON array (the assumption is stated in `wire.rs`). Each entry is
/// converted; the first bad one fails the whole list, naming its index, because silently
/// skipping a booking could lead to creating it twice.
pub(super) fn decode_list<W, T>(
    body: &[u8],
    convert: impl Fn(W) -> Result<T, String>,
) -> Result<Vec<T>, String>
where
    W: for<'de> Deserialize<'de>,
{
    let wire: Vec<W> =
        serde_json::from_slice(body).map_err(|err| format!("expected a JSON array: {err}"))?;
    wire.into_iter()
        .enumerate()
        .map(|(index, entry)| convert(entry).map_err(|reason| format!("entry {index}: {reason}")))
        .collect()
}

/// One JSON object, converted.
pub(super) fn decode_one<W, T>(
    body: &[u8],
    convert: impl FnOnce(W) -> Result<T, String>,
) -> Result<T, String>
where
    W: for<'de> Deserialize<'de>,
{
    let wire: W =
        serde_json::from_slice(body).map_err(|err| format!("expected a JSON object: {err}"))?;
    convert(wire)
}
