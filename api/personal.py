"""Personal data in responses: which fields are a resident's location or vitals, and the audit.

Every route whose response model carries one of `PERSONAL_FIELDS` must take the `Audit`
dependency and record what it disclosed; `check_routes` refuses to build an app where one
does not, so a new route cannot forget. The audit row is committed before the response
leaves: if it cannot be written, the caller gets an error instead of the data (fail closed).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from api.deps import CurrentUser, GatewayDep
from gateway.abuse import SlidingLimiter
from gateway.clock import Clock
from gateway.service import Gateway
from gateway.storage.audit import AccessRecord, residents_of
from gateway.storage.tx import StoreTx
from gateway.users import User

VITALS: tuple[str, ...] = ("heart_rate_bpm", "spo2_pct", "systolic_mmhg", "diastolic_mmhg",
                           "glucose_mmol_l", "body_temp_c")
LOCATION: tuple[str, ...] = ("lat", "lon", "accuracy_m", "location", "polygon")
# Containers that hold a device's readings (vitals and fixes among them) as free-form maps.
READINGS: tuple[str, ...] = ("last_telemetry", "values")
PERSONAL_FIELDS: frozenset[str] = frozenset((*VITALS, *LOCATION, *READINGS))
# The vendor fields a dialect did not map, kept as they came: their meaning is unknown
# (`hr_avg`, a Wi-Fi BSSID, a cell id), so the whole container counts as personal.
UNMAPPED = "extra"
# Residents named in a device's events (who opened the door, whose parcel): the community's
# to know, never the device's vendor's.
PEOPLE: frozenset[str] = frozenset(("resident_id", "recipient_id", "host_resident_id"))
# Who came to see whom, and which car: the community's to know, never the hardware vendor's
# (red team round 12: an installed door controller's vendor read each visitor and the
# resident visited, a camera's vendor every licence plate). The control room keeps them.
VISITS: frozenset[str] = frozenset(("visitor_id", "plate"))
# Keys removed from a device's readings when they must not be disclosed.
PERSONAL_READING_KEYS: frozenset[str] = frozenset(
    (*VITALS, "location", "location_lat", "location_lon", "location_accuracy_m",
     "location_source", UNMAPPED, "steps", "worn"))
# What a home device's readings say of the life in it — breathing, someone in bed or in the
# room, lying still, the flat's door open at 05:00: never its vendor's once it serves someone
# (vendor round 11: a sleep belt's vendor read a lone elder's breathing, 14 → 0).
HOME_LIFE: frozenset[str] = frozenset(("breath_rpm", "presence", "in_bed", "posture", "stay_s",
                                       "target_count", "door_open", "occupied"))
_VENDOR_WITHHELD = PERSONAL_READING_KEYS | HOME_LIFE | VISITS
# Every field whose value a vendor never sees once its device serves someone or is installed
# (what `redact_deep` leaves out), and whose value a note that names it must not quote to
# anyone who reads it unaudited (api/notes.py).
WITHHELD_VALUES: frozenset[str] = _VENDOR_WITHHELD | frozenset(LOCATION) | PEOPLE


# Refused reaches for someone's data an account may make a minute, each with its audit row;
# past that they are answered 429 and counted on the next row, not written one row each
# (red team round 5: one family login asking for made-up elders with 60 KB ids wrote 18.8 MB
# of audit rows a second, 1.6 TB a day — until the disk, and every SOS with it, stopped).
REFUSED_PER_MINUTE = 30
ID_SHOWN_MAX = 64  # characters of an asked-for id an audit row keeps


class RefusedReads:
    """Counts each account's refused reaches for someone's data (in memory, bounded)."""

    def __init__(self, clock: Clock) -> None:
        self._limiter = SlidingLimiter(clock, [(60, REFUSED_PER_MINUTE)])
        self._unwritten: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, actor: str) -> tuple[float, int]:
        """(0, refusals not written since the last row) when this one gets a row; else
        (seconds to wait, 0), and it is counted for the next row."""
        wait = self._limiter.retry_after(actor)[0]
        with self._lock:
            if wait > 0:
                if len(self._unwritten) < 100_000 or actor in self._unwritten:
                    self._unwritten[actor] = self._unwritten.get(actor, 0) + 1
                return wait, 0
            self._limiter.hit(actor)
            return 0.0, self._unwritten.pop(actor, 0)


# A family account's reads that disclose the same thing again within REPEAT_WINDOW_S share
# the first one's audit row; the next row written says how many were folded. It gets
# FAMILY_READS_PER_MINUTE reads of its elders' data a minute (its page makes about ten), then
# 429 (red team round 6: one family login polling its elder's location wrote 476 rows a
# second, 5.7 GB a day). Staff keep a row per read and are never refused: they answer for
# each look, and an operator on an emergency reads freely.
REPEAT_WINDOW_S = 60.0
FAMILY_READS_PER_MINUTE = 120
_KEYS_MAX = 100_000


class RepeatedReads:
    """Which allowed reads get an audit row of their own (in memory, bounded)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._limiter = SlidingLimiter(clock, [(60, FAMILY_READS_PER_MINUTE)])
        self._last: dict[tuple[Any, ...], float] = {}
        self._folded: dict[tuple[Any, ...], int] = {}
        self._lock = threading.Lock()

    def admit(self, user: User, key: tuple[Any, ...]) -> tuple[float, int | None]:
        """(seconds to wait, None) when the account is over its reads; else (0, None) when
        the read is folded into a recent row, or (0, reads folded since) for a row."""
        wait = self._limiter.retry_after(user.username)[0]
        if wait > 0:
            return wait, None
        self._limiter.hit(user.username)
        now = self._clock.time()
        with self._lock:
            last = self._last.get(key)
            if last is not None and 0 <= now - last < REPEAT_WINDOW_S:
                self._folded[key] = self._folded.get(key, 0) + 1
                return 0.0, None
            if len(self._last) >= _KEYS_MAX:
                self._last.clear()
                self._folded.clear()
            self._last[key] = now
            return 0.0, self._folded.pop(key, 0)


