//! Apply: runs a plan through the FlexyKey client. Every write is journaled before it is sent
//! and resolved after; a create whose outcome is unknown is resolved (by reading the object's
//! bookings) before anything else is done on that booking object.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::marker::booking_name;
use super::plan::{Action, Category, Operation, Plan};
use super::report::{PassFailure, PassFailureKind};
use super::resolve::{matches_entry, resolve_create};
use crate::flexykey::{ApiError, Booking, Client, NewBooking, Priority, with_priority};
use crate::ledger::{Ledger, LedgerError};
use crate::model::{JournalEntry, JournalState, OwnedBooking, Reservation, WriteKind};
use crate::notify::EventKind::{BookingCreated, BookingDeleted, BookingFailed};
use crate::notify::mapping::booking_event;

/// What applying a plan did.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub created: u32,
    pub deleted: u32,
    /// Creates in doubt that turned out to have happened.
    pub adopted: u32,
    /// Operations that did not complete, with their kind and in plain words.
    pub failures: Vec<PassFailure>,
    /// Bookings created in this pass (for the re-read) and bookings deleted.
    pub created_ids: Vec<(i64, i64)>,
    pub deleted_ids: Vec<(i64, i64)>,
}

impl ApplyReport {
    /// Adds what another round of the same pass applied.
    pub fn absorb(&mut self, other: ApplyReport) {
        self.created = self.created.saturating_add(other.created);
        self.deleted = self.deleted.saturating_add(other.deleted);
        self.adopted = self.adopted.saturating_add(other.adopted);
        self.failures.extend(other.failures);
        self.created_ids.extend(other.created_ids);
        self.deleted_ids.extend(other.deleted_ids);
    }
}

/// Runs plans; one per round of a pass.
pub struct Applier<'a> {
    pub client: &'a Client,
    pub ledger: &'a Ledger,
    pub pass_id: Option<i64>,
    /// Objects with a write still in doubt: nothing more is done on them in this pass.
    doubtful: HashSet<i64>,
    /// Shutdown: the write in flight finishes and is journaled; no further one starts.
    stop: Option<tokio_util::sync::CancellationToken>,
}

enum CreateResult {
    Done,
    Conflict(String),
    Failed(String),
}

/// The journal entry for creating `reservation`'s booking, before it is sent.
fn create_entry(
    reservation: &Reservation,
    fingerprint: &str,
    start: DateTime<Utc>,
    reason: &str,
) -> JournalEntry {
    JournalEntry {
        id: 0,
        kind: WriteKind::Create,
        reservation_key: reservation.key.clone(),
        source: reservation.source.clone(),
        booking_object_id: reservation.booking_object_id,
        booking_id: None,
        start,
        end: reservation.end,
        credentials: reservation.credentials.clone(),
        name: booking_name(&reservation.label, &reservation.key),
        fingerprint: fingerprint.to_owned(),
        reason: reason.to_owned(),
        state: JournalState::Intent,
        error: None,
        intended_at: Utc::now(),
    }
}

/// A write that did not complete, as reported.
fn write_failure(text: String) -> PassFailure {
    PassFailure::new(PassFailureKind::Write, text)
}

impl<'a> Applier<'a> {
    pub fn new(client: &'a Client, ledger: &'a Ledger, pass_id: Option<i64>) -> Self {
        Applier {
            client,
            ledger,
            pass_id,
            doubtful: HashSet::new(),
            stop: None,
        }
    }

    /// Stops starting new operations once `stop` is cancelled.
    pub fn with_stop(mut self, stop: Option<tokio_util::sync::CancellationToken>) -> Self {
        self.stop = stop;
        self
    }

    /// Marks objects on which nothing may be written in this pass (their doubts unresolved).
    pub fn hold_objects(&mut self, objects: impl IntoIterator<Item = i64>) {
        self.doubtful.extend(objects);
    }

    /// Runs every operation in order. Only a ledger failure stops it: FlexyKey failures are
    /// recorded and the next operation goes on.
    pub async fn apply(&mut self, plan: &Plan) -> Result<ApplyReport, LedgerError> {
        let mut report = ApplyReport::default();
        for (done, op) in plan.operations.iter().enumerate() {
            if self.stop.as_ref().is_some_and(|s| s.is_cancelled()) {
                report.failures.push(PassFailure::new(
                    PassFailureKind::NotAttempted,
                    format!(
                        "shutting down, or past the pass's deadline (sync.pass_timeout): {} left \
                         for the next pass",
                        crate::text::count(plan.operations.len() - done, crate::text::OPERATION)
                    ),
                ));
                break;
            }
            self.apply_one(op, &mut report).await?;
        }
        Ok(report)
    }

