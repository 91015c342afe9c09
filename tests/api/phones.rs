//! Phone numbers from a real feed, through the real binary's `sync`: read by libphonenumber's
//! rules in each source's `default_country`, an invalid one warned about (masked) and left out.

use chrono::{Days, Utc};
use flexysync::sandbox::{self, SandboxOptions};

use crate::daemon::{calendar, serve_feed};
use crate::helpers::{code, run, sandbox_config, start_sandbox, stderr, stdout};

fn stay_with(uid: &str, from: u64, description: &str) -> String {
    let day = |d: u64| (Utc::now() + Days::new(d)).format("%Y%m%d").to_string();
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{}\r\n\
         DTEND;VALUE=DATE:{}\r\nSUMMARY:Guest {uid}\r\nDESCRIPTION:{description}\r\nEND:VEVENT\r\n",
        day(from),
        day(from + 2)
    )
}

fn source(name: &str, url: &str, object: i64, country: &str) -> String {
    format!(
        "[[sources]]\nname = \"{name}\"\nkind = \"ical\"\nurl = \"{url}\"\nbooking_object_id = {object}\n\
         timezone = \"Europe/Rome\"\ncode = \"derived\"\ndefault_country = \"{country}\"\n\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_in_a_feed_become_e164_by_their_countrys_rules_or_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let rome = serve_feed(calendar(&[
        stay_with("landline", 3, "Phone: 06 1234 5678"),
        stay_with("broken", 6, "Phone: 000 1234 5678"),
    ]))
    .await;
    let moscow = serve_feed(calendar(&[stay_with("mobile", 3, "Tel: 8 912 345-67-89")])).await;
    let config = sandbox_config(
        dir.path(),
        &sandbox,
        &format!(
            "[sync]\ncode_secret = \"phones-test-secret\"\n\n{}{}",
            source("rome", &rome.url, sandbox::OBJECT_CABIN, "39"),
            source("moscow", &moscow.url, sandbox::OBJECT_LAUNDRY, "RU"),
        ),
    );
    let out = run(&config, &["sync"]).await;
    let output = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&out), 0, "{output}");

    let phones = |object: i64| -> Vec<Option<String>> {
        let mut bookings = sandbox.bookings_of(object);
        bookings.sort_by_key(|booking| booking.start_date);
        bookings.into_iter().map(|booking| booking.phone1).collect()
    };
    // Italy keeps the landline's 0; the broken number is no credential, the stay still gets
    // its code.
    assert_eq!(
        phones(sandbox::OBJECT_CABIN),
        [Some("+390612345678".to_owned()), None],
        "{output}"
    );
    // Russia's trunk prefix 8 goes.
    assert_eq!(
        phones(sandbox::OBJECT_LAUNDRY),
        [Some("+79123456789".to_owned())],
        "{output}"
    );
    assert!(
        output.contains("UID broken: phone number") && output.contains("left out"),
        "the invalid number is not warned about: {output}"
    );
    for clear in ["000 1234", "0612345678", "06 1234", "912 345", "9123456789"] {
        assert!(!output.contains(clear), "{clear} shown in clear: {output}");
    }
}
