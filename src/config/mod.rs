//! The one config file: `[flexykey]`, `[ledger]`, `[sync]`, `[[sources]]`, `[archive]`,
//! `[server]`, `[log]`. Loaded from TOML, overridden by `FLEXYSYNC__SECTION__KEY` variables,
//! validated once at start-up so that a bad value is reported with its file and key before
//! anything else happens.

pub(crate) mod choice;
mod duration;
mod notify;
mod outputs;
mod sections;
mod sources;
mod sync;
mod syntax;

use std::path::{Path, PathBuf};

use secrecy::SecretString;

pub use choice::{Choice, not_allowed};
pub use duration::{HumanDuration, parse_duration};
pub use notify::{AlertsConfig, NotifyKind, NotifyTarget, SmtpTls};
pub use outputs::{MAX_PULSE_SECONDS, OutputConfig, UnitKey};
pub use sections::*;
pub use sources::*;
pub use sync::*;

/// Where the config is read from when `--config` and `FLEXYSYNC_CONFIG` are both absent.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/flexysync/config.toml";
/// Prefix of the environment variables that override keys: `FLEXYSYNC__FLEXYKEY__USERNAME`.
pub const ENV_PREFIX: &str = "FLEXYSYNC";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("config file {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("config file {path}: key `{key}`: {reason}")]
    Key {
        path: PathBuf,
        key: String,
        reason: String,
    },
}

