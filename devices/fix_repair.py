"""Repairs of a position fix as modules send it: a Chinese map datum converted, a module's own
word for its method, a radius a cell or Wi-Fi fix cannot have (vendor round 10)."""

from __future__ import annotations

import re
from typing import Any

from devices.base import CELL_FIX_MIN_M, UNKNOWN_CELL_ACCURACY_M, UNKNOWN_WIFI_ACCURACY_M
from devices.datum import DATUM_KEYS, datum_named, in_china, to_wgs84

# How a fix was made, by the words modules write for it (vendor round 10: `AGPS`, `gps+lbs`
# lost the whole position of an SOS): the first method a label names, in this order.
_METHODS = ((("gps", "gnss", "beidou", "glonass", "galileo", "北斗", "卫星"), "gps"),
            (("wifi", "wlan"), "wifi"),
            (("lbs", "cell", "gsm", "lte", "基站"), "cell"))
_TOKENS = re.compile(r"[^0-9a-z]+")


def positioning(text: str) -> str | None:
    """Our positioning method a module's label names (`AGPS`, `gps+lbs`, `BDS/GPS`), or
    None."""
    low = text.strip().lower()[:40]
    for stems, method in _METHODS:
        if any(stem in low for stem in stems):
            return method
    return "gps" if {"bd", "bds"} & set(_TOKENS.split(low)) else None


def in_wgs84(obj: dict[str, Any], where: str, notes: list[str]) -> dict[str, Any] | None:
    """A fix labelled with a Chinese map datum, in WGS-84 (vendor round 10: a GCJ-02 fix used
    as WGS-84 placed an elder 482 m from home and raised a false wandering alarm); None for
    a datum nothing converts."""
    key = _datum_key(obj)
    if key is None:
        return obj
    said = obj[key]
    datum = datum_named(said)
    if datum is None:
        return None
    obj = {k: v for k, v in obj.items() if k not in DATUM_KEYS}
    lat, lon = obj.get("lat"), obj.get("lon")
    # Only a fix inside China is in a Chinese datum: (0, 0), a module's "no fix", stays the
    # placeholder it is, and nothing is pushed past a pole or the antimeridian (red team
    # round 11: BD-09's offset made 0/0 a precise fix on the family's map).
    if datum != "wgs84" and type(lat) in (int, float) and type(lon) in (int, float) \
            and in_china(lat, lon):
        obj["lat"], obj["lon"] = to_wgs84(datum, lat, lon)
        notes.append(f"{where} {str(said)[:20]} ({datum}) converted to WGS-84")
    return obj


def datum_problem(fix: object) -> str | None:
    """What is wrong with a fix's datum, if that is what is wrong with it."""
    named = _datum_key(fix) if isinstance(fix, dict) else None
    if named is None or datum_named(fix[named]) is not None:  # type: ignore[index]
        return None
    return (f"{named} {str(fix[named])[:20]!r} is no datum the gateway converts: send WGS-84, "
            "or say gcj02 or bd09")


def _datum_key(fix: dict[str, Any]) -> str | None:
    """The first key of `fix` naming its datum, or None."""
    return next((key for key in DATUM_KEYS if key in fix), None)


def real_radius(fix: dict[str, Any], where: str, notes: list[str]) -> None:
    """A cell fix claiming a radius it cannot have (LBS lookups write 0), or a Wi-Fi fix of
    radius 0, read with the radius such fixes have."""
    radius, source = fix.get("accuracy_m"), fix.get("source")
    if type(radius) not in (int, float):
        return
    if source == "cell" and radius < CELL_FIX_MIN_M:
        fix["accuracy_m"] = UNKNOWN_CELL_ACCURACY_M
    elif source == "wifi" and radius == 0:
        fix["accuracy_m"] = UNKNOWN_WIFI_ACCURACY_M
    else:
        return
    notes.append(f"{where}.accuracy_m {radius} of a {source} fix read as unknown: "
                 f"{fix['accuracy_m']:g} m")
