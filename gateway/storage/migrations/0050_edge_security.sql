-- Edge security: the access audit names the device and the client address, and a response
-- covering several residents lists them; device credentials record who provisioned them.
ALTER TABLE access_audit ADD COLUMN device_id TEXT;
ALTER TABLE access_audit ADD COLUMN client_addr TEXT NOT NULL DEFAULT '';
CREATE TABLE access_audit_subjects (
    audit_id    INTEGER NOT NULL REFERENCES access_audit (id) ON DELETE CASCADE,
    resident_id TEXT    NOT NULL,
    PRIMARY KEY (resident_id, audit_id)
) WITHOUT ROWID;
CREATE TABLE admin_audit (
    id         INTEGER PRIMARY KEY,
    at         REAL NOT NULL,
    actor      TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    client_addr TEXT NOT NULL DEFAULT ''
);
CREATE INDEX admin_audit_target ON admin_audit (target, at);
ALTER TABLE device_credentials ADD COLUMN rotated_at REAL;
