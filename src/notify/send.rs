//! Sending one event to one target: a signed webhook POST, an ntfy push, or a mail over SMTP.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials as SmtpCredentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::event::Event;
use super::render;
use crate::config::{NotifyKind, NotifyTarget, SmtpTls};
use crate::sources::webhook::signature::{SIGNATURE_HEADER, sign};

/// The event id, for receivers to drop a redelivery.
pub const EVENT_ID_HEADER: &str = "x-flexysync-event-id";
pub const EVENT_TYPE_HEADER: &str = "x-flexysync-event-type";
/// One attempt may take this long before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// Why an attempt failed. The text never holds a secret, a code or a full phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth another try later (timeouts, 5xx, 429, connection refused).
    #[error("{0}")]
    Retry(String),
    /// Will not get better by itself (a 4xx refusal, a rejected recipient).
    #[error("{0}")]
    Permanent(String),
}

enum Transport {
    Webhook {
        url: Url,
        secret: SecretString,
    },
    Ntfy {
        url: Url,
        token: Option<SecretString>,
    },
    Email(EmailTransport),
}

struct EmailTransport {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
    to: Vec<lettre::message::Mailbox>,
}

/// One configured target, ready to send.
pub struct Sender {
    pub name: String,
    pub include_codes: bool,
    transport: Transport,
    http: reqwest::Client,
}

impl Sender {
    /// From a validated `[[notify]]` table.
    pub fn new(target: &NotifyTarget, http: reqwest::Client) -> Result<Sender, String> {
        let missing = |key: &str| format!("notify target {}: `{key}` missing", target.name);
        let transport = match target.kind {
            NotifyKind::Webhook => Transport::Webhook {
                url: target.url.clone().ok_or_else(|| missing("url"))?.0,
                secret: target.secret.clone().ok_or_else(|| missing("secret"))?,
            },
            NotifyKind::Ntfy => Transport::Ntfy {
                url: target.url.clone().ok_or_else(|| missing("url"))?.0,
                token: target.token.clone(),
            },
            NotifyKind::Email => Transport::Email(email_transport(target)?),
        };
        Ok(Sender {
            name: target.name.clone(),
            include_codes: target.include_codes,
            transport,
            http,
        })
    }

    /// One attempt to hand `event` over.
    pub async fn send(&self, event: &Event) -> Result<(), SendError> {
        match &self.transport {
            Transport::Webhook { url, secret } => self.send_webhook(url, secret, event).await,
            Transport::Ntfy { url, token } => self.send_ntfy(url, token.as_ref(), event).await,
            Transport::Email(email) => send_mail(email, event, self.include_codes).await,
        }
    }

    async fn send_webhook(
        &self,
        url: &Url,
        secret: &SecretString,
        event: &Event,
    ) -> Result<(), SendError> {
        let body = render::webhook_body(event, self.include_codes).to_string();
        let signature = sign(
            secret.expose_secret().as_bytes(),
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        let request = self
            .http
            .post(url.clone())
            .timeout(ATTEMPT_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(EVENT_ID_HEADER, &event.id)
            .header(EVENT_TYPE_HEADER, event.kind.as_str())
            .body(body);
        classify(request.send().await)
    }

    async fn send_ntfy(
        &self,
        url: &Url,
        token: Option<&SecretString>,
        event: &Event,
    ) -> Result<(), SendError> {
        let mut request = self
            .http
            .post(url.clone())
            .timeout(ATTEMPT_TIMEOUT)
            .header("Title", encoded_word(&render::subject(event)))
            .header("Priority", render::ntfy_priority(event.kind))
            .header("Tags", event.kind.as_str().replace('.', "_"))
            .header(EVENT_ID_HEADER, &event.id)
            .header(EVENT_TYPE_HEADER, event.kind.as_str())
            .body(render::text(event, self.include_codes));
        if let Some(token) = token {
            request = request.bearer_auth(token.expose_secret());
        }
        classify(request.send().await)
    }
}

/// A header value as RFC 2047 when it is not plain ASCII (ntfy decodes it; "·", "å").
fn encoded_word(text: &str) -> String {
    use base64::Engine;
    if text.is_ascii() {
        return text.to_owned();
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("=?UTF-8?B?{encoded}?=")
}

fn classify(result: Result<reqwest::Response, reqwest::Error>) -> Result<(), SendError> {
    let response = match result {
        Ok(response) => response,
        // Without the URL: it may carry a token.
        Err(err) => {
            let err = err.without_url();
            return Err(SendError::Retry(format!("not delivered: {err}")));
        }
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = format!("the receiver answered HTTP {}", status.as_u16());
    if status.is_server_error() || matches!(status.as_u16(), 408 | 409 | 425 | 429) {
        Err(SendError::Retry(text))
    } else {
        Err(SendError::Permanent(text))
    }
}

fn email_transport(target: &NotifyTarget) -> Result<EmailTransport, String> {
    let name = &target.name;
    let host = target
        .smtp_host
        .as_deref()
        .ok_or_else(|| format!("notify target {name}: `smtp_host` missing"))?;
    let builder = match target.tls {
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .map_err(|err| format!("notify target {name}: SMTP host {host}: {err}"))?;
    let default_port = match target.tls {
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    };
    let mut builder = builder
        .port(target.smtp_port.unwrap_or(default_port))
        .timeout(Some(ATTEMPT_TIMEOUT));
    if let (Some(user), Some(password)) = (&target.username, &target.password) {
        builder = builder.credentials(SmtpCredentials::new(
            user.clone(),
            password.expose_secret().to_owned(),
        ));
    }
    let mailbox = |text: &str, key: &str| {
        text.parse::<lettre::message::Mailbox>()
            .map_err(|err| format!("notify target {name}: `{key}` {text:?}: {err}"))
    };
    Ok(EmailTransport {
        mailer: builder.build(),
        from: mailbox(target.from.as_deref().unwrap_or_default(), "from")?,
        to: target
            .to
            .iter()
            .map(|a| mailbox(a, "to"))
            .collect::<Result<_, _>>()?,
    })
}

async fn send_mail(
    email: &EmailTransport,
    event: &Event,
    include_codes: bool,
) -> Result<(), SendError> {
    let mut builder = Message::builder()
        .from(email.from.clone())
        .subject(render::subject(event))
        // The event id as Message-ID: a mail client shows a redelivery as the same message.
        .message_id(Some(format!("<{}@flexysync>", event.id)))
        .header(ContentType::TEXT_PLAIN);
    for to in &email.to {
        builder = builder.to(to.clone());
    }
    let message = builder
        .body(render::text(event, include_codes))
        .map_err(|err| SendError::Permanent(format!("cannot build the mail: {err}")))?;
    match email.mailer.send(message).await {
        Ok(_) => Ok(()),
        Err(err) if err.is_permanent() => Err(SendError::Permanent(format!(
            "the SMTP server refused the mail: {err}"
        ))),
        Err(err) => Err(SendError::Retry(format!("mail not delivered: {err}"))),
    }
}
