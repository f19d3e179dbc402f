"""Reads of stored messages and refusals: telemetry ranges, recent messages, dead letters."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.storage.base import Reader


class MessageReads:
    """Telemetry, events and dead letters for the API (read-only connections)."""

    def __init__(self, store: Reader) -> None:
        self._store = store

    def telemetry(self, device_id: str, start: float, end: float, *,
                  include_end: bool = False, received_since: float = 0.0,
                  ) -> list[tuple[float, dict[str, Any]]]:
        """(ts, reading) of a device in [start, end) (or [start, end]), oldest first; only
        what the gateway received since `received_since` (a band's binding to its wearer)."""
        upper = "<=" if include_end else "<"
        return [(r["ts"], orjson.loads(r["data"])) for r in self._store.query(
            f"SELECT ts, data FROM telemetry WHERE device_id = ? AND ts >= ? AND ts {upper} ?"
            " AND received_at >= ? ORDER BY ts, id", (device_id, start, end, received_since))]

    def latest_readings(self, devices: dict[str, float], since: float, received_by: float,
                        limit: int) -> list[tuple[float, dict[str, Any]]]:
        """(ts, reading) of several devices measured since `since` and received by
        `received_by` — each device's only from its own time of receipt on (`devices`: id →
        received since, a band's binding to its wearer) — newest first."""
        if not devices:
            return []
        which, args = _received_since(devices)
        return [(r["ts"], orjson.loads(r["data"])) for r in self._store.query(
            f"SELECT ts, data FROM telemetry WHERE ({which})"
            " AND ts >= ? AND received_at <= ? ORDER BY ts DESC LIMIT ?",
            (*args, since, received_by, limit))]

    def events(self, device_id: str, limit: int) -> list[dict[str, Any]]:
        """A device's latest events (id, ts, received_at, channel, type, seq, stale, data
        decoded), newest first."""
        rows = self._store.query(
            "SELECT id, ts, received_at, channel, type, seq, stale, data FROM events"
            " WHERE device_id = ? ORDER BY received_at DESC, id DESC LIMIT ?",
            (device_id, limit))
        for row in rows:
            row["data"] = orjson.loads(row["data"] or "{}")
            row["stale"] = bool(row["stale"])
        return rows

    def event_data(self, device_id: str, type_: str, ts: float) -> list[dict[str, Any]]:
        """The stored payloads (decoded) of a device's events of one type at one device time
        (within a millisecond), latest received first: the event an alert names."""
        return [orjson.loads(r["data"] or "{}") for r in self._store.query(
            "SELECT data FROM events WHERE device_id = ? AND channel = 'event' AND type = ?"
            " AND ts >= ? AND ts <= ? ORDER BY received_at DESC, id DESC LIMIT 5",
            (device_id, type_, ts - 0.001, ts + 0.001))]

    def events_of_types(self, devices: dict[str, float], types: tuple[str, ...], start: float,
                        end: float, limit: int) -> list[dict[str, Any]]:
        """Events of some types from several devices received in [start, end] — each
        device's only from its own time of receipt on (`devices`: id → received since) —
        (device_id, type, ts, received_at, data decoded), newest first. By the gateway's
        time of receipt: an SOS from a band whose clock says 2000 is still one of today's
        alarms."""
        if not devices or not types:
            return []
        which, args = _received_since(devices)
        kinds = ", ".join("?" for _ in types)
        rows = self._store.query(
            f"SELECT device_id, type, ts, received_at, data FROM events WHERE ({which})"
            f" AND type IN ({kinds}) AND received_at >= ? AND received_at <= ?"
            " ORDER BY received_at DESC LIMIT ?",
            (*args, *types, start, end, limit))
        for row in rows:
            row["data"] = orjson.loads(row["data"] or "{}")
        return rows

    def recent(self, device_id: str, channel: str | None, limit: int) -> list[dict[str, Any]]:
        """A device's last accepted messages (channel, type, ts, received_at, seq, stale,
        data), newest first."""
        out: list[dict[str, Any]] = []
        if channel in (None, "telemetry"):
            out += self._store.query(
                "SELECT 'telemetry' AS channel, 'telemetry' AS type, ts, received_at, seq,"
                " stale, data FROM telemetry WHERE device_id = ? ORDER BY id DESC LIMIT ?",
                (device_id, limit))
        if channel != "telemetry":
            where = "device_id = ?" + (" AND channel = ?" if channel else "")
            args = (device_id, channel) if channel else (device_id,)
            out += self._store.query(
                f"SELECT channel, type, ts, received_at, seq, stale, data FROM events"
                f" WHERE {where} ORDER BY id DESC LIMIT ?", (*args, limit))
        for row in out:
            row["data"] = orjson.loads(row["data"])
            row["stale"] = bool(row["stale"])
        return sorted(out, key=lambda m: m["received_at"], reverse=True)[:limit]

    def dead_letters(self, *, device_ids: list[str] | None = None, reason: str | None = None,
                     device_id: str | None = None, since: float | None = None,
                     limit: int = 100) -> list[dict[str, Any]]:
        """Refused messages, newest first, with a readable preview of the payload.

        `device_ids`: only those devices (an empty list matches nothing).
        """
        where, args = ["1=1"], []
        if device_ids is not None:
            if not device_ids:
                return []
            where.append(f"device_id IN ({', '.join('?' for _ in device_ids)})")
            args += device_ids
        for column, value, op in (("reason", reason, "="), ("device_id", device_id, "="),
                                  ("received_at", since, ">=")):
            if value is not None and value != "":
                where.append(f"{column} {op} ?")
                args.append(value)
        rows = self._store.query(
            "SELECT id, received_at, topic, reason, detail, device_id, payload_size, payload"
            f" FROM dead_letters WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
            (*args, limit))
        for row in rows:
            row["payload_preview"] = bytes(row.pop("payload")[:512]).decode("utf-8", "replace")
        return rows

    def dead_letter_counts(self) -> dict[str, int]:
        """Dead letters kept, per reason."""
        return {r["reason"]: r["n"] for r in self._store.query(
            "SELECT reason, count(*) AS n FROM dead_letters GROUP BY reason")}


def _received_since(devices: dict[str, float]) -> tuple[str, list[Any]]:
    """A condition for "this device's rows received since its time", for several devices."""
    which = " OR ".join("(device_id = ? AND received_at >= ?)" for _ in devices)
    return which, [v for item in devices.items() for v in item]
