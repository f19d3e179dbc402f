"""Migration 0083 tells, for a device disabled before it, who disabled it (from the admin
audit), and counts an unknown one as the staff's: a vendor must not gain an enable it did
not have. On SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from gateway.storage.audit import AuditRepository
from gateway.storage.common import SqlStore
from gateway.storage.migrate import migrations, statements
from gateway.storage.records import DeviceRecord
from tests.conftest import T0

pytestmark = pytest.mark.both_backends


def test_devices_disabled_before_the_column_are_given_who_disabled_them(store: SqlStore):
    store.upsert_devices([DeviceRecord(d, "wristband", vendor="acme", status=status)
                          for d, status in (("WB-V", "disabled"), ("WB-O", "disabled"),
                                            ("WB-U", "disabled"), ("WB-A", "active"))])
    audit = AuditRepository(store)
    for at, role, target in ((T0, "operator", "WB-V"), (T0 + 1, "vendor", "WB-V"),
                             (T0, "vendor", "WB-O"), (T0 + 1, "operator", "WB-O"),
                             (T0, "vendor", "WB-A")):
        audit.record_admin(at=at, actor=role, role=role, action="device_disable",
                           target=target)
    backfill = [s for _, name, script in migrations() if name.startswith("0083_")
                for s in statements(script) if "UPDATE devices" in s]
    assert len(backfill) == 1
    with store.transaction() as tx:
        tx.connection.execute(backfill[0])
    found = {d.id: (d.status, d.disabled_by) for d in store.load_devices()}
    assert found == {"WB-V": ("disabled", "vendor"), "WB-O": ("disabled", "operator"),
                     "WB-U": ("disabled", "operator"), "WB-A": ("active", "")}
