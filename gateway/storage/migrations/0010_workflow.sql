-- Request workflow (诉求办理): tickets, their audit trail, alert links, notifications,
-- the 12345 outbox, door plates, family links, assets with expiry dates, reminders sent.
CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    source          TEXT NOT NULL CHECK (source IN ('alert', 'resident', 'reminder', 'operator')),
    category        TEXT NOT NULL,
    priority        TEXT NOT NULL CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    state           TEXT NOT NULL,
    site            TEXT NOT NULL DEFAULT '',
    building        TEXT NOT NULL DEFAULT '',
    unit            TEXT NOT NULL DEFAULT '',
    room            TEXT NOT NULL DEFAULT '',
    grid            TEXT NOT NULL DEFAULT '',
    resident_id     TEXT,
    device_id       TEXT,
    title           TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    attachments     TEXT NOT NULL DEFAULT '[]',
    assignee        TEXT,
    team            TEXT,
    department      TEXT,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
    result          TEXT,
    reason          TEXT,
    duplicate_of    INTEGER,
    alert_count     INTEGER NOT NULL DEFAULT 0,
    external_state  TEXT,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    dispatched_at   REAL,
    accepted_at     REAL,
    feedback_at     REAL,
    closed_at       REAL,
    escalated_at    REAL,
    sla_dispatch_due REAL,
    sla_accept_due  REAL,
    sla_resolve_due REAL,
    sla_breaches    TEXT NOT NULL DEFAULT '[]',
    dedup_key       TEXT UNIQUE
);
CREATE INDEX tickets_state ON tickets (state, updated_at);
CREATE INDEX tickets_grid ON tickets (grid, state);
CREATE INDEX tickets_assignee ON tickets (assignee, state);
CREATE INDEX tickets_resident ON tickets (resident_id, created_at);

CREATE TABLE ticket_events (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    at         REAL NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

CREATE TABLE ticket_alerts (
    alert_id  INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    linked_at REAL NOT NULL
);
CREATE INDEX ticket_alerts_ticket ON ticket_alerts (ticket_id);

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    at         REAL NOT NULL,
    audience   TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    ticket_id  INTEGER,
    alert_id   INTEGER,
    resident_id TEXT,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX notifications_recipient ON notifications (audience, recipient, at);
CREATE INDEX notifications_ticket ON notifications (ticket_id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER NOT NULL REFERENCES tickets (id),
    kind            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT,
    created_at      REAL NOT NULL,
    delivered_at    REAL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE door_plates (
    code     TEXT PRIMARY KEY,
    site     TEXT NOT NULL DEFAULT '',
    building TEXT NOT NULL DEFAULT '',
    unit     TEXT NOT NULL DEFAULT '',
    room     TEXT NOT NULL DEFAULT '',
    grid     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE family_links (
    resident_id TEXT NOT NULL,
    username    TEXT NOT NULL,
    relation    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (resident_id, username)
) WITHOUT ROWID;
CREATE INDEX family_links_user ON family_links (username);

CREATE TABLE assets (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    site        TEXT NOT NULL DEFAULT '',
    building    TEXT NOT NULL DEFAULT '',
    unit        TEXT NOT NULL DEFAULT '',
    grid        TEXT NOT NULL DEFAULT '',
    device_id   TEXT,
    expires_on  TEXT NOT NULL,
    remind_days INTEGER,
    updated_at  REAL NOT NULL
);

CREATE TABLE reminders_sent (
    asset_id   TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    ticket_id  INTEGER NOT NULL,
    at         REAL NOT NULL,
    PRIMARY KEY (asset_id, expires_on)
) WITHOUT ROWID;
