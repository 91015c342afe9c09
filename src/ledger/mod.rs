//! The local SQLite ledger: every SQL statement of flexysync, the migrations, transactions.
//! One writer; WAL so readers (status, the status page) never wait for it; write transactions
//! are short `BEGIN IMMEDIATE` ones and never held across an HTTP call.

mod bookings;
mod health;
mod lock;
mod logs;
mod objects;
mod outbox;
mod outputs;
mod passes;
mod records;
mod sources;
pub mod webhooks;

pub use logs::{
    ArchiveFilter, ArchiveUnit, ArchiveUnitInfo, ArchivedEntry, BackfillJob, CredentialLabel,
    HashedLogEntry,
};

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use lock::{LedgerLock, lock_path};
pub use objects::{ObjectName, ObjectRecord};
pub use outbox::{Delivery, DeliveryState};
pub use outputs::{OutputCommand, OutputCommandState};
pub use records::*;

use crate::model::Credentials;
// The domain types the ledger stores, where callers have long found them.
pub use crate::model::{
    BookingState, FailureKind, JournalEntry, JournalState, OwnedBooking, ReadStatus, ShrinkHold,
    SourceReadRecord, StoredReservation, WriteKind,
};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger {path}: cannot open: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("ledger {path}: migration failed: {reason}")]
    Migrate { path: PathBuf, reason: String },
    #[error("ledger: {0}")]
    Sql(#[from] sqlx::Error),
    #[error(
        "ledger {path} is in use by {holder}; only one flexysync may use a ledger at a time \
         (stop the other one, or give this one its own [ledger] path)"
    )]
    Locked { path: PathBuf, holder: String },
    #[error("ledger holds a value it cannot read: {0}")]
    Corrupt(String),
    #[error(
        "ledger {path} is damaged ({detail}); nothing was read from it or written to it. \
         Restore it from a backup, or move it aside so that a new one is made"
    )]
    Damaged { path: PathBuf, detail: String },
}

/// Times are stored as UTC unix seconds.
pub(crate) fn ts(time: DateTime<Utc>) -> i64 {
    time.timestamp()
}

pub(crate) fn from_ts(seconds: i64) -> Result<DateTime<Utc>, LedgerError> {
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| LedgerError::Corrupt(format!("time {seconds} is out of range")))
}

fn credentials_to_json(credentials: &Credentials) -> Result<String, LedgerError> {
    serde_json::to_string(credentials)
        .map_err(|err| LedgerError::Corrupt(format!("cannot encode credentials: {err}")))
}

fn credentials_from_json(text: &str) -> Result<Credentials, LedgerError> {
    // The error text of serde_json quotes no input, so no code or phone leaks through it.
    serde_json::from_str(text)
        .map_err(|err| LedgerError::Corrupt(format!("stored credentials unreadable: {err}")))
}

/// The ledger: a pool over one SQLite file.
#[derive(Debug, Clone)]
pub struct Ledger {
    pool: SqlitePool,
    path: PathBuf,
    /// Held by the process that writes (sync, the daemon); readers (status) go without.
    lock: Option<Arc<LedgerLock>>,
}

impl Ledger {
    /// Takes the single-instance lock, then opens the ledger: for every process that writes.
    /// A second flexysync on the same ledger is refused with the first one's pid.
    pub async fn open_exclusive(path: &Path) -> Result<Ledger, LedgerError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|err| LedgerError::Open {
                path: path.to_owned(),
                reason: format!("cannot create {}: {err}", parent.display()),
            })?;
        }
        let lock = LedgerLock::acquire(path)?;
        let mut ledger = Ledger::open(path).await?;
        ledger.lock = Some(Arc::new(lock));
        Ok(ledger)
    }

    /// True when this handle holds the single-instance lock.
    pub fn is_exclusive(&self) -> bool {
        self.lock.is_some()
    }

    /// Opens (creating if needed) the ledger file, sets WAL and applies the migrations.
    pub async fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let open_err = |reason: String| LedgerError::Open {
            path: path.to_owned(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)
                .map_err(|err| open_err(format!("cannot create {}: {err}", parent.display())))?;
        }
        restrict_files(path).map_err(open_err)?;
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|err| open_err(err.to_string()))?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a webhook answered 202 and a journaled intent survive a power loss, not only
            // a crash of the process.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|err| damaged_or(path, err, open_err))?;
        check_integrity(&pool, path).await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|err| LedgerError::Migrate {
                path: path.to_owned(),
                reason: err.to_string(),
            })?;
        Ok(Ledger {
            pool,
            path: path.to_owned(),
            lock: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A value from the ledger's key-value table (installation secret, schema notes).
    pub async fn meta(&self, key: &str) -> Result<Option<String>, LedgerError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Stores `value` under `key` unless a value is already there; returns the stored value.
    pub async fn meta_get_or_insert(&self, key: &str, value: &str) -> Result<String, LedgerError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The ledger holds the code secret, keypad codes, phone numbers and raw webhook bodies: the
/// file is created 0600 whatever the umask, before SQLite opens it (SQLite gives `-wal` and
/// `-shm` the main file's mode), and files an older version left readable are tightened.
fn restrict_files(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|err| format!("cannot create the file: {err}"))?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        if meta.permissions().mode() & 0o077 != 0
            && let Err(err) =
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
        {
            // Not ours to change (another user's ledger, read by `status`): say so, go on.
            tracing::warn!(file = %file.display(), error = %err, "ledger file is readable by others and cannot be restricted");
        }
    }
    Ok(())
}

/// A directory made for the ledger is the owner's alone.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// `PRAGMA quick_check` before anything else: a ledger with garbage pages is refused with a
/// clear message instead of being read (or migrated) silently.
async fn check_integrity(pool: &SqlitePool, path: &Path) -> Result<(), LedgerError> {
    let damaged = |detail: String| LedgerError::Damaged {
        path: path.to_owned(),
        detail,
    };
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(3)")
        .fetch_all(pool)
        .await
        .map_err(|err| damaged(format!("the integrity check failed: {err}")))?;
    if verdict.len() == 1 && verdict[0] == "ok" {
        return Ok(());
    }
    pool.close().await;
    Err(damaged(format!("integrity check: {}", verdict.join("; "))))
}

/// Opening errors that mean "this is no SQLite database" (garbage in the header page) are
/// damage, told as such; the others stay opening errors.
fn damaged_or(
    path: &Path,
    err: sqlx::Error,
    open_err: impl Fn(String) -> LedgerError,
) -> LedgerError {
    let text = err.to_string();
    if text.contains("not a database") || text.contains("malformed") {
        LedgerError::Damaged {
            path: path.to_owned(),
            detail: text,
        }
    } else {
        open_err(text)
    }
}

#[cfg(test)]
mod safety_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod open_tests {
    use super::*;

    #[tokio::test]
    async fn opens_a_new_file_in_wal_and_keeps_meta_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ledger.db");
        let ledger = Ledger::open(&path).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&ledger.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(
            ledger.meta_get_or_insert("k", "first").await.unwrap(),
            "first"
        );
        assert_eq!(
            ledger.meta_get_or_insert("k", "second").await.unwrap(),
            "first"
        );
        ledger.close().await;
        let reopened = Ledger::open(&path).await.unwrap();
        assert_eq!(reopened.meta("k").await.unwrap().as_deref(), Some("first"));
    }
}