class Auditor:
    """Records, for one request, whose personal data the response carries."""

    def __init__(self, gw: Gateway, user: User, client_addr: str,
                 refusals: RefusedReads | None = None,
                 repeats: RepeatedReads | None = None) -> None:
        self._gw = gw
        self.user = user
        self.client_addr = client_addr
        self.recorded = 0
        self._refusals = refusals
        self._repeats = repeats

    def disclosed(self, action: str, residents: Iterable[str | None], *,
                  device_id: str | None = None, range_from: float | None = None,
                  range_to: float | None = None, detail: str = "") -> None:
        """One row for a response that carries these residents' data (none: no row)."""
        subjects = residents_of(residents)
        if not subjects:
            return
        if self._repeats is not None and self.user.role == "family":
            # Per address too: a second login elsewhere is a look of its own (red team
            # round 6 re-check: its reads left no row).
            key = (self.user.username, self.client_addr, action, subjects, device_id,
                   range_from, range_to, detail)
            wait, folded = self._repeats.admit(self.user, key)
            if wait > 0:
                raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                                    "too many reads of your elders' data: try again shortly",
                                    headers={"Retry-After": str(math.ceil(wait))})
            if folded is None:
                self.recorded += 1  # on record: the row of the same read this minute
                return
            if folded:
                detail = (f"{detail} " if detail else "") + (
                    f"(+{folded} identical reads within {REPEAT_WINDOW_S:.0f} s of the "
                    "previous row)")
        self._write(action, subjects, allowed=True, device_id=device_id,
                    range_from=range_from, range_to=range_to, detail=detail)

    def refused(self, action: str, resident_id: str | None, detail: str,
                device_id: str | None = None) -> None:
        """A refused reach for someone's data (e.g. another family's elder); HTTP 429 past
        REFUSED_PER_MINUTE of the account's."""
        wait, unwritten = self._refusals.admit(self.user.username) \
            if self._refusals is not None else (0.0, 0)
        if wait > 0:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                                "too many refused requests for other people's data",
                                headers={"Retry-After": str(math.ceil(wait))})
        if resident_id is not None and len(resident_id) > ID_SHOWN_MAX:
            resident_id = resident_id[:ID_SHOWN_MAX] + "…"
        if unwritten:
            detail += f" (+{unwritten} more refused, answered 429, not recorded one by one)"
        self._write(action, residents_of([resident_id]), allowed=False, device_id=device_id,
                    detail=detail[:500])

    def wrote(self, action: str, resident_id: str, detail: str,
              tx: StoreTx | None = None) -> None:
        """A change to a resident's personal data (e.g. a safe zone): in the transaction of
        the change when one is given, else in its own."""
        if tx is None:
            self._write(action, (resident_id,), allowed=True, detail=detail)
            return
        tx.audit.record_access(self._record(action, (resident_id,), allowed=True,
                                            detail=detail))
        self.recorded += 1

    def _write(self, action: str, subjects: tuple[str, ...], *, allowed: bool,
               device_id: str | None = None, range_from: float | None = None,
               range_to: float | None = None, detail: str = "") -> None:
        self._gw.audit.record_access(self._record(
            action, subjects, allowed=allowed, device_id=device_id, range_from=range_from,
            range_to=range_to, detail=detail))
        self.recorded += 1

    def _record(self, action: str, subjects: tuple[str, ...], *, allowed: bool,
                device_id: str | None = None, range_from: float | None = None,
                range_to: float | None = None, detail: str = "") -> AccessRecord:
        return AccessRecord(
            at=self._gw.clock.time(), actor=self.user.username, role=self.user.role,
            action=action, allowed=allowed, residents=subjects, device_id=device_id,
            range_from=range_from, range_to=range_to, detail=detail,
            client_addr=self.client_addr)


