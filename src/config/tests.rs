use std::path::Path;

use secrecy::ExposeSecret;

use super::*;

const MINIMAL: &str = r#"
[flexykey]
base_url = "https://api.flexykey.se/v1/"
username = "api-user"
password = "hunter2-secret"
"#;

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_with_env(text, Path::new("/etc/flexysync/test.toml"), Vec::new())
}

#[test]
fn minimal_config_takes_the_documented_defaults() {
    let config = load(MINIMAL).unwrap();
    assert_eq!(config.flexykey.requests_per_second, 2.0);
    assert_eq!(config.flexykey.burst, 5);
    assert_eq!(config.flexykey.timeout_seconds, 30);
    assert_eq!(config.sync.horizon_days, 180);
    assert_eq!(config.sync.debounce_reads, 2);
    assert_eq!(config.sync.max_shrink, 0.5);
    assert_eq!(config.sync.shrink_confirm_hours, 24);
    assert_eq!(config.sync.drift, DriftPolicy::Repair);
    assert_eq!(config.sync.pass_timeout.0.as_secs(), 600);
    assert_eq!(config.archive.overlap.0.as_secs(), 7200);
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.server.admin_listen.to_string(), "127.0.0.1:9090");
}

#[test]
fn the_admin_listener_needs_a_port_of_its_own() {
    let err = load(&format!(
        "{MINIMAL}\n[server]\nlisten = \"127.0.0.1:8080\"\nadmin_listen = \"127.0.0.1:8080\"\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("server.admin_listen"), "{err}");
    assert!(err.contains("its own port"), "{err}");
}

#[test]
fn unknown_key_is_rejected_with_its_name_and_file() {
    let err = load(&format!("{MINIMAL}\nrequests_per_minute = 3\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/etc/flexysync/test.toml"), "{err}");
    assert!(err.contains("requests_per_minute"), "{err}");
}

#[test]
fn bad_value_names_the_key_and_what_was_expected() {
    let text = MINIMAL.replace("username", "burst = \"many\"\nusername");
    let err = load(&text).unwrap_err().to_string();
    assert!(err.contains("flexykey.burst"), "{err}");
    let text = MINIMAL.replace("username", "requests_per_second = 0\nusername");
    let err = load(&text).unwrap_err().to_string();
    assert!(
        err.contains("flexykey.requests_per_second") && err.contains("above 0"),
        "{err}"
    );
}

#[test]
fn pass_timeout_is_a_duration_within_bounds() {
    let config = load(&format!("{MINIMAL}\n[sync]\npass_timeout = \"2m30s\"\n")).unwrap();
    assert_eq!(config.sync.pass_timeout.0.as_secs(), 150);
    for (value, said) in [
        ("\"5s\"", "10s"),
        ("\"2d\"", "1d"),
        ("600", "sync.pass_timeout"),
    ] {
        let err = load(&format!("{MINIMAL}\n[sync]\npass_timeout = {value}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sync.pass_timeout") && err.contains(said),
            "{value}: {err}"
        );
    }
}

#[test]
fn toml_syntax_error_names_the_line() {
    let err = load("[flexykey\nusername = 1").unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    let err = load(&MINIMAL.replace("https://api.flexykey.se", "http://api.flexykey.se"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("flexykey.base_url") && err.contains("https"),
        "{err}"
    );
    load(&MINIMAL.replace("https://api.flexykey.se", "http://127.0.0.1:9000")).unwrap();
    load(&MINIMAL.replace("https://api.flexykey.se", "http://localhost:9000")).unwrap();
}

#[test]
fn environment_overrides_keys_and_types() {
    let config = Config::from_toml_with_env(
        MINIMAL,
        Path::new("c.toml"),
        vec![
            ("FLEXYSYNC__FLEXYKEY__BURST".into(), "8".into()),
            ("FLEXYSYNC__FLEXYKEY__USERNAME".into(), "other".into()),
            ("FLEXYSYNC__SYNC__MAX_SHRINK".into(), "0.25".into()),
            ("UNRELATED".into(), "x".into()),
        ],
    )
    .unwrap();
    assert_eq!(config.flexykey.burst, 8);
    assert_eq!(config.flexykey.username, "other");
    assert_eq!(config.sync.max_shrink, 0.25);
}

#[test]
fn password_file_is_read_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "from-a-file-secret\n").unwrap();
    let text = format!(
        "[flexykey]\nusername = \"u\"\npassword_file = \"{}\"\n",
        file.display()
    );
    let config = load(&text).unwrap();
    let password = config.flexykey.password.as_ref().unwrap();
    assert_eq!(password.expose_secret(), "from-a-file-secret");
    let printed = format!("{config:?}{}", config.redacted_summary());
    assert!(!printed.contains("from-a-file-secret"), "{printed}");
    let printed = format!("{:?}", load(MINIMAL).unwrap());
    assert!(!printed.contains("hunter2-secret"));
}

#[test]
fn missing_password_and_both_forms_are_refused() {
    let err = load("[flexykey]\nusername = \"u\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("flexykey.password") && err.contains("missing"),
        "{err}"
    );
    let err = load("[flexykey]\nusername = \"u\"\npassword = \"p\"\npassword_file = \"/x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not both"), "{err}");
}

