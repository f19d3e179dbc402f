-- Operators switch rules off and on at run time; the switch outlives restarts.
CREATE TABLE rule_switches (
    rule_id TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    at      REAL NOT NULL,
    reason  TEXT NOT NULL DEFAULT ''
);
