"""What the detectors report, independent of transport: one detection per camera event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from devices.camera.models import (
    FallingObjectEvent,
    FireLaneBlockedEvent,
    FireLaneClearedEvent,
    TrackPoint,
)

DetectionType = Literal["falling_object", "fire_lane_blocked", "fire_lane_cleared"]
CameraEvent = FallingObjectEvent | FireLaneBlockedEvent | FireLaneClearedEvent


@dataclass
class Detection:
    """A detector's finding at video time `t` (seconds); coordinates are full-frame pixels."""

    type: DetectionType
    t: float
    confidence: float
    floor: int | None = None
    zone: str | None = None
    dwell_s: float | None = None
    track: list[tuple[float, float, float]] = field(default_factory=list)
    snapshot_jpeg_b64: str | None = None
    # For "cleared": `t` is when the lane became free; the event was confirmed this much later.
    confirmation_delay_s: float | None = None

    def summary(self) -> dict[str, Any]:
        """The line printed by the evaluation CLI (no snapshot, rounded numbers)."""
        out: dict[str, Any] = {
            "type": self.type,
            "t": round(self.t, 2),
            "confidence": round(self.confidence, 3),
        }
        if self.type == "falling_object":
            out["floor"] = self.floor
            out["track_points"] = len(self.track)
        else:
            out["zone"] = self.zone
        if self.dwell_s is not None:
            out["dwell_s"] = round(self.dwell_s, 1)
        if self.confirmation_delay_s is not None:
            out["confirmation_delay_s"] = round(self.confirmation_delay_s, 1)
        return out

    def to_event(self, ts: datetime, seq: int | None = None) -> CameraEvent:
        """The contract payload model for this detection."""
        if self.type == "falling_object":
            # The contract holds at most 500 points; keep an even subsample of long tracks.
            pts = self.track
            if len(pts) > 500:
                step = len(pts) / 500
                pts = [pts[int(i * step)] for i in range(500)]
            return FallingObjectEvent(
                ts=ts,
                seq=seq,
                floor=self.floor,
                confidence=self.confidence,
                track=[
                    TrackPoint(t=round(t, 3), x=round(max(x, 0.0), 1), y=round(max(y, 0.0), 1))
                    for t, x, y in pts
                ],
                snapshot_jpeg_b64=self.snapshot_jpeg_b64,
            )
        if self.type == "fire_lane_blocked":
            assert self.zone is not None
            return FireLaneBlockedEvent(
                ts=ts,
                seq=seq,
                zone=self.zone,
                confidence=self.confidence,
                dwell_s=self.dwell_s,
                snapshot_jpeg_b64=self.snapshot_jpeg_b64,
            )
        assert self.zone is not None
        return FireLaneClearedEvent(
            ts=ts,
            seq=seq,
            zone=self.zone,
            confidence=self.confidence,
            confirmation_delay_s=None
            if self.confirmation_delay_s is None
            else round(self.confirmation_delay_s, 2),
            snapshot_jpeg_b64=self.snapshot_jpeg_b64,
        )
