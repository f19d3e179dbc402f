"""One retry policy for everything that waits before trying again: exponential, capped, jittered.

The broker reconnect, a database that refused a batch, InfluxDB writes and the 12345 outbox
all use it, so a fleet of gateways (or of retries) never moves in step.
"""

from __future__ import annotations

import random


def delay(attempt: int, first: float, ceiling: float, rng: random.Random) -> float:
    """The wait before retry number `attempt` (1-based): uniform in [cap/2, cap], where the
    cap doubles from `first` up to `ceiling`."""
    cap = min(ceiling, first * 2 ** max(0, min(attempt - 1, 62)))
    return rng.uniform(cap / 2, cap)


class Backoff:
    """Successive delays for one thing being retried; `reset()` after it worked."""

    def __init__(self, first: float, ceiling: float, rng: random.Random | None = None) -> None:
        self._first = first
        self._ceiling = ceiling
        self._attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """Delay before the next attempt."""
        self._attempt += 1
        return delay(self._attempt, self._first, self._ceiling, self._rng)

    def reset(self) -> None:
        """Back to the first delay after a success."""
        self._attempt = 0
