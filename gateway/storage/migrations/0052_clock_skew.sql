-- Urgent events page on receipt whatever the device clock says; the measured skew is kept
-- on the alert and its ticket for the operator.
ALTER TABLE alerts ADD COLUMN clock_skew_s REAL;
ALTER TABLE tickets ADD COLUMN clock_skew_s REAL;
