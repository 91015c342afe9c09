//! Terminal output: plain text tables, and JSON for scripts.

use serde::Serialize;

use super::CliError;
use crate::text::{display_width, pad_right};

/// Prints rows under headers, each column as wide as its widest cell.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    print!("{}", render_table(headers, rows));
}

/// The table as text: columns two spaces apart, each as wide as its widest cell in terminal
/// columns (so `Åsa` and `🔑` line up with ASCII), trailing spaces trimmed.
pub fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(display_width(cell));
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            if index > 0 {
                text.push_str("  ");
            }
            let width = widths.get(index).copied().unwrap_or(0);
            text.push_str(&pad_right(cell, width));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    if rows.is_empty() {
        out.push_str("(none)\n");
    }
    out
}

/// `value` as pretty JSON on standard output (the commands' `--json`).
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?;
    println!("{text}");
    Ok(())
}

/// `items` as JSON with `--json`, else as a table of one `row` each under `headers`.
pub fn print_list<T: Serialize>(
    context: &super::Context,
    items: &[T],
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<(), CliError> {
    if context.json {
        return print_json(&items);
    }
    let rows: Vec<Vec<String>> = items.iter().map(row).collect();
    print_table(headers, &rows);
    Ok(())
}

/// `-` for an absent value.
pub fn or_dash(value: Option<&str>) -> String {
    value.filter(|v| !v.is_empty()).unwrap_or("-").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let text = render_table(
            &["ID", "NAME"],
            &[
                vec!["1".into(), "Cabin".into()],
                vec!["1234".into(), "X".into()],
            ],
        );
        assert_eq!(text, "ID    NAME\n1     Cabin\n1234  X\n");
        assert!(render_table(&["A"], &[]).contains("(none)"));
    }

    #[test]
    fn aligns_columns_by_display_width() {
        let text = render_table(
            &["WHO", "WHAT"],
            &[
                vec!["Åsa Öberg".into(), "door".into()],
                vec!["🔑 Bo".into(), "gate".into()],
                vec!["Ann".into(), "x".into()],
            ],
        );
        // The second column starts at the same terminal column on every line.
        let columns: Vec<usize> = text
            .lines()
            .map(|line| {
                let start = line.rfind("  ").unwrap() + 2;
                // Measured by the crate itself, not by the code under test.
                unicode_width::UnicodeWidthStr::width(&line[..start])
            })
            .collect();
        assert_eq!(columns, vec![11, 11, 11, 11], "{text}");
    }
}
