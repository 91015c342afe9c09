//! The journal of output commands (booking-driven outputs): intent before `POST /Control`,
//! resolution after the IO status was read back.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Ledger, LedgerError, from_ts, ts};

/// Where one output command stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputCommandState {
    /// Journaled; maybe sent (a crash leaves it here).
    Intent,
    /// FlexyKey accepted it; its effect is not read back yet.
    Sent,
    /// The IO status shows its effect.
    Verified,
    /// Accepted, but the IO status never showed its effect.
    Unverified,
    /// FlexyKey refused it.
    Failed,
    /// Journaled, then found not to have taken effect (a crash before FlexyKey answered); a
    /// new command follows.
    Lost,
    /// Nothing sent: the IO status already showed the planned state.
    InPlace,
    /// Nothing sent: a person switched the output; hands off until the next transition.
    Override,
    /// Nothing sent: a pulse whose time had passed.
    Skipped,
    /// A pulse in doubt whose effect cannot be read back.
    Unknown,
}

impl OutputCommandState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputCommandState::Intent => "intent",
            OutputCommandState::Sent => "sent",
            OutputCommandState::Verified => "verified",
            OutputCommandState::Unverified => "unverified",
            OutputCommandState::Failed => "failed",
            OutputCommandState::Lost => "lost",
            OutputCommandState::InPlace => "in_place",
            OutputCommandState::Override => "override",
            OutputCommandState::Skipped => "skipped",
            OutputCommandState::Unknown => "unknown",
        }
    }

    fn parse(text: &str) -> Result<Self, LedgerError> {
        use OutputCommandState::*;
        [
            Intent, Sent, Verified, Unverified, Failed, Lost, InPlace, Override, Skipped, Unknown,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
        .ok_or_else(|| LedgerError::Corrupt(format!("unknown output command state {text:?}")))
    }

    /// Whether a command in this state counts as a send towards the limit per transition: an
    /// intent found never to have taken effect (`Lost`) does not.
    pub fn counts_as_send(self) -> bool {
        use OutputCommandState::*;
        matches!(
            self,
            Intent | Sent | Verified | Unverified | Failed | Unknown
        )
    }
}

/// One journaled output command (or a recorded decision that sent nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputCommand {
    pub id: i64,
    pub output_key: String,
    pub planned_at: DateTime<Utc>,
    /// `ON`, `OFF` or a pulse length in seconds.
    pub action: String,
    pub state: OutputCommandState,
    pub journaled_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub observed_on: Option<bool>,
    pub detail: Option<String>,
}

impl Ledger {
    /// Journals a command (or a decision) for a planned transition; returns its id.
    pub async fn journal_output(
        &self,
        output_key: &str,
        planned_at: DateTime<Utc>,
        action: &str,
        state: OutputCommandState,
        observed_on: Option<bool>,
        now: DateTime<Utc>,
    ) -> Result<i64, LedgerError> {
        let resolved = !matches!(state, OutputCommandState::Intent);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO output_commands (output_key, planned_at, action, state, journaled_at, \
             resolved_at, observed_on) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(output_key)
        .bind(ts(planned_at))
        .bind(action)
        .bind(state.as_str())
        .bind(ts(now))
        .bind(resolved.then(|| ts(now)))
        .bind(observed_on)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Moves a journaled command to its outcome.
    pub async fn resolve_output(
        &self,
        id: i64,
        state: OutputCommandState,
        observed_on: Option<bool>,
        detail: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE output_commands SET state = ?, resolved_at = ?, \
             observed_on = COALESCE(?, observed_on), detail = COALESCE(?, detail) WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(ts(now))
        .bind(observed_on)
        .bind(detail)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The journal of one output for one planned transition, oldest first.
    pub async fn output_commands_for(
        &self,
        output_key: &str,
        planned_at: DateTime<Utc>,
    ) -> Result<Vec<OutputCommand>, LedgerError> {
        let rows = sqlx::query(
            "SELECT * FROM output_commands WHERE output_key = ? AND planned_at = ? ORDER BY id",
        )
        .bind(output_key)
        .bind(ts(planned_at))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(command_from_row).collect()
    }

    /// The journal of one output, newest first, at most `limit` rows.
    pub async fn recent_output_commands(
        &self,
        output_key: &str,
        limit: u32,
    ) -> Result<Vec<OutputCommand>, LedgerError> {
        let rows = sqlx::query(
            "SELECT * FROM output_commands WHERE output_key = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(output_key)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(command_from_row).collect()
    }
}

fn command_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<OutputCommand, LedgerError> {
    let resolved_at: Option<i64> = row.try_get("resolved_at")?;
    Ok(OutputCommand {
        id: row.try_get("id")?,
        output_key: row.try_get("output_key")?,
        planned_at: from_ts(row.try_get("planned_at")?)?,
        action: row.try_get("action")?,
        state: OutputCommandState::parse(&row.try_get::<String, _>("state")?)?,
        journaled_at: from_ts(row.try_get("journaled_at")?)?,
        resolved_at: resolved_at.map(from_ts).transpose()?,
        observed_on: row.try_get("observed_on")?,
        detail: row.try_get("detail")?,
    })
}
