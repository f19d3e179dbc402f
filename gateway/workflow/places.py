"""Where a ticket is, in words a grid worker can walk to: the place (park, market, building)
that contains a point of the site map, and a route hint from the nearest gate."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

M_PER_DEG_LAT = 111_320.0
DIRECTIONS_ZH = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")
DIRECTIONS_EN = ("north", "north-east", "east", "south-east", "south", "south-west", "west",
                 "north-west")
Point = tuple[float, float]  # (lat, lon)


@dataclass(frozen=True, slots=True)
class PlaceInWords:
    """A place described for people: names and a route hint (zh and en), and the site-map
    ids to highlight (building, place of interest, gate) — never coordinates."""

    name_zh: str
    name_en: str
    hint_zh: str = ""
    hint_en: str = ""
    building: str | None = None
    poi: str | None = None
    gate: str | None = None
    outside: bool = False
    from_fix: bool = False  # derived from a resident's position: personal data, audited

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def _contains(polygon: list[list[float]], p: Point) -> bool:
    inside = False
    n = len(polygon)
    for i in range(n):
        (y1, x1), (y2, x2) = polygon[i], polygon[(i + 1) % n]
        if (y1 > p[0]) != (y2 > p[0]):
            cross = x1 + (p[0] - y1) * (x2 - x1) / (y2 - y1)
            if p[1] < cross:
                inside = not inside
    return inside


def _centre(polygon: list[list[float]]) -> Point:
    return (sum(q[0] for q in polygon) / len(polygon), sum(q[1] for q in polygon) / len(polygon))


class SiteGeometry:
    """The site map (`/sitemap` document) with the few questions tickets ask of it."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.lat0 = float(doc["anchor"]["lat"])

    def _metres(self, a: Point, b: Point) -> tuple[float, float]:
        """(east, north) metres from a to b."""
        m_lon = M_PER_DEG_LAT * math.cos(math.radians(self.lat0))
        return (b[1] - a[1]) * m_lon, (b[0] - a[0]) * M_PER_DEG_LAT

    def building_centre(self, building: str) -> Point | None:
        """Centre of a building's footprint."""
        for b in self.doc.get("buildings", []):
            if b["id"] == building:
                return _centre(b["polygon"])
        return None

    def device_at(self, device_id: str) -> Point | None:
        """Where an installed device is, from the site map."""
        for d in self.doc.get("devices", []):
            if d["id"] == device_id:
                return (float(d["at"][0]), float(d["at"][1]))
        return None

    def describe(self, p: Point, *, unit: str = "", from_fix: bool = False) -> PlaceInWords:
        """Name the place holding `p` and how to get there from the nearest gate."""
        building = next((b for b in self.doc.get("buildings", [])
                         if _contains(b["polygon"], p)), None)
        poi = next((q for q in self.doc.get("pois", []) if _contains(q["polygon"], p)), None)
        inside = _contains(self.doc["boundary"], p) if self.doc.get("boundary") else True
        if building is not None:
            zh = building["name"] + (f"{unit}单元" if unit else "")
            en = f"Building {building['id']}" + (f" unit {unit}" if unit else "")
        elif poi is not None:
            zh, en = poi["name"], poi.get("name_en") or poi["name"]
        elif inside:
            near = self._nearest_building(p)
            zh = f"小区内，{near['name']}附近" if near else "小区内"
            en = f"inside the compound, near building {near['id']}" if near else "inside"
            building = near  # the landmark to walk to (marked on the map)
        else:
            zh, en = "小区外", "outside the compound"
        gate = self._nearest_gate(p)
        hint_zh = hint_en = ""
        if gate is not None:
            east, north = self._metres((gate["at"][0], gate["at"][1]), p)
            dist = round(math.hypot(east, north) / 10) * 10
            sector = round(math.degrees(math.atan2(east, north)) / 45) % 8
            way_zh, way_en = DIRECTIONS_ZH[sector], DIRECTIONS_EN[sector]
            if dist < 15:
                hint_zh, hint_en = f"就在{gate['name']}旁", f"right by {gate['name']}"
            elif inside or building is not None:
                hint_zh = f"从{gate['name']}进入，向{way_zh}约 {dist:.0f} 米"
                hint_en = f"enter by {gate['name']}, about {dist:.0f} m {way_en}"
            else:
                hint_zh = f"出{gate['name']}后向{way_zh}约 {dist:.0f} 米"
                hint_en = f"leave by {gate['name']}, about {dist:.0f} m {way_en}"
        return PlaceInWords(name_zh=zh, name_en=en, hint_zh=hint_zh, hint_en=hint_en,
                     building=building["id"] if building else None,
                     poi=poi["id"] if poi else None, gate=gate["id"] if gate else None,
                     outside=not inside, from_fix=from_fix)

    def _nearest_gate(self, p: Point) -> dict[str, Any] | None:
        gates = self.doc.get("gates", [])
        return min(gates, key=lambda g: math.hypot(*self._metres((g["at"][0], g["at"][1]), p)),
                   default=None)

    def _nearest_building(self, p: Point) -> dict[str, Any] | None:
        return min(self.doc.get("buildings", []),
                   key=lambda b: math.hypot(*self._metres(_centre(b["polygon"]), p)),
                   default=None)


_CACHE: dict[Path, tuple[float, SiteGeometry]] = {}


def site_geometry(path: Path | None) -> SiteGeometry | None:
    """The site map named by `api.sitemap_file`, re-read when the file changes."""
    if path is None:
        return None
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    hit = _CACHE.get(path)
    if hit is None or hit[0] != mtime:
        hit = _CACHE[path] = (mtime, SiteGeometry(orjson.loads(path.read_bytes())))
    return hit[1]
