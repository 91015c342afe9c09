//! Prometheus metrics. Counters are bumped where things happen (the client counts its calls,
//! the daemon its passes); gauges that describe the ledger are set just before each scrape.
//! Labels are bounded: endpoint templates, kinds, results and configured source names, never
//! ids or phone numbers.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const PASSES: &str = "flexysync_passes_total";
pub const OPERATIONS: &str = "flexysync_operations_total";
pub const FLEXYKEY_CALLS: &str = "flexysync_flexykey_calls_total";
pub const LIMITER_WAIT: &str = "flexysync_limiter_wait_seconds_total";
pub const SOURCE_AGE: &str = "flexysync_source_seconds_since_fresh_read";
pub const IN_DOUBT: &str = "flexysync_journal_in_doubt";
pub const LOG_ENTRIES: &str = "flexysync_log_entries_archived_total";
pub const WEBHOOK_EVENTS: &str = "flexysync_webhook_deliveries_total";
pub const READ_FAILURES: &str = "flexysync_source_read_failures_total";
pub const PASS_FAILURES: &str = "flexysync_pass_failures_total";
pub const OBJECTS_LISTED: &str = "flexysync_objects_listed_total";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global recorder on first use and returns its handle (`None` when another
/// recorder was installed first, which only happens in tests that embed flexysync).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new().install_recorder().ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(PASSES, "Sync passes, by result");
    describe_counter!(
        OPERATIONS,
        "FlexyKey writes planned and applied, by kind and result"
    );
    describe_counter!(
        FLEXYKEY_CALLS,
        "FlexyKey API calls, by endpoint and HTTP status"
    );
    describe_counter!(
        LIMITER_WAIT,
        "Seconds spent waiting for the client-side rate limiter"
    );
    describe_gauge!(SOURCE_AGE, "Seconds since each source's last fresh read");
    describe_gauge!(IN_DOUBT, "Journal entries whose outcome is not yet known");
    describe_counter!(LOG_ENTRIES, "Unit log entries newly stored in the archive");
    describe_counter!(WEBHOOK_EVENTS, "Webhook deliveries, by result");
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

/// The text exposition, after `refresh` has set the gauges.
pub fn render() -> String {
    handle().map(|h| h.render()).unwrap_or_default()
}
