"""The narrow storage interface callers depend on; SQLite and PostgreSQL implement it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from gateway.storage.dialect import Dialect
from gateway.storage.records import DeadLetter, DeviceRecord, SeqWindow, StoredMessage, Twin


class Reader(Protocol):
    """Anything that answers read-only queries with rows as dicts (the store)."""

    dialect: Dialect

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query."""
        ...


class Tx(Protocol):
    """Writes of one transaction."""

    def find_stored(self, device_id: str, channel: str, ts: float) -> list[tuple[int | None, str]]:
        """(seq, data) of the stored messages a device sent on a channel at device time `ts`."""
        ...

    def add_message(self, msg: StoredMessage) -> None:
        """Queue an accepted message."""
        ...

    def add_dead_letter(self, dead: DeadLetter) -> None:
        """Queue a dead letter."""
        ...

    def save_twin(self, twin: Twin) -> None:
        """Queue a twin upsert."""
        ...

    def save_windows(self, windows: list[tuple[str, str, SeqWindow]]) -> None:
        """Upsert dedup windows (device_id, channel prefix, window)."""
        ...


class Store(Protocol):
    """What the gateway needs from a database."""

    schema_version: int

    def transaction(self) -> AbstractContextManager[Any]:
        """A transaction yielding a `Tx`; commits on normal exit."""
        ...

    def snapshot(self) -> AbstractContextManager[Any]:
        """Repositories reading one consistent committed state (writes refused)."""
        ...

    def upsert_devices(self, records: list[DeviceRecord]) -> None:
        """Insert or replace registrations."""
        ...

    def load_devices(self, since: float | None = None) -> list[DeviceRecord]:
        """All devices, or those changed after `since`."""
        ...

    def get_device(self, device_id: str) -> DeviceRecord | None:
        """One device."""
        ...

    def load_twins(self) -> list[Twin]:
        """Every stored twin."""
        ...

    def load_windows(self) -> dict[tuple[str, str], SeqWindow]:
        """Every dedup window, keyed by (device_id, channel prefix)."""
        ...

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Read-only query for reports."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
