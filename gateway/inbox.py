"""The inbox between the MQTT network thread and the pipeline thread."""

from __future__ import annotations

import threading
from collections import deque

from gateway.envelope import RawMessage


class Inbox:
    """What waits for the pipeline thread, in arrival order: messages, tasks, the stop mark.

    Bounded in messages only: a full inbox blocks the MQTT thread (backpressure) but never a
    timer job or an operator's call. Messages arrive a read buffer at a time, so the lock is
    taken once per read, not once per message.
    """

    def __init__(self, max_messages: int) -> None:
        self._items: deque[object] = deque()
        self._messages = 0
        self._max = max_messages
        self._cond = threading.Condition(threading.Lock())

    def put_messages(self, raws: list[RawMessage]) -> None:
        """Append messages; blocks while the inbox holds its limit."""
        with self._cond:
            while self._messages >= self._max:
                self._cond.wait()
            self._items.extend(raws)
            self._messages += len(raws)
            self._cond.notify_all()

    def put(self, item: object) -> None:
        """Append a task or the stop mark (never blocks)."""
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def take(self, max_messages: int) -> list[object]:
        """Wait for something, then take it all, up to `max_messages` messages."""
        with self._cond:
            while not self._items:
                self._cond.wait()
            items = self._items
            if self._messages <= max_messages:
                out = list(items)
                items.clear()
                taken = self._messages
            else:
                out, taken = [], 0
                while items and taken < max_messages:
                    item = items.popleft()
                    out.append(item)
                    taken += isinstance(item, RawMessage)
            self._messages -= taken
            self._cond.notify_all()
            return out

    def __len__(self) -> int:
        return self._messages