    async fn apply_one(
        &mut self,
        op: &Operation,
        report: &mut ApplyReport,
    ) -> Result<(), LedgerError> {
        let object = op.action.booking_object_id();
        if self.doubtful.contains(&object) {
            report.failures.push(PassFailure::new(
                PassFailureKind::NotAttempted,
                format!(
                    "not done on booking object {object} (its bookings could not be read, or a \
                     write there is in doubt): {}",
                    op.reason
                ),
            ));
            return Ok(());
        }
        with_priority(priority_of(op), self.run(op, report)).await
    }

    async fn run(&mut self, op: &Operation, report: &mut ApplyReport) -> Result<(), LedgerError> {
        match &op.action {
            Action::Create {
                reservation,
                fingerprint,
                start,
            } => {
                match self
                    .create(reservation, fingerprint, *start, &op.reason, report)
                    .await?
                {
                    CreateResult::Done => {}
                    CreateResult::Conflict(why) | CreateResult::Failed(why) => {
                        report.failures.push(write_failure(why))
                    }
                }
            }
            Action::Delete { booking } => {
                if let Some(failure) = self.delete(booking, &op.reason, report).await? {
                    report.failures.push(failure);
                }
            }
            Action::Replace {
                reservation,
                fingerprint,
                start,
                old,
            } => {
                self.replace(reservation, fingerprint, *start, old, &op.reason, report)
                    .await?
            }
        }
        Ok(())
    }

    /// Make before break; on a 409 for the overlap, break before make only if no old booking
    /// has started (access already granted is never cut short).
    async fn replace(
        &mut self,
        reservation: &Reservation,
        fingerprint: &str,
        start: DateTime<Utc>,
        old: &[OwnedBooking],
        reason: &str,
        report: &mut ApplyReport,
    ) -> Result<(), LedgerError> {
        match self
            .create(reservation, fingerprint, start, reason, report)
            .await?
        {
            CreateResult::Done => {
                for booking in old {
                    let why = format!("{reason} (old version)");
                    if let Some(failure) = self.delete(booking, &why, report).await? {
                        report.failures.push(failure);
                    }
                }
            }
            CreateResult::Conflict(why) => {
                let now = Utc::now();
                if old.iter().any(|b| b.start <= now) {
                    report.failures.push(write_failure(format!(
                        "{why}; the old booking has already started, so it is kept rather than \
                         cutting access short"
                    )));
                    return Ok(());
                }
                let window = (reservation.booking_object_id, start, reservation.end);
                if let Err(other) = self.conflict_only_with(window, old).await {
                    report.failures.push(write_failure(format!(
                        "{why}; {other}, so the old booking is kept and the change waits"
                    )));
                    return Ok(());
                }
                for booking in old {
                    let why = format!("{reason} (FlexyKey refused the overlap: old version first)");
                    if let Some(failure) = self.delete(booking, &why, report).await? {
                        report.failures.push(failure);
                        return Ok(());
                    }
                }
                match self
                    .create(reservation, fingerprint, start, reason, report)
                    .await?
                {
                    CreateResult::Done => {}
                    CreateResult::Conflict(why) | CreateResult::Failed(why) => {
                        report.failures.push(write_failure(why))
                    }
                }
            }
            CreateResult::Failed(why) => report.failures.push(write_failure(why)),
        }
        Ok(())
    }

    /// `Ok` when the object's list shows that a refused create of `(object, start, end)` can
    /// only have clashed with `old`: every listed booking overlapping it is one of them.
    async fn conflict_only_with(
        &self,
        (object, start, end): (i64, DateTime<Utc>, DateTime<Utc>),
        old: &[OwnedBooking],
    ) -> Result<(), String> {
        let listed = with_priority(Priority::Doubt, self.client.bookings(object, start, end))
            .await
            .map_err(|err| {
                format!(
                    "the object's bookings could not be read to see what it clashes with: {err}"
                )
            })?;
        let overlapping: Vec<i64> = listed
            .iter()
            .filter(|b| b.start < end && b.end > start)
            .map(|b| b.booking_id)
            .collect();
        let others: Vec<String> = overlapping
            .iter()
            .filter(|id| !old.iter().any(|b| b.booking_id == **id))
            .map(i64::to_string)
            .collect();
        match (overlapping.is_empty(), others.is_empty()) {
            (true, _) => Err(
                "FlexyKey lists no booking it overlaps, so the clash is not with \
                              the old version"
                    .to_owned(),
            ),
            (false, true) => Ok(()),
            (false, false) => Err(format!(
                "it overlaps booking {} besides the old version",
                others.join(", ")
            )),
        }
    }

