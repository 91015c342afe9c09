//! Prometheus metrics. Counters are bumped where things happen (the client counts its calls,
//! the daemon its passes); gauges that describe the ledger are set just before each scrape.
//! Labels are bounded: endpoint templates, kinds, results and configured source names, never
//! ids or phone numbers. Every series whose labels are known in advance exists from the start
//! (at 0), so that `rate()` and alerts see the first increment.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::{Config, SourceKind};

pub const BUILD_INFO: &str = "flexysync_build_info";
pub const PASSES: &str = "flexysync_passes_total";
pub const OPERATIONS: &str = "flexysync_operations_total";
pub const FLEXYKEY_CALLS: &str = "flexysync_flexykey_calls_total";
/// Recorded by the FlexyKey client, which spells the name itself (it knows nothing of the daemon).
pub const LIMITER_WAIT: &str = "flexysync_limiter_wait_seconds";
pub const LAST_FRESH_READ: &str = "flexysync_last_fresh_read_timestamp_seconds";
pub const IN_DOUBT: &str = "flexysync_journal_in_doubt";
pub const ARRIVALS_UNCONFIRMED: &str = "flexysync_arrivals_unconfirmed";
pub const LOG_ENTRIES: &str = "flexysync_log_entries_archived_total";
pub const WEBHOOK_EVENTS: &str = "flexysync_webhook_deliveries_total";
pub const READ_FAILURES: &str = "flexysync_source_read_failures_total";
pub const PASS_FAILURES: &str = "flexysync_pass_failures_total";
pub const OBJECTS_LISTED: &str = "flexysync_objects_listed_total";

/// From "no wait" to "the account is paused by a 429".
const LIMITER_WAIT_BUCKETS: &[f64] = &[0.01, 0.05, 0.25, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0];

/// The pass results and operation outcomes the daemon counts.
pub const PASS_RESULTS: [&str; 3] = ["converged", "not_converged", "error"];
pub const OPERATION_OUTCOMES: [(&str, &str); 4] = [
    ("create", "done"),
    ("delete", "done"),
    ("any", "failed"),
    ("delete", "held"),
];
/// Every result the webhook endpoint counts for a configured source.
const WEBHOOK_RESULTS: [&str; 6] = [
    "applied",
    "stale",
    "duplicate",
    "unauthorized",
    "invalid",
    "unavailable",
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global recorder on first use and returns its handle (`None` when another
/// recorder was installed first, which only happens in tests that embed flexysync).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(LIMITER_WAIT.to_owned()),
                    LIMITER_WAIT_BUCKETS,
                )
                .ok()?
                .install_recorder()
                .ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(BUILD_INFO, "Always 1; the labels say which flexysync runs");
    describe_counter!(PASSES, "Sync passes, by result");
    describe_counter!(
        OPERATIONS,
        "FlexyKey writes planned and applied, by kind and result"
    );
    describe_counter!(
        FLEXYKEY_CALLS,
        "FlexyKey API calls, by endpoint and HTTP status"
    );
    describe_histogram!(
        LIMITER_WAIT,
        Unit::Seconds,
        "Time each FlexyKey call waited for the client-side rate limiter"
    );
    describe_gauge!(
        LAST_FRESH_READ,
        Unit::Seconds,
        "Unix time of each source's last fresh read (0: never read)"
    );
    describe_gauge!(IN_DOUBT, "Journal entries whose outcome is not yet known");
    describe_gauge!(
        ARRIVALS_UNCONFIRMED,
        "Arrivals within 24 hours that have no confirmed FlexyKey booking"
    );
    describe_counter!(LOG_ENTRIES, "Unit log entries newly stored in the archive");
    describe_counter!(WEBHOOK_EVENTS, "Webhook deliveries, by source and result");
    describe_counter!(
        READ_FAILURES,
        "Source reads that yielded nothing known, by source and the kind of failure"
    );
    describe_counter!(PASS_FAILURES, "Failures of passes, by kind");
    describe_counter!(
        OBJECTS_LISTED,
        "Booking objects in scope of a pass, by whether their bookings were listed"
    );
}

/// Creates every series whose labels the config fixes, at 0 (again after a reload: only the
/// new sources' series are new).
pub fn initialise(config: &Config) {
    if handle().is_none() {
        return;
    }
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    for result in PASS_RESULTS {
        metrics::counter!(PASSES, "result" => result).increment(0);
    }
    for (kind, result) in OPERATION_OUTCOMES {
        metrics::counter!(OPERATIONS, "kind" => kind, "result" => result).increment(0);
    }
    metrics::counter!(LOG_ENTRIES).increment(0);
    for listed in ["yes", "no"] {
        metrics::counter!(OBJECTS_LISTED, "listed" => listed).increment(0);
    }
    metrics::gauge!(IN_DOUBT).increment(0.0);
    metrics::gauge!(ARRIVALS_UNCONFIRMED).increment(0.0);
    // Registered without a sample: the histogram's buckets show 0 until the first call.
    let _ = metrics::histogram!(LIMITER_WAIT);
    for source in &config.sources {
        metrics::gauge!(LAST_FRESH_READ, "source" => source.name.clone()).increment(0.0);
        if source.kind == SourceKind::Webhook {
            for result in WEBHOOK_RESULTS {
                metrics::counter!(WEBHOOK_EVENTS, "source" => source.name.clone(), "result" => result)
                    .increment(0);
            }
        }
    }
}

/// The text exposition, after the scrape handler has set the gauges.
pub fn render() -> String {
    handle().map(|h| h.render()).unwrap_or_default()
}
