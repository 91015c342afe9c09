-- What the pass keeps between passes to read FlexyKey only where something may have changed,
-- and to know a booking object's time zone when FlexyKey cannot be asked.

-- Per booking object: its unit's time zone (kept so that a failed lookup never reads a
-- calendar in UTC), when FlexyKey last listed its bookings successfully, and the fingerprint of
-- the bookings wanted on it at that listing.
CREATE TABLE booking_objects (
    booking_object_id   INTEGER PRIMARY KEY NOT NULL,
    timezone            TEXT,
    timezone_checked_at INTEGER,
    listed_at           INTEGER,
    desired_fingerprint TEXT
) STRICT;

-- Which step of a failed read failed (`last_outcome = 'failed'`): metrics count by it.
ALTER TABLE source_reads ADD COLUMN failure_kind TEXT;

-- Growth guard: set while the source's creates are held (a runaway feed).
ALTER TABLE source_reads ADD COLUMN growth_reason TEXT;
ALTER TABLE source_reads ADD COLUMN growth_since INTEGER;
ALTER TABLE source_reads ADD COLUMN growth_fingerprint TEXT;
ALTER TABLE source_reads ADD COLUMN growth_baseline INTEGER;
