"""`geofence`: a wearer outside (or inside) named zones, damped by dwell time and fix accuracy."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from devices.base import DeviceKind, Location
from rules.conditions.base import (
    CompileEnv,
    ConditionError,
    ConditionModel,
    Effects,
    Evaluator,
    State,
    signal_keys,
)
from rules.ports import Message, Polygon

if TYPE_CHECKING:
    from rules.model import Rule, Zone

SITE_ZONE = "{site}"  # stands for the zone named after the device's site
RESIDENT_ZONES = "{resident}"  # the safe zones drawn for the wearer (family page, console)
_EARTH_M = 6_371_000.0

Shape = Callable[[float, float], bool]


class GeofenceCondition(ConditionModel):
    """Fires after `dwell_s` of good fixes outside all zones (or inside any), clears on return."""

    type: Literal["geofence"] = "geofence"
    zones: list[str] = Field(
        min_length=1,
        description="Zone names; `{site}`: the zone named after the device's site; "
                    "`{resident}`: the safe zones drawn for the wearer",
    )
    trigger: Literal["outside", "inside"] = Field(
        "outside", description="outside: left every zone; inside: entered any zone"
    )
    dwell_s: float = Field(
        60, ge=0, le=86_400, description="How long it must stay so before firing (GPS jitter)"
    )
    max_accuracy_m: float = Field(
        100, gt=0, description="Fixes less accurate than this count only when their whole "
        "accuracy circle lies outside every zone (trigger `outside`); otherwise ignored"
    )


def shape(zone: Zone) -> Shape:
    """A point-in-zone test for a polygon or a circle."""
    if zone.circle is not None:
        from_circle = gap(zone)
        return lambda lat, lon: from_circle(lat, lon) == 0.0
    return polygon_shape([(lat, lon) for lat, lon in zone.polygon or []])


def polygon_shape(corners: list[tuple[float, float]] | tuple[tuple[float, float], ...]) -> Shape:
    """A point-in-polygon test (ray casting) over [lat, lon] corners."""

    def in_polygon(lat: float, lon: float) -> bool:
        inside = False
        j = len(corners) - 1
        for i, (yi, xi) in enumerate(corners):
            yj, xj = corners[j]
            if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside

    return in_polygon


Gap = Callable[[float, float], float]  # metres from a point to a zone (0 inside it)


def gap(zone: Zone) -> Gap:
    """How far a point lies outside a zone, metres (0 inside)."""
    if zone.circle is not None:
        c = zone.circle
        cos_lat = math.cos(math.radians(c.lat))

        def from_circle(lat: float, lon: float) -> float:
            # Equirectangular distance: exact enough for community-sized circles.
            dx = math.radians(lon - c.lon) * cos_lat * _EARTH_M
            dy = math.radians(lat - c.lat) * _EARTH_M
            return max(0.0, math.hypot(dx, dy) - c.radius_m)

        return from_circle
    return polygon_gap([(lat, lon) for lat, lon in zone.polygon or []])


def polygon_gap(corners: list[tuple[float, float]] | tuple[tuple[float, float], ...]) -> Gap:
    """How far a point lies outside a polygon of [lat, lon] corners, metres (0 inside)."""
    inside = polygon_shape(corners)

    def from_polygon(lat: float, lon: float) -> float:
        if inside(lat, lon):
            return 0.0
        cos_lat = math.cos(math.radians(lat))
        # Corners in metres around the point (equirectangular: community-sized zones).
        pts = [(math.radians(x - lon) * cos_lat * _EARTH_M, math.radians(y - lat) * _EARTH_M)
               for y, x in corners]
        return min((_to_segment(pts[i - 1], pts[i]) for i in range(len(pts))),
                   default=math.inf)

    return from_polygon


def _to_segment(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance from the origin to the segment a-b."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


class GeofenceEvaluator(Evaluator):
    """State: `cand` (since when the fixes say "violating"), `on`; the timer sits at cand+dwell."""

    cond: GeofenceCondition

    def __init__(self, cond: GeofenceCondition, rule: Rule, fx: Effects, env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        self._shapes = {name: shape(zone) for name, zone in env.zones.items()}
        self._drawn: dict[Polygon, Shape] = {}
        for name in cond.zones:
            if name not in (SITE_ZONE, RESIDENT_ZONES) and name not in env.zones:
                raise ConditionError("zones", f"unknown zone {name!r}; defined: "
                                              f"{sorted(env.zones)}")

    def keys(self, kind: DeviceKind) -> set[str]:
        """Messages that carry a location."""
        return signal_keys(kind, "location", "zones")

    def _tests(self, site: str, resident_id: str | None) -> list[Shape]:
        tests = []
        for name in self.cond.zones:
            if name == RESIDENT_ZONES:
                if resident_id:
                    for polygon in self.env.residents.safe_zones(resident_id):
                        test = self._drawn.get(polygon)
                        if test is None:
                            test = self._drawn[polygon] = polygon_shape(polygon)
                        tests.append(test)
                continue
            test = self._shapes.get(site if name == SITE_ZONE else name)
            if test is not None:
                tests.append(test)
        return tests

    def _violating(self, site: str, resident_id: str | None, loc: Location) -> bool | None:
        tests = self._tests(site, resident_id)
        if not tests:
            return None  # no zone applies to this device's site: the rule does not apply
        found = any(test(loc.lat, loc.lon) for test in tests)
        return not found if self.cond.trigger == "outside" else found

    def _surely_outside(self, site: str, resident_id: str | None, loc: Location) -> bool | None:
        """For a coarse fix (a cell or Wi-Fi position): True when its whole accuracy circle
        lies outside every zone, None when it cannot say (vendor round 5: a band without
        GPS, 2.5 km from home ± 800 m, never raised the wandering alarm)."""
        if self.cond.trigger != "outside":
            return None
        gaps = self._gaps(site, resident_id)
        if not gaps or any(g(loc.lat, loc.lon) <= loc.accuracy_m for g in gaps):
            return None
        return True

    def _gaps(self, site: str, resident_id: str | None) -> list[Gap]:
        found = []
        for name in self.cond.zones:
            if name == RESIDENT_ZONES:
                found += [polygon_gap(p) for p in self.env.residents.safe_zones(resident_id)
                          ] if resident_id else []
                continue
            zone = self.env.zones.get(site if name == SITE_ZONE else name)
            if zone is not None:
                found.append(gap(zone))
        return found

    def on_message(self, msg: Message, now: float) -> None:
        """A position fix."""
        loc = msg.value("location")
        if not isinstance(loc, Location):
            return
        if loc.accuracy_m > self.cond.max_accuracy_m:
            violating = self._surely_outside(msg.subject.site, msg.subject.resident_id, loc)
        else:
            violating = self._violating(msg.subject.site, msg.subject.resident_id, loc)
        if violating is None:
            return
        st = self.states.get(msg.device_id)
        if st is None:
            if not violating:
                return
            st = self.state(msg.device_id)
        data = st.data
        if violating:
            if data.get("on"):
                return
            if data.get("cand") is None:
                data["cand"] = now
                st.due = now + self.cond.dwell_s
                self.fx.persist(self.rule, st)
                self.fx.wake(self.rule, st)
            data["fix"] = [loc.lat, loc.lon, loc.accuracy_m]
            if now >= data["cand"] + self.cond.dwell_s:
                self._fire(st, now, msg)
        elif data.get("on") or data.get("cand") is not None:
            was_on = data.get("on", False)
            data.clear()
            st.due = None
            self.fx.persist(self.rule, st)
            if was_on and self.rule.options.auto_clear:
                self.fx.clear(self.rule, msg.device_id, now, "back within bounds")

    def on_timer(self, st: State, now: float) -> None:
        """Dwell reached without a fix contradicting it."""
        st.due = None
        if st.data.get("cand") is not None and not st.data.get("on"):
            self._fire(st, now, None)

    def _fire(self, st: State, now: float, msg: Message | None) -> None:
        st.data["on"] = True
        st.due = None
        self.fx.persist(self.rule, st)
        self.fx.fire(self.rule, st.device_id, now, msg=msg,
                     detail={"fix": st.data.get("fix"), "since": st.data.get("cand"),
                             "trigger": self.cond.trigger})
