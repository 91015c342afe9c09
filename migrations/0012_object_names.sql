-- A booking object's name as FlexyKey lists it (`GET /BookingObjects`), so that events, mails
-- and the status page say "Cabin 7" rather than a number; when it was last looked up, so that
-- an object FlexyKey does not list is not asked about on every pass; and the zone a source
-- configured for the object, for local times in messages when its unit's zone was never
-- looked up (a source with `timezone` set does not need it).
ALTER TABLE booking_objects ADD COLUMN name TEXT;
ALTER TABLE booking_objects ADD COLUMN name_checked_at INTEGER;
ALTER TABLE booking_objects ADD COLUMN configured_timezone TEXT;
