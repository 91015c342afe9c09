//! `[alerts]` (what detection looks for) and `[[notify]]` (who is told, and how).

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::sections::{KeyError, SecretUrl, check_transport, key_err};
use super::{check_secret_strength, read_secret_file};
use crate::notify::EventKind;
use crate::notify::refusal::DEFAULT_REFUSAL_PATTERNS;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// An arrival this many hours ahead with no confirmed booking raises `arrival.unconfirmed`.
    #[serde(default = "default_alert_hours")]
    pub alert_hours: u32,
    /// No check-in this many hours after a stay's start raises `guest.no_show`.
    #[serde(default = "default_no_show_hours")]
    pub no_show_hours: u32,
    /// Texts of refusals in the access log (case-insensitive substrings); replaces the
    /// built-in list when given.
    #[serde(default = "default_refusal_patterns")]
    pub refusal_patterns: Vec<String>,
    /// Calling code for phone numbers the units log without one.
    #[serde(default = "default_country")]
    pub default_country: String,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            alert_hours: default_alert_hours(),
            no_show_hours: default_no_show_hours(),
            refusal_patterns: default_refusal_patterns(),
            default_country: default_country(),
        }
    }
}

fn default_alert_hours() -> u32 {
    24
}
fn default_no_show_hours() -> u32 {
    6
}
fn default_refusal_patterns() -> Vec<String> {
    DEFAULT_REFUSAL_PATTERNS
        .iter()
        .map(|p| (*p).to_owned())
        .collect()
}
fn default_country() -> String {
    "46".to_owned()
}

impl AlertsConfig {
    pub(super) fn validate(&self) -> Result<(), KeyError> {
        for (key, hours) in [
            ("alert_hours", self.alert_hours),
            ("no_show_hours", self.no_show_hours),
        ] {
            if !(1..=24 * 14).contains(&hours) {
                return Err(key_err(
                    key,
                    format!("expected hours from 1 to 336, found {hours}"),
                ));
            }
        }
        if self.refusal_patterns.iter().any(|p| p.trim().is_empty()) {
            return Err(key_err(
                "refusal_patterns",
                "an empty pattern would match every log entry; remove it",
            ));
        }
        super::sources::check_calling_code(&self.default_country)?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    Webhook,
    Email,
    Ntfy,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only to a loopback relay.
    None,
}

/// One `[[notify]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyTarget {
    pub name: String,
    pub kind: NotifyKind,
    /// Event kinds sent to this target; all when absent.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Keypad codes and full phone numbers in what is sent (a PMS that messages guests).
    #[serde(default)]
    pub include_codes: bool,
    /// Webhook: the endpoint. ntfy: the topic URL (`https://ntfy.sh/my-topic`).
    #[serde(default)]
    pub url: Option<SecretUrl>,
    /// Webhook: the signing secret (or `secret_file`).
    #[serde(default)]
    pub secret: Option<SecretString>,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// ntfy: an access token for a protected topic, read from this file.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(skip)]
    pub token: Option<SecretString>,
    // email
    #[serde(default)]
    pub smtp_host: Option<String>,
    #[serde(default)]
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(skip)]
    pub password: Option<SecretString>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
    /// Resolved from `events` at load.
    #[serde(skip)]
    pub kinds: Vec<EventKind>,
}

