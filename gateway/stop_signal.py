"""Waiting in the main thread for SIGINT or SIGTERM, without the handler hanging it."""

from __future__ import annotations

import signal
from queue import Empty, SimpleQueue


class StopSignal:
    """Received once SIGINT or SIGTERM arrives.

    A handler that calls `threading.Event.set()` can hang the process for good: the handler
    runs in the main thread, and if that thread is inside `Event.wait()` holding the event's
    lock at that moment, `set()` waits for a lock its own thread holds (seen: a replica that
    never stopped on SIGTERM). `SimpleQueue.put` is reentrant, made for signal handlers.
    """

    def __init__(self, signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
                 ) -> None:
        self._queue: SimpleQueue[int] = SimpleQueue()
        self.received: int | None = None
        for sig in signals:
            signal.signal(sig, lambda signum, _frame: self._queue.put(signum))

    def wait(self, timeout: float | None = None) -> bool:
        """Whether a stop signal has come, waiting up to `timeout` s (None: until it does)."""
        if self.received is None:
            try:
                self.received = self._queue.get(timeout=timeout)
            except Empty:
                return False
        return True
