-- A resident's phone and emergency contact: personal data shown to the grid worker handling a
-- ticket for that resident (each view audited), written by staff.
CREATE TABLE resident_contacts (
    resident_id      TEXT PRIMARY KEY,
    phone            TEXT NOT NULL DEFAULT '',
    contact_name     TEXT NOT NULL DEFAULT '',
    contact_relation TEXT NOT NULL DEFAULT '',
    contact_phone    TEXT NOT NULL DEFAULT '',
    updated_at       REAL NOT NULL,
    updated_by       TEXT NOT NULL
);
