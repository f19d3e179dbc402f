-- Thresholds administrators changed at run time, within the bounds their rule file declares.
-- One row per (rule, comparison index); `params` holds only the operands that differ from the
-- file (JSON, e.g. {"high": 100}). Re-applied at start-up; one outside the file's bounds is
-- ignored with a warning. Who changed what, when and why is in rule_changes.
CREATE TABLE rule_thresholds (
    rule_id    TEXT NOT NULL,
    cond_index INTEGER NOT NULL,
    signal     TEXT NOT NULL,
    params     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    at         REAL NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (rule_id, cond_index)
);
