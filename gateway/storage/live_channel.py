"""Live changes between replicas: PostgreSQL NOTIFY, sent inside the transaction that made
the change (so delivered only if it commits, and in commit order), and a listening thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import orjson
import psycopg

from gateway.retry import Backoff
from gateway.storage.dialect import Connection
from gateway.storage.tx import StoreTx

log = logging.getLogger(__name__)

CHANNEL = "scgw_live"
# PostgreSQL refuses a payload of 8000 bytes or more; leave room for the envelope.
MAX_PAYLOAD = 7800
_LONG_TEXT = ("description", "result", "note")


def encode(event: dict[str, Any]) -> str:
    """An event as NOTIFY text; long free text is cut (consoles fetch details anyway)."""
    text = orjson.dumps(event).decode()
    if len(text.encode()) < MAX_PAYLOAD:
        return text
    slim = dict(event)
    for key in ("ticket", "alert"):
        if isinstance(slim.get(key), dict):
            slim[key] = {k: ("…" if k in _LONG_TEXT else v) for k, v in slim[key].items()}
    slim["note"] = "…"
    slim["truncated"] = True
    return orjson.dumps(slim).decode()


def send(conn: Connection, events: list[dict[str, Any]]) -> None:
    """Queue `events` for every listening replica; they go out when the transaction commits."""
    for event in events:
        conn.execute("SELECT pg_notify(?, ?)", (CHANNEL, encode(event)))


class Listener:
    """A thread holding one connection that LISTENs and hands each event to `deliver`;
    reconnects with backoff when the server goes away (events sent meanwhile are lost to
    this replica's live clients, which reload their lists on reconnect anyway)."""

    def __init__(self, url: str, deliver: Callable[[dict[str, Any]], None]) -> None:
        self._url = url
        self._deliver = deliver
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self.listening = threading.Event()

    def start(self) -> None:
        """Listen from a background thread."""
        self._thread = threading.Thread(target=self._run, name="scgw-live-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening."""
        self._stop.set()
        conn = self._conn
        if conn is not None:
            conn.cancel_safe()  # wakes a notifies() wait
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        backoff = Backoff(0.2, 5.0)
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    self._conn = conn
                    conn.execute(f"LISTEN {CHANNEL}".encode())
                    self.listening.set()
                    backoff.reset()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._hand_over(note.payload)
            except psycopg.Error:
                self.listening.clear()
                if self._stop.is_set():
                    return
                wait = backoff.next()
                log.warning("live listener lost its connection; retrying in %.1fs", wait)
                self._stop.wait(wait)
            finally:
                self._conn = None

    def _hand_over(self, payload: str) -> None:
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("live event that is not JSON ignored", extra={"payload": payload[:200]})
            return
        self._deliver(event)


class Fanout:
    """What the live stream uses to reach every replica's clients: `send` inside the
    transaction, `start(deliver)` to receive every replica's events, this one's included."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._listener: Listener | None = None

    def send(self, tx: StoreTx, events: list[dict[str, Any]]) -> None:
        """Queue events in the open transaction."""
        send(tx.connection, events)

    def start(self, deliver: Callable[[dict[str, Any]], None]) -> Listener:
        """Start listening; returns the listener (its `listening` event is set once ready)."""
        self._listener = Listener(self._url, deliver)
        self._listener.start()
        return self._listener

    def wait_listening(self, timeout: float) -> bool:
        """Block until this replica receives live events (start-up checks, tests)."""
        listener = self._listener
        return listener is not None and listener.listening.wait(timeout)

    def stop(self) -> None:
        """Stop listening."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
