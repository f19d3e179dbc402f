-- Safe zones (安全区) drawn by families or staff for one elder; the rules' `{resident}` zone.
CREATE TABLE geofences (
    id          INTEGER PRIMARY KEY,
    resident_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    polygon     TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_by  TEXT NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX geofences_resident ON geofences (resident_id);
