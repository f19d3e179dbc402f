"""The installer's check picture: a camera config drawn over a frame of its stream.

Facade outline, slab lines with the number of every storey, masks, fire-lane zones with the
size an object must reach to count, the analysis windows and any geometry warnings, so a
site installer sees at a glance whether the drawing fits the picture.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from devices.camera.config import CameraConfig
from devices.camera.falling import falling_crop
from devices.camera.firelane import lane_crop
from devices.camera.lanezone import zone_state
from devices.camera.physics import FloorMap
from devices.camera.region import Crop

FACADE = (255, 255, 0)
FLOOR = (0, 220, 255)
MASK = (200, 0, 200)
ZONE = (0, 0, 255)
CROP = (255, 255, 255)
WARN = (0, 0, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _pts(poly: Sequence[tuple[float, float]], k: float) -> np.ndarray:
    return np.round(np.asarray(poly, np.float64) * k).astype(np.int32).reshape(-1, 1, 2)


def _label(img: np.ndarray, text: str, at: tuple[int, int], color: tuple, scale: float) -> None:
    # Dark outline first so the text reads on sky and on asphalt alike.
    thick = max(1, round(scale * 2))
    cv2.putText(img, text, at, _FONT, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, at, _FONT, scale, color, thick, cv2.LINE_AA)


def _fill(img: np.ndarray, poly: np.ndarray, color: tuple, alpha: float) -> None:
    layer = img.copy()
    cv2.fillPoly(layer, [poly], color)
    cv2.addWeighted(layer, alpha, img, 1 - alpha, 0, dst=img)


def _crop(img: np.ndarray, crop: Crop, k: float, name: str, scale: float) -> None:
    p0 = (round(crop.x0 * k), round(crop.y0 * k))
    p1 = (round(crop.x1 * k) - 1, round(crop.y1 * k) - 1)
    # Dashed: it is where the analyzer looks, not something to draw.
    x0, y0 = p0
    x1, y1 = p1
    for a, b in (
        ((x0, y0), (x1, y0)),
        ((x1, y0), (x1, y1)),
        ((x1, y1), (x0, y1)),
        ((x0, y1), (x0, y0)),
    ):
        n = max(1, int(np.hypot(b[0] - a[0], b[1] - a[1]) // 12))
        for i in range(0, n, 2):
            s = (a[0] + (b[0] - a[0]) * i // n, a[1] + (b[1] - a[1]) * i // n)
            e = (a[0] + (b[0] - a[0]) * (i + 1) // n, a[1] + (b[1] - a[1]) * (i + 1) // n)
            cv2.line(img, s, e, CROP, 1, cv2.LINE_AA)
    w, h = crop.size
    _label(img, f"{name} analysed at {w}x{h} ({crop.scale:.2f}x)", (x0 + 4, y1 - 6), CROP, scale)


def _falling(img: np.ndarray, config: CameraConfig, k: float, scale: float) -> None:
    f = config.falling
    assert f is not None
    for m in f.masks:
        poly = _pts(m.polygon, k)
        _fill(img, poly, MASK, 0.35)
        cv2.polylines(img, [poly], True, MASK, 1, cv2.LINE_AA)
        x, y = poly[:, 0, :].min(axis=0)
        _label(img, f"mask {m.name}", (int(x) + 3, int(y) + 14), MASK, scale)
    facade = _pts(f.facade, k)
    cv2.polylines(img, [facade], True, FACADE, 2, cv2.LINE_AA)
    lines = f.floors.lines
    floors = FloorMap(f.floors)
    x_left = float(min(p[0] for p in f.facade))
    for i, (x1, y1, x2, y2) in enumerate(lines):
        cv2.line(
            img,
            (round(x1 * k), round(y1 * k)),
            (round(x2 * k), round(y2 * k)),
            FLOOR,
            1,
            cv2.LINE_AA,
        )
        if i + 1 < len(lines):
            # The storey number sits in its band, at the facade's left edge.
            nx1, ny1, nx2, ny2 = lines[i + 1]
            ya = y1 + (y2 - y1) * (x_left - x1) / ((x2 - x1) or 1.0)
            yb = ny1 + (ny2 - ny1) * (x_left - nx1) / ((nx2 - nx1) or 1.0)
            mid = (ya + yb) / 2
            n = floors.floor_at(x_left + 1, mid)
            _label(img, str(n), (round((x_left + 4) * k), round(mid * k + 5 * scale)), FLOOR, scale)
        else:
            _label(img, "roof", (round((x_left + 4) * k), round(y1 * k - 4)), FLOOR, scale)
    _crop(
        img,
        falling_crop(f, (config.frame_width, config.frame_height)).rescaled(1.0),
        k,
        "facade",
        scale,
    )


def _lanes(img: np.ndarray, config: CameraConfig, k: float, scale: float) -> None:
    lanes = config.fire_lanes
    assert lanes is not None
    crop = lane_crop(lanes, (config.frame_width, config.frame_height))
    for z in lanes.zones:
        poly = _pts(z.polygon, k)
        _fill(img, poly, ZONE, 0.25)
        cv2.polylines(img, [poly], True, ZONE, 2, cv2.LINE_AA)
        state = zone_state(z, crop.mask([z.polygon]), crop.scale)
        cx, cy = np.asarray(z.polygon, np.float64).mean(axis=0)
        # A square of the occupancy threshold's area: anything standing that covers more
        # than this (in the picture) for `dwell_s` blocks the lane.
        side = float(np.sqrt(state.threshold_px))
        p0 = (round((cx - side / 2) * k), round((cy - side / 2) * k))
        p1 = (round((cx + side / 2) * k), round((cy + side / 2) * k))
        cv2.rectangle(img, p0, p1, (255, 255, 255), 1)
        text = f"{z.id}: {state.area_px:.0f} px, counts from {state.threshold_px:.0f} px"
        _label(
            img,
            text,
            (round((cx - side) * k), round((cy - side / 2) * k) - 6),
            (255, 255, 255),
            scale,
        )
    _crop(img, crop, k, "zones", scale)


def draw_config(
    image: np.ndarray, config: CameraConfig, warnings: Sequence[str] = ()
) -> np.ndarray:
    """A copy of `image` with the config drawn on it (coordinates rescaled to the image)."""
    out = image.copy()
    k = image.shape[1] / config.frame_width
    scale = max(0.4, min(1.0, image.shape[1] / 1600))
    if config.falling is not None:
        _falling(out, config, k, scale)
    if config.fire_lanes is not None:
        _lanes(out, config, k, scale)
    head = [
        f"{config.device_id or 'camera'}  config {config.frame_width}x{config.frame_height},"
        f" picture {image.shape[1]}x{image.shape[0]}"
    ]
    y = round(22 * scale) + 4
    for line in head + [f"WARNING {w}" for w in warnings]:
        _label(
            out, line[:150], (8, y), WARN if line.startswith("WARNING") else (255, 255, 255), scale
        )
        y += round(24 * scale) + 4
    return out
