//! `flexysync outputs` (+ `--json`) and `sync --dry-run` with planned transitions, through the
//! real binary.

use flexysync::sandbox::{self, SandboxOptions};

use crate::daemon::{calendar, stay};
use crate::helpers::{code, run, sandbox_config, start_sandbox, stderr, stdout};

#[tokio::test]
async fn outputs_lists_each_plan_for_14_days_and_dry_run_shows_the_transitions() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("cabin.ics");
    // Two stays 3 and 9 days ahead, and one 20 days ahead (beyond the 14 days shown).
    std::fs::write(
        &feed,
        calendar(&[stay("a@t", 3, 2), stay("b@t", 9, 1), stay("c@t", 20, 2)]),
    )
    .unwrap();
    let extra = format!(
        "[sync]\nhorizon_days = 60\n\n[[sources]]\nname = \"cabin\"\nkind = \"ical\"\npath = \"{}\"\n\
         booking_object_id = {}\ntimezone = \"Europe/Stockholm\"\n\n\
         [[outputs]]\nname = \"Cabin heating\"\nunit = {}\noutput = \"X3\"\nsources = [\"cabin\"]\n\
         on_before = \"6h\"\noff_after = \"1h\"\n\n\
         [[outputs]]\nname = \"Gate\"\nunit = {}\noutput = \"f1\"\nbooking_objects = [{}]\npulse_at_start = 20\n",
        feed.display(),
        sandbox::OBJECT_CABIN,
        sandbox::UNIT_MAIN,
        sandbox::UNIT_MAIN,
        sandbox::OBJECT_CABIN,
    );
    let config = sandbox_config(dir.path(), &sandbox, &extra);
    let dry = run(&config, &["sync", "--dry-run"]).await;
    // Before the first sync no stay is stored: the section is there, with nothing planned.
    assert!(
        stdout(&dry).contains("Planned transitions of Cabin heating"),
        "{}{}",
        stdout(&dry),
        stderr(&dry)
    );
    let synced = run(&config, &["sync"]).await;
    assert_eq!(code(&synced), 0, "{}", stderr(&synced));

    let json = run(&config, &["--json", "outputs"]).await;
    assert_eq!(code(&json), 0, "{}", stderr(&json));
    let plans: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let heating = &plans[0];
    assert_eq!(heating["output"], "X3");
    assert_eq!(heating["desired_now"], false);
    let steps: Vec<&str> = heating["upcoming"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["on", "off", "on", "off"], "{heating}");
    assert!(heating["last_seen"].is_null());
    let gate = &plans[1];
    assert_eq!(gate["output"], "F1");
    assert_eq!(gate["upcoming"].as_array().unwrap().len(), 2, "{gate}");
    assert_eq!(gate["upcoming"][0]["step"]["pulse"], 20);

    let text = run(&config, &["outputs"]).await;
    let text = stdout(&text);
    assert!(
        text.contains("Cabin heating (X3)") && text.contains("never read"),
        "{text}"
    );
    assert_eq!(text.matches("  ON\n").count(), 2, "{text}");
    assert_eq!(text.matches("pulse 20 s").count(), 3, "{text}");

    let dry = run(&config, &["--json", "sync", "--dry-run"]).await;
    let report: serde_json::Value = serde_json::from_str(&stdout(&dry)).unwrap();
    assert_eq!(
        report["output_plans"][0]["upcoming"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // Nothing was switched by any of this.
    assert!(
        sandbox
            .journal()
            .iter()
            .all(|c| !c.path.ends_with("/control"))
    );
}

#[tokio::test]
async fn check_refuses_an_output_the_unit_does_not_have() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[[outputs]]\nunit = {}\noutput = \"X9\"\nbooking_objects = [{}]\n",
        sandbox::UNIT_MAIN,
        sandbox::OBJECT_CABIN
    );
    let config = sandbox_config(dir.path(), &sandbox, &extra);
    let out = run(&config, &["check"]).await;
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("FAIL outputs[0].output: unit 3023 has no output X9"),
        "{}",
        stdout(&out)
    );
    let fine = sandbox_config(dir.path(), &sandbox, &extra.replace("X9", "x8"));
    let out = run(&fine, &["check"]).await;
    assert!(
        stdout(&out).contains("ok   1 output(s) exist on their units"),
        "{}",
        stdout(&out)
    );
}
