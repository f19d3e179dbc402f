"""The 12345 outbox: tickets handed to the district channel over an HTTP webhook, with retries."""

from __future__ import annotations

import logging
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from gateway.clock import Clock
from gateway.retry import delay
from gateway.storage.base import Store
from gateway.workflow.config import WorkflowSettings

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The channel did not accept a delivery (HTTP error, timeout, refused connection)."""


class OutboxSender:
    """Delivers due outbox rows; runs off the pipeline thread because it waits on the network."""

    def __init__(self, store: Store, settings: WorkflowSettings, clock: Clock,
                 rng: random.Random | None = None) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()

    def deliver_due(self, now: float | None = None,
                    stopping: threading.Event | None = None) -> int:
        """Try every due delivery once (until `stopping` is set); return how many were
        delivered."""
        if self._settings.hotline_url is None:
            return 0
        now = self._clock.time() if now is None else now
        with self._store.snapshot() as snap:
            due = snap.tickets.due_deliveries(now)
        delivered = 0
        for row in due:
            if stopping is not None and stopping.is_set():
                break
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
            db = tx.tickets
            db.delivered(row["id"], now)
            db.set_external_state(row["ticket_id"], "delivered", now)
            ticket = db.get(row["ticket_id"])
            state = ticket.state if ticket is not None else ""
            db.add_event(row["ticket_id"], now, "system", "delivered_12345", state, state,
                         f"{row['kind']} accepted by the 12345 channel")
        log.info("12345 delivery done", extra={"ticket_id": row["ticket_id"], "kind": row["kind"]})

    def _failed(self, row: dict[str, Any], error: str, now: float) -> None:
        attempts = row["attempts"] + 1
        wait = delay(attempts, self._settings.outbox_retry_first_s,
                     self._settings.outbox_retry_max_s, self._rng)
        final = attempts >= self._settings.outbox_max_attempts
        with self._store.transaction() as tx:
            tx.tickets.attempt_failed(row["id"], attempts=attempts, error=error,
                                      retry_at=now + wait, final=final)
            tx.tickets.set_external_state(row["ticket_id"], "failed" if final else "retrying")
        log.warning("12345 delivery failed", extra={"ticket_id": row["ticket_id"],
                                                    "attempt": attempts, "error": error})


class OutboxWorker:
    """Runs the sender on a thread of its own. Each delivery may wait `hotline_timeout_s` on
    the network, up to 100 per run: on the scheduler's thread, a slow or black-holed 12345
    channel held back every timer of the district — a fall's no-movement page came 97 s late
    (red team round 4). Kicks while a run is going are folded into one more run."""

    def __init__(self, sender: OutboxSender, clock: Clock,
                 on_error: Callable[[], None] | None = None) -> None:
        self._sender = sender
        self._clock = clock
        self._on_error = on_error
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # finished runs (for tests and metrics)
        self._ran = threading.Condition()

    def kick(self, now: float = 0.0) -> None:
        """Ask for a run (returns at once; a scheduler job)."""
        self._wanted.set()

    def start(self) -> None:
        """Start the thread."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="scgw-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the delivery in flight (a daemon: a channel that never answers cannot
        hold the process)."""
        self._stopping.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_runs(self, count: int, timeout: float) -> bool:
        """Wait until `count` runs have finished."""
        with self._ran:
            return self._ran.wait_for(lambda: self.runs >= count, timeout)

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping.is_set():
                return
            try:
                self._sender.deliver_due(self._clock.time(), self._stopping)
            except Exception:  # a failed run must not end the deliveries: logged, counted
                log.exception("12345 outbox run failed")
                if self._on_error is not None:
                    self._on_error()
            with self._ran:
                self.runs += 1
                self._ran.notify_all()
