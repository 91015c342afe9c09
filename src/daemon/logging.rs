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
    /// `journal_stream` is `$JOURNAL_STREAM` (`DEVICE:INODE` of journald's stream, set by
    /// systemd), `stderr` the device and inode of our stderr: journald only when they match, so
    /// that a child whose stderr was redirected elsewhere keeps its timestamps.
    pub fn for_stderr(
        is_terminal: bool,
        journal_stream: Option<&str>,
        stderr: Option<(u64, u64)>,
    ) -> Decoration {
        let journald = journal_stream.is_some_and(|stream| {
            let parsed = stream
                .split_once(':')
                .and_then(|(dev, ino)| Some((dev.parse().ok()?, ino.parse().ok()?)));
            match (parsed, stderr) {
                (Some(stream), Some(ours)) => stream == ours,
                // Cannot compare: trust systemd's word.
                _ => true,
            }
        });
        Decoration {
            colours: is_terminal,
            timestamps: !journald,
        }
    }

    fn of_this_process() -> Decoration {
        use std::os::unix::fs::MetadataExt;
        let stderr = std::fs::metadata("/proc/self/fd/2")
            .ok()
            .map(|meta| (meta.dev(), meta.ino()));
        Decoration::for_stderr(
            std::io::stderr().is_terminal(),
            std::env::var("JOURNAL_STREAM").ok().as_deref(),
            stderr,
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
        assert!(Decoration::for_stderr(true, None, None).colours);
        assert!(!Decoration::for_stderr(false, None, None).colours);
    }

    #[test]
    fn no_timestamps_of_our_own_when_stderr_is_journalds_stream() {
        let ours = Some((8, 4242));
        assert!(!Decoration::for_stderr(false, Some("8:4242"), ours).timestamps);
        assert!(Decoration::for_stderr(false, None, ours).timestamps);
        // Inherited from a parent under systemd, but stderr now goes elsewhere.
        assert!(Decoration::for_stderr(false, Some("8:9999"), ours).timestamps);
        assert!(!Decoration::for_stderr(false, Some("8:4242"), None).timestamps);
    }
}
