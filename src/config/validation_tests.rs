//! Hostile and careless configs: syntax errors that must not echo secrets, absurd numbers and
//! durations, weak secrets, secret files that are not files.

use std::path::Path;

use secrecy::ExposeSecret;

use super::*;

const HEAD: &str = "[flexykey]\nusername = \"api-user\"\npassword = \"hunter2-secret\"\n";
const HOOK: &str =
    "[[sources]]\nname = \"laundry\"\nkind = \"webhook\"\nobjects = { \"room-a\" = 12 }\n";
const GOOD_SECRET: &str = "k3y-for-the-laundry-hook";

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_with_env(text, Path::new("/etc/flexysync/test.toml"), Vec::new())
}

fn error(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn syntax_errors_show_file_line_and_key_but_never_the_secret() {
    let cases = [
        // Unterminated string, a duplicate key, a bad escape, in every section a secret lives.
        "[flexykey]\nusername = \"u\"\npassword = \"Pw-secret-1\n",
        "[flexykey]\nusername = \"u\"\npassword = \"Pw-secret-1\"\npassword = \"Pw-secret-2\"\n",
        "[flexykey]\nusername = \"u\"\npassword = \"Pw-sec\\qret\"\n",
        "[flexykey]\nusername = \"u\"\npassword = Pw-secret-1\n",
        "[flexykey]\nusername = \"u\"\npassword = 'Pw-secret-1\n",
        "[flexykey]\nusername = \"u\"\npassword = \"\"\"Pw-secret-1\n",
        "[flexykey]\nusername = \"u\"\npassword = \"ok\" Pw-secret-1\n",
        "[flexykey]\nusername = \"u\"\n\n[sync]\ncode_secret = \"Pw-secret-1\\x\"\n",
        "[flexykey]\nusername = \"u\"\n\n[[sources]]\nname = \"h\"\nsecret = \"Pw-secret-1\\u12\"\n",
    ];
    for text in cases {
        let err = error(text);
        assert!(!err.contains("Pw-sec"), "{text:?} → {err}");
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(err.contains("/etc/flexysync/test.toml"), "{err}");
        assert!(err.contains("line ") && err.contains("column "), "{err}");
    }
    let err = error(cases[0]);
    assert!(
        err.contains("line 3") && err.contains("flexykey.password"),
        "{err}"
    );
    let err = error(cases[1]);
    assert!(
        err.contains("line 4") && err.contains("flexykey.password"),
        "{err}"
    );
    let err = error(cases[8]);
    assert!(err.contains("sources[0].secret"), "{err}");
}

#[test]
fn a_secret_of_the_wrong_type_is_described_by_its_kind_only() {
    let err = error("[flexykey]\nusername = \"u\"\npassword = [\"Pw-secret-1\"]\n");
    assert!(err.contains("flexykey.password"), "{err}");
    assert!(
        err.contains("sequence") && !err.contains("Pw-secret"),
        "{err}"
    );
    let err = error("[flexykey]\nusername = \"u\"\npassword = { a = \"Pw-secret-1\" }\n");
    assert!(
        err.contains("flexykey.password") && !err.contains("Pw-secret"),
        "{err}"
    );
    let err = error(&format!("{HEAD}\n{HOOK}secret = [\"Pw-secret-1\"]\n"));
    assert!(err.contains("sources[0].secret"), "{err}");
    assert!(!err.contains("Pw-secret"), "{err}");
    // Other keys keep their value in the message: it helps and hides nothing.
    let err = error(&format!("{HEAD}burst = \"many\"\n"));
    assert!(
        err.contains("flexykey.burst") && err.contains("many"),
        "{err}"
    );
}

#[test]
fn numbers_too_large_for_toml_name_their_key() {
    let err = error(&format!("{HEAD}timeout_seconds = 18446744073709551615\n"));
    assert!(
        err.contains("flexykey.timeout_seconds") && err.contains("line 4"),
        "{err}"
    );
    let err = error(&format!("{HEAD}requests_per_second = 1e999\n"));
    assert!(err.contains("flexykey.requests_per_second"), "{err}");
}

#[test]
fn webhook_and_code_secrets_must_be_long_and_random() {
    for weak in [
        "",
        " ",
        "x",
        "short-secret",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "abababababababababab",
    ] {
        let err = error(&format!("{HEAD}\n{HOOK}secret = \"{weak}\"\n"));
        assert!(err.contains("sources[0].secret"), "{weak:?} → {err}");
        assert!(err.contains("16") || err.contains("random"), "{err}");
        let err = error(&format!("{HEAD}\n[sync]\ncode_secret = \"{weak}\"\n"));
        assert!(err.contains("sync.code_secret"), "{weak:?} → {err}");
    }
    let err = error(&format!("{HEAD}\n{HOOK}secret = \"short-secret\"\n"));
    assert!(!err.contains("short-secret"), "{err}");
    let config = load(&format!("{HEAD}\n{HOOK}secret = \"{GOOD_SECRET}\"\n")).unwrap();
    assert_eq!(
        config.sources[0].secret.as_ref().unwrap().expose_secret(),
        GOOD_SECRET
    );
    // The same rule for a secret read from a file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hook");
    std::fs::write(&file, "x\n").unwrap();
    let err = error(&format!(
        "{HEAD}\n{HOOK}secret_file = \"{}\"\n",
        file.display()
    ));
    assert!(err.contains("sources[0].secret_file"), "{err}");
}

#[test]
fn absurd_values_are_refused_with_the_dotted_key_and_the_allowed_range() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[flexykey]\nusername = \"u\"\npassword = \"\"\n",
            "flexykey.password",
            "empty",
        ),
        (
            "[flexykey]\nusername = \"u\"\npassword = \"  \"\n",
            "flexykey.password",
            "empty",
        ),
        (
            &format!("{HEAD}requests_per_second = 1e-300\n"),
            "flexykey.requests_per_second",
            "0.01 to 1000",
        ),
        (
            &format!("{HEAD}requests_per_second = 1e300\n"),
            "flexykey.requests_per_second",
            "0.01 to 1000",
        ),
        (
            &format!("{HEAD}requests_per_second = nan\n"),
            "flexykey.requests_per_second",
            "0.01 to 1000",
        ),
        (
            &format!("{HEAD}burst = 1000000\n"),
            "flexykey.burst",
            "1 to 1000",
        ),
        (
            &format!("{HEAD}timeout_seconds = 0\n"),
            "flexykey.timeout_seconds",
            "1 to 3600",
        ),
        (
            &format!("{HEAD}[ledger]\npath = \"\"\n"),
            "ledger.path",
            "empty",
        ),
        (
            &format!("{HEAD}[ledger]\npath = \"/var/lib/flexysync/\"\n"),
            "ledger.path",
            "directory",
        ),
        (
            &format!("{HEAD}[sync]\nmax_stay_days = 0\n"),
            "sync.max_stay_days",
            "1 to 3660",
        ),
        (
            &format!("{HEAD}[sync]\nmax_stay_days = 100000\n"),
            "sync.max_stay_days",
            "1 to 3660",
        ),
        (
            &format!("{HEAD}[sync]\ndebounce_reads = 4000000000\n"),
            "sync.debounce_reads",
            "1 to 100",
        ),
        (
            &format!("{HEAD}[sync]\nshrink_confirm_hours = 4000000000\n"),
            "sync.shrink_confirm_hours",
            "0 to 8760",
        ),
        (
            &format!("{HEAD}[archive]\noverlap = \"3000000d\"\n"),
            "archive.overlap",
            "at most 7d",
        ),
        (
            &format!("{HEAD}[archive]\nunits = [5, -3]\n"),
            "archive.units[1]",
            "1 or more",
        ),
        (
            &format!("{HEAD}[archive]\nschedule = \"0 0 31 2 *\"\n"),
            "archive.schedule",
            "never fires",
        ),
        (
            &format!("{HEAD}[archive]\nretention_days = 4000000000\n"),
            "archive.retention_days",
            "36600",
        ),
        (
            &format!("{HEAD}{}buffer_before = \"3000000d\"\n", ical()),
            "sources[0].buffer_before",
            "at most 7d",
        ),
        (
            &format!("{HEAD}{}buffer_after = \"8d\"\n", ical()),
            "sources[0].buffer_after",
            "at most 7d",
        ),
        (
            &format!("{HEAD}{}max_bytes = 0\n", ical()),
            "sources[0].max_bytes",
            "1024 to 268435456",
        ),
        (
            &format!("{HEAD}{}max_bytes = 99999999999\n", ical()),
            "sources[0].max_bytes",
            "1024 to 268435456",
        ),
        (
            &format!("{HEAD}{}max_stay_days = 0\n", ical()),
            "sources[0].max_stay_days",
            "1 to 3660",
        ),
        (
            &format!("{HEAD}{}schedule = \"0 0 30 2 *\"\n", ical()),
            "sources[0].schedule",
            "never fires",
        ),
        (
            &format!("{HEAD}{}", ical().replace("= 7", "= -5")),
            "sources[0].booking_object_id",
            "1 or more",
        ),
        (
            &format!("{HEAD}{}", ical().replace("= 7", "= 0")),
            "sources[0].booking_object_id",
            "1 or more",
        ),
        (
            &format!(
                "{HEAD}{}secret = \"{GOOD_SECRET}\"\n",
                HOOK.replace("12 }", "-12 }")
            ),
            "sources[0].objects.room-a",
            "1 or more",
        ),
    ];
    for (text, key, range) in cases {
        let err = error(text);
        assert!(err.contains(&format!("`{key}`")), "{key}: {err}");
        assert!(err.contains(range), "{key} should give {range:?}: {err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

fn ical() -> String {
    "[[sources]]\nname = \"cabin\"\nkind = \"ical\"\npath = \"/srv/cabin.ics\"\nbooking_object_id = 7\n"
        .to_owned()
}

#[test]
fn schedules_that_fire_rarely_but_surely_are_kept() {
    load(&format!("{HEAD}[archive]\nschedule = \"0 0 29 2 *\"\n")).unwrap();
    load(&format!("{HEAD}{}schedule = \"0 */5 * * * *\"\n", ical())).unwrap();
}

#[test]
fn regex_errors_fit_on_one_line_with_the_place() {
    let err = error(&format!(
        "{HEAD}{}include_summary = \"(Reserved\"\n",
        ical()
    ));
    assert!(err.contains("sources[0].include_summary"), "{err}");
    assert!(!err.contains('\n'), "{err}");
    assert!(err.contains("unclosed group"), "{err}");
}

#[test]
fn the_stay_limit_is_sync_wide_with_a_per_source_override() {
    let config = load(&format!("{HEAD}[sync]\nmax_stay_days = 30\n\n{}", ical())).unwrap();
    assert_eq!(config.sources[0].max_stay(), chrono::Duration::days(30));
    let config = load(&format!("{HEAD}{}max_stay_days = 200\n", ical())).unwrap();
    assert_eq!(config.sources[0].max_stay(), chrono::Duration::days(200));
    let config = load(&format!("{HEAD}{}", ical())).unwrap();
    assert_eq!(config.sync.max_stay_days, 60);
    assert_eq!(config.sources[0].max_stay(), chrono::Duration::days(60));
}

#[test]
fn the_config_itself_must_be_a_regular_file_of_sane_size() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    std::fs::write(&big, format!("{HEAD}# {}\n", "x".repeat(2 * 1024 * 1024))).unwrap();
    for (path, why) in [
        (Path::new("/dev/zero"), "not a regular file"),
        (dir.path(), "not a regular file"),
        (big.as_path(), "larger than"),
    ] {
        let err = Config::load(path).unwrap_err().to_string();
        assert!(
            err.contains(why) && err.contains(&path.display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn secret_files_must_be_small_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let big = dir.path().join("big");
    std::fs::write(&big, "x".repeat(5000)).unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let binary = dir.path().join("binary");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let started = std::time::Instant::now();
    for (path, why) in [
        (Path::new("/dev/zero"), "not a regular file"),
        (fifo.as_path(), "not a regular file"),
        (dir.path(), "not a regular file"),
        (big.as_path(), "larger than 4096 bytes"),
        (empty.as_path(), "empty"),
        (binary.as_path(), "not UTF-8"),
        (Path::new("/nonexistent/secret"), "cannot read"),
    ] {
        let err = read_secret_file(path).unwrap_err();
        assert!(err.contains(why), "{}: {err}", path.display());
        let text = format!(
            "[flexykey]\nusername = \"u\"\npassword_file = \"{}\"\n",
            path.display()
        );
        let err = error(&text);
        assert!(
            err.contains("flexykey.password_file") && err.contains(why),
            "{err}"
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "no read hangs"
    );
    // A link to a regular file is fine (Kubernetes mounts secrets that way).
    let real = dir.path().join("real");
    std::fs::write(&real, "from-a-link-secret\n").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(
        read_secret_file(&link).unwrap().expose_secret(),
        "from-a-link-secret"
    );
}
