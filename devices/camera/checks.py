"""Sanity checks of a camera config's geometry: things that load fine but are probably wrong."""

from __future__ import annotations

from collections.abc import Sequence

from devices.camera.config import CameraConfig

# Vertices this far outside the frame are worth a word: more than rounding, less than a
# deliberate overhang. Masks may overhang by up to a tenth of the frame (drawing a tree mask
# to the frame edge and a little past it is normal); zones, the facade and floor lines may not.
_TOLERANCE_PX = 2.0
_MASK_OVERHANG = 0.10
_MIN_ZONE_PX = 400.0


def _outside(
    points: Sequence[tuple[float, float]], w: float, h: float, slack_x: float, slack_y: float
) -> list[tuple[float, float]]:
    return [
        (x, y)
        for x, y in points
        if x < -slack_x or y < -slack_y or x > w + slack_x or y > h + slack_y
    ]


def _area(poly: Sequence[tuple[float, float]]) -> float:
    s = 0.0
    for (x1, y1), (x2, y2) in zip(poly, [*poly[1:], poly[0]], strict=True):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2


def _describe(name: str, bad: list[tuple[float, float]], total: int, w: int, h: int) -> str:
    x, y = bad[0]
    return (
        f"{name}: {len(bad)} of {total} points lie outside the {w}x{h} frame, e.g."
        f" ({x:g}, {y:g}); check frame_width/frame_height and the coordinates"
    )


def geometry_warnings(config: CameraConfig) -> list[str]:
    """Human-readable warnings about geometry outside the frame or too small to analyse."""
    w, h = config.frame_width, config.frame_height
    out: list[str] = []
    t = _TOLERANCE_PX
    if config.falling is not None:
        f = config.falling
        bad = _outside(f.facade, w, h, t, t)
        if bad:
            out.append(_describe("falling.facade", bad, len(f.facade), w, h))
        ends = [p for x1, y1, x2, y2 in f.floors.lines for p in ((x1, y1), (x2, y2))]
        bad = _outside(ends, w, h, t, t)
        if bad:
            out.append(_describe("falling.floors.lines", bad, len(ends), w, h))
        for m in f.masks:
            xs = [x for x, _ in m.polygon]
            ys = [y for _, y in m.polygon]
            if max(xs) <= 0 or max(ys) <= 0 or min(xs) >= w or min(ys) >= h:
                out.append(f"falling.masks[{m.name}] lies entirely outside the frame")
                continue
            bad = _outside(m.polygon, w, h, _MASK_OVERHANG * w, _MASK_OVERHANG * h)
            if bad:
                out.append(_describe(f"falling.masks[{m.name}]", bad, len(m.polygon), w, h))
    if config.fire_lanes is not None:
        for z in config.fire_lanes.zones:
            bad = _outside(z.polygon, w, h, t, t)
            if bad:
                out.append(_describe(f"fire_lanes.zones[{z.id}]", bad, len(z.polygon), w, h))
            area = _area(z.polygon)
            if area < _MIN_ZONE_PX:
                out.append(
                    f"fire_lanes.zones[{z.id}] covers only {area:.0f} px; an object in it is a"
                    " handful of pixels, too few to tell from noise"
                )
    return out
