"""Per-camera analytics config (YAML): facade, masks, floor lines, fire lanes, detector knobs."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

Point = tuple[float, float]
Polygon = Annotated[
    list[Point],
    Field(min_length=3, max_length=64, description="Polygon vertices, full-frame pixels (x, y)"),
]
Line = tuple[float, float, float, float]
Segmentation = Literal["mog2", "knn", "running_average", "frame_difference"]


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
        description="Foreground method: mog2 (default), knn, running_average, frame_difference",
    )
    detect_width: int = Field(
        640, ge=160, le=1920, description="Width of the downscaled analysis frame, pixels"
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
    min_blob_px: int = Field(3, ge=1, le=1000, description="Smallest blob, analysis-frame pixels")
    max_blob_px: int = Field(900, ge=1, description="Largest blob, analysis-frame pixels")
    max_gap_frames: int = Field(5, ge=0, le=25, description="Frames a track may go unseen")
    min_points: int = Field(8, ge=4, le=200, description="Fewest observations in a track")
    min_track_s: float = Field(0.4, gt=0, le=10, description="Shortest track, seconds")
    min_drop_floors: float = Field(0.8, gt=0, le=50, description="Smallest fall, in storeys")
    accel_min: float = Field(
        0.45, gt=0, le=1, description="Lowest fitted acceleration as a fraction of gravity"
    )
    accel_max: float = Field(1.8, ge=1, le=5, description="Highest fitted acceleration / gravity")
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
        0.02, gt=0, le=1, description="Share of the zone a standing object must cover to count"
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
    detect_width: int = Field(320, ge=80, le=1920, description="Analysis frame width, pixels")
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
