//! Help snapshots: the grouping, an example under every command (and that it parses), help on
//! every argument, the window rule under every windowed command. Rendered at a fixed width so
//! that the terminal running the tests does not matter.

use clap::Command;

use super::{GROUPS, command};

const WIDTH: usize = 100;

fn rendered(path: &[&str]) -> String {
    let mut cmd = command().term_width(WIDTH);
    cmd.build();
    let mut target = &mut cmd;
    for name in path {
        target = target
            .find_subcommand_mut(name)
            .unwrap_or_else(|| panic!("no command {name}"));
    }
    target.render_help().to_string()
}

/// Every command below the top, with its path (`["logs", "show"]`).
fn every_command() -> Vec<(Vec<String>, Command)> {
    fn walk(prefix: &[String], cmd: &Command, out: &mut Vec<(Vec<String>, Command)>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            out.push((path.clone(), sub.clone()));
            walk(&path, sub, out);
        }
    }
    let mut out = vec![];
    walk(&[], &command(), &mut out);
    out
}

#[test]
fn the_top_level_help_groups_commands_as_a_user_meets_them() {
    let help = rendered(&[]);
    let commands = help
        .split("Usage: flexysync [OPTIONS] <COMMAND>\n\n")
        .nth(1)
        .and_then(|rest| rest.split("Options:").next())
        .unwrap_or_else(|| panic!("{help}"));
    assert_eq!(
        commands,
        "Set up:
  demo         Show flexysync working end to end against the built-in sandbox
  sandbox      Run the FlexyKey API simulator on a loopback port, to try a config safely
  check        Validate the config, reach FlexyKey and fetch every feed once
  completions  Print shell completions
  man          Print the man page (roff), or write every page with --dir

Run:
  run          Run the long-running service (schedules, webhooks, health, metrics, status page)
  sync         Run one full sync pass over all sources (fetch, plan, apply)
  healthcheck  Ask the running service's /healthz (on server.listen); exit 0 healthy, 1 not

Inspect:
  status       Show each source's freshness, held deletions and upcoming arrivals
  outputs      Show each booking-driven output's plan for 14 days and its last verified state
  events       Events told to people: list deliveries, retry failed ones
  feed         Preview what a calendar feed yields
  logs         Unit logs: fetch live, backfill, show and export the archive

FlexyKey by hand:
  units        List the FlexyKey units the account sees
  unit         Show, read or switch one unit
  objects      List the booking objects the account sees
  bookings     List, create or delete FlexyKey bookings by hand

",
        "{help}"
    );
    assert!(help.contains("--json"), "{help}");
    assert!(help.contains("flexysync demo"), "{help}");
}

#[test]
fn every_command_is_in_exactly_one_group_in_order() {
    let top = command();
    let names: Vec<&str> = top
        .get_subcommands()
        .map(|s| s.get_name())
        .filter(|name| *name != "help")
        .collect();
    for name in &names {
        let groups = GROUPS.iter().filter(|g| g.commands.contains(name)).count();
        assert_eq!(groups, 1, "{name} is in {groups} groups");
    }
    // The display order (completions, man pages) follows the groups.
    let mut ordered: Vec<(&str, usize)> = top
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .map(|s| (s.get_name(), s.get_display_order()))
        .collect();
    ordered.sort_by_key(|(_, order)| *order);
    let listed: Vec<&str> = GROUPS
        .iter()
        .flat_map(|g| g.commands.iter().copied())
        .filter(|name| names.contains(name))
        .collect();
    assert_eq!(
        ordered.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        listed
    );
}

/// A command line as the example writes it, split like a shell (double quotes; a redirect ends it).
fn words(line: &str) -> Vec<String> {
    let mut out = vec![];
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for ch in line.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            '>' if !quoted => break,
            c if c.is_whitespace() && !quoted => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

#[test]
fn every_command_shows_an_example_that_parses() {
    let mut checked = 0;
    for (path, cmd) in every_command() {
        let after = cmd
            .get_after_help()
            .map(|text| text.to_string())
            .unwrap_or_default();
        let example = after
            .split("Example:\n")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .unwrap_or_else(|| panic!("{path:?} shows no example: {after:?}"));
        let argv = words(example.trim());
        let expected: Vec<String> = std::iter::once("flexysync".to_owned())
            .chain(path.iter().cloned())
            .collect();
        assert_eq!(
            argv[..expected.len()],
            expected[..],
            "{path:?}: the example runs another command: {example}"
        );
        if let Err(err) = command().try_get_matches_from(&argv) {
            panic!("{path:?}: the example {example:?} does not parse: {err}");
        }
        assert!(
            rendered(&path.iter().map(String::as_str).collect::<Vec<_>>()).contains(example),
            "{path:?}"
        );
        checked += 1;
    }
    assert!(checked >= 24, "only {checked} commands checked");
}

#[test]
fn every_argument_and_command_has_help() {
    for (path, cmd) in every_command() {
        assert!(cmd.get_about().is_some(), "{path:?} has no about");
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if arg.is_hide_set() || ["help", "version"].contains(&id) {
                continue;
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(!help.trim().is_empty(), "{path:?}: {id} has no help");
        }
    }
}

#[test]
fn unit_control_shows_both_forms_of_its_usage() {
    let help = rendered(&["unit", "control"]);
    assert!(
        help.contains(
            "Usage: flexysync unit control <ID> <OUTPUT> <ACTION>\n       \
             flexysync unit control --serial <SERIAL> <OUTPUT> <ACTION>\n"
        ),
        "{help}"
    );
    assert!(!help.contains("<ID OUTPUT ACTION>"), "{help}");
    for argument in ["<ID>", "<OUTPUT>", "<ACTION>"] {
        assert!(help.contains(&format!("  {argument} ")), "{help}");
    }
}

#[test]
fn every_windowed_command_states_the_window_rule_and_its_zone() {
    let windowed = [
        &["bookings", "list"][..],
        &["bookings", "create"],
        &["logs", "fetch"],
        &["logs", "backfill"],
        &["logs", "show"],
        &["logs", "export"],
        &["feed", "preview"],
        &["feed", "occurrences"],
    ];
    for path in windowed {
        let help = rendered(path);
        let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains("[from, to)"), "{path:?}: {help}");
        assert!(
            flat.contains("means the end of that day"),
            "{path:?}: {help}"
        );
        assert!(flat.contains("zone"), "{path:?}: {help}");
    }
    // And no other command takes --to without saying so.
    for (path, cmd) in every_command() {
        if cmd.get_arguments().any(|a| a.get_id() == "to") {
            assert!(
                windowed
                    .iter()
                    .any(|w| *w == path.iter().map(String::as_str).collect::<Vec<_>>()),
                "{path:?} takes --to but is not checked here"
            );
        }
    }
}