impl Config {
    /// Reads the file, applies environment overrides, resolves `*_file` secrets and validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let unreadable = |reason: String| ConfigError::Unreadable {
            path: path.to_owned(),
            reason,
        };
        // A FIFO or a device as the config would hang or never end: regular files only.
        let meta = std::fs::metadata(path).map_err(|err| unreadable(err.to_string()))?;
        if !meta.is_file() {
            return Err(unreadable(format!(
                "not a regular file ({})",
                file_kind(&meta)
            )));
        }
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(unreadable(format!(
                "larger than {MAX_CONFIG_BYTES} bytes; this is not a config file"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|err| unreadable(err.to_string()))?;
        Self::from_toml_with_env(&text, path, std::env::vars())
    }

    /// Parses TOML text (as if read from `path`) with the given environment overrides.
    pub fn from_toml_with_env(
        text: &str,
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            path: path.to_owned(),
            reason,
        };
        // Parse the file alone first: its syntax errors carry a line and column, and are told
        // without the line's text, which may be a password.
        syntax::check_toml(text).map_err(|problem| invalid(problem.to_string()))?;
        let file_source = config::File::from_str(text, config::FileFormat::Toml);
        let mut builder = config::Config::builder().add_source(file_source);
        for (name, value) in env {
            let Some(rest) = name
                .strip_prefix(ENV_PREFIX)
                .and_then(|r| r.strip_prefix("__"))
            else {
                continue;
            };
            let key = rest.to_ascii_lowercase().replace("__", ".");
            builder = builder
                .set_override(key.clone(), value)
                .map_err(|err| invalid(format!("environment variable {name}: {err}")))?;
        }
        let merged = builder.build().map_err(|err| match err {
            // Checked above; should the loader still refuse the text, its message (which
            // quotes the line) is not shown.
            config::ConfigError::FileParse { .. } => {
                invalid("the file is not valid TOML".to_owned())
            }
            other => invalid(syntax::fold(&other.to_string())),
        })?;
        let mut config: Config = merged
            .try_deserialize()
            .map_err(|err| describe_deserialize_error(err, path))?;
        config.resolve_and_validate(path)?;
        Ok(config)
    }

    fn resolve_and_validate(&mut self, path: &Path) -> Result<(), ConfigError> {
        let key_error = |key: &str, reason: String| ConfigError::Key {
            path: path.to_owned(),
            key: key.to_owned(),
            reason,
        };
        self.flexykey
            .validate()
            .map_err(|(key, reason)| key_error(&format!("flexykey.{key}"), reason))?;
        self.ledger
            .validate()
            .map_err(|(key, reason)| key_error(&format!("ledger.{key}"), reason))?;
        self.sync
            .validate()
            .map_err(|(key, reason)| key_error(&format!("sync.{key}"), reason))?;
        self.archive
            .validate()
            .map_err(|(key, reason)| key_error(&format!("archive.{key}"), reason))?;
        self.server
            .validate()
            .map_err(|(key, reason)| key_error(&format!("server.{key}"), reason))?;
        let mut names = std::collections::HashSet::new();
        for (index, source) in self.sources.iter_mut().enumerate() {
            let label = format!("sources[{index}]");
            if !names.insert(source.name.clone()) {
                return Err(key_error(
                    &format!("{label}.name"),
                    format!(
                        "source name {:?} is used twice; names must be unique",
                        source.name
                    ),
                ));
            }
            source
                .validate()
                .map_err(|(key, reason)| key_error(&format!("{label}.{key}"), reason))?;
            source.max_stay_days.get_or_insert(self.sync.max_stay_days);
        }
        self.validate_outputs(path)?;
        self.validate_notify(path)
    }

    fn validate_outputs(&mut self, path: &Path) -> Result<(), ConfigError> {
        let source_names: Vec<&str> = self.sources.iter().map(|s| s.name.as_str()).collect();
        let mut seen = std::collections::HashSet::new();
        for (index, output) in self.outputs.iter_mut().enumerate() {
            let key_error = |key: &str, reason: String| ConfigError::Key {
                path: path.to_owned(),
                key: format!("outputs[{index}].{key}"),
                reason,
            };
            output
                .validate(&source_names)
                .map_err(|(key, reason)| key_error(&key, reason))?;
            if !seen.insert((output.unit.clone(), output.output.clone())) {
                return Err(key_error(
                    "output",
                    format!(
                        "output {} of unit {} is configured twice; one output has one plan",
                        output.output, output.unit
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `[alerts]` and every `[[notify]]` target, names unique.
    fn validate_notify(&mut self, path: &Path) -> Result<(), ConfigError> {
        let key_error = |key: String, reason: String| ConfigError::Key {
            path: path.to_owned(),
            key,
            reason,
        };
        self.alerts
            .validate()
            .map_err(|(key, reason)| key_error(format!("alerts.{key}"), reason))?;
        let mut names = std::collections::HashSet::new();
        for (index, target) in self.notify.iter_mut().enumerate() {
            if !names.insert(target.name.clone()) {
                return Err(key_error(
                    format!("notify[{index}].name"),
                    format!(
                        "target name {:?} is used twice; names must be unique",
                        target.name
                    ),
                ));
            }
            target
                .validate()
                .map_err(|(key, reason)| key_error(format!("notify[{index}].{key}"), reason))?;
        }
        Ok(())
    }

    /// The effective config as TOML-like text with every secret replaced, for logs and `check`.
    pub fn redacted_summary(&self) -> String {
        format!("{self:#?}")
    }
}

fn describe_deserialize_error(err: config::ConfigError, path: &Path) -> ConfigError {
    let (key, reason) = match err {
        config::ConfigError::Type {
            unexpected,
            expected,
            key: Some(key),
            ..
        } => {
            let key = dotted_key(&key);
            let found = unexpected.to_string();
            // A value given to a secret key is never shown, only its kind.
            let found = if is_secret_key(&key) {
                found
                    .split(['`', '"'])
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            } else {
                found
            };
            (Some(key), format!("expected {expected}, found {found}"))
        }
        config::ConfigError::At {
            error,
            key: Some(key),
            ..
        } => {
            let key = dotted_key(&key);
            let reason = if is_secret_key(&key) {
                "not a valid value (not shown: the key holds a secret)".to_owned()
            } else {
                syntax::fold(&error.to_string())
            };
            (Some(key), reason)
        }
        other => {
            // Unknown fields and other shapes: the config crate names the key in the text.
            let text = syntax::fold(&other.to_string());
            match text
                .split("for key `")
                .nth(1)
                .and_then(|rest| rest.split('`').next())
            {
                Some(key) => {
                    let reason = text.split(" for key `").next().unwrap_or(&text).to_owned();
                    (Some(dotted_key(key)), reason)
                }
                None => (None, text),
            }
        }
    };
    match key {
        Some(key) => ConfigError::Key {
            path: path.to_owned(),
            key,
            reason,
        },
        None => ConfigError::Invalid {
            path: path.to_owned(),
            reason,
        },
    }
}

/// Keys whose values are secrets: a message about them never shows the value.
fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    matches!(last, "password" | "secret" | "code_secret")
}

/// The config crate writes a key inside an array as `sources[0]url`; show `sources[0].url`.
fn dotted_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    let mut after_index = false;
    for ch in key.chars() {
        if after_index && ch != '.' && ch != '[' {
            out.push('.');
        }
        after_index = ch == ']';
        out.push(ch);
    }
    out
}

/// A config file is a few KiB; anything this large is a mistake.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Secret files hold a password or a key, never more than this.
pub const MAX_SECRET_FILE_BYTES: u64 = 4096;
/// Webhook and code secrets: anything shorter can be guessed or brute-forced.
pub const MIN_SECRET_CHARS: usize = 16;

/// Reads a secret from a file (systemd `LoadCredential=`), trimming trailing newlines. Only a
/// regular file (or a link to one) of at most [`MAX_SECRET_FILE_BYTES`] is read: `/dev/zero`
/// would never end and a FIFO would wait forever.
pub fn read_secret_file(path: &Path) -> Result<SecretString, String> {
    use std::io::Read;
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|err| format!("cannot read secret file {shown}: {err}"))?;
    if !meta.is_file() {
        return Err(format!(
            "secret file {shown} is not a regular file ({}); expected a file holding the secret",
            file_kind(&meta)
        ));
    }
    let too_large = || {
        format!(
            "secret file {shown} is larger than {MAX_SECRET_FILE_BYTES} bytes; expected a file holding only the secret"
        )
    };
    if meta.len() > MAX_SECRET_FILE_BYTES {
        return Err(too_large());
    }
    let file = std::fs::File::open(path)
        .map_err(|err| format!("cannot read secret file {shown}: {err}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| format!("cannot read secret file {shown}: {err}"))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(too_large());
    }
    let mut text =
        String::from_utf8(bytes).map_err(|_| format!("secret file {shown} is not UTF-8 text"))?;
    while text.ends_with('\n') || text.ends_with('\r') {
        text.pop();
    }
    if text.is_empty() {
        return Err(format!("secret file {shown} is empty"));
    }
    Ok(SecretString::from(text))
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a plain file"
    }
}

/// A signing or derivation secret must be long and not one character repeated; the message
/// says how long it is, never what it is.
pub fn check_secret_strength(secret: &SecretString) -> Result<(), String> {
    use secrecy::ExposeSecret;
    let text = secret.expose_secret().trim();
    let length = text.chars().count();
    let distinct = text.chars().collect::<std::collections::HashSet<_>>().len();
    let hint = "for example the output of `openssl rand -hex 32`";
    if length < MIN_SECRET_CHARS {
        return Err(format!(
            "expected a secret of at least {MIN_SECRET_CHARS} characters ({hint}), found {length}"
        ));
    }
    if distinct < 6 {
        return Err(format!(
            "expected a random secret ({hint}), found one made of {distinct} different characters"
        ));
    }
    Ok(())
}

/// Where the config comes from: `--config`, else `FLEXYSYNC_CONFIG`, else the default path.
pub fn config_path(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_owned)
        .or_else(|| std::env::var_os("FLEXYSYNC_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod validation_tests;