#[test]
fn sources_are_validated_per_kind() {
    let ical = format!(
        "{MINIMAL}\n[[sources]]\nname = \"cabin-7\"\nkind = \"ical\"\nurl = \"https://example.com/c.ics?s=token\"\nbooking_object_id = 123\ntimezone = \"W. Europe Standard Time\"\n"
    );
    let config = load(&ical).unwrap();
    let source = &config.sources[0];
    assert_eq!(source.timezone.unwrap().0, chrono_tz::Europe::Berlin);
    assert_eq!(source.check_in.0.to_string(), "15:00:00");
    assert_eq!(source.schedule, "*/10 * * * *");

    let err = load(&ical.replace("booking_object_id = 123\n", ""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sources[0].booking_object_id"), "{err}");
    let err = load(&format!("{ical}schedule = \"every minute\"\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sources[0].schedule"), "{err}");
    let err = load(&format!("{ical}check_in = \"25:00\"\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("15:00"), "{err}");
    let twice = format!("{ical}{}", &ical[MINIMAL.len()..]);
    let err = load(&twice).unwrap_err().to_string();
    assert!(err.contains("used twice"), "{err}");
}

#[test]
fn feed_urls_are_redacted_for_logs() {
    let url = url::Url::parse("https://www.airbnb.com/calendar/ical/1.ics?s=abcdef").unwrap();
    let shown = redact_url(&url);
    assert!(!shown.contains("abcdef"), "{shown}");
    assert!(shown.contains("airbnb.com/calendar/ical/1.ics"), "{shown}");
    let config = load(&format!(
        "{MINIMAL}\n[[sources]]\nname = \"a\"\nkind = \"ical\"\nurl = \"https://example.com/c.ics?s=feedtoken\"\nbooking_object_id = 1\n"
    ))
    .unwrap();
    assert!(!format!("{config:?}").contains("feedtoken"));
    assert_eq!(
        config.sources[0].url.as_ref().unwrap().0.query(),
        Some("s=feedtoken")
    );
    let token = "0123456789abcdef0123456789abcdef";
    let config = load(&format!(
        "{MINIMAL}\n[[sources]]\nname = \"g\"\nkind = \"ical\"\nurl = \"https://calendar.google.com/calendar/ical/x/private-{token}/basic.ics\"\nbooking_object_id = 1\n"
    ))
    .unwrap();
    let summary = config.redacted_summary();
    assert!(!summary.contains(token), "{summary}");
    assert!(
        summary.contains("https://calendar.google.com/REDACTED.ics"),
        "{summary}"
    );
}

#[test]
fn the_annotated_example_loads_with_every_section() {
    let text = include_str!("../../config/example.toml");
    let config = load(text).unwrap();
    assert_eq!(config.sources.len(), 2);
    assert_eq!(config.sources[0].kind, SourceKind::Ical);
    assert_eq!(config.sources[0].preset, Preset::Airbnb);
    assert_eq!(config.sources[0].code, CodePolicy::PhoneLast4);
    assert_eq!(config.sources[0].buffer_before.0.as_secs(), 1800);
    assert_eq!(config.sources[1].kind, SourceKind::Webhook);
    assert_eq!(config.sources[1].objects.get("room-b"), Some(&124));
    assert_eq!(config.archive.units, UnitSelection::All);
    assert_eq!(config.log.format, LogFormat::Pretty);
}

#[test]
fn webhook_sources_refuse_ical_keys_and_need_a_secret() {
    let hook = format!(
        "{MINIMAL}\n[[sources]]\nname = \"h\"\nkind = \"webhook\"\nsecret = \"a-long-random-hook-key\"\nobjects = {{ \"a\" = 1 }}\n"
    );
    load(&hook).unwrap();
    let err = load(&format!("{hook}booking_object_id = 4\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sources[0].booking_object_id"), "{err}");
    let err = load(&hook.replace("secret = \"a-long-random-hook-key\"\n", ""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sources[0].secret"), "{err}");
}

#[test]
fn a_bad_feed_url_is_refused_without_its_token() {
    let text = format!(
        "{MINIMAL}\n[[sources]]\nname = \"a\"\nkind = \"ical\"\nurl = \"https://exa mple.com/c.ics?s=feedtoken\"\nbooking_object_id = 1\n"
    );
    let err = load(&text).unwrap_err().to_string();
    assert!(!err.contains("feedtoken"), "{err}");
    assert!(
        err.contains("sources[0].url") && err.contains("expected a URL"),
        "{err}"
    );
    let in_path = text.replace(
        "c.ics?s=feedtoken",
        "private-0123456789abcdef0123/basic.ics",
    );
    let err = load(&in_path).unwrap_err().to_string();
    assert!(!err.contains("0123456789abcdef"), "{err}");
    assert!(err.contains("sources[0].url"), "{err}");
}

#[test]
fn environment_values_that_look_like_numbers_stay_strings_where_strings_are_expected() {
    let config = Config::from_toml_with_env(
        MINIMAL,
        Path::new("c.toml"),
        vec![("FLEXYSYNC__FLEXYKEY__PASSWORD".into(), "00123".into())],
    )
    .unwrap();
    assert_eq!(config.flexykey.password.unwrap().expose_secret(), "00123");
}

/// One source with `key = value` added (an iCal source unless the key is `kind`).
fn with_source_key(key: &str, value: &str) -> String {
    let kind = if key == "kind" {
        ""
    } else {
        "kind = \"ical\"\n"
    };
    format!(
        "{MINIMAL}\n[[sources]]\nname = \"cabin\"\n{kind}url = \"https://example.com/c.ics\"\n\
         booking_object_id = 1\n{key} = {value}\n"
    )
}

#[test]
fn every_enum_value_error_lists_the_allowed_words_with_file_and_key() {
    let cases = [
        (
            with_source_key("code", "\"last4\""),
            "sources[0].code",
            "\"last4\"",
            &["`phone-last4`", "`derived`", "`none`"][..],
        ),
        (
            with_source_key("preset", "\"expedia\""),
            "sources[0].preset",
            "\"expedia\"",
            &[
                "`airbnb`",
                "`booking-com`",
                "`vrbo`",
                "`google`",
                "`generic`",
            ],
        ),
        (
            with_source_key("kind", "\"caldav\""),
            "sources[0].kind",
            "\"caldav\"",
            &["`ical`", "`webhook`"],
        ),
        (
            format!("{MINIMAL}\n[sync]\ndrift = \"ignore\"\n"),
            "sync.drift",
            "\"ignore\"",
            &["`repair`", "`report`"],
        ),
        (
            format!("{MINIMAL}\n[log]\nformat = \"xml\"\n"),
            "log.format",
            "\"xml\"",
            &["`pretty`", "`json`"],
        ),
        // Case matters: the config spells the words in lower case.
        (
            format!("{MINIMAL}\n[log]\nformat = \"JSON\"\n"),
            "log.format",
            "\"JSON\"",
            &["`pretty`", "`json`"],
        ),
    ];
    for (text, key, found, allowed) in cases {
        let err = load(&text).unwrap_err().to_string();
        assert!(err.contains("/etc/flexysync/test.toml"), "{err}");
        assert!(err.contains(&format!("key `{key}`")), "{err}");
        assert!(err.contains(found), "{err}");
        let listed = allowed.join(", ");
        assert!(err.contains(&format!("expected one of {listed}")), "{err}");
        for leak in ["enum ", "variant", "constructor"] {
            assert!(!err.contains(leak), "Rust leaks into {err}");
        }
    }
}

#[test]
fn a_wrong_enum_value_from_the_environment_is_named_the_same_way() {
    let err = Config::from_toml_with_env(
        MINIMAL,
        Path::new("/etc/flexysync/test.toml"),
        vec![("FLEXYSYNC__SYNC__DRIFT".to_owned(), "fix".to_owned())],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("sync.drift") && err.contains("expected one of `repair`, `report`"),
        "{err}"
    );
}

#[test]
fn every_enum_word_reads_back_as_its_value() {
    fn round_trip<T: Choice + std::fmt::Debug + PartialEq>() {
        for (word, value) in T::CHOICES {
            assert_eq!(T::from_word(word), Ok(*value));
            assert_eq!(value.name(), *word);
        }
    }
    round_trip::<SourceKind>();
    round_trip::<Preset>();
    round_trip::<CodePolicy>();
    round_trip::<DriftPolicy>();
    round_trip::<LogFormat>();
    let config = load(&format!(
        "{MINIMAL}\n[log]\nformat = \"json\"\n[sync]\ndrift = \"report\"\n"
    ))
    .unwrap();
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.sync.drift, DriftPolicy::Report);
}

#[test]
fn the_growth_guard_and_the_drift_check_take_defaults_and_refuse_nonsense() {
    let config = load(MINIMAL).unwrap();
    assert_eq!(config.sync.max_growth.stays, 50);
    assert_eq!(config.sync.max_growth.factor, 3.0);
    assert_eq!(config.sync.drift_check_minutes, 60);
    let set = load(&format!(
        "{MINIMAL}\n[sync]\nmax_growth = {{ stays = 10 }}\ndrift_check_minutes = 15\n"
    ))
    .unwrap();
    assert_eq!(
        (set.sync.max_growth.stays, set.sync.max_growth.factor),
        (10, 3.0)
    );
    assert_eq!(set.sync.drift_check_minutes, 15);
    for (bad, key) in [
        (
            "max_growth = { stays = 10, factor = 0.5 }",
            "max_growth.factor",
        ),
        ("max_growth = { stays = 10, factr = 2.0 }", "factr"),
        ("drift_check_minutes = 0", "drift_check_minutes"),
    ] {
        let err = load(&format!("{MINIMAL}\n[sync]\n{bad}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{bad}: {err}");
    }
}
