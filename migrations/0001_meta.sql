-- Key-value facts about this installation (e.g. the secret behind derived keypad codes).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
