-- Who changed which rule, when and why (rule_switches keeps only the latest switch).
CREATE TABLE rule_changes (
    id      INTEGER PRIMARY KEY,
    rule_id TEXT NOT NULL,
    change  TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT '',
    reason  TEXT NOT NULL DEFAULT '',
    actor   TEXT NOT NULL,
    role    TEXT NOT NULL,
    at      REAL NOT NULL
);
CREATE INDEX rule_changes_rule ON rule_changes (rule_id, id);
CREATE INDEX admin_audit_at ON admin_audit (at);
CREATE INDEX admin_audit_action ON admin_audit (action, at);
