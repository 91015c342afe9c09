-- Identical log entries are each kept (two events in one second of one unit, identical in
-- every field, are two entries). The key gains `occurrence`: an entry's ordinal among the
-- identical entries of one FlexyKey answer, so an overlapping pull that lists the same k
-- entries again matches them instead of storing them twice. Entries archived before this
-- migration keep their rows as occurrence 0; the next pull over their time adds any repeat
-- that was dropped.
CREATE TABLE archive_entries_by_occurrence (
    unit_id      INTEGER NOT NULL,
    server_date  INTEGER NOT NULL, -- Unix seconds, UTC
    entry_hash   BLOB    NOT NULL,
    occurrence   INTEGER NOT NULL DEFAULT 0,
    unit_date    TEXT,
    source_id    TEXT,
    source_label TEXT,
    action_label TEXT,
    log_msg      TEXT,
    PRIMARY KEY (unit_id, server_date, entry_hash, occurrence)
) STRICT, WITHOUT ROWID;

INSERT INTO archive_entries_by_occurrence
    (unit_id, server_date, entry_hash, occurrence, unit_date, source_id, source_label,
     action_label, log_msg)
SELECT unit_id, server_date, entry_hash, 0, unit_date, source_id, source_label, action_label,
       log_msg
FROM archive_entries;

DROP TABLE archive_entries;

ALTER TABLE archive_entries_by_occurrence RENAME TO archive_entries;
