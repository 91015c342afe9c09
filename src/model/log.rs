//! One entry of a unit's access log, as FlexyKey reports it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One unit log entry. Entries have no id: two can be identical but for `server_date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub server_date: DateTime<Utc>,
    /// The unit's own clock, minute precision, as FlexyKey sends it.
    pub unit_date: Option<String>,
    pub source_id: Option<String>,
    pub source_label: Option<String>,
    pub action_label: Option<String>,
    pub log_msg: Option<String>,
}
