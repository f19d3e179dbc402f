-- A counter that restarted keeps the highest seq it had before, so replays of messages sent
-- before the restart are recognised (the stored rows decide them) instead of stored again.
ALTER TABLE seq_windows ADD COLUMN retired INTEGER NOT NULL DEFAULT -1;
