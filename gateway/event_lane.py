"""The event lane: devices' events on a broker session of their own, and pairing the copies.

The broker keeps one queue per session, in arrival order. With one session, a fleet flooding
readings within every per-device budget (100 devices × 9,000) sat ahead of another band's SOS
in that queue, and the SOS was confirmed after 16–22 s (red team, session 31); no ordering
inside the gateway can reach a message the broker has not handed over yet. The event lane is
a second session subscribed to `scgw/v1/+/+/event`, so the broker hands an event over at
once however long the readings' queue is — and to the readings of the kinds whose readings
alone may be an alarm (`DeviceKind.lane_readings`: a gas detector's 40 %LEL waited 16-46 s
behind another device's flood, red team round 11); those come seldom.

The main session still subscribes to everything under `scgw/v1/` (a misspelt channel must
become a dead letter, and without the lane's account the events must still arrive), so each
event (and each lane reading) reaches the gateway twice. `EventCopies` pairs the copies: the
first to arrive, on either session, is processed; its twin is acknowledged and dropped. That
is safe because the first copy is held by its own session until its effects commit
(unacknowledged, redelivered after a crash), exactly like any message. Copies are paired by
count, not merely by bytes: a device that resends the same bytes (an unconfirmed SOS) makes
a second pair, and the resend is processed like any resend — deduplicated, and confirmed
again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from devices.catalogue import CATALOGUE
from devices.topics import on_lane
from gateway.envelope import RawMessage
from gateway.mqtt import MqttIngest

MAIN, LANE = 0, 1  # which session a copy came on
# The lane's connections are numbered from here, apart from its main session's (each client
# acknowledges only its own connections' messages); an adopted pair starts further on.
LANE_GENERATIONS = 500_000_000
MAX_UNPAIRED = 100_000  # copies waiting for their twin; beyond, the oldest are forgotten
MAX_UNPAIRED_BYTES = 64 * 1024 * 1024
UNPAIRED_FOR_S = 3600.0  # a twin this late is processed (and deduplicated) like a resend
# The kinds whose readings the lane receives as well as their events.
LANE_READING_KINDS = frozenset(k.key for k in CATALOGUE.kinds.values() if k.lane_readings)


class EventCopies:
    """Pairs the two copies of each event (one per session); thread-safe.

    A copy whose twin never comes (the lane down, a shared subscription that sent the twin to
    another replica) is forgotten after `UNPAIRED_FOR_S` or beyond the size bounds; a twin
    arriving after that is processed, and deduplication recognises it. Forgetting can cost
    work, never a message.
    """

    def __init__(self, max_unpaired: int = MAX_UNPAIRED,
                 max_bytes: int = MAX_UNPAIRED_BYTES,
                 unpaired_for_s: float = UNPAIRED_FOR_S,
                 reading_kinds: frozenset[str] = frozenset()) -> None:
        self._max = max_unpaired
        self._max_bytes = max_bytes
        self._for_s = unpaired_for_s
        # The kinds whose readings the lane receives too (`DeviceKind.lane_readings`).
        self._reading_kinds = reading_kinds
        # (topic, payload) → [copies seen on main, copies seen on the lane, first arrival]
        self._unpaired: dict[tuple[str, bytes], list[float]] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def split(self, raws: Iterable[RawMessage], session: int
              ) -> tuple[list[RawMessage], list[RawMessage]]:
        """(to process, twins to acknowledge and drop) of one read on `session`."""
        process: list[RawMessage] = []
        twins: list[RawMessage] = []
        other = 1 - session
        latest = 0.0
        with self._lock:
            unpaired = self._unpaired
            for raw in raws:
                if session == MAIN and not on_lane(raw.topic, self._reading_kinds):
                    process.append(raw)
                    continue  # only what the lane also receives comes twice
                key = (raw.topic, raw.payload)
                counts = unpaired.get(key)
                if counts is None:
                    counts = [0.0, 0.0, raw.arrived]
                    unpaired[key] = counts
                    self._bytes += len(raw.payload)
                counts[session] += 1
                (twins if counts[session] <= counts[other] else process).append(raw)
                if counts[MAIN] == counts[LANE]:
                    del unpaired[key]
                    self._bytes -= len(raw.payload)
                latest = raw.arrived
            if latest:
                self._forget_old(latest)
        return process, twins

    def _forget_old(self, now: float) -> None:
        """Drop the oldest unpaired copies past the age or size bounds (lock held)."""
        unpaired = self._unpaired
        while unpaired:
            key, counts = next(iter(unpaired.items()))
            if (now - counts[2] <= self._for_s and len(unpaired) <= self._max
                    and self._bytes <= self._max_bytes):
                return
            del unpaired[key]
            self._bytes -= len(key[1])

    def __len__(self) -> int:
        return len(self._unpaired)


class Sessions:
    """Broker sessions acting as one for starting, stopping and acknowledging: a gateway's
    main session with its event lane (or a dead replica's pair, adopted)."""

    def __init__(self, *members: MqttIngest | None) -> None:
        self.members = [m for m in members if m is not None]

    def start(self) -> None:
        """Start every session."""
        for member in self.members:
            member.start()

    def stop(self) -> None:
        """Stop every session (their unacknowledged messages stay queued in the broker)."""
        for member in self.members:
            member.stop()

    def ack_many(self, raws: list[RawMessage]) -> None:
        """Each session acknowledges the messages of its own connection."""
        for member in self.members:
            member.ack_many(raws)

