"""The one source of time: the system clock in production, a manual clock in tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What the gateway asks of time."""

    realtime: bool

    def time(self) -> float:
        """Seconds since the epoch."""
        ...

    def now(self) -> datetime:
        """Current UTC time."""
        ...

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever time jumps (manual clocks only)."""
        ...


class SystemClock:
    """Wall-clock time."""

    realtime = True

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    def on_change(self, listener: Callable[[], None]) -> None:
        """Wall time never jumps on our command; nothing to register."""


class ManualClock:
    """A clock that moves only when told to; tests advance it instead of sleeping."""

    realtime = False

    def __init__(self, start: datetime | float | None = None) -> None:
        if start is None:
            start = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
        self._t = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def time(self) -> float:
        """Seconds since the epoch."""
        return self._t

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.fromtimestamp(self._t, tz=UTC)

    def advance(self, seconds: float) -> None:
        """Move time forward and wake whoever waits on it."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._t += seconds
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def set(self, when: datetime) -> None:
        """Jump to an absolute time (not earlier than now)."""
        self.advance(when.timestamp() - self._t)

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every advance."""
        with self._lock:
            self._listeners.append(listener)
