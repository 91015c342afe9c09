-- A booking object's name as FlexyKey lists it (`GET /BookingObjects`), so that events, mails
-- and the status page say "Cabin 7" rather than a number; and when it was last looked up, so
-- that an object FlexyKey does not list is not asked about on every pass.
ALTER TABLE booking_objects ADD COLUMN name TEXT;
ALTER TABLE booking_objects ADD COLUMN name_checked_at INTEGER;
