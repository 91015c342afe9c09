//! The daemon's hook for booking-driven outputs: at start (and after a reload) check every
//! configured output against its unit, then step all outputs at each planned transition, when
//! the stored stays change (read from the ledger, no API call) and at least every
//! [`CHECK_INTERVAL`] (a person's switch). A step runs to its end even on shutdown; a command
//! cut short stays in doubt and the next start resolves it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::app::App;
use crate::outputs::{self, Driver, OutputError, OutputTarget, Stay, VerifyPolicy};

/// The longest time between two checks of the outputs: bounds how late a person's switch is
/// noticed, at one IO status read per unit.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// How often the ledger's stays are compared with those of the last step.
const STAY_POLL: Duration = Duration::from_secs(5);

/// What the last step saw; a change of either makes the next step due at once.
#[derive(Default)]
struct Seen {
    checked: Option<Vec<OutputTarget>>,
    targets: Vec<OutputTarget>,
    stays: Vec<Stay>,
    due: Option<DateTime<Utc>>,
}

/// Runs until `stop` fires. Does nothing while no `[[outputs]]` are configured.
pub async fn drive_outputs(app: Arc<App>, stop: CancellationToken) {
    let mut seen = Seen::default();
    loop {
        if let Err(err) = round(&app, &mut seen).await {
            tracing::error!(error = %err, "outputs are not driven until this is fixed");
            seen.due =
                Some(Utc::now() + chrono::Duration::from_std(CHECK_INTERVAL).unwrap_or_default());
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(STAY_POLL) => {}
        }
    }
}

/// Steps every output when due: the targets or the stays changed, or the next planned
/// transition (or the periodic check) came.
async fn round(app: &App, seen: &mut Seen) -> Result<(), OutputError> {
    let targets = outputs::targets(&app.config().outputs);
    if targets.is_empty() {
        return Ok(());
    }
    let stays = outputs::stays_of(&app.ledger.reservations().await?);
    let now = Utc::now();
    let due =
        targets != seen.targets || stays != seen.stays || seen.due.is_none_or(|due| now >= due);
    if !due {
        return Ok(());
    }
    // Whatever happens below, the next try waits for its time: a FlexyKey that is down is
    // not asked again every few seconds.
    let check = now + chrono::Duration::from_std(CHECK_INTERVAL).unwrap_or_default();
    seen.due = Some(check);
    seen.targets = targets.clone();
    seen.stays = stays.clone();
    let client = app.client();
    if seen.checked.as_ref() != Some(&targets) {
        outputs::check_targets(&client, &targets).await?;
        seen.checked = Some(targets.clone());
    }
    let driver = Driver {
        client: &client,
        ledger: &app.ledger,
        verify: VerifyPolicy::default(),
    };
    driver.step_all(&targets, &stays, now).await;
    // A second after the next transition, so that it is the one in effect.
    let next = targets
        .iter()
        .filter_map(|t| t.plan(&stays, now).position.next)
        .map(|t| t.at + chrono::Duration::seconds(1))
        .min();
    seen.due = Some(next.map_or(check, |at| at.min(check)));
    Ok(())
}
