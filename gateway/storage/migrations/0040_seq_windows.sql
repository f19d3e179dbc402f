-- Dedup moves to a window of recent seqs per device channel, kept in the twin row, with the
-- stored rows (telemetry, events) answering what the window cannot; the ledger table goes.
ALTER TABLE twins ADD COLUMN seq_windows TEXT;
DROP TABLE dedup;
