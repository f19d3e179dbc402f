-- Rules engine: per (rule, device) condition state, alerts, their audit trail, silences, residents.
CREATE TABLE rule_state (
    rule_id    TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    data       TEXT NOT NULL,
    due        REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (rule_id, device_id)
) WITHOUT ROWID;

CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    rule_id       TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    site          TEXT NOT NULL DEFAULT '',
    building      TEXT NOT NULL DEFAULT '',
    unit          TEXT NOT NULL DEFAULT '',
    grid          TEXT NOT NULL DEFAULT '',
    resident_id   TEXT,
    severity      TEXT NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'info')),
    category      TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('active', 'acknowledged', 'cleared')),
    opened_at     REAL NOT NULL,
    first_seen    REAL NOT NULL,
    last_seen     REAL NOT NULL,
    count         INTEGER NOT NULL DEFAULT 1,
    acked_at      REAL,
    acked_by      TEXT,
    ack_due       REAL,
    escalations   INTEGER NOT NULL DEFAULT 0,
    cleared_at    REAL,
    cleared_by    TEXT,
    clear_reason  TEXT,
    flapping      INTEGER NOT NULL DEFAULT 0,
    clear_due     REAL,
    muted         TEXT,
    detail        TEXT NOT NULL DEFAULT '{}',
    updated_at    REAL NOT NULL
);
-- The database itself refuses a second open alert for the same (rule, device).
CREATE UNIQUE INDEX alerts_one_open ON alerts (rule_id, device_id) WHERE state != 'cleared';
CREATE INDEX alerts_rule_device_opened ON alerts (rule_id, device_id, opened_at);
CREATE INDEX alerts_state ON alerts (state, updated_at);

CREATE TABLE alert_audit (
    id         INTEGER PRIMARY KEY,
    alert_id   INTEGER NOT NULL REFERENCES alerts (id),
    at         REAL NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_audit_alert ON alert_audit (alert_id, id);

CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    device_id  TEXT,
    rule_id    TEXT,
    site       TEXT,
    starts_at  REAL NOT NULL,
    expires_at REAL NOT NULL,
    author     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at REAL NOT NULL,
    ended_at   REAL,
    ended_by   TEXT,
    CHECK (device_id IS NOT NULL OR rule_id IS NOT NULL OR site IS NOT NULL)
);
CREATE INDEX silences_expires ON silences (expires_at);

CREATE TABLE residents (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    tags       TEXT NOT NULL DEFAULT '[]',
    site       TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
