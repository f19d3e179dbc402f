"""Timers driven by the injected clock: periodic jobs and one-shot deadlines."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.clock import Clock

log = logging.getLogger(__name__)

Job = Callable[[float], None]
Dispatch = Callable[[str, Job, float], None]


@dataclass(order=True)
class _Entry:
    due: float
    order: int
    name: str = field(compare=False)
    job: Job = field(compare=False)
    interval: float | None = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


def _run_inline(name: str, job: Job, now: float) -> None:
    job(now)


class Scheduler:
    """Runs jobs when the clock reaches them; a named job replaces its earlier schedule.

    `dispatch` decides where a due job runs; the gateway hands jobs to its pipeline thread so
    that timers and messages never touch the database at the same time.
    """

    def __init__(self, clock: Clock, dispatch: Dispatch = _run_inline,
                 on_error: Callable[[str], None] | None = None) -> None:
        self._clock = clock
        self._dispatch = dispatch
        self._on_error = on_error
        self._heap: list[_Entry] = []
        self._by_name: dict[str, _Entry] = {}
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        clock.on_change(self._wake)

    def every(
        self, name: str, interval_s: float, job: Job, *, first_in: float | None = None
    ) -> None:
        """Run `job(now)` every `interval_s` seconds of clock time."""
        if interval_s <= 0:
            raise ValueError("interval must be positive")
        delay = interval_s if first_in is None else first_in
        self._add(name, self._clock.time() + delay, job, interval_s)

    def at(self, name: str, when: float, job: Job) -> None:
        """Run `job(now)` once when the clock reaches epoch second `when`."""
        self._add(name, when, job, None)

    def cancel(self, name: str) -> None:
        """Forget a job."""
        with self._cond:
            entry = self._by_name.pop(name, None)
            if entry:
                entry.cancelled = True

    def next_due(self) -> float | None:
        """Epoch second of the next job, if any."""
        with self._cond:
            self._drop_cancelled()
            return self._heap[0].due if self._heap else None

    def run_due(self) -> int:
        """Dispatch every job due now; return how many ran."""
        ran = 0
        while True:
            with self._cond:
                entry = self._pop_due(self._clock.time())
            if entry is None:
                return ran
            try:
                self._dispatch(entry.name, entry.job, self._clock.time())
            except Exception:  # a failing job must not stop every other timer: logged, counted
                log.exception("scheduled job %s failed", entry.name)
                if self._on_error is not None:
                    self._on_error(entry.name)
            ran += 1

    def start(self) -> None:
        """Run due jobs from a background thread until `stop`."""
        self._stopped.clear()
        self._thread = threading.Thread(target=self._loop, name="scgw-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread."""
        self._stopped.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _add(self, name: str, due: float, job: Job, interval: float | None) -> None:
        with self._cond:
            old = self._by_name.get(name)
            if old is not None:
                old.cancelled = True
            entry = _Entry(due, next(self._order), name, job, interval)
            self._by_name[name] = entry
            heapq.heappush(self._heap, entry)
            self._cond.notify_all()

    def _pop_due(self, now: float) -> _Entry | None:
        self._drop_cancelled()
        if not self._heap or self._heap[0].due > now:
            return None
        entry = heapq.heappop(self._heap)
        if entry.interval is not None:
            # Skip missed periods instead of replaying them all after a long pause.
            due = entry.due + entry.interval
            if due <= now:
                due = now + entry.interval
            nxt = _Entry(due, next(self._order), entry.name, entry.job, entry.interval)
            self._by_name[entry.name] = nxt
            heapq.heappush(self._heap, nxt)
        else:
            self._by_name.pop(entry.name, None)
        return entry

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self.run_due()
            with self._cond:
                if self._stopped.is_set():
                    return
                self._drop_cancelled()
                if self._heap and self._heap[0].due <= self._clock.time():
                    continue
                timeout = None
                if self._clock.realtime and self._heap:
                    timeout = max(0.0, self._heap[0].due - self._clock.time())
                elif self._clock.realtime:
                    timeout = 1.0
                self._cond.wait(timeout)
