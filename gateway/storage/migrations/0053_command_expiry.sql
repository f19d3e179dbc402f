-- Commands expire (per-command time to live from the catalogue); an ack after the end is kept
-- as late without changing the outcome.
ALTER TABLE commands ADD COLUMN expires_at REAL;
ALTER TABLE commands ADD COLUMN late_at REAL;
ALTER TABLE commands ADD COLUMN late_result TEXT;
UPDATE commands SET expires_at = due_at;
