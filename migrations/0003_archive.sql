-- The unit log archive: every entry of every FlexyKey unit stored once.

-- One row per archived entry. FlexyKey entries have no id, so `entry_hash` (sha256 over the
-- unit id and every field, serverDate included) is the identity. The key leads with the unit
-- and the time, so that new entries (recent times) are appended rather than scattered through
-- the index, and reading a unit's range is one key-ordered scan.
CREATE TABLE archive_entries (
    unit_id      INTEGER NOT NULL,
    server_date  INTEGER NOT NULL, -- Unix seconds, UTC
    entry_hash   BLOB    NOT NULL,
    unit_date    TEXT,
    source_id    TEXT,
    source_label TEXT,
    action_label TEXT,
    log_msg      TEXT,
    PRIMARY KEY (unit_id, server_date, entry_hash)
) STRICT, WITHOUT ROWID;

-- What the archive knows of each unit: its kind and zone (cached from GET /units) and the
-- incremental pull's position. Times are Unix seconds, UTC.
CREATE TABLE archive_units (
    unit_id    INTEGER PRIMARY KEY NOT NULL,
    unit_type  TEXT,
    name       TEXT,
    timezone   TEXT,              -- IANA name, NULL when the unit's zone is unknown
    present    INTEGER NOT NULL DEFAULT 1, -- 0: absent from the account's last unit list
    info_at    INTEGER,           -- when kind and zone were last read from FlexyKey
    cursor     INTEGER,           -- newest server_date a pull stored
    pulled_to  INTEGER            -- end of the last window a pull stored completely
) STRICT;

-- One backfill per unit: the range asked for and how far it got (resumable).
CREATE TABLE archive_backfills (
    unit_id    INTEGER PRIMARY KEY NOT NULL,
    range_from INTEGER NOT NULL,
    range_to   INTEGER NOT NULL,
    position   INTEGER NOT NULL   -- everything in [range_from, position] is stored
) STRICT;

-- Facts about the archive as a whole (when the account's unit list was last read).
CREATE TABLE archive_state (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) STRICT;

-- Which units each booking object opens (from GET /BookingObjects), so that an access event
-- can be matched with the booking flexysync made on the unit's object.
CREATE TABLE archive_object_units (
    booking_object_id INTEGER NOT NULL,
    unit_id           INTEGER NOT NULL,
    PRIMARY KEY (booking_object_id, unit_id)
) STRICT;
