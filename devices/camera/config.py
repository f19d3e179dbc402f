"""Per-camera analytics config (YAML): facade, masks, floor lines, fire lanes, detector knobs."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Annotated, Literal

import cv2
import numpy as np
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

Point = tuple[float, float]
# Outlines traced round trees or drawn with a tool often have hundreds of vertices. They are
# accepted as they are up to MAX_VERTICES; longer ones are simplified (Douglas–Peucker) with the
# smallest tolerance that brings them under the limit, so the region moves by at most that.
MAX_VERTICES = 256
MAX_INPUT_VERTICES = 20_000
_SIMPLIFY_EPS_PX = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


class GeometryWarning(UserWarning):
    """The config loads, but its geometry was changed or looks wrong (shown by the CLI)."""


def simplify_polygon(points: list[Point], limit: int = MAX_VERTICES) -> list[Point]:
    """The polygon itself if it has at most `limit` vertices, else a Douglas–Peucker version."""
    if len(points) <= limit:
        return points
    curve = np.asarray(points, np.float32).reshape(-1, 1, 2)
    out = curve
    how = ""
    for eps in _SIMPLIFY_EPS_PX:
        out = cv2.approxPolyDP(curve, eps, closed=True)
        how = f"within {eps:g} px"
        if len(out) <= limit:
            break
    else:
        # Pathological input (a space-filling zigzag): keep every n-th vertex.
        step = -(-len(points) // limit)
        out = curve[::step]
        how = f"keeping every {step}th vertex"
    warnings.warn(
        f"a polygon of {len(points)} vertices was simplified to {len(out)} ({how})",
        GeometryWarning,
        stacklevel=2,
    )
    return [(round(float(x), 2), round(float(y), 2)) for x, y in out.reshape(-1, 2)]


Polygon = Annotated[
    list[Point],
    Field(
        min_length=3,
        max_length=MAX_INPUT_VERTICES,
        description=(
            "Polygon vertices, full-frame pixels (x, y); more than 256 vertices are simplified"
            " to at most 256 within a tolerance of 0.25-8 px"
        ),
    ),
    AfterValidator(simplify_polygon),
]
Line = tuple[float, float, float, float]
Segmentation = Literal["gaussian", "mog2", "knn", "running_average", "frame_difference"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mask(_Strict):
    """A region the falling-object detector ignores (sky, trees, windows with curtains)."""

    name: str = Field(max_length=64, description="Label shown in logs and docs")
    kind: Literal["sky", "trees", "window", "other"] = Field(
        "other", description="What the region holds; informational"
    )
    polygon: Polygon


class Floors(_Strict):
    """Floor lines drawn on the facade, used to tell which floor an object came from."""

    first: int = Field(1, ge=-5, le=200, description="Floor number of the lowest line's storey")
    height_m: float = Field(3.0, gt=1, le=10, description="Storey height in metres (gravity scale)")
    lines: list[Line] = Field(
        min_length=2,
        description=(
            "Slab lines bottom to top as (x1, y1, x2, y2) in full-frame pixels: line k is the"
            " bottom of storey first+k; the last line is the roof"
        ),
    )

    @model_validator(mode="after")
    def _bottom_to_top(self) -> Floors:
        mids = [(y1 + y2) / 2 for _, y1, _, y2 in self.lines]
        if any(b >= a for a, b in itertools.pairwise(mids)):
            raise ValueError("floor lines must go from the bottom of the image upwards")
        return self


class FallingConfig(_Strict):
    """Falling-object (高空抛物) detector settings."""

    facade: Polygon = Field(description="Facade region to watch, full-frame pixels")
    masks: list[Mask] = Field(default_factory=list, description="Regions to ignore")
    floors: Floors = Field(description="Floor lines for the start-floor estimate")
    segmentation: Segmentation = Field(
        "mog2",
        description=(
            "Foreground method: mog2 (default), gaussian (MOG2's test at a quarter of its cost,"
            " see docs/camera.md), knn, running_average, frame_difference"
        ),
    )
    detect_width: int | None = Field(
        None,
        ge=160,
        le=8192,
        description=(
            "Fixed analysis resolution as the width the whole frame would have (640 = half of"
            " 1280); default: automatic from the facade's size and detect_pixels"
        ),
    )
    detect_pixels: int = Field(
        160_000,
        ge=10_000,
        le=4_000_000,
        description=(
            "Automatic resolution: the facade's bounding box is analysed at the largest scale"
            " (at most full size, at least half) that keeps it under this many pixels"
        ),
    )
    color: bool = Field(
        True,
        description="Segment in colour (catches objects as bright as the wall but of another hue)",
    )
    threshold: float = Field(
        16.0,
        gt=0,
        le=200,
        description=(
            "Segmenter sensitivity: MOG2/KNN variance threshold, or grey levels for the others"
        ),
    )
    min_blob_px: float = Field(
        6.0, ge=1, le=10_000, description="Smallest blob area, full-frame pixels"
    )
    max_blob_px: float = Field(
        4000.0, ge=1, description="Largest blob area, full-frame pixels (insects at the lens)"
    )
    max_gap_frames: int = Field(5, ge=0, le=25, description="Frames a track may go unseen")
    min_points: int = Field(8, ge=4, le=200, description="Fewest observations in a track")
    min_track_s: float = Field(0.4, gt=0, le=10, description="Shortest track, seconds")
    min_drop_floors: float = Field(0.8, gt=0, le=50, description="Smallest fall, in storeys")
    min_drop_px: float = Field(
        24.0, ge=0, le=2000, description="Smallest fall, full-frame pixels (far facades)"
    )
    accel_min: float = Field(
        0.45, gt=0, le=1, description="Lowest fitted acceleration as a fraction of gravity"
    )
    accel_max: float = Field(1.8, ge=1, le=5, description="Highest fitted acceleration / gravity")
    min_accel_sigma: float = Field(
        6.0,
        ge=0,
        le=100,
        description=(
            "The fitted acceleration must exceed this many of its standard errors (centroid"
            " noise at the analysis resolution): a short track at a far facade measures too"
            " little curvature to call"
        ),
    )
    max_rms_px: float = Field(
        3.0, gt=0, le=50, description="Largest RMS residual of the y(t) parabola, full-frame px"
    )
    max_dx_ratio: float = Field(
        1.0, gt=0, le=10, description="Largest sideways travel as a multiple of the drop"
    )
    min_confidence: float = Field(0.65, ge=0, le=1, description="Events below this are dropped")
    shock_fraction: float = Field(
        0.25,
        gt=0,
        le=1,
        description=(
            "Foreground share of the facade above which a frame counts as a global change"
        ),
    )


class FireLaneZone(_Strict):
    """One fire-lane polygon (消防通道)."""

    id: str = Field(
        min_length=1, max_length=64, description="Zone id reported in events, e.g. FL-1"
    )
    polygon: Polygon
    min_area_frac: float = Field(
        0.01,
        gt=0,
        le=1,
        description=(
            "Share of the zone's picture area a standing object must cover to count (see"
            " docs/camera.md for far zones)"
        ),
    )
    min_area_px: float | None = Field(
        None,
        gt=0,
        le=10_000_000,
        description=(
            "Or the smallest object directly, in full-frame pixels of picture area; when set it"
            " replaces min_area_frac. Never below 24"
        ),
    )


class FireLaneConfig(_Strict):
    """Fire-lane occupation (消防通道占用) detector settings."""

    zones: list[FireLaneZone] = Field(min_length=1, description="Fire-lane polygons")
    dwell_s: float = Field(120.0, gt=0, le=86_400, description="Standing time before blocked")
    clear_s: float = Field(10.0, ge=0, le=3600, description="Free time before cleared")
    static_s: float = Field(
        3.0, gt=0, le=600, description="Time a pixel must stay changed to count as standing"
    )
    detect_fps: float = Field(5.0, gt=0, le=30, description="Analysis rate, frames per second")
    detect_width: int | None = Field(
        None,
        ge=80,
        le=8192,
        description=(
            "Fixed analysis resolution as the width the whole frame would have; default:"
            " automatic, so that the smallest zone keeps enough pixels"
        ),
    )
    background_s: float = Field(
        60.0, gt=1, le=86_400, description="Time constant of the empty-lane background, seconds"
    )
    threshold: float = Field(
        22.0, gt=0, le=255, description="Grey-level difference that marks a changed pixel"
    )


class CameraConfig(_Strict):
    """Everything the analyzer needs to know about one camera."""

    device_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Camera device id (MQTT username)"
    )
    frame_width: int = Field(1280, ge=16, le=8192, description="Width the coordinates refer to")
    frame_height: int = Field(720, ge=16, le=8192, description="Height the coordinates refer to")
    fps: float | None = Field(
        None, gt=0, le=120, description="Frame rate when the source does not report one"
    )
    stabilize: bool = Field(True, description="Compensate camera shake by image registration")
    falling: FallingConfig | None = Field(None, description="Falling-object detector, if wanted")
    fire_lanes: FireLaneConfig | None = Field(None, description="Fire-lane detector, if wanted")

    @model_validator(mode="after")
    def _something_to_do(self) -> CameraConfig:
        if self.falling is None and self.fire_lanes is None:
            raise ValueError("configure `falling`, `fire_lanes` or both")
        return self


def load_config(path: str | Path) -> CameraConfig:
    """Read and validate a camera YAML file."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return CameraConfig.model_validate(data)


def dump_config(config: CameraConfig, path: str | Path) -> None:
    """Write a camera config as YAML, leaving out defaults so later default changes apply."""
    data = config.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, sort_keys=False, allow_unicode=True, default_flow_style=None)
