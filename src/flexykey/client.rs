//! The client: one per FlexyKey account, cheap to clone, shared by every task.

use chrono::{DateTime, Utc};

use super::{
    ApiError, Booking, BookingObject, ControlResult, IoStatus, LogEntry, NewBooking, OutputAction,
    OutputName, Unit, UnitRef,
};
use crate::config::FlexyKeyConfig;

/// A FlexyKey API client. Every call goes through one rate limiter (retries included).
#[derive(Debug, Clone)]
pub struct Client {}

impl Client {
    /// Builds a client: https only (http on loopback), connect and total timeouts, the limiter.
    pub fn new(_config: &FlexyKeyConfig) -> Result<Client, ApiError> {
        todo!("client helper")
    }

    /// `GET /units`.
    pub async fn units(&self) -> Result<Vec<Unit>, ApiError> {
        todo!("client helper")
    }

    /// `GET /units/{unitId}`.
    pub async fn unit(&self, _unit_id: i64) -> Result<Unit, ApiError> {
        todo!("client helper")
    }

    /// `POST /Control`: never retried blindly (a lost answer gives `OutcomeUnknown`).
    pub async fn control(
        &self,
        _unit: &UnitRef,
        _output: &OutputName,
        _action: OutputAction,
    ) -> Result<ControlResult, ApiError> {
        todo!("client helper")
    }

    /// `GET /Control?unitId=…` or `?serialNumber=…`.
    pub async fn io_status(&self, _unit: &UnitRef) -> Result<IoStatus, ApiError> {
        todo!("client helper")
    }

    /// `GET /unitlogs/{unitId}?dateFrom&dateTo`, bisected until no answer is cut at 500.
    pub async fn unit_logs(
        &self,
        _unit_id: i64,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
    ) -> Result<Vec<LogEntry>, ApiError> {
        todo!("client helper")
    }

    /// `GET /BookingObjects`.
    pub async fn booking_objects(&self) -> Result<Vec<BookingObject>, ApiError> {
        todo!("client helper")
    }

    /// `POST /Bookings`: never retried blindly; a lost answer gives `OutcomeUnknown`.
    pub async fn create_booking(&self, _booking: &NewBooking) -> Result<Booking, ApiError> {
        todo!("client helper")
    }

    /// `GET /Bookings/{bookingId}`.
    pub async fn booking(&self, _booking_id: i64) -> Result<Booking, ApiError> {
        todo!("client helper")
    }

    /// `GET /Bookings?bookingObjectId&dateFrom&dateTo`: every booking of the object that
    /// overlaps the interval, bisected until no answer is cut at 500, without duplicates.
    pub async fn bookings(
        &self,
        _booking_object_id: i64,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
    ) -> Result<Vec<Booking>, ApiError> {
        todo!("client helper")
    }

    /// `DELETE /Bookings/{bookingId}`: `NotFound` when it is unknown or already deleted.
    pub async fn delete_booking(&self, _booking_id: i64) -> Result<(), ApiError> {
        todo!("client helper")
    }
}
