//! Liveness of the ledger itself, for `/readyz` and `check`.

use super::{Ledger, LedgerError};

impl Ledger {
    /// True when a write transaction can be opened right now (disk not read-only, file not
    /// locked by another writer for longer than the busy timeout). Writes nothing.
    pub async fn check_writable(&self) -> Result<(), LedgerError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let probe = sqlx::query("INSERT INTO meta (key, value) VALUES ('health-probe', '') ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .execute(&mut *conn)
            .await;
        sqlx::query("ROLLBACK").execute(&mut *conn).await?;
        probe?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fresh_ledger_is_writable_and_the_probe_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.db")).await.unwrap();
        ledger.check_writable().await.unwrap();
        assert_eq!(ledger.meta("health-probe").await.unwrap(), None);
    }
}
