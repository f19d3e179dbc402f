-- Accounts, the personal-data access audit, safe zones, vendor device credentials, commands.
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'grid_worker', 'family', 'vendor')),
    display_name  TEXT NOT NULL DEFAULT '',
    grid          TEXT,
    vendor        TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);

CREATE TABLE access_audit (
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    resident_id TEXT,
    range_from  REAL,
    range_to    REAL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied')),
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX access_audit_resident ON access_audit (resident_id, at);
CREATE INDEX access_audit_actor ON access_audit (actor, at);

CREATE TABLE device_credentials (
    device_id  TEXT PRIMARY KEY,
    vendor     TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);

CREATE TABLE commands (
    id         TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    params     TEXT NOT NULL DEFAULT '{}',
    actor      TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('sent', 'succeeded', 'failed', 'timeout')),
    created_at REAL NOT NULL,
    due_at     REAL NOT NULL,
    done_at    REAL,
    result     TEXT
);
CREATE INDEX commands_device ON commands (device_id, created_at);
