"""Sliding-window rate limits for the open resident page (per plate, per client address).

In memory, like the login throttle: a refused request costs a dictionary lookup and never
touches the database, so a flood cannot slow anything else down. Memory is bounded (the
least recently seen keys are forgotten). With several API replicas each keeps its own
windows; put the limits at 1/N of the wanted total or route a plate to one replica.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Sequence

from gateway.clock import Clock

MAX_KEYS = 100_000


class SlidingLimiter:
    """At most `most` events per `window_s` for each key, for every (window, most) pair."""

    def __init__(self, clock: Clock, limits: Sequence[tuple[int, int]],
                 max_keys: int = MAX_KEYS) -> None:
        self._clock = clock
        self._limits = sorted(limits)
        self._horizon = max((w for w, _ in self._limits), default=0)
        self._cap = max((m for _, m in self._limits), default=0)
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def retry_after(self, key: str) -> tuple[float, int, int]:
        """(seconds to wait, window, most) of the tightest limit `key` is at; (0, 0, 0) if
        one more event is allowed."""
        now = self._clock.time()
        with self._lock:
            events = self._events.get(key)
            if not events:
                return 0.0, 0, 0
            self._forget_old(events, now)
            worst = (0.0, 0, 0)
            for window, most in self._limits:
                recent = [t for t in events if t > now - window]
                if len(recent) >= most:
                    wait = recent[-most] + window - now
                    if wait > worst[0]:
                        worst = (wait, window, most)
            return worst

    def hit(self, key: str) -> None:
        """Count one event for `key`."""
        now = self._clock.time()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                events = self._events[key] = deque()
                if len(self._events) > self._max_keys:
                    self._events.popitem(last=False)
            else:
                self._events.move_to_end(key)
            events.append(now)
            self._forget_old(events, now)
            while len(events) > self._cap:  # older events cannot matter to any window
                events.popleft()

    def _forget_old(self, events: deque[float], now: float) -> None:
        while events and events[0] <= now - self._horizon:
            events.popleft()
