"""Device twins: last seen, online/offline, battery and last location, updated per message."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import orjson
from pydantic import BaseModel

from devices.base import Location, Status
from gateway.envelope import Envelope
from gateway.storage.records import Twin


class TwinTracker:
    """Keeps every device's twin in memory and reports which ones changed."""

    def __init__(self, offline_timeout_s: dict[str, float],
                 clock_skew: Callable[[str], float | None] = lambda device_id: None,
                 own_timeout: Callable[[str], float | None] = lambda device_id: None) -> None:
        # A device's own offline timeout (its registration), or None: its kind's.
        self._own_timeout = own_timeout
        # A device's clock judged off (device minus gateway, seconds), or None: its fixes are
        # timed by the gateway's clock instead of its own.
        self._clock_skew = clock_skew
        self._twins: dict[str, Twin] = {}
        self._kinds: dict[str, str] = {}
        self._timeouts = offline_timeout_s
        # Kept up to date on every transition: counting 100k twins per batch would dominate.
        self._online: Counter[str] = Counter()
        self._dirty: dict[str, Twin] = {}  # changed since they were last written
        # Presence changes of the open transaction, oldest first, to put back if it fails:
        # (twin, online, source, changed at) as they were before.
        self._undo: list[tuple[Twin, bool, str | None, float | None]] = []
        # Device time of the latest reading taken into each twin (since start): an older one
        # arriving later — a backlog uploaded newest first — leaves battery and the last
        # telemetry alone (vendor round 4: a closed door showed open from a 2-hour-old one).
        self._read_at: dict[tuple[str, str], float] = {}

    def load(self, twins: list[Twin], kinds: dict[str, str]) -> None:
        """Start from stored twins; `kinds` maps device id → kind."""
        self._twins = {t.device_id: t for t in twins}
        self._kinds = dict(kinds)
        self._online = self._count_online()

    def reload(self, twins: list[Twin], device_ids: set[str], kinds: dict[str, str]) -> None:
        """Replace some devices' twins with the stored ones (another replica changed them);
        `kinds` names the kind of each."""
        for device_id in device_ids:
            old = self._twins.pop(device_id, None)
            self._dirty.pop(device_id, None)
            if old is not None and old.online:
                self._online[self._kinds.get(device_id, "unknown")] -= 1
            if device_id in kinds:
                self._kinds[device_id] = kinds[device_id]
        for twin in twins:
            self._twins[twin.device_id] = twin
            if twin.online:
                self._online[self._kinds.get(twin.device_id, "unknown")] += 1

    @property
    def timeouts(self) -> dict[str, float]:
        """Offline timeout per kind, seconds."""
        return self._timeouts

    def kind_of(self, device_id: str) -> str:
        """Kind of a device the tracker knows."""
        return self._kinds.get(device_id, "unknown")

    def get(self, device_id: str) -> Twin | None:
        """The twin of a device, if it has ever been heard from."""
        return self._twins.get(device_id)

    def apply(self, env: Envelope) -> tuple[Twin, bool]:
        """Update the twin from an accepted message; return it and whether presence changed."""
        twin = self._twins.get(env.device_id)
        if twin is None:
            twin = self._twins[env.device_id] = Twin(device_id=env.device_id)
            self._kinds[env.device_id] = env.kind
        self._dirty[env.device_id] = twin
        was_online = twin.online
        before = (twin, was_online, twin.online_source, twin.online_changed)
        payload = env.payload
        if env.channel == "status":
            assert isinstance(payload, Status)
            twin.online = payload.state == "online"
            twin.online_source = "status"
        else:
            twin.online = True
            if not was_online:
                twin.online_source = "message"
        if twin.last_seen is None or env.received_at > twin.last_seen:
            twin.last_seen = env.received_at
        if env.channel in ("telemetry", "event"):
            # The judged skew is asked for only when this message is itself far off (most
            # messages are on time: this runs for each one).
            off = env.skew_s is not None and abs(env.skew_s) > _ON_TIME_S
            at = _reading_time(env, self._clock_skew(env.device_id) if off else None)
            # Per channel: an urgent event jumps the queue (the event lane) and is applied
            # before readings sent earlier; it must not make them look stale.
            key = (env.device_id, env.channel)
            last = self._read_at.get(key)
            newest = last is None or at >= last
            if newest:
                self._read_at[key] = at
            _absorb_readings(twin, env, payload, at, newest=newest)
        changed = twin.online != was_online
        if changed:
            self._undo.append(before)
            twin.online_changed = env.received_at
            self._online[self._kinds.get(env.device_id, "unknown")] += 1 if twin.online else -1
        return twin, changed

    def sweep(self, now: float) -> list[Twin]:
        """Mark devices silent past their kind's timeout offline; return those that changed."""
        changed = []
        for device_id, twin in self._twins.items():
            if not twin.online or twin.last_seen is None:
                continue
            timeout = self._timeout_of(device_id)
            if timeout is not None and now - twin.last_seen > timeout:
                self._undo.append((twin, True, twin.online_source, twin.online_changed))
                twin.online = False
                twin.online_source = "timeout"
                twin.online_changed = now
                changed.append(twin)
                self._dirty[device_id] = twin
                self._online[self._kinds.get(device_id, "unknown")] -= 1
        return changed

    def presence_mark(self) -> int:
        """Where the open transaction's presence changes stand (see `presence_rolled_back`)."""
        return len(self._undo)

    def presence_committed(self) -> None:
        """The transaction committed: its presence changes stand."""
        self._undo.clear()

    def presence_rolled_back(self, mark: int = 0) -> None:
        """The transaction (or, from `mark`, one message's savepoint) failed: put back the
        presence it changed, so that its retry sees the same changes and stores them (a
        status message is stored only when it changes presence)."""
        undo = self._undo
        while len(undo) > mark:
            twin, online, source, changed_at = undo.pop()
            if self._twins.get(twin.device_id) is not twin:
                continue  # reloaded since (replicas): the stored twin stands
            if twin.online != online:
                self._online[self._kinds.get(twin.device_id, "unknown")] += 1 if online else -1
            twin.online, twin.online_source, twin.online_changed = online, source, changed_at

    def overdue(self, now: float) -> list[str]:
        """Devices online here whose last message is older than their timeout."""
        return [d for d, t in self._twins.items() if t.online and t.last_seen is not None
                and (timeout := self._timeout_of(d)) is not None
                and now - t.last_seen > timeout]

    def _timeout_of(self, device_id: str) -> float | None:
        """The device's own offline timeout, else its kind's (None: never by silence)."""
        return self._own_timeout(device_id) or self._timeouts.get(
            self._kinds.get(device_id, ""), None)

    def take_dirty(self) -> list[Twin]:
        """The twins changed since the last call (the caller writes them)."""
        dirty = list(self._dirty.values())
        self._dirty = {}
        return dirty

    def online_counts(self) -> Counter[str]:
        """Devices online per kind."""
        return Counter(+self._online)

    def _count_online(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for device_id, twin in self._twins.items():
            if twin.online:
                counts[self._kinds.get(device_id, "unknown")] += 1
        return counts


def _fields(model: type[BaseModel]) -> frozenset[str]:
    found = _FIELDS.get(model)
    if found is None:
        found = _FIELDS[model] = frozenset(model.model_fields)
    return found


_FIELDS: dict[type[BaseModel], frozenset[str]] = {}


# A message this close to the gateway's clock is timed by its own `ts` whatever its device's
# clock was judged (the correction below only matters for a skew like the one judged).
_ON_TIME_S = 600.0


def _reading_time(env: Envelope, skew_s: float | None) -> float:
    """When a reading was taken. Never after it arrived: an SOS from a clock years ahead
    (accepted whatever its time) would otherwise have frozen the position for every later
    fix, and shown it to the next wearer's family as newer than the band's binding to her.
    A clock judged slow (a band whose RTC came back at its firmware date after a battery
    swap, months behind) has its readings timed by its skew: every fix it sent looked older
    than the last good one, and the family's "where is he now" froze (vendor round 3). Only
    a message whose own skew is that one (within 10 min): one sent after the clock was set
    right, or buffered before it went wrong, keeps its own time."""
    if skew_s is not None and env.skew_s is not None \
            and abs(env.skew_s - skew_s) < _ON_TIME_S:
        return min(env.ts - skew_s, env.received_at)
    return min(env.ts, env.received_at)


# A recent fix far finer than a newer coarse one that agrees with it stays the elder's place.
BETTER_FIX_S = 300.0
_M_PER_DEG = 111_320.0


def _better_fix_holds(twin: Twin, fix: Location, fix_ts: float) -> bool:
    """Whether the twin's fix, at most BETTER_FIX_S older, at least twice as fine and inside
    the new fix's circle, still says better where the device is (vendor round 10: a band's
    ±1,500 m cell fix 20 s after a ±6 m GPS fix at home moved the family's dot 1.1 km into
    another neighbourhood — the circle held home all along). The stored trail keeps both."""
    lat, lon, held = twin.lat, twin.lon, twin.accuracy_m
    if lat is None or lon is None or held is None or twin.location_ts is None:
        return False
    if fix_ts - twin.location_ts > BETTER_FIX_S or held * 2 > fix.accuracy_m:
        return False
    dy = (fix.lat - lat) * _M_PER_DEG
    dx = (fix.lon - lon) * _M_PER_DEG * math.cos(math.radians(lat))
    return math.hypot(dx, dy) <= fix.accuracy_m


def _absorb_readings(twin: Twin, env: Envelope, payload: BaseModel, fix_ts: float, *,
                     newest: bool) -> None:
    # getattr on a field the model lacks goes through pydantic's slow __getattr__ and an
    # exception; asking the model's field set first is far cheaper.
    fields = _fields(type(payload))
    battery = payload.battery_pct if "battery_pct" in fields else None  # type: ignore[attr-defined]
    if battery is not None and newest:
        twin.battery_pct = battery
    location = payload.location if "location" in fields else None  # type: ignore[attr-defined]
    # Only a newer fix replaces the last one: buffered readings can arrive out of order.
    if isinstance(location, Location) and (twin.location_ts is None or fix_ts >= twin.location_ts) \
            and not _better_fix_holds(twin, location, fix_ts):
        twin.lat, twin.lon = location.lat, location.lon
        twin.accuracy_m = location.accuracy_m
        twin.location_source = location.source
        twin.location_ts = fix_ts
    if env.channel == "telemetry" and newest:
        # Our JSON contract's bytes were just validated: parsing them again (C) is several
        # times cheaper than dumping the model. Vendor payloads, and ours when repaired (GBK
        # text, a placeholder left out: the bytes are not what was read; vendor round 11: a
        # GBK reading crashed here), are dumped from the model.
        twin.last_telemetry = (
            orjson.loads(env.raw.payload) if env.device.codec == "json" and env.salvaged is None
            and not getattr(payload, "STORED_AS_READ", False)
            else payload.model_dump(mode="json", exclude_none=True))
