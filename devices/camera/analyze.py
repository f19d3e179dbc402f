"""Camera analyzer CLI: video in, falling-object and fire-lane events out (stdout JSON or MQTT)."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml
from pydantic import ValidationError

from devices.camera import snapshot
from devices.camera.checks import geometry_warnings
from devices.camera.condition import FALLING_GAIN_STEP, LANE_GAIN_STEP, Conditioner
from devices.camera.config import CameraConfig, GeometryWarning, load_config
from devices.camera.detection import Detection
from devices.camera.falling import SHAKE_HOLD, FallingDetector
from devices.camera.firelane import FireLaneDetector
from devices.camera.overlay import draw_config
from devices.camera.publish import MqttPublisher, PublishError
from devices.camera.region import Crop
from devices.camera.source import Frame, FrameSource, SourceError


class Analyzer:
    """Runs the configured detectors over frames; builds itself on the first frame it sees."""

    def __init__(self, config: CameraConfig, fps: float, snapshots: bool = True) -> None:
        self.config, self.fps, self.snapshots = config, fps, snapshots
        lanes = config.fire_lanes
        self._lane_step = max(1, round(fps / lanes.detect_fps)) if lanes else 1
        self._falling: FallingDetector | None = None
        self._lanes: FireLaneDetector | None = None
        self._conditioner: Conditioner | None = None
        self._falling_crop: Crop | None = None
        self._lane_crop: Crop | None = None
        self._draw_scale = 1.0
        self.frames = 0

    def wants(self, index: int) -> bool:
        """Whether frame `index` must be decoded in full."""
        return self.config.falling is not None or index % self._lane_step == 0

    def _build(self, image: np.ndarray) -> None:
        cfg = self.config
        size = (cfg.frame_width, cfg.frame_height)
        # Coordinates are in the configured frame size; a stream of another size is read
        # through crops rescaled to it instead of resizing every whole frame.
        k = image.shape[1] / cfg.frame_width
        roi = None
        if cfg.fire_lanes is not None:
            self._lanes = FireLaneDetector(cfg.fire_lanes, size)
            self._lane_crop = main = self._lanes.crop.rescaled(k)
        if cfg.falling is not None:
            self._falling = FallingDetector(cfg.falling, size, self.fps)
            self._falling_crop = main = self._falling.crop.rescaled(k)
            roi = self._falling.roi
        # Shake and exposure are measured on the main detector's crop (the facade if any).
        step = FALLING_GAIN_STEP if cfg.falling is not None else LANE_GAIN_STEP
        # The colour-edge check on shifts is for the lanes' crop (a tree's shade swaying over
        # the lane); on a facade it lost a far throw of style C's set 3000 and cost 2-3 % of
        # the frame rate, so a camera with a facade registers as before.
        self._conditioner = Conditioner(
            main.size,
            main.scale,
            cfg.stabilize,
            roi,
            step,
            hue_check=cfg.falling is None,
        )
        self._draw_scale = k

    def process(self, frame: Frame) -> list[Detection]:
        """Analyse one frame; return the detections it completed (with snapshots)."""
        if self._conditioner is None:
            self._build(frame.image)
        cond = self._conditioner
        assert cond is not None
        self.frames += 1
        found: list[Detection] = []
        if self._falling is not None and self._falling_crop is not None:
            crop = self._falling_crop
            # Colour costs ~15 % and catches a blue pot against a grey wall of equal brightness.
            image = crop.extract(frame.image)
            if not self._falling.cfg.color:
                image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            # In heavy rain the exposure reference's brightness is held: rain brightens pixels
            # now and then, and a free reference climbs with them (see `Conditioner.apply`).
            cond.hold_level = self._falling.heavy_rain
            cond.apply(image)
            shaking = cond.still < SHAKE_HOLD
            found += self._falling.process(frame.t, cond.follow(image, crop.scale), shaking)
        lanes_due = frame.index % self._lane_step == 0
        if self._lanes is not None and self._lane_crop is not None and lanes_due:
            # Colour: a red car on grey asphalt can have the asphalt's luminance.
            crop = self._lane_crop
            image = crop.extract(frame.image)
            if self._falling is None:
                cond.apply(image)
            # The lanes scale their reference by the gain instead (a brighter picture clips
            # at 255, which dividing the frame cannot undo).
            image = cond.follow(image, crop.scale, gain=False)
            steady = cond.still >= SHAKE_HOLD
            found += self._lanes.process(frame.t, image, cond.gain, steady)
        if self.snapshots:
            for det in found:
                det.snapshot_jpeg_b64 = self._snapshot(frame.image, det)
        return found

    def finish(self) -> list[Detection]:
        """Detections of tracks still open when the stream ended (no snapshot frame left)."""
        return self._falling.finish() if self._falling is not None else []

    def _snapshot(self, image: np.ndarray, det: Detection) -> str:
        k = self._draw_scale
        if det.type == "falling_object":
            drawn = snapshot.draw_track(image, [(x * k, y * k) for _, x, y in det.track])
        else:
            assert self._lanes is not None and det.zone is not None
            color = (0, 0, 255) if det.type == "fire_lane_blocked" else (0, 200, 0)
            drawn = snapshot.draw_polygon(
                image, [(x * k, y * k) for x, y in self._lanes.polygon(det.zone)], color
            )
        return snapshot.encode(drawn)

    def stats(self) -> dict[str, Any]:
        """Counters for diagnostics: frames seen and why tracks were rejected."""
        out: dict[str, Any] = {"frames_analysed": self.frames}
        if self._falling is not None:
            out["rejected_tracks"] = dict(sorted(self._falling.rejected.items()))
        return out


def run(source: FrameSource, analyzer: Analyzer) -> Iterator[Detection]:
    """Analyse a whole source, yielding detections as they happen."""
    for frame in source.frames(analyzer.wants):
        yield from analyzer.process(frame)
    yield from analyzer.finish()


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2026-11-21T12:00:00+08:00")
    return value


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m devices.camera.analyze", description=__doc__)
    ap.add_argument(
        "--video", required=True, help="video file, rtsp:// or http:// URL, or a folder of frames"
    )
    ap.add_argument("--config", required=True, type=Path, help="camera YAML")
    ap.add_argument("--json", action="store_true", help="print one JSON object per event")
    ap.add_argument("--fps", type=float, help="override the source frame rate")
    ap.add_argument("--mqtt-url", help="publish events, e.g. mqtt://CAM-1:secret@localhost:1883")
    ap.add_argument("--device-id", help="camera device id (default: config device_id)")
    ap.add_argument(
        "--start-time", type=_aware, help="RFC 3339 wall time of video t=0 (default: now)"
    )
    ap.add_argument("--snapshots", type=Path, help="also write snapshot JPEGs to this folder")
    ap.add_argument("--no-snapshot", action="store_true", help="skip JPEG snapshots")
    ap.add_argument("--stats", action="store_true", help="print counters to stderr at the end")
    ap.add_argument(
        "--draw-config",
        type=Path,
        metavar="PNG",
        help="draw the config over a frame of the video into this PNG and exit (check picture)",
    )
    ap.add_argument(
        "--at", type=float, default=0.0, help="with --draw-config: video time of that frame, s"
    )
    return ap.parse_args(argv)


def _load(path: Path) -> tuple[CameraConfig, list[str]]:
    """The config and every warning about it (simplified polygons, geometry off the frame)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeometryWarning)
        config = load_config(path)
    notes = [str(w.message) for w in caught if issubclass(w.category, GeometryWarning)]
    return config, notes + geometry_warnings(config)


