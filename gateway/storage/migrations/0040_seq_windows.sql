-- Dedup moves to a window of recent seqs per device channel, with the stored rows (telemetry,
-- events) answering what a window cannot; the ledger table goes.
CREATE TABLE seq_windows (
    device_id TEXT    NOT NULL,
    channel   TEXT    NOT NULL,  -- t(elemetry), e(vent), s(tatus), a (command ack)
    high      INTEGER NOT NULL,  -- highest seq accepted
    mask      INTEGER NOT NULL,  -- bit i set: seq high - i was accepted (63 bits)
    ts        REAL    NOT NULL,  -- device time of the message that carried `high`
    PRIMARY KEY (device_id, channel)
) WITHOUT ROWID;
DROP TABLE dedup;