def client_address(request: Request) -> str:
    """The caller's address (forwarded headers count only from configured proxies)."""
    return request.client.host if request.client else ""


def get_auditor(request: Request, gw: GatewayDep, user: CurrentUser) -> Auditor:
    """The request's auditor."""
    return Auditor(gw, user, client_address(request),
                   getattr(request.app.state, "refused_reads", None),
                   getattr(request.app.state, "repeated_reads", None))


Audit = Annotated[Auditor, Depends(get_auditor)]


def personal_fields(model: Any) -> set[str]:
    """Personal field names anywhere in a response model's JSON Schema."""
    try:
        schema = TypeAdapter(model).json_schema(mode="serialization")
    except TypeError:
        return set()
    return set(schema_personal_fields(schema))


def schema_personal_fields(schema: Any) -> Iterator[str]:
    """Walk a JSON Schema (with or without $defs) for property names in PERSONAL_FIELDS."""
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name in PERSONAL_FIELDS:
                yield name
            yield from schema_personal_fields(sub)
        for key, value in schema.items():
            if key != "properties":
                yield from schema_personal_fields(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from schema_personal_fields(item)


def _takes_auditor(route: APIRoute) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call is get_auditor:
            return True
        stack.extend(dep.dependencies)
    return False


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI may keep them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from api_routes(nested.routes)


def check_routes(app: FastAPI) -> None:
    """Refuse an app in which a route returns personal data without the audit dependency."""
    missing = [
        f"{sorted(route.methods)} {route.path}"
        for route in api_routes(app.routes)
        if route.response_model is not None
        and personal_fields(route.response_model) and not _takes_auditor(route)
    ]
    if missing:
        raise RuntimeError(f"routes return personal data without auditing it: {missing}")


def redact_readings(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """A device's readings as its vendor may see them: without vitals, position and what
    they say of the life at home."""
    if values is None:
        return None
    return {k: v for k, v in values.items() if k not in _VENDOR_WITHHELD}


def holds_personal(value: Any) -> bool:
    """Whether a free-form value (a command result, a payload) carries a position or vital
    sign at any depth."""
    if isinstance(value, dict):
        return any(k in PERSONAL_READING_KEYS or k in LOCATION or holds_personal(v)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(holds_personal(v) for v in value)
    return False


def vendor_blind(user: User, device: Any) -> bool:
    """Whether a vendor sees nothing in the device's own words: it serves or served a
    resident, or the community installed it — a door controller's unlocks and a locker's
    parcels name residents, and once installed the device is the community's."""
    return user.role == "vendor" and (device.holds_personal or device.installed)


def vendor_unbound(user: User, device: Any) -> bool:
    """Whether a vendor must not see whom its device serves nor where they live: the band's
    building and unit are the elder's home (red team round 2). Site and grid stay."""
    return user.role == "vendor" and device.holds_personal


def redact_deep(value: Any) -> Any:
    """A free-form value without positions, vital signs, the life at home or residents'
    ids, at any depth."""
    if isinstance(value, dict):
        return {k: redact_deep(v) for k, v in value.items() if k not in WITHHELD_VALUES}
    if isinstance(value, list):
        return [redact_deep(v) for v in value]
    return value


def declared_only(value: Any, declared: Iterable[str]) -> Any:
    """A device's free-form answer (a command result) as a vendor may see it once the device
    serves someone: only the fields our model declares for it, without positions or vital
    signs; the rest is in the device's own words and may be anything (a fix, a heart rate)."""
    if not isinstance(value, dict):
        return None
    wanted = frozenset(declared)
    return redact_deep({k: v for k, v in value.items() if k in wanted})
