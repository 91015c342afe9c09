//! Logging: pretty lines for a terminal, JSON for log shippers. `RUST_LOG` overrides the level.
//! Colours only when stderr is a terminal (never into journald or a file); no timestamps of our
//! own when stderr is journald's stream, which stamps every line itself.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// How lines are decorated, decided from where stderr goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoration {
    pub colours: bool,
    pub timestamps: bool,
}

impl Decoration {
    /// `journal_stream` is `$JOURNAL_STREAM`, which systemd sets when stderr is journald's
    /// stream (journald stamps every line itself).
    pub fn for_stderr(is_terminal: bool, journal_stream: Option<&str>) -> Decoration {
        Decoration {
            colours: is_terminal,
            timestamps: journal_stream.is_none_or(|stream| stream.trim().is_empty()),
        }
    }

    fn of_this_process() -> Decoration {
        Decoration::for_stderr(
            std::io::stderr().is_terminal(),
            std::env::var("JOURNAL_STREAM").ok().as_deref(),
        )
    }
}

/// Installs the global subscriber once; later calls (tests, a reload) are no-ops.
pub fn init(log: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let decoration = Decoration::of_this_process();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(decoration.colours)
        .with_writer(std::io::stderr);
    let _ = match (log.format, decoration.timestamps) {
        (LogFormat::Json, true) => builder.json().flatten_event(true).try_init(),
        (LogFormat::Json, false) => builder.json().flatten_event(true).without_time().try_init(),
        (LogFormat::Pretty, true) => builder.compact().try_init(),
        (LogFormat::Pretty, false) => builder.compact().without_time().try_init(),
    };
}

/// For one-shot commands: warnings and errors only unless `RUST_LOG` says otherwise.
pub fn init_for_command() {
    init(&LogConfig {
        format: LogFormat::Pretty,
        level: "warn".to_owned(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_on_a_terminal() {
        assert!(Decoration::for_stderr(true, None).colours);
        assert!(!Decoration::for_stderr(false, None).colours);
    }

    #[test]
    fn no_timestamps_of_our_own_under_journald() {
        assert!(!Decoration::for_stderr(false, Some("8:4242")).timestamps);
        assert!(Decoration::for_stderr(false, None).timestamps);
        assert!(Decoration::for_stderr(true, Some("")).timestamps);
    }
}
