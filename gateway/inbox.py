"""The inbox between the MQTT network thread and the pipeline thread."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from gateway.envelope import RawMessage
from gateway.urgency import device_of

# How often a thread waiting for room runs its `while_blocked` duty.
BLOCKED_DUTY_S = 0.05
# Bytes one express take carries at most (its first device's backlog always goes): read at
# the costliest measured rate (~1 ms a KiB) that is a quarter of a second of the writer.
EXPRESS_BYTES = 256 * 1024
_duties = threading.local()


def while_blocked(duty: Callable[[], None] | None) -> None:
    """What the calling thread must keep doing while it waits for room in an inbox (a network
    thread: send what is queued for the broker — confirmations, commands, pings). A blocked
    network thread held a band's confirmation back 2.3 s behind its own 9,000 buffered
    readings (red team round 3), and could miss its keepalive behind a stalled writer."""
    _duties.duty = duty


class Inbox:
    """What waits for the pipeline thread, in arrival order: messages, tasks, the stop mark.

    Bounded in messages only: a full inbox blocks the MQTT thread (backpressure) but never a
    timer job or an operator's call. Messages arrive a read buffer at a time, so the lock is
    taken once per read, not once per message.

    An urgent event (`urgent(raw)` names its device) jumps the queue: the next `take` returns
    it together with the earlier waiting messages of the same device, in their order, so no
    device's messages are ever reordered — only other devices' telemetry waits a batch longer.
    """

    def __init__(self, max_messages: int,
                 urgent: Callable[[RawMessage], str | None] | None = None,
                 installed: Callable[[str], bool] | None = None) -> None:
        self._items: deque[object] = deque()
        self._messages = 0
        self._max = max_messages
        self._urgent = urgent
        # Whether a device serves someone (bound, in service): its urgent events go first.
        self._installed = installed or (lambda device_id: True)
        # The urgent messages waiting, by object id: judged once, when they arrive.
        self._urgent_ids: dict[int, str] = {}
        # The urgent marks of the last express take, for the taker to check once it has read
        # them (gateway/urgency.py: a device whose looks lie loses its place in front).
        self.express_marks: dict[int, tuple[RawMessage, str]] = {}
        self._cond = threading.Condition(threading.Lock())

    def put_messages(self, raws: list[RawMessage], *, lane: bool = False) -> None:
        """Append messages; blocks while the inbox holds its limit. The event lane's
        messages may take the inbox to twice its limit: a flood of readings that filled it
        must not hold the lane's thread (and its SOS) back."""
        limit = self._max * 2 if lane else self._max
        duty: Callable[[], None] | None = getattr(_duties, "duty", None)
        while True:
            with self._cond:
                if self._messages >= limit and not lane:
                    raws = self._urgent_past_limit(raws)
                    if not raws:
                        return
                if self._messages >= limit:
                    self._cond.wait(BLOCKED_DUTY_S if duty is not None else None)
                if self._messages < limit:
                    self._items.extend(raws)
                    self._arrived(raws)
                    return
            if duty is not None:
                duty()  # outside the lock: it writes to a socket

    def _urgent_past_limit(self, raws: list[RawMessage]) -> list[RawMessage]:
        """Before the main session waits for room (lock held): its urgent messages, with the
        other messages of their devices in this read, go in now — to twice the limit, as the
        event lane's do — and the rest is returned to wait. A reading's `"sos": 1` stalled
        10 s on a full inbox behind one device's flood, where the lane's SOS took 1 s (red
        team round 10). No device's messages are reordered: all of its are taken."""
        if self._urgent is None or self._messages >= self._max * 2:
            return raws
        marks = [self._urgent(raw) for raw in raws]
        devices = {d for d in marks if d is not None}
        if not devices:
            return raws
        now: list[RawMessage] = []
        rest: list[RawMessage] = []
        now_marks: list[str | None] = []
        for raw, mark in zip(raws, marks, strict=True):
            if mark is not None or device_of(raw.topic) in devices:
                now.append(raw)
                now_marks.append(mark)
            else:
                rest.append(raw)
        self._items.extend(now)
        self._arrived(now, now_marks)
        return rest

    def put_back(self, raws: list[RawMessage]) -> None:
        """Return taken messages to the front, in their order (never blocks: they were in
        the inbox a moment ago)."""
        with self._cond:
            self._items.extendleft(reversed(raws))
            self._arrived(raws)

    def _arrived(self, raws: list[RawMessage],
                 marks: list[str | None] | None = None) -> None:
        """Count messages just queued and note the urgent ones (lock held; `marks`: their
        urgent devices, already judged)."""
        self._messages += len(raws)
        if self._urgent is not None:
            judged = marks if marks is not None else map(self._urgent, raws)
            for raw, device_id in zip(raws, judged, strict=False):
                if device_id is not None:
                    self._urgent_ids[id(raw)] = device_id
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
            self.express_marks = {}
            if self._urgent_ids:
                express = self._take_urgent(max_messages)
                if express:
                    return express
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

    def _take_urgent(self, max_messages: int) -> list[object]:
        """The waiting urgent events with their devices' earlier messages (lock held): the
        device with the fewest messages before its urgent one first, at most `max_messages`
        in all. A device's backlog is never split from its order, but an attacker's thousands
        of readings ahead of its own urgent event no longer ride in front of another
        family's SOS (red team round 8: 91 s); what does not fit stays for the next take,
        its urgent mark with it."""
        items = list(self._items)
        urgent = self._urgent_ids
        last: dict[str, int] = {}
        for i, item in enumerate(items):
            device_id = urgent.get(id(item))
            if device_id is not None:
                last[device_id] = i
        backlog: dict[str, list[int]] = {device_id: [] for device_id in last}
        for i, item in enumerate(items):
            if isinstance(item, RawMessage):
                # A dialect's topic names its device elsewhere: the urgent mark says which.
                device_id = urgent.get(id(item)) or device_of(item.topic)
                if device_id in last and i <= last[device_id]:
                    backlog[device_id].append(i)
        size = {d: sum(len(items[i].payload) for i in ids)  # type: ignore[attr-defined]
                for d, ids in backlog.items()}
        taken: list[int] = []
        took_bytes = 0
        # Installed devices' first (a fleet of uninstalled bands whose "SOS" were each a few
        # bytes smaller rode in front of a watch's 4.9 KB SOS with its Wi-Fi scan: red team
        # round 10, 9-13 s); then the shortest way to an urgent event in bytes (what it costs
        # to read), then in messages, then by arrival: a vendor's fleet of 64 KB "SOS" that
        # arrived first rode in front of a band's 60-byte press (round 9: 8-33 s).
        serves = {d: self._installed(d) for d in last}
        for device_id in sorted(last, key=lambda d: (not serves[d], size[d], len(backlog[d]),
                                                     last[d])):
            room = max_messages - len(taken)
            if room <= 0 or (taken and took_bytes + size[device_id] > EXPRESS_BYTES):
                break
            taken += backlog[device_id][:room]
            took_bytes += size[device_id]
        if not taken:
            urgent.clear()  # marks of nothing waiting: the inbox goes on in arrival order
            return []
        chosen = set(taken)
        express = [items[i] for i in taken]
        self._items = deque(item for i, item in enumerate(items) if i not in chosen)
        self._messages -= len(express)
        marks = self.express_marks
        for item in express:
            mark = urgent.pop(id(item), None)
            if mark is not None:
                marks[id(item)] = (item, mark)  # type: ignore[assignment]
        self._cond.notify_all()
        return express

    def urgent_waiting(self) -> bool:
        """Whether an urgent event waits (read without the lock: a hint for a long batch to
        make room, not a decision)."""
        return bool(self._urgent_ids)

    def __len__(self) -> int:
        return self._messages
