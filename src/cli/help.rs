//! How `--help` presents flexysync: the commands grouped as a user meets them (set up, run,
//! inspect, FlexyKey by hand), and the wording of the window and zone rules every command
//! shares, kept here so that each command's help says them the same way.

use clap::{Command, CommandFactory};

use super::Cli;

/// A heading in the top-level help and the commands under it, in order.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    pub heading: &'static str,
    pub commands: &'static [&'static str],
}

/// The top-level commands by group, in the order a user meets them. A new command goes into
/// one group here; its place also sets its display order (completions, man page). A name that
/// no command has is skipped, and a command missing here is still shown, under "Other".
pub const GROUPS: &[Group] = &[
    Group {
        heading: "Set up",
        commands: &["demo", "sandbox", "check", "completions", "man"],
    },
    Group {
        heading: "Run",
        commands: &["run", "sync", "healthcheck"],
    },
    Group {
        heading: "Inspect",
        commands: &["status", "outputs", "events", "feed", "logs"],
    },
    Group {
        heading: "FlexyKey by hand",
        commands: &["units", "unit", "objects", "bookings"],
    },
];

const OTHER_HEADING: &str = "Other";

/// `--from` of every command that takes a window.
pub const FROM_HELP: &str = "Start of the window, included: a date (from its 00:00) or a time \
    (2026-12-01T15:00, or with an offset 2026-12-01T14:00:00Z)";
/// `--to` of every command that takes a window.
pub const TO_HELP: &str = "End of the window, not included: a date means the end of that day \
    (the next day's 00:00), or a time (2026-12-05T11:00)";
/// The window rule, said under each command that takes a window (a macro so that `concat!`
/// can add each command's zone and example to it).
macro_rules! window_rule {
    () => {
        "Windows are [from, to): --from is included, --to is not, and a bare date as --to \
         means the end of that day."
    };
}
pub(crate) use window_rule;

/// The whole command line as clap sees it, with the grouped help: use this rather than
/// `Cli::command()` (parsing, completions, a man page).
pub fn command() -> Command {
    let mut command = Cli::command();
    let mut order = 0;
    for group in GROUPS {
        for name in group.commands {
            order += 1;
            if command.find_subcommand(name).is_some() {
                command = command.mut_subcommand(name, |sub| sub.display_order(order));
            }
        }
    }
    let template = format!(
        "{{before-help}}{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{}Options:\n{{options}}{{after-help}}",
        grouped_commands(&command)
    );
    command.help_template(template)
}

/// The "Commands" part of the top-level help: one block per group.
fn grouped_commands(command: &Command) -> String {
    let visible: Vec<&Command> = command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .collect();
    let width = visible
        .iter()
        .map(|sub| sub.get_name().len())
        .max()
        .unwrap_or(0);
    let line = |sub: &Command| {
        let about = sub.get_about().map(|about| about.to_string());
        // `{` and `}` would be read as template tags.
        let about = about.unwrap_or_default().replace(['{', '}'], "");
        format!("  {:<width$}  {about}\n", sub.get_name())
    };
    let mut out = String::new();
    for group in GROUPS {
        let members: Vec<&&Command> = group
            .commands
            .iter()
            .filter_map(|name| visible.iter().find(|sub| sub.get_name() == *name))
            .collect();
        if members.is_empty() {
            continue;
        }
        out.push_str(group.heading);
        out.push_str(":\n");
        for sub in members {
            out.push_str(&line(sub));
        }
        out.push('\n');
    }
    let others: Vec<&&Command> = visible
        .iter()
        .filter(|sub| {
            !GROUPS
                .iter()
                .any(|group| group.commands.contains(&sub.get_name()))
        })
        .collect();
    if !others.is_empty() {
        out.push_str(OTHER_HEADING);
        out.push_str(":\n");
        for sub in others {
            out.push_str(&line(sub));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
