"""People first: the ingest thread steps aside between messages while an API request runs.

The API and the ingest share one interpreter lock. A saturated ingest thread hands the lock
to a waiting request thread only every switch interval (5 ms), and takes it back whenever
the request blocks for a moment (a database step, a socket write), so a 10 ms read could
take 100 ms during a backlog drain. Operators and families waiting on a page are worth more
than a backlog draining 10 % faster; but never at any price: the ingest gives at most
`share` of its time to requests (an API flood must not delay an SOS), and never to a request
that is itself waiting on the pipeline (an operator's write goes through it).
"""

from __future__ import annotations

import threading
import time


class InteractiveGate:
    """Counts the HTTP requests in flight; the pipeline yields to them between messages."""

    def __init__(self, share: float = 0.5, window_s: float = 0.1, step_s: float = 0.002) -> None:
        self._share_s = share * window_s
        self._window_s = window_s
        self._step_s = step_s
        self._lock = threading.Lock()
        self._inflight = 0
        self._waiting_on_pipeline = 0
        self._idle = threading.Event()
        self._idle.set()
        self._window_start = 0.0
        self._yielded_s = 0.0
        self.yielded_total_s = 0.0  # reported by bench/console_reads.py

    @property
    def enabled(self) -> bool:
        """Whether the ingest yields at all (share > 0)."""
        return self._share_s > 0

    def enter(self) -> None:
        """A request started."""
        with self._lock:
            self._inflight += 1
            self._idle.clear()

    def leave(self) -> None:
        """A request finished (or turned into a long-lived stream)."""
        with self._lock:
            self._inflight = max(0, self._inflight - 1)
            if self._inflight <= self._waiting_on_pipeline:
                self._idle.set()

    def pipeline_call(self, start: bool) -> None:
        """A caller starts (True) or stops (False) waiting for the pipeline to run its job."""
        with self._lock:
            self._waiting_on_pipeline += 1 if start else -1
            self._waiting_on_pipeline = max(0, self._waiting_on_pipeline)
            if self._inflight <= self._waiting_on_pipeline:
                self._idle.set()
            elif self._inflight:
                self._idle.clear()

    def step_aside(self) -> None:
        """Called by the ingest between messages: wait (interpreter lock released) while a
        request runs, within the time share."""
        if self._inflight <= self._waiting_on_pipeline or not self._share_s:
            return
        now = time.perf_counter()
        if now - self._window_start >= self._window_s:
            self._window_start, self._yielded_s = now, 0.0
        left = self._share_s - self._yielded_s
        if left <= 0:
            return
        self._idle.wait(min(self._step_s, left))
        spent = time.perf_counter() - now
        self._yielded_s += spent
        self.yielded_total_s += spent
