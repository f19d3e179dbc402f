-- Gateway replicas sharing one PostgreSQL database (issue 22; harmless on SQLite, where one
-- process is the only writer).
-- device_versions: bumped by every transaction that changes a device's state (twin, dedup
-- windows, rule state, alerts). A replica remembers the version it last saw per device and
-- reloads that device's state from these tables when the stored version differs.
CREATE TABLE device_versions (
    device_id  TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    replica    TEXT NOT NULL,
    updated_at REAL NOT NULL
);
-- replicas: one row per running gateway process, its MQTT client id and its heartbeat.
CREATE TABLE replicas (
    replica_id   TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    started_at   REAL NOT NULL,
    heartbeat_at REAL NOT NULL
);
-- leases: named, expiring roles renewed by their holder: `timers` (the replica that runs the
-- timers), `session:<replica>` (the survivor holding a silent replica's broker session).
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at REAL NOT NULL
);
