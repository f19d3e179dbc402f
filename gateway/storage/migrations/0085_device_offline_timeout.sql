-- A device's own offline timeout (seconds; NULL: its kind's): a battery door contact or PIR
-- that reports on change went "offline" ten minutes after each report in a kind set for
-- mains-powered controllers (vendor round 9).
ALTER TABLE devices ADD COLUMN offline_timeout_s REAL;