impl NotifyTarget {
    pub(super) fn validate(&mut self) -> Result<(), KeyError> {
        if self.name.trim().is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(key_err(
                "name",
                format!(
                    "expected a name of letters, digits, '-', '_' or '.', found {:?}",
                    self.name
                ),
            ));
        }
        self.kinds = match &self.events {
            None => EventKind::ALL.to_vec(),
            Some(list) if list.is_empty() => {
                return Err(key_err(
                    "events",
                    "an empty list sends nothing; leave `events` out to send every kind",
                ));
            }
            Some(list) => list
                .iter()
                .map(|name| name.parse::<EventKind>())
                .collect::<Result<_, _>>()
                .map_err(|reason| key_err("events", reason))?,
        };
        let email_keys = [
            ("smtp_host", self.smtp_host.is_some()),
            ("smtp_port", self.smtp_port.is_some()),
            ("username", self.username.is_some()),
            ("password_file", self.password_file.is_some()),
            ("from", self.from.is_some()),
            ("to", !self.to.is_empty()),
        ];
        let not_for = |keys: &[(&str, bool)], kind: &str| -> Result<(), KeyError> {
            match keys.iter().find(|(_, present)| *present) {
                Some((key, _)) => Err(key_err(key, format!("{kind} targets do not take this key"))),
                None => Ok(()),
            }
        };
        match self.kind {
            NotifyKind::Webhook => {
                not_for(&email_keys, "webhook")?;
                not_for(&[("token_file", self.token_file.is_some())], "webhook")?;
                self.require_url()?;
                self.resolve_secret()
            }
            NotifyKind::Ntfy => {
                not_for(&email_keys, "ntfy")?;
                not_for(
                    &[
                        ("secret", self.secret.is_some()),
                        ("secret_file", self.secret_file.is_some()),
                    ],
                    "ntfy",
                )?;
                self.require_url()?;
                if let Some(file) = &self.token_file {
                    self.token =
                        Some(read_secret_file(file).map_err(|r| key_err("token_file", r))?);
                }
                Ok(())
            }
            NotifyKind::Email => {
                not_for(
                    &[
                        ("url", self.url.is_some()),
                        ("secret", self.secret.is_some()),
                        ("secret_file", self.secret_file.is_some()),
                        ("token_file", self.token_file.is_some()),
                    ],
                    "email",
                )?;
                self.validate_email()
            }
        }
    }

    fn require_url(&self) -> Result<(), KeyError> {
        let url = self
            .url
            .as_ref()
            .ok_or_else(|| key_err("url", "missing: the address to send events to"))?;
        check_transport(&url.0).map_err(|r| key_err("url", r))
    }

    fn resolve_secret(&mut self) -> Result<(), KeyError> {
        match (&self.secret, &self.secret_file) {
            (Some(_), Some(_)) => Err(key_err(
                "secret_file",
                "give either `secret` or `secret_file`, not both",
            )),
            (None, None) => Err(key_err(
                "secret",
                "missing: give `secret` or `secret_file` (receivers verify the signature with it)",
            )),
            (None, Some(file)) => {
                let secret = read_secret_file(file).map_err(|r| key_err("secret_file", r))?;
                check_secret_strength(&secret).map_err(|r| key_err("secret_file", r))?;
                self.secret = Some(secret);
                Ok(())
            }
            (Some(secret), None) => check_secret_strength(secret).map_err(|r| key_err("secret", r)),
        }
    }

    fn validate_email(&mut self) -> Result<(), KeyError> {
        let host = self
            .smtp_host
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| key_err("smtp_host", "missing: the SMTP server's host name"))?;
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "::1");
        if self.tls == SmtpTls::None && !loopback {
            return Err(key_err(
                "tls",
                "\"none\" sends the password in clear; it is allowed only to a loopback relay (use \"starttls\" or \"tls\")",
            ));
        }
        let from = self
            .from
            .as_deref()
            .ok_or_else(|| key_err("from", "missing: the sender address"))?;
        if !looks_like_address(from) {
            return Err(key_err(
                "from",
                format!("expected an e-mail address, found {from:?}"),
            ));
        }
        if self.to.is_empty() {
            return Err(key_err("to", "missing: at least one recipient address"));
        }
        if let Some(bad) = self.to.iter().find(|a| !looks_like_address(a)) {
            return Err(key_err(
                "to",
                format!("expected e-mail addresses, found {bad:?}"),
            ));
        }
        match (&self.username, &self.password_file) {
            (Some(_), None) => Err(key_err(
                "password_file",
                "missing: `username` needs a password file",
            )),
            (None, Some(_)) => Err(key_err(
                "username",
                "missing: `password_file` needs a user name",
            )),
            (Some(_), Some(file)) => {
                self.password =
                    Some(read_secret_file(file).map_err(|r| key_err("password_file", r))?);
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }
}