def draw_check(
    source: FrameSource, config: CameraConfig, notes: list[str], out: Path, at: float
) -> int:
    """Write the installer's check picture: the config drawn over the frame at `at` seconds."""
    frame = next((f for f in source.frames() if f.t >= at - 1e-6), None)
    if frame is None:
        print(f"no frame at {at:g} s in {source.spec}", file=sys.stderr)
        return 2
    h, w = frame.image.shape[:2]
    if abs(w / h - config.frame_width / config.frame_height) > 0.01:
        notes = [
            *notes,
            f"the stream is {w}x{h}, the config says"
            f" {config.frame_width}x{config.frame_height}: a different shape",
        ]
    picture = draw_config(frame.image, config, notes)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), picture):
        print(f"cannot write {out}", file=sys.stderr)
        return 2
    print(str(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    args = _parse_args(argv)
    try:
        config, notes = _load(args.config)
    except (OSError, ValidationError, ValueError, yaml.YAMLError) as exc:
        print(f"bad camera config {args.config}: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"warning: {args.config}: {note}", file=sys.stderr)
    try:
        source = FrameSource(args.video, args.fps or config.fps)
    except SourceError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.draw_config:
        try:
            return draw_check(source, config, notes, args.draw_config, args.at)
        finally:
            source.close()
    start = args.start_time or datetime.now(UTC)
    publisher = None
    if args.mqtt_url:
        device_id = args.device_id or config.device_id
        if not device_id:
            print(
                "--device-id is required to publish (or set device_id in the config)",
                file=sys.stderr,
            )
            return 2
        publisher = MqttPublisher(args.mqtt_url, device_id)
        try:
            publisher.connect()
        except PublishError as exc:
            print(str(exc), file=sys.stderr)
            return 3
    analyzer = Analyzer(config, source.fps, snapshots=not args.no_snapshot)
    if args.snapshots:
        args.snapshots.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    try:
        for n, det in enumerate(run(source, analyzer)):
            if args.json:
                print(json.dumps(det.summary()), flush=True)
            else:
                print(f"{det.t:9.2f}s {det.type} {det.summary()}", flush=True)
            if args.snapshots and det.snapshot_jpeg_b64:
                (args.snapshots / f"{n:04d}-{det.type}.jpg").write_bytes(
                    base64.b64decode(det.snapshot_jpeg_b64)
                )
            if publisher is not None:
                ts = start + timedelta(seconds=det.t)
                try:
                    publisher.send(det.to_event(ts, publisher.next_seq()))
                except PublishError as exc:
                    # paho keeps the QoS 1 message queued and sends it after reconnecting;
                    # stopping the analysis would lose the events still to come.
                    print(f"warning: {exc}; queued for redelivery", file=sys.stderr)
    finally:
        source.close()
        if publisher is not None:
            publisher.close()
    if args.stats:
        elapsed = time.perf_counter() - began
        stats = analyzer.stats() | {
            "seconds": round(elapsed, 2),
            "fps": round(analyzer.frames / max(elapsed, 1e-9), 1),
        }
        print(json.dumps(stats), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
