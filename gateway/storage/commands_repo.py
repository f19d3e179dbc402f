"""The `commands` table: recording, settling, expiring, and reading device commands."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.storage.base import Reader
from gateway.storage.dialect import Connection

_PUBLIC = ("id, device_id, name, params, actor, state, created_at, expires_at, done_at, result,"
           " late_at, late_result")


class SqliteCommands:
    """Command writes inside an open transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(self, *, command_id: str, device_id: str, name: str, args: dict[str, Any],
               actor: str, now: float, expires_at: float) -> None:
        """A command just decided on (state `sent`)."""
        self._conn.execute(
            "INSERT INTO commands (id, device_id, name, params, actor, state, created_at, due_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, 'sent', ?, ?, ?)",
            (command_id, device_id, name, orjson.dumps(args).decode(), actor, now, expires_at,
             expires_at))

    def pending(self, device_id: str, name: str, now: float) -> list[tuple[str, dict[str, Any]]]:
        """(id, arguments) of the commands of this name still on their way to the device."""
        rows = self._conn.execute(
            "SELECT id, params FROM commands WHERE device_id = ? AND name = ? AND state = 'sent'"
            " AND due_at > ? LIMIT 100", (device_id, name, now)).fetchall()
        return [(str(row[0]), orjson.loads(row[1] or "{}")) for row in rows]

    def settle(self, command_id: str, device_id: str, *, ok: bool, at: float,
               result: dict[str, Any]) -> bool:
        """The device's answer, if the command is still waiting and not expired; True if so."""
        return bool(self._conn.execute(
            "UPDATE commands SET state = ?, done_at = ?, result = ? WHERE id = ?"
            " AND device_id = ? AND state = 'sent' AND due_at > ?",
            ("succeeded" if ok else "failed", at, orjson.dumps(result).decode(), command_id,
             device_id, at)).rowcount)

    def late(self, command_id: str, device_id: str, *, at: float,
             result: dict[str, Any]) -> bool:
        """An answer after the end: kept, and a still-`sent` command is timed out."""
        return bool(self._conn.execute(
            "UPDATE commands SET late_at = ?, late_result = ?,"
            " state = CASE WHEN state = 'sent' THEN 'timeout' ELSE state END,"
            " done_at = coalesce(done_at, due_at) WHERE id = ? AND device_id = ?",
            (at, orjson.dumps(result).decode(), command_id, device_id)).rowcount)

    def finish(self, command_id: str, state: str, at: float, result: dict[str, Any]) -> None:
        """End a waiting command without an answer (refused by the broker, expired unsent)."""
        self._conn.execute(
            "UPDATE commands SET state = ?, done_at = ?, result = ? WHERE id = ?"
            " AND state = 'sent'", (state, at, orjson.dumps(result).decode(), command_id))

    def expire(self, now: float) -> None:
        """Time out every waiting command past its expiry."""
        self._conn.execute("UPDATE commands SET state = 'timeout', done_at = due_at"
                           " WHERE state = 'sent' AND due_at <= ?", (now,))


class CommandReads:
    """Command reads for the API (read-only connections)."""

    def __init__(self, store: Reader) -> None:
        self._store = store

    def one(self, device_id: str, command_id: str) -> dict[str, Any] | None:
        """One command of a device, as the API shows it."""
        rows = self._store.query(f"SELECT {_PUBLIC} FROM commands WHERE id = ? AND"
                                 " device_id = ?", (command_id, device_id))
        return _decoded(rows[0]) if rows else None

    def of_device(self, device_id: str, limit: int) -> list[dict[str, Any]]:
        """A device's commands, newest first."""
        return [_decoded(r) for r in self._store.query(
            f"SELECT {_PUBLIC} FROM commands WHERE device_id = ? ORDER BY created_at DESC"
            " LIMIT ?", (device_id, limit))]


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for column in ("result", "late_result"):
        row[column] = orjson.loads(row[column]) if row[column] else None
    params = row.pop("params", None)
    row["args"] = orjson.loads(params) if params else {}
    return row