/// One `@`, something on each side, no spaces or line breaks (which would forge headers).
fn looks_like_address(text: &str) -> bool {
    let mut parts = text.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(local), Some(domain), None)
        if !local.is_empty() && (domain.contains('.') || domain == "localhost"))
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::Config;

    const HEAD: &str = "[flexykey]\nusername = \"api-user\"\npassword = \"hunter2-secret\"\n";

    fn load(extra: &str) -> Result<Config, String> {
        let text = format!("{HEAD}{extra}");
        Config::from_toml_with_env(&text, Path::new("/etc/flexysync/t.toml"), Vec::new())
            .map_err(|err| err.to_string())
    }

    #[test]
    fn targets_load_with_their_event_filters_and_defaults() {
        let config = load(
            "[[notify]]\nname = \"pms\"\nkind = \"webhook\"\nurl = \"https://pms.example/hook\"\n\
             secret = \"k3y-for-the-pms-hook\"\ninclude_codes = true\n\
             [[notify]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = \"https://ntfy.sh/cabin-7\"\n\
             events = [\"guest.denied\", \"stay.double_booked\"]\n\
             [[notify]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"smtp.example.com\"\n\
             from = \"flexysync@example.com\"\nto = [\"host@example.com\"]\n",
        )
        .unwrap();
        assert_eq!(config.notify.len(), 3);
        assert_eq!(
            config.notify[0].kinds.len(),
            crate::notify::EventKind::ALL.len()
        );
        assert_eq!(
            config.notify[1].kinds,
            [
                crate::notify::EventKind::GuestDenied,
                crate::notify::EventKind::StayDoubleBooked
            ]
        );
        assert_eq!(config.notify[2].tls, super::SmtpTls::Starttls);
        assert_eq!(config.alerts.alert_hours, 24);
    }

    #[test]
    fn bad_targets_are_refused_with_their_key() {
        let hook =
            "[[notify]]\nname = \"pms\"\nkind = \"webhook\"\nurl = \"https://pms.example/hook\"\n";
        let cases = [
            (format!("{hook}secret = \"k3y-for-the-pms-hook\"\nevents = [\"guest.arrived\"]\n"), "notify[0].events"),
            (format!("{hook}secret = \"k3y-for-the-pms-hook\"\nevents = []\n"), "notify[0].events"),
            (hook.to_owned(), "notify[0].secret"),
            (format!("{hook}secret = \"short\"\n"), "notify[0].secret"),
            (format!("{hook}secret = \"k3y-for-the-pms-hook\"\nsmtp_host = \"x\"\n"), "notify[0].smtp_host"),
            ("[[notify]]\nname = \"n\"\nkind = \"ntfy\"\nurl = \"http://ntfy.example/t\"\n".to_owned(), "notify[0].url"),
            ("[[notify]]\nname = \"m\"\nkind = \"email\"\nsmtp_host = \"smtp.example.com\"\ntls = \"none\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\n".to_owned(), "notify[0].tls"),
            ("[[notify]]\nname = \"m\"\nkind = \"email\"\nsmtp_host = \"smtp.example.com\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\\r\\nBcc: x@evil.example\"]\n".to_owned(), "notify[0].to"),
            ("[[notify]]\nname = \"m\"\nkind = \"email\"\nsmtp_host = \"smtp.example.com\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\nusername = \"u\"\n".to_owned(), "notify[0].password_file"),
            ("[alerts]\nrefusal_patterns = [\"nekad\", \" \"]\n".to_owned(), "alerts.refusal_patterns"),
            ("[alerts]\nno_show_hours = 0\n".to_owned(), "alerts.no_show_hours"),
        ];
        for (text, key) in cases {
            let err = load(&text).expect_err(&text);
            assert!(err.contains(&format!("key `{key}`")), "{text}\n→ {err}");
            assert!(!err.contains("k3y-for"), "{err}");
        }
    }
}
