//! Liveness of the ledger itself, for `/readyz` and `check`.

use super::{Ledger, LedgerError};

impl Ledger {
    /// True when a write transaction can be opened right now (disk not read-only, file not
    /// locked by another writer for longer than the busy timeout). Writes nothing.
    ///
    /// sqlx's transaction API, never a raw `BEGIN`: a probe cancelled while it waits on the
    /// lock (a probe timeout) has its transaction rolled back by sqlx, so the connection goes
    /// back to the pool clean instead of holding the write lock forever.
    pub async fn check_writable(&self) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ('health-probe', '') \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .execute(&mut *tx)
        .await?;
        tx.rollback().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_fresh_ledger_is_writable_and_the_probe_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.db")).await.unwrap();
        ledger.check_writable().await.unwrap();
        assert_eq!(ledger.meta("health-probe").await.unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_probe_cancelled_while_waiting_on_the_lock_leaves_no_transaction_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::open(&path).await.unwrap();
        let other = Ledger::open(&path).await.unwrap();

        // Another writer holds the lock; the probe waits on it and is cancelled (a readiness
        // timeout), then the other writer lets go.
        let mut held = other.pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("INSERT INTO meta (key, value) VALUES ('held', '1')")
            .execute(&mut *held)
            .await
            .unwrap();
        let probe = tokio::time::timeout(Duration::from_millis(300), ledger.check_writable());
        assert!(probe.await.is_err(), "the probe should still be waiting");
        held.commit().await.unwrap();
        // Give the cancelled BEGIN time to get the lock and the connection time to come back.
        tokio::time::sleep(Duration::from_millis(500)).await;

        // Every pooled connection of the probed ledger writes, and what it wrote is committed.
        for n in 0..4 {
            let key = format!("after-{n}");
            ledger.meta_get_or_insert(&key, "x").await.unwrap();
        }
        let reader = Ledger::open(&path).await.unwrap();
        for n in 0..4 {
            let key = format!("after-{n}");
            assert_eq!(
                reader.meta(&key).await.unwrap().as_deref(),
                Some("x"),
                "{key}"
            );
        }
        // And nobody holds the write lock any more: the other writer gets it at once.
        let write = other.meta_get_or_insert("other", "y");
        let written = tokio::time::timeout(Duration::from_secs(3), write).await;
        assert!(
            matches!(written, Ok(Ok(_))),
            "the write lock is still held: {written:?}"
        );
        ledger.check_writable().await.unwrap();
    }
}
