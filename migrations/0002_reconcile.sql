-- The reconciler's memory. Times are UTC unix seconds (INTEGER): compared, never shown raw.

-- Each source's last read and its shrink guard.
CREATE TABLE source_reads (
    source               TEXT PRIMARY KEY NOT NULL,
    last_attempt_at      INTEGER NOT NULL,
    last_outcome         TEXT NOT NULL CHECK (last_outcome IN ('fresh', 'unchanged', 'failed')),
    last_reason          TEXT,
    last_success_at      INTEGER,
    last_fresh_at        INTEGER,
    content_fingerprint  TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    -- The source reader's conditional-fetch memo (ETag, Last-Modified), as JSON.
    fetch_memo           TEXT,
    -- Shrink guard: set while the source's deletions are held.
    hold_reason          TEXT,
    hold_since           INTEGER,
    hold_fingerprint     TEXT,
    hold_baseline        INTEGER
) STRICT;

-- Desired bookings as the sources last said. Credentials are kept (JSON) so that a booking can
-- be re-issued identically; they are never logged.
CREATE TABLE reservations (
    key               TEXT PRIMARY KEY NOT NULL,
    source            TEXT NOT NULL,
    booking_object_id INTEGER NOT NULL,
    start_at          INTEGER NOT NULL,
    end_at            INTEGER NOT NULL,
    credentials       TEXT NOT NULL,
    label             TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    first_seen        INTEGER NOT NULL,
    last_seen         INTEGER NOT NULL,
    -- Consecutive successful reads this reservation was missing from.
    misses            INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX reservations_by_source ON reservations (source);

-- The FlexyKey bookings flexysync created (or adopted by their marker) and still owns.
CREATE TABLE owned_bookings (
    booking_id        INTEGER PRIMARY KEY NOT NULL,
    reservation_key   TEXT NOT NULL,
    source            TEXT NOT NULL,
    booking_object_id INTEGER NOT NULL,
    start_at          INTEGER NOT NULL,
    end_at            INTEGER NOT NULL,
    credentials       TEXT NOT NULL,
    name              TEXT NOT NULL,
    -- Fingerprint of the reservation version it was made from.
    fingerprint       TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('active', 'vanished', 'deleted')),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX owned_bookings_by_key ON owned_bookings (reservation_key);
CREATE INDEX owned_bookings_by_state ON owned_bookings (state, booking_object_id);

-- Every write to FlexyKey: the intent before the call, the outcome after.
CREATE TABLE journal (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    pass_id           INTEGER,
    kind              TEXT NOT NULL CHECK (kind IN ('create', 'delete')),
    reservation_key   TEXT NOT NULL,
    source            TEXT NOT NULL,
    booking_object_id INTEGER NOT NULL,
    booking_id        INTEGER,
    start_at          INTEGER NOT NULL,
    end_at            INTEGER NOT NULL,
    credentials       TEXT NOT NULL,
    name              TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    reason            TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN
                        ('intent', 'in_doubt', 'created', 'deleted', 'adopted', 'not_created',
                         'failed')),
    error             TEXT,
    intended_at       INTEGER NOT NULL,
    resolved_at       INTEGER
) STRICT;
CREATE INDEX journal_open ON journal (state) WHERE state IN ('intent', 'in_doubt');

-- One row per sync pass.
CREATE TABLE passes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    dry_run     INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL DEFAULT 0,
    deleted     INTEGER NOT NULL DEFAULT 0,
    adopted     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    held        INTEGER NOT NULL DEFAULT 0,
    foreign_bookings INTEGER NOT NULL DEFAULT 0,
    converged   INTEGER NOT NULL DEFAULT 0,
    errors      TEXT
) STRICT;
