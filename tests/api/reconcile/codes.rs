//! Two calendars feeding one door: their derived keypad codes never coincide while both
//! stays are on, and the result is stable from pass to pass.

use flexysync::sandbox::{self, SandboxOptions};
use flexysync::sources::ical::derive_code;

use crate::daemon::{calendar, stay};
use crate::helpers::{PassParts, sandbox_config, start_sandbox};

const SECRET: &str = "shared-door-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sources_on_one_door_never_share_a_derived_code() {
    // A stay of source b whose first derived code is that of source a's stay.
    let taken = derive_code(SECRET.as_bytes(), "a/first@test/", 4, 0);
    let uid = (0..1_000_000)
        .map(|n| format!("guest-{n}@test"))
        .find(|uid| derive_code(SECRET.as_bytes(), &format!("b/{uid}/"), 4, 0) == taken)
        .expect("a 4-digit collision");
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (feed_a, feed_b) = (dir.path().join("a.ics"), dir.path().join("b.ics"));
    std::fs::write(&feed_a, calendar(&[stay("first@test", 2, 3)])).unwrap();
    std::fs::write(&feed_b, calendar(&[stay(&uid, 3, 3)])).unwrap();
    let source = |name: &str, path: &std::path::Path| {
        format!(
            "[[sources]]\nname = \"{name}\"\nkind = \"ical\"\npath = \"{}\"\nbooking_object_id = {}\ncode = \"derived\"\ncode_length = 4\n",
            path.display(),
            sandbox::OBJECT_CABIN
        )
    };
    let extra = format!(
        "[sync]\ncode_secret = \"{SECRET}\"\n\n{}\n{}",
        source("a", &feed_a),
        source("b", &feed_b)
    );
    let path = sandbox_config(dir.path(), &sandbox, &extra);
    let pass = PassParts::load(&path).await;
    let options = flexysync::reconcile::pass::PassOptions::default();

    let report = pass.sync(&options).await;
    assert!(report.converged);
    let bookings = sandbox.bookings_of(sandbox::OBJECT_CABIN);
    assert_eq!(bookings.len(), 2);
    assert!(
        bookings[0].start_date < bookings[1].end_date
            && bookings[1].start_date < bookings[0].end_date
    );
    let codes: Vec<String> = bookings.iter().map(|b| b.code.clone().unwrap()).collect();
    assert!(
        codes.contains(&taken),
        "the first source keeps its code: {codes:?}"
    );
    assert_ne!(codes[0], codes[1], "one door, two guests, two codes");

    // The same feeds again: nothing changes.
    sandbox.clear_journal();
    let report = pass.sync(&options).await;
    assert!(report.converged);
    assert!(
        sandbox.write_calls().is_empty(),
        "{:?}",
        sandbox.write_calls()
    );
}
