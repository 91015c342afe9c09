//! Mail to a host: an SMTP server on loopback, written for the test, that defers the first
//! attempt (451), then keeps what it is sent.

use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use flexysync::notify::send::{SendError, Sender};
use flexysync::notify::{Event, EventDetails, EventKind, EventObject};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Default)]
pub(crate) struct Mailbox {
    /// Answer the end of DATA with this code, first to last; then 250.
    pub(crate) answers: Vec<u16>,
    pub(crate) mails: Vec<String>,
}

pub(crate) async fn smtp_server(answers: Vec<u16>) -> (Arc<Mutex<Mailbox>>, u16) {
    let mailbox = Arc::new(Mutex::new(Mailbox {
        answers,
        ..Mailbox::default()
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let shared = mailbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let shared = shared.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write
                    .write_all(b"220 localhost test SMTP\r\n")
                    .await
                    .unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let answer = {
                                let mut mailbox = shared.lock().unwrap();
                                let code = if mailbox.answers.is_empty() {
                                    250
                                } else {
                                    mailbox.answers.remove(0)
                                };
                                if code == 250 {
                                    mailbox.mails.push(body.clone());
                                }
                                code
                            };
                            data = None;
                            let text = format!("{answer} done\r\n");
                            write.write_all(text.as_bytes()).await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-localhost\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (mailbox, port)
}

/// How many times each Message-ID (the event id) was mailed.
pub(crate) fn mails_per_message(mails: &[String]) -> std::collections::HashMap<String, usize> {
    let mut per_message = std::collections::HashMap::new();
    for mail in mails {
        let id = mail
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: <"))
            .unwrap_or_default()
            .to_owned();
        *per_message.entry(id).or_insert(0) += 1;
    }
    per_message
}

fn mail_target(port: u16) -> flexysync::config::NotifyTarget {
    let text = format!(
        "[flexykey]\nusername = \"u\"\npassword = \"p-secret\"\n\n[[notify]]\nname = \"host-mail\"\n\
         kind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\ntls = \"none\"\n\
         from = \"flexysync@example.com\"\nto = [\"host@example.com\"]\n\
         events = [\"guest.denied\"]\n"
    );
    let config = flexysync::config::Config::from_toml_with_env(
        &text,
        std::path::Path::new("/etc/flexysync/t.toml"),
        Vec::new(),
    )
    .unwrap();
    config.notify[0].clone()
}

fn denied() -> Event {
    let at = Utc.with_ymd_and_hms(2026, 7, 1, 13, 5, 0).unwrap();
    Event {
        id: "evt_0123456789abcdef01234567".into(),
        kind: EventKind::GuestDenied,
        occurred_at: at,
        details: EventDetails {
            object: Some(EventObject {
                id: 123,
                name: "Cabin 7".into(),
                timezone: Some("Europe/Stockholm".into()),
            }),
            source: Some("airbnb".into()),
            label: Some("Reserved · HMABC123".into()),
            start: Some(at - chrono::Duration::hours(2)),
            end: Some(at + chrono::Duration::days(2)),
            phones: vec!["+46701234567".into()],
            code: Some("482193".into()),
            at: Some(at),
            detail: Some("numret finns inte registrerat".into()),
            ..EventDetails::default()
        },
    }
}

#[tokio::test]
async fn a_mail_is_deferred_then_delivered_without_code_or_full_phone() {
    let (mailbox, port) = smtp_server(vec![451]).await;
    let sender = Sender::new(&mail_target(port), reqwest::Client::new()).unwrap();
    let event = denied();
    let first = sender.send(&event).await;
    assert!(matches!(first, Err(SendError::Retry(_))), "{first:?}");
    assert!(mailbox.lock().unwrap().mails.is_empty());
    sender.send(&event).await.unwrap();
    let mails = mailbox.lock().unwrap().mails.clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(
        mail.contains("Message-ID: <evt_0123456789abcdef01234567@flexysync>"),
        "{mail}"
    );
    assert!(mail.contains("To: host@example.com"), "{mail}");
    assert!(mail.contains("Wed 2026-07-01 15:05 CEST"), "{mail}");
    assert!(
        !mail.contains("482193") && !mail.contains("701234567"),
        "{mail}"
    );
    eprintln!("sample mail:\n{mail}");
}

#[tokio::test]
async fn a_refused_mail_is_a_permanent_failure() {
    let (mailbox, port) = smtp_server(vec![550]).await;
    let sender = Sender::new(&mail_target(port), reqwest::Client::new()).unwrap();
    let outcome = sender.send(&denied()).await;
    assert!(
        matches!(outcome, Err(SendError::Permanent(_))),
        "{outcome:?}"
    );
    assert!(mailbox.lock().unwrap().mails.is_empty());
}