    /// Creates the reservation's booking, journaled; a create whose answer was lost is
    /// settled by reading the object's bookings, and retried at most once in the pass.
    async fn create(
        &mut self,
        reservation: &Reservation,
        fingerprint: &str,
        start: DateTime<Utc>,
        reason: &str,
        report: &mut ApplyReport,
    ) -> Result<CreateResult, LedgerError> {
        let entry = create_entry(reservation, fingerprint, start, reason);
        // One retry after a doubt resolved as "not created"; never more within a pass.
        for attempt in 0..2 {
            let journal_id = self.ledger.journal_intent(self.pass_id, &entry).await?;
            let request = new_booking(&entry);
            let failure = match self.client.create_booking(&request).await {
                Ok(booking) => {
                    return self
                        .record_made(journal_id, &entry, &booking, JournalState::Created, report)
                        .await;
                }
                Err(err) => err,
            };
            // Refused, or never sent (shutdown): certainly not created.
            if failure.is_refusal() || matches!(failure, ApiError::Stopped) {
                return self.record_refused(journal_id, &entry, failure).await;
            }
            let last_attempt = attempt == 1;
            if let Some(result) = self
                .settle_doubtful_create(journal_id, &entry, failure, last_attempt, report)
                .await?
            {
                return Ok(result);
            }
        }
        Ok(CreateResult::Failed(format!(
            "create {}: not completed",
            describe(&entry)
        )))
    }

    /// Journals a create FlexyKey refused (a 409 becomes `Conflict`, for the replace's
    /// break-before-make) or that was never sent because of shutdown.
    async fn record_refused(
        &self,
        journal_id: i64,
        entry: &JournalEntry,
        failure: ApiError,
    ) -> Result<CreateResult, LedgerError> {
        let what = describe(entry);
        let text = failure.to_string();
        let stopped = matches!(failure, ApiError::Stopped);
        let state = if stopped {
            JournalState::NotCreated
        } else {
            JournalState::Failed
        };
        // A refusal is told (`booking.failed`); a create never sent at shutdown is not.
        let now = Utc::now();
        let told = (!stopped)
            .then(|| booking_event(BookingFailed, entry, journal_id, None, Some(&text), now));
        self.ledger
            .journal_resolve_telling(journal_id, state, Some(&text), told.as_slice(), now)
            .await?;
        Ok(match failure {
            ApiError::Conflict { .. } => CreateResult::Conflict(format!("create {what}: {text}")),
            _ => CreateResult::Failed(format!("create {what}: {text}")),
        })
    }

    /// Any other failure may hide a create that happened: journals the doubt and reads the
    /// object's bookings before doing more. `None` when the create certainly did not happen
    /// and may be retried now.
    async fn settle_doubtful_create(
        &mut self,
        journal_id: i64,
        entry: &JournalEntry,
        failure: ApiError,
        last_attempt: bool,
        report: &mut ApplyReport,
    ) -> Result<Option<CreateResult>, LedgerError> {
        let what = describe(entry);
        let text = failure.to_string();
        self.ledger
            .journal_resolve(journal_id, JournalState::InDoubt, Some(&text), Utc::now())
            .await?;
        match self.find_created(entry).await {
            Ok(Some(booking)) => self
                .record_made(journal_id, entry, &booking, JournalState::Adopted, report)
                .await
                .map(Some),
            Ok(None) => {
                self.ledger
                    .journal_resolve(
                        journal_id,
                        JournalState::NotCreated,
                        Some(&text),
                        Utc::now(),
                    )
                    .await?;
                // A lost answer may belong to a create FlexyKey is still carrying out:
                // the next pass's listing adopts it if it appears, so no retry now.
                if last_attempt || matches!(failure, ApiError::OutcomeUnknown { .. }) {
                    return Ok(Some(CreateResult::Failed(format!(
                        "create {what}: {text} (retried in the next pass)"
                    ))));
                }
                Ok(None)
            }
            Err(read) => {
                self.doubtful.insert(entry.booking_object_id);
                Ok(Some(CreateResult::Failed(format!(
                    "create {what}: {text}; its outcome stays in doubt because the object's \
                     bookings could not be read ({read}); resolved before anything else \
                     in the next pass"
                ))))
            }
        }
    }

    /// Stores `booking` as the one `entry` made: `Created` by the call just made, or `Adopted`
    /// when a read after a doubtful call found it; counts it in `report`.
    async fn record_made(
        &self,
        journal_id: i64,
        entry: &JournalEntry,
        booking: &Booking,
        state: JournalState,
        report: &mut ApplyReport,
    ) -> Result<CreateResult, LedgerError> {
        let owned = entry.owned_as(booking.booking_id);
        let told = booking_event(
            BookingCreated,
            entry,
            journal_id,
            Some(owned.booking_id),
            None,
            Utc::now(),
        );
        self.ledger
            .journal_booking_created_telling(journal_id, state, &owned, &[told], Utc::now())
            .await?;
        if state == JournalState::Adopted {
            report.adopted += 1;
        } else {
            report.created += 1;
        }
        report
            .created_ids
            .push((owned.booking_object_id, owned.booking_id));
        Ok(CreateResult::Done)
    }

