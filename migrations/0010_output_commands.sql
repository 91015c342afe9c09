-- Booking-driven outputs: every Control command is journaled here before it is sent and
-- resolved after its effect was read back from the IO status. Rows that send nothing record
-- that a planned transition was found already in place, handed to a person who switched the
-- output by hand, or skipped; a planned transition is acted on once.
CREATE TABLE output_commands (
    id           INTEGER PRIMARY KEY,
    -- the unit and output: "3023/F1" or "s040530585131396/X33"
    output_key   TEXT    NOT NULL,
    -- the planned transition acted on (unix seconds; 0 before the first one)
    planned_at   INTEGER NOT NULL,
    -- ON, OFF or a pulse length in seconds
    action       TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('intent', 'sent', 'verified', 'unverified',
                     'failed', 'lost', 'in_place', 'override', 'skipped', 'unknown')),
    journaled_at INTEGER NOT NULL,
    resolved_at  INTEGER,
    -- the output as the last IO status read showed it: 1 on, 0 off
    observed_on  INTEGER,
    detail       TEXT
);
CREATE INDEX output_commands_by_output ON output_commands (output_key, planned_at, id);
