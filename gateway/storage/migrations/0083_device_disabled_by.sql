-- Who disabled a device: the role of the account ('vendor', 'operator', 'admin'; '' when
-- not known). A disable by the community's staff is lifted by staff only: a vendor enabling
-- (or re-registering) its device must not undo an operator's decision to cut it off.
ALTER TABLE devices ADD COLUMN disabled_by TEXT NOT NULL DEFAULT '';
-- Devices disabled before this column: the admin audit says who, else they count as staff's.
UPDATE devices SET disabled_by = coalesce(
    (SELECT a.role FROM admin_audit a WHERE a.action = 'device_disable' AND a.target = devices.id
     ORDER BY a.at DESC, a.id DESC LIMIT 1), 'operator')
WHERE status = 'disabled';
