-- When the device's resident last changed (bound, re-bound or unbound; epoch s; 0: never
-- since this column exists). A family sees a band's data from this time on only, so a band
-- handed to another elder never shows the previous wearer's trail; a vendor sees no position
-- or vital sign of a device that serves or served someone.
ALTER TABLE devices ADD COLUMN bound_at REAL NOT NULL DEFAULT 0;
