//! The one config file: `[flexykey]`, `[ledger]`, `[sync]`, `[[sources]]`, `[archive]`,
//! `[server]`, `[log]`. Loaded from TOML, overridden by `FLEXYSYNC__SECTION__KEY` variables,
//! validated once at start-up so that a bad value is reported with its file and key before
//! anything else happens.

pub(crate) mod choice;
mod duration;
mod sections;
mod sources;

use std::path::{Path, PathBuf};

use secrecy::SecretString;

pub use choice::{Choice, not_allowed};
pub use duration::{HumanDuration, parse_duration};
pub use sections::*;
pub use sources::*;

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
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Unreadable {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
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
        // Parse the file alone first: its syntax errors carry a line and column.
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
        let merged = builder.build().map_err(|err| invalid(err.to_string()))?;
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
        self.sync
            .validate()
            .map_err(|(key, reason)| key_error(&format!("sync.{key}"), reason))?;
        self.archive
            .validate()
            .map_err(|(key, reason)| key_error(&format!("archive.{key}"), reason))?;
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
        }
        Ok(())
    }

    /// The effective config as TOML-like text with every secret replaced, for logs and `check`.
    pub fn redacted_summary(&self) -> String {
        format!("{self:#?}")
    }
}

fn describe_deserialize_error(err: config::ConfigError, path: &Path) -> ConfigError {
    // The config crate names the key (`for key \`flexykey.burst\``) for type errors; unknown
    // fields come without it, so the message is kept whole either way.
    let text = err.to_string();
    if let Some(key) = text
        .split("for key `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
    {
        let reason = text.split(" for key `").next().unwrap_or(&text).to_owned();
        return ConfigError::Key {
            path: path.to_owned(),
            key: dotted_key(key),
            reason,
        };
    }
    ConfigError::Invalid {
        path: path.to_owned(),
        reason: text,
    }
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

/// Reads a secret from a file (systemd `LoadCredential=`), trimming one trailing newline.
pub fn read_secret_file(path: &Path) -> Result<SecretString, String> {
    let mut text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read secret file {}: {err}", path.display()))?;
    while text.ends_with('\n') || text.ends_with('\r') {
        text.pop();
    }
    if text.is_empty() {
        return Err(format!("secret file {} is empty", path.display()));
    }
    Ok(SecretString::from(text))
}

/// Where the config comes from: `--config`, else `FLEXYSYNC_CONFIG`, else the default path.
pub fn config_path(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_owned)
        .or_else(|| std::env::var_os("FLEXYSYNC_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH))
}

#[cfg(test)]
mod tests;
