"""A wearer's day: when they go to the park, market or clinic, and the path they walk."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from simulators.community.geo import Point, distance, random_point
from simulators.community.model import Community, Resident


@dataclass(frozen=True)
class Outing:
    """Leave home at `start` (local), stay `stay_s` at `place`, then walk home."""

    start: datetime
    place: str
    stay_s: float


def plan_day(rng: random.Random, resident: Resident, day: date, tz: ZoneInfo) -> list[Outing]:
    """Outings of one day; frail people go out less, the chronically ill see the clinic more."""
    frail = bool({"limited_mobility", "disabled"} & set(resident.tags))
    options = [  # (probability, earliest hour, latest hour, place, stay minutes range)
        (0.25 if frail else 0.6, 6.5, 7.2, "park", (30, 60)),
        (0.1 if frail else 0.5, 8.3, 9.5, "market", (20, 45)),
        (0.3 if "chronic_illness" in resident.tags else 0.12, 9.0, 10.0, "clinic", (30, 70)),
        (0.35 if frail else 0.6, 15.0, 16.0, "park", (40, 90)),
        (0.05 if frail else 0.3, 19.0, 19.6, "park", (20, 40)),
    ]
    outings = []
    for p, lo, hi, place, (smin, smax) in options:
        if rng.random() < p:
            hour = rng.uniform(lo, hi)
            start = datetime.combine(day, time(int(hour), int(hour % 1 * 60)), tzinfo=tz)
            outings.append(Outing(start, place, rng.uniform(smin, smax) * 60))
    return outings


def route(community: Community, origin: Point, place: str, rng: random.Random) -> list[Point]:
    """Waypoints from origin to a spot in `place` ('home:<resident>' or a place id),
    through the nearest gate when crossing the compound boundary."""
    if place.startswith("home:"):
        target = community.home(place.removeprefix("home:"))
    else:
        target = random_point(community.poi(place).polygon, rng)
    waypoints: list[Point] = []
    if community.inside_compound(origin) != community.inside_compound(target):
        gate = min(community.gates,
                   key=lambda g: distance(origin, g.at) + distance(g.at, target))
        waypoints.append(gate.at)
    waypoints.append(target)
    return waypoints


def gate_at(community: Community, point: Point) -> str | None:
    """The gate at this waypoint, if it is one (for door-controller coupling)."""
    for gate in community.gates:
        if distance(gate.at, point) < 0.5:
            return gate.id
    return None


def day_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight of the day containing `now`."""
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def next_day(day: date) -> date:
    """The calendar day after."""
    return day + timedelta(days=1)
