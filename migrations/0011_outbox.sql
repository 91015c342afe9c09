-- The outbox: events to tell people about, each written in the transaction of what caused it,
-- and their delivery to each configured target. Times are UTC unix seconds.
CREATE TABLE outbox_events (
    seq          INTEGER PRIMARY KEY,
    -- evt_ + hex of a hash over the event's key: the same fact found twice is one event.
    id           TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    occurred_at  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    details_json TEXT    NOT NULL
) STRICT;

-- One row per (event, target) once the target has taken the event in; targets take events
-- in order of seq, remembered in outbox_cursors.
CREATE TABLE outbox_deliveries (
    event_seq       INTEGER NOT NULL REFERENCES outbox_events (seq) ON DELETE CASCADE,
    target          TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    delivered_at    INTEGER,
    PRIMARY KEY (event_seq, target)
) STRICT;

CREATE INDEX outbox_deliveries_due ON outbox_deliveries (target, state, next_attempt_at);

CREATE TABLE outbox_cursors (
    target   TEXT    PRIMARY KEY,
    last_seq INTEGER NOT NULL
) STRICT;
