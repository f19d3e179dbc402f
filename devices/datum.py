"""China's map datums: a GCJ-02 (高德/腾讯, "Mars") or BD-09 (百度) position back to WGS-84.

GCJ-02 offsets WGS-84 by a published non-linear function (a few hundred metres in China,
nothing outside it); BD-09 is GCJ-02 turned and shifted once more. The forward function is
public; its inverse has no closed form, so it is found by iteration (to a centimetre).
"""

from __future__ import annotations

import math
import re

_A = 6378245.0  # the Krasovsky 1940 ellipsoid GCJ-02 is defined on
_EE = 0.00669342162296594323
_BD_PI = math.pi * 3000.0 / 180.0
# GCJ-02 shifts positions inside this box only (mainland China, roughly).
_CHINA = (72.004, 137.8347, 0.8293, 55.8271)
_ITERATIONS = 8
_CLOSE_DEG = 1e-7  # ~1 cm


def in_china(lat: float, lon: float) -> bool:
    """Whether GCJ-02 shifts a position there."""
    west, east, south, north = _CHINA
    return west <= lon <= east and south <= lat <= north


def _shift_lat(x: float, y: float) -> float:
    out = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    out += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    out += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    out += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    return out


def _shift_lon(x: float, y: float) -> float:
    out = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    out += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    out += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    out += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    return out


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 position of a WGS-84 one (unchanged outside China)."""
    if not in_china(lat, lon):
        return lat, lon
    d_lat = _shift_lat(lon - 105.0, lat - 35.0)
    d_lon = _shift_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """The WGS-84 position whose GCJ-02 image is (lat, lon)."""
    if not in_china(lat, lon):
        return lat, lon
    guess_lat, guess_lon = lat, lon
    for _ in range(_ITERATIONS):
        got_lat, got_lon = wgs84_to_gcj02(guess_lat, guess_lon)
        err_lat, err_lon = got_lat - lat, got_lon - lon
        guess_lat, guess_lon = guess_lat - err_lat, guess_lon - err_lon
        if abs(err_lat) < _CLOSE_DEG and abs(err_lon) < _CLOSE_DEG:
            break
    return guess_lat, guess_lon


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 position of a BD-09 one."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _BD_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_PI)
    return z * math.sin(theta), z * math.cos(theta)


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """The BD-09 position of a GCJ-02 one."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _BD_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _BD_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def to_wgs84(datum: str, lat: float, lon: float) -> tuple[float, float]:
    """A position in `datum` (`wgs84`, `gcj02`, `bd09`) as WGS-84."""
    if datum == "gcj02":
        return gcj02_to_wgs84(lat, lon)
    if datum == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))
    return lat, lon


# Keys naming the datum of a position, and the names firmware gives the datums.
DATUM_KEYS = ("coord_type", "coordType", "datum", "crs", "coordinate", "coord_sys",
              "coordsys", "coordinate_system", "coordinateSystem")
_DATUMS = {"wgs84": "wgs84", "wgs": "wgs84", "gps": "wgs84", "epsg4326": "wgs84",
           "gcj02": "gcj02", "gcj": "gcj02", "mars": "gcj02", "amap": "gcj02", "gaode": "gcj02",
           "autonavi": "gcj02", "tencent": "gcj02", "qq": "gcj02", "火星坐标": "gcj02",
           "国测局坐标": "gcj02", "高德": "gcj02", "bd09": "bd09", "bd09ll": "bd09",
           "baidu": "bd09", "百度": "bd09", "百度坐标": "bd09"}
_SEPARATORS = re.compile(r"[-_\s:.]")


def datum_named(said: object) -> str | None:
    """`wgs84`, `gcj02` or `bd09` for a datum's name as firmware writes it, else None."""
    if not isinstance(said, str):
        return None
    return _DATUMS.get(_SEPARATORS.sub("", said.strip().lower()[:40]))
