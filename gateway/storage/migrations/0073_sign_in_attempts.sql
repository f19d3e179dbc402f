-- Every sign-in attempt (POST /auth/token): the username as typed, the client address, the
-- outcome (ok / wrong_password / throttled) and, on success, the account's role. Never the
-- password. Kept `database.sign_in_retention_days` (at least 90).
CREATE TABLE sign_in_attempts (
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    username    TEXT NOT NULL,
    client_addr TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL,
    role        TEXT,
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sign_in_attempts_at ON sign_in_attempts (at);
CREATE INDEX sign_in_attempts_user ON sign_in_attempts (username, at);
