//! The command line's one language, through the real binary: each command's `--json` against
//! the shapes docs/cli-json.md documents, and windows read in the booking object's or unit's
//! zone with `[from, to)` across clock changes.

mod json;
mod windows;

use std::collections::BTreeSet;

/// The keys of the example under the heading that names `command` in docs/cli-json.md (for an
/// array, of its first element).
pub fn documented_keys(command: &str) -> BTreeSet<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli-json.md"))
        .expect("docs/cli-json.md");
    let section = doc
        .split("\n## ")
        .find(|section| {
            let heading = section.lines().next().unwrap_or("");
            heading.contains(&format!("`flexysync {command} "))
                || heading.contains(&format!("`flexysync {command}`"))
        })
        .unwrap_or_else(|| panic!("docs/cli-json.md documents no `flexysync {command}`"));
    let block = section
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .unwrap_or_else(|| panic!("no JSON example for {command}"));
    let value: serde_json::Value = serde_json::from_str(block)
        .unwrap_or_else(|err| panic!("the example for {command} does not parse: {err}"));
    keys(&value)
}

/// The keys of `value` (for an array, of its first element).
pub fn keys(value: &serde_json::Value) -> BTreeSet<String> {
    let object = match value {
        serde_json::Value::Array(items) => items.first().unwrap_or(&serde_json::Value::Null),
        other => other,
    };
    object
        .as_object()
        .map(|fields| fields.keys().cloned().collect())
        .unwrap_or_default()
}

/// Parses `out`'s standard output as JSON and checks its keys against the documented ones.
pub fn assert_documented(command: &str, out: &std::process::Output) -> serde_json::Value {
    let text = crate::helpers::stdout(out);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|err| {
        panic!(
            "{command} --json is not JSON ({err}): {text}{}",
            crate::helpers::stderr(out)
        )
    });
    assert_eq!(
        keys(&value),
        documented_keys(command),
        "{command}: the keys differ from docs/cli-json.md: {text}"
    );
    value
}

/// Runs `flexysync --json ARGS` with `config` and checks what every `--json` promises: exit 0,
/// the keys docs/cli-json.md shows under `command`, times in UTC.
pub async fn json_of(config: &std::path::Path, command: &str, args: &[&str]) -> serde_json::Value {
    let mut argv = vec!["--json"];
    argv.extend(args);
    let out = crate::helpers::run(config, &argv).await;
    assert_eq!(
        crate::helpers::code(&out),
        0,
        "{command}: {}",
        crate::helpers::stderr(&out)
    );
    let value = assert_documented(command, &out);
    assert_times_in_utc(&value);
    value
}

/// Every RFC 3339 time in `value` is in UTC (`...Z`).
pub fn assert_times_in_utc(value: &serde_json::Value) {
    match value {
        serde_json::Value::String(text) if chrono::DateTime::parse_from_rfc3339(text).is_ok() => {
            assert!(text.ends_with('Z'), "{text} is not UTC");
        }
        serde_json::Value::Array(items) => items.iter().for_each(assert_times_in_utc),
        serde_json::Value::Object(fields) => fields.values().for_each(assert_times_in_utc),
        _ => {}
    }
}
