"""The device side of end-to-end confirmation: resend an urgent event until it is confirmed.

What the vendor guide asks of a device: keep each urgent event (SOS, fall, forced door …)
until `…/event/ack` echoes its `seq`; resend the same bytes after 2 s, then 4, 8 … at most
every 30 s. The gateway's dedup makes the resends harmless.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import orjson

from devices.catalogue import CATALOGUE

FIRST_RETRY_S = 2.0
MAX_RETRY_S = 30.0


@dataclass(slots=True)
class _Pending:
    topic: str
    payload: bytes
    due: float
    wait: float
    attempts: int = 1


class UrgentOutbox:
    """Urgent events sent but not yet confirmed, per device; thread-safe."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._lock = threading.Lock()
        self.confirmed = 0
        self.resent = 0

    @staticmethod
    def urgent_seq(topic: str, payload: bytes) -> int | None:
        """The `seq` of an urgent event on an event topic, else None (nothing to track)."""
        parts = topic.split("/")
        if len(parts) != 5 or parts[4] != "event":
            return None
        kind = CATALOGUE.get(parts[2])
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None
        if kind is None or not isinstance(body, dict) or body.get("type") not in kind.urgent:
            return None
        seq = body.get("seq")
        return seq if type(seq) is int else None

    def sent(self, device_id: str, topic: str, payload: bytes, now: float) -> None:
        """Remember an urgent event just published (first attempt)."""
        seq = self.urgent_seq(topic, payload)
        if seq is not None:
            with self._lock:
                self._pending.setdefault(
                    (device_id, seq), _Pending(topic, payload, now + FIRST_RETRY_S,
                                               FIRST_RETRY_S))

    def acknowledged(self, device_id: str, payload: bytes) -> None:
        """An `event/ack` arrived for the device: forget the event it names."""
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        seq = body.get("seq") if isinstance(body, dict) else None
        with self._lock:
            if self._pending.pop((device_id, seq), None) is not None:  # type: ignore[arg-type]
                self.confirmed += 1

    def due(self, now: float) -> list[tuple[str, str, bytes]]:
        """(device_id, topic, payload) to resend now; their next attempt is scheduled."""
        out = []
        with self._lock:
            for (device_id, _), p in self._pending.items():
                if p.due <= now:
                    out.append((device_id, p.topic, p.payload))
                    p.attempts += 1
                    p.wait = min(p.wait * 2, MAX_RETRY_S)
                    p.due = now + p.wait
            self.resent += len(out)
        return out

    def waiting(self) -> list[tuple[str, int]]:
        """(device_id, seq) of every event not yet confirmed."""
        with self._lock:
            return sorted(self._pending)
