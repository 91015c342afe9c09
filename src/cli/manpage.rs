//! `flexysync man`: the man pages, generated from the same clap definitions as `--help`:
//! `flexysync(1)` with the sections a reader looks for (exit status, environment, files), and
//! one page per subcommand (`flexysync-sync(1)`, `flexysync-logs-backfill(1)`, ...), which the
//! main page names.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};

use super::{Cli, CliError};

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write every page (flexysync.1 and one per subcommand) into this directory instead of
    /// printing flexysync(1)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Sections clap does not know about, in roff.
const EXTRA_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
success
.TP
\fB1\fR
a sync that did not converge (something failed or is held); \fBhealthcheck\fR: not healthy
.TP
\fB2\fR
usage or config error
.TP
\fB3\fR
FlexyKey refused (auth, access, invalid, not found)
.TP
\fB4\fR
FlexyKey unreachable or failing
.SH ENVIRONMENT
.TP
\fBFLEXYSYNC_CONFIG\fR
the config file when \fB\-\-config\fR is not given
.TP
\fBFLEXYSYNC__\fISECTION\fB__\fIKEY\fR
overrides one config key, e.g. \fBFLEXYSYNC__SERVER__LISTEN=0.0.0.0:8080\fR (\fBdemo\fR ignores these)
.TP
\fBRUST_LOG\fR
overrides \fBlog.level\fR
.SH FILES
.TP
\fI/etc/flexysync/config.toml\fR
the config file (\fI/usr/share/doc/flexysync/example.toml\fR explains every key)
.TP
\fI/etc/flexysync/credentials/\fR
secret files the config names (\fBpassword_file\fR, \fBcode_secret_file\fR)
.TP
\fI/var/lib/flexysync/ledger.db\fR
the SQLite ledger
.SH "SEE ALSO"
\fBsystemctl\fR(1), \fBjournalctl\fR(1), \fI/usr/share/doc/flexysync/README.md\fR
"#;

pub fn run(args: ManArgs) -> Result<(), CliError> {
    let written = match &args.dir {
        Some(dir) => write_all(dir).map_err(|err| format!("{}: {err}", dir.display())),
        None => render_main(&mut std::io::stdout().lock()).map_err(|err| err.to_string()),
    };
    written.map_err(|reason| CliError::Other(anyhow::anyhow!("writing the man pages: {reason}")))
}

/// The command as the pages show it: no `help` subcommand (there is no page for it).
fn command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// flexysync(1).
pub fn render_main(out: &mut dyn Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(command()).manual("flexysync manual");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    out.write_all(EXTRA_SECTIONS.as_bytes())?;
    man.render_version_section(out)
}

/// Every page into `dir`: one per subcommand, then flexysync(1) with its extra sections.
fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(command(), dir)?;
    let mut main = std::fs::File::create(dir.join("flexysync.1"))?;
    render_main(&mut main)?;
    main.flush()
}
