-- Digital door plates (数字门牌码): each plate's own secret and version, which its QR link is
-- signed with (HMAC with plates.token_key). Rotating a plate bumps the version: the old
-- printed link stops working, no other plate is touched.
CREATE TABLE plate_keys (
    code       TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    secret     TEXT NOT NULL,
    issued_at  REAL NOT NULL,
    issued_by  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- A request a resident sent from a plate: the tracking link (only its hash is kept), the
-- optional call-back phone, and the page's submission id (a retried submit is one ticket).
CREATE TABLE plate_requests (
    ticket_id     INTEGER PRIMARY KEY,
    code          TEXT NOT NULL,
    plate_version INTEGER NOT NULL,
    submission_id TEXT NOT NULL,
    track_hash    TEXT NOT NULL UNIQUE,
    phone         TEXT NOT NULL DEFAULT '',
    client_addr   TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,
    UNIQUE (code, submission_id)
);
CREATE INDEX plate_requests_code ON plate_requests (code, created_at);

-- Photos attached to those requests, re-encoded (JPEG, no EXIF) before they are stored.
CREATE TABLE request_photos (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    data       BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX request_photos_ticket ON request_photos (ticket_id);
