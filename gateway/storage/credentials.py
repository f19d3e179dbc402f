"""Which device accounts the gateway provisioned, and for which vendor (ownership)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.storage.common import SqlStore


@dataclass(frozen=True, slots=True)
class CredentialRecord:
    """A device account created by provisioning."""

    device_id: str
    vendor: str
    created_at: float
    rotated_at: float | None


class CredentialRepository:
    """The `device_credentials` table."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def get(self, device_id: str) -> CredentialRecord | None:
        """The credential record of a device, if provisioning created one."""
        rows = self._store.query(
            "SELECT device_id, vendor, created_at, rotated_at FROM device_credentials"
            " WHERE device_id = ? AND revoked_at IS NULL", (device_id,))
        return CredentialRecord(**rows[0]) if rows else None

    def provisioned(self) -> list[str]:
        """The devices whose broker accounts provisioning created and did not revoke."""
        rows = self._store.query(
            "SELECT device_id FROM device_credentials WHERE revoked_at IS NULL ORDER BY device_id")
        return [str(row["device_id"]) for row in rows]

    def created(self, device_id: str, vendor: str, now: float) -> None:
        """Record a new account (fails if one is already recorded: ids are not reused)."""
        with self._store.transaction() as tx:
            tx.connection.execute(
                "INSERT INTO device_credentials (device_id, vendor, created_at) VALUES (?, ?, ?)",
                (device_id, vendor, now))

    def reassigned(self, device_id: str, vendor: str, now: float) -> None:
        """The account's password was replaced because the device now belongs to `vendor`."""
        with self._store.transaction() as tx:
            tx.connection.execute(
                "UPDATE device_credentials SET vendor = ?, rotated_at = ? WHERE device_id = ?",
                (vendor, now, device_id))

    def rotated(self, device_id: str, now: float) -> None:
        """Record a password rotation."""
        with self._store.transaction() as tx:
            tx.connection.execute(
                "UPDATE device_credentials SET rotated_at = ? WHERE device_id = ?",
                (now, device_id))
