-- Webhook sources. Every delivery is kept (result applied, stale or duplicate); the current
-- state of each booking is the latest applied one. Times are unix milliseconds, UTC.
CREATE TABLE webhook_events (
    seq            INTEGER PRIMARY KEY,
    source         TEXT    NOT NULL,
    event_id       TEXT    NOT NULL,
    event_type     TEXT    NOT NULL,
    booking_id     TEXT    NOT NULL,
    occurred_at_ms INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    raw_json       TEXT    NOT NULL,
    result         TEXT    NOT NULL CHECK (result IN ('applied', 'stale', 'duplicate'))
) STRICT;

-- An event id is accepted once per source; redeliveries are recorded as 'duplicate' rows.
CREATE UNIQUE INDEX webhook_events_once
    ON webhook_events (source, event_id) WHERE result <> 'duplicate';

CREATE TABLE webhook_bookings (
    source         TEXT    NOT NULL,
    booking_id     TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('confirmed', 'tentative', 'cancelled')),
    resource       TEXT,
    start_ms       INTEGER,
    end_ms         INTEGER,
    name           TEXT,
    phones_json    TEXT    NOT NULL DEFAULT '[]',
    code           TEXT,
    rfid           TEXT,
    -- Ordering key: an event older than this one is stale.
    occurred_at_ms INTEGER NOT NULL,
    -- The event id, or 'snapshot' when a snapshot set this state.
    applied_from   TEXT    NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (source, booking_id)
) STRICT;

CREATE INDEX webhook_bookings_live ON webhook_bookings (source, status, end_ms);
