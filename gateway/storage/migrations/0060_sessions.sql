-- Sign-in sessions: a short-lived access token names its session (`sid`); a rotating refresh
-- token (httpOnly cookie) renews it within the role's idle and absolute limits. Logout,
-- password change and account disable revoke sessions; a replayed refresh token revokes its.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    role           TEXT NOT NULL,
    created_at     REAL NOT NULL,
    last_used_at   REAL NOT NULL,
    idle_s         REAL NOT NULL,
    expires_at     REAL NOT NULL,
    refresh_hash   TEXT NOT NULL,
    previous_hash  TEXT,
    rotated_at     REAL,
    revoked_at     REAL,
    revoked_reason TEXT,
    client_addr    TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (username, revoked_at);
