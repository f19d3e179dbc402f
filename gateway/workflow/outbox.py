"""The 12345 outbox: tickets handed to the district channel over an HTTP webhook, with retries."""

from __future__ import annotations

import logging
import random
import urllib.error
import urllib.request
from typing import Any

import orjson

from gateway.clock import Clock
from gateway.storage.base import Store
from gateway.workflow.config import WorkflowSettings
from gateway.workflow.records import add_event

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The channel did not accept a delivery (HTTP error, timeout, refused connection)."""


def enqueue(conn: Any, *, ticket_id: int, kind: str, payload: dict[str, Any], now: float) -> None:
    """Queue a delivery in the caller's transaction; the key makes a retry of the caller safe."""
    key = f"scgw-ticket-{ticket_id}-{kind}"
    conn.execute(
        "INSERT OR IGNORE INTO outbox (ticket_id, kind, idempotency_key, payload, state,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        (ticket_id, kind, key, orjson.dumps(payload).decode(), now, now),
    )
    conn.execute("UPDATE tickets SET external_state = 'pending' WHERE id = ?", (ticket_id,))


class OutboxSender:
    """Delivers due outbox rows; runs off the pipeline thread because it waits on the network."""

    def __init__(self, store: Store, settings: WorkflowSettings, clock: Clock,
                 rng: random.Random | None = None) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()

    def deliver_due(self, now: float | None = None) -> int:
        """Try every due delivery once; return how many were delivered."""
        if self._settings.hotline_url is None:
            return 0
        now = self._clock.time() if now is None else now
        due = self._store.query(
            "SELECT id, ticket_id, kind, idempotency_key, payload, attempts FROM outbox"
            " WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 100", (now,),
        )
        delivered = 0
        for row in due:
            try:
                self._post(row["idempotency_key"], row["payload"].encode())
            except DeliveryError as exc:
                self._failed(row, str(exc), now)
            else:
                self._delivered(row, now)
                delivered += 1
        return delivered

    def _post(self, key: str, body: bytes) -> None:
        request = urllib.request.Request(
            str(self._settings.hotline_url), data=body, method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._settings.hotline_timeout_s) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise DeliveryError(str(exc)) from exc
        # 409: the channel already has this key, i.e. an earlier attempt did land.
        if not (200 <= status < 300 or status == 409):
            raise DeliveryError(f"HTTP {status}")

    def _delivered(self, row: dict[str, Any], now: float) -> None:
        with self._store.transaction() as tx:
            conn = tx.connection
            conn.execute(
                "UPDATE outbox SET state = 'delivered', attempts = attempts + 1,"
                " delivered_at = ?, last_error = NULL WHERE id = ?", (now, row["id"]),
            )
            conn.execute("UPDATE tickets SET external_state = 'delivered', updated_at = ?"
                         " WHERE id = ?", (now, row["ticket_id"]))
            state = conn.execute("SELECT state FROM tickets WHERE id = ?",
                                 (row["ticket_id"],)).fetchone()[0]
            add_event(conn, row["ticket_id"], now, "system", "delivered_12345", state, state,
                      f"{row['kind']} accepted by the 12345 channel")
        log.info("12345 delivery done", extra={"ticket_id": row["ticket_id"], "kind": row["kind"]})

    def _failed(self, row: dict[str, Any], error: str, now: float) -> None:
        attempts = row["attempts"] + 1
        cap = min(self._settings.outbox_retry_max_s,
                  self._settings.outbox_retry_first_s * 2 ** (attempts - 1))
        delay = self._rng.uniform(cap / 2, cap)
        final = attempts >= self._settings.outbox_max_attempts
        with self._store.transaction() as tx:
            conn = tx.connection
            conn.execute(
                "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ?, state = ?"
                " WHERE id = ?",
                (attempts, error[:500], now + delay, "failed" if final else "pending", row["id"]),
            )
            conn.execute("UPDATE tickets SET external_state = ? WHERE id = ?",
                         ("failed" if final else "retrying", row["ticket_id"]))
        log.warning("12345 delivery failed", extra={"ticket_id": row["ticket_id"],
                                                    "attempt": attempts, "error": error})
