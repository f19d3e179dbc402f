"""Time sources for simulators: virtual (tests, no waiting) and accelerated wall time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class SimClock(Protocol):
    """What a simulator asks of time: scenario 'now', and how long to wait for a scenario time."""

    def now(self) -> datetime:
        """Current scenario time (UTC)."""
        ...

    def wall_seconds_until(self, when: datetime) -> float:
        """Wall seconds until scenario time `when` (0 when it is due or time is virtual)."""
        ...


class VirtualClock:
    """Scenario time that only moves when told to: a run never waits."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Current scenario time."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump forward (never back)."""
        self._now = max(self._now, when.astimezone(UTC))

    def wall_seconds_until(self, when: datetime) -> float:
        """Virtual time: jump there instead of waiting."""
        self.set(when)
        return 0.0


class AcceleratedClock:
    """Scenario time running `speed` times faster than wall time from `start`."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self._wall0 = time.monotonic()

    def now(self) -> datetime:
        """Current scenario time."""
        return self.start + timedelta(seconds=(time.monotonic() - self._wall0) * self.speed)

    def wall_seconds_until(self, when: datetime) -> float:
        """Wall seconds left before scenario time reaches `when`."""
        return max(0.0, (when - self.now()).total_seconds() / self.speed)
