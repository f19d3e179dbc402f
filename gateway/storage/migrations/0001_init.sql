-- Devices, their twins, telemetry, events, dead letters and the dedup ledger.
CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    vendor       TEXT NOT NULL DEFAULT '',
    model        TEXT NOT NULL DEFAULT '',
    codec        TEXT NOT NULL DEFAULT 'json',
    site         TEXT NOT NULL DEFAULT '',
    building     TEXT NOT NULL DEFAULT '',
    unit         TEXT NOT NULL DEFAULT '',
    grid         TEXT NOT NULL DEFAULT '',
    resident_id  TEXT,
    install_date TEXT,
    status       TEXT NOT NULL CHECK (status IN ('active', 'disabled', 'pending')),
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE INDEX devices_updated_at ON devices (updated_at);

CREATE TABLE twins (
    device_id       TEXT PRIMARY KEY,
    online          INTEGER NOT NULL DEFAULT 0,
    online_source   TEXT,
    online_changed  REAL,
    last_seen       REAL,
    battery_pct     REAL,
    lat             REAL,
    lon             REAL,
    accuracy_m      REAL,
    location_source TEXT,
    location_ts     REAL,
    last_telemetry  TEXT
);

CREATE TABLE telemetry (
    id          INTEGER PRIMARY KEY,
    device_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    ts          REAL NOT NULL,
    received_at REAL NOT NULL,
    seq         INTEGER,
    stale       INTEGER NOT NULL DEFAULT 0,
    data        TEXT NOT NULL
);
CREATE INDEX telemetry_device_ts ON telemetry (device_id, ts);
CREATE INDEX telemetry_ts ON telemetry (ts);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    device_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL CHECK (channel IN ('event', 'status', 'cmd_ack')),
    type        TEXT NOT NULL,
    ts          REAL NOT NULL,
    received_at REAL NOT NULL,
    seq         INTEGER,
    stale       INTEGER NOT NULL DEFAULT 0,
    data        TEXT NOT NULL
);
CREATE INDEX events_device_ts ON events (device_id, ts);
CREATE INDEX events_type_ts ON events (type, ts);

CREATE TABLE dead_letters (
    id           INTEGER PRIMARY KEY,
    received_at  REAL NOT NULL,
    topic        TEXT NOT NULL,
    reason       TEXT NOT NULL,
    detail       TEXT NOT NULL,
    device_id    TEXT,
    payload      BLOB NOT NULL,
    payload_size INTEGER NOT NULL
);
CREATE INDEX dead_letters_reason ON dead_letters (reason, received_at);
CREATE INDEX dead_letters_received ON dead_letters (received_at);

CREATE TABLE dedup (
    device_id TEXT NOT NULL,
    key       TEXT NOT NULL,
    seen_at   REAL NOT NULL,
    PRIMARY KEY (device_id, key)
) WITHOUT ROWID;
CREATE INDEX dedup_seen_at ON dedup (seen_at);