    /// Lists the object's bookings over the window and settles the create in doubt by
    /// [`resolve_create`], as the pass does for a doubt left by an earlier one.
    async fn find_created(&self, entry: &JournalEntry) -> Result<Option<Booking>, String> {
        let list = self
            .client
            .bookings(entry.booking_object_id, entry.start, entry.end);
        let listed = with_priority(Priority::Doubt, list)
            .await
            .map_err(|err| err.to_string())?;
        let mut owned = HashSet::new();
        for booking in listed.iter().filter(|b| matches_entry(b, entry)) {
            let known = self
                .ledger
                .owned_booking(booking.booking_id)
                .await
                .map_err(|err| err.to_string())?;
            if known.is_some() {
                owned.insert(booking.booking_id);
            }
        }
        Ok(resolve_create(entry, &listed, |id| owned.contains(&id)).cloned())
    }

    /// `Ok(Some(failure))` when FlexyKey did not delete it.
    async fn delete(
        &mut self,
        booking: &OwnedBooking,
        reason: &str,
        report: &mut ApplyReport,
    ) -> Result<Option<PassFailure>, LedgerError> {
        let entry = JournalEntry {
            id: 0,
            kind: WriteKind::Delete,
            reservation_key: booking.reservation_key.clone(),
            source: booking.source.clone(),
            booking_object_id: booking.booking_object_id,
            booking_id: Some(booking.booking_id),
            start: booking.start,
            end: booking.end,
            credentials: booking.credentials.clone(),
            name: booking.name.clone(),
            fingerprint: booking.fingerprint.clone(),
            reason: reason.to_owned(),
            state: JournalState::Intent,
            error: None,
            intended_at: Utc::now(),
        };
        let journal_id = self.ledger.journal_intent(self.pass_id, &entry).await?;
        match self.client.delete_booking(booking.booking_id).await {
            // Already gone is as good as deleted.
            Ok(()) | Err(ApiError::NotFound { .. }) => {
                let told = booking_event(
                    BookingDeleted,
                    &entry,
                    journal_id,
                    Some(booking.booking_id),
                    None,
                    Utc::now(),
                );
                self.ledger
                    .journal_booking_deleted_telling(
                        journal_id,
                        booking.booking_id,
                        &[told],
                        Utc::now(),
                    )
                    .await?;
                report.deleted += 1;
                report
                    .deleted_ids
                    .push((booking.booking_object_id, booking.booking_id));
                Ok(None)
            }
            Err(err) => {
                let text = err.to_string();
                // A refusal, or a call never sent (shutdown): the booking is certainly still there.
                let certain = err.is_refusal() || matches!(err, ApiError::Stopped);
                let state = if certain {
                    JournalState::Failed
                } else {
                    JournalState::InDoubt
                };
                self.ledger
                    .journal_resolve(journal_id, state, Some(&text), Utc::now())
                    .await?;
                let held = if certain {
                    ""
                } else {
                    // Whether it is gone is unknown until the object is read again.
                    self.doubtful.insert(booking.booking_object_id);
                    "; in doubt: nothing more is written on that object before it is resolved"
                };
                Ok(Some(write_failure(format!(
                    "delete booking {} on booking object {}: {text}{held}",
                    booking.booking_id, booking.booking_object_id
                ))))
            }
        }
    }
}

/// Where the operation's calls queue for the shared limiter: revocations first, then arrivals
/// by start, then the clean-up of superseded copies.
fn priority_of(op: &Operation) -> Priority {
    match (&op.action, op.category) {
        (_, Category::Revocation) => Priority::Revocation,
        (Action::Create { start, .. } | Action::Replace { start, .. }, _) => {
            Priority::Arrival { starts: *start }
        }
        (Action::Delete { .. }, _) => Priority::Drift,
    }
}

fn new_booking(entry: &JournalEntry) -> NewBooking {
    NewBooking {
        booking_object_id: entry.booking_object_id,
        start: entry.start,
        end: entry.end,
        phones: entry.credentials.phone_strings(),
        code: entry
            .credentials
            .code
            .as_ref()
            .map(|c| c.as_str().to_owned()),
        rfid: entry.credentials.rfid.clone(),
        name: Some(entry.name.clone()),
    }
}

/// A booking described for an operator: no code, no phone number.
fn describe(entry: &JournalEntry) -> String {
    format!(
        "booking on object {} from {} to {} ({})",
        entry.booking_object_id,
        entry.start.format("%Y-%m-%dT%H:%M:%SZ"),
        entry.end.format("%Y-%m-%dT%H:%M:%SZ"),
        entry.reservation_key
    )
}
