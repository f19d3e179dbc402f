"""A camera that films synthetic video: render a seeded clip, run the analyzer, publish events.

`python -m simulators.camera_video --broker mqtt://host:port --device-id CAM-3001
[--scene facade|lane] [--seed N] [--duration S] [--style fixed|a|b]` renders a clip with
`simulators.video` (the fixed scene, or a randomised one in either rendering style)
(thrown objects and distractors on a facade, or vehicles and people in a fire lane) and
feeds it to `devices.camera.analyze`, which publishes `falling_object` / `fire_lane_*` events
as the camera's device id over the public MQTT contract — the analyzer exactly as it would
run beside a real IP camera.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from devices.camera import analyze
from simulators.video.generate import seeded_clip
from simulators.video.randomset import random_clip


def main(argv: list[str] | None = None) -> int:
    """Render, analyse, publish; returns the analyzer's exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", required=True, help="mqtt://[user:password@]host:port")
    ap.add_argument("--device-id", required=True, help="the camera's device id")
    ap.add_argument("--scene", choices=("facade", "lane"), default="facade")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of video")
    ap.add_argument("--dwell", type=float, default=120.0, help="fire-lane dwell, seconds")
    ap.add_argument("--out", type=Path, help="keep the clip here (default: a temp folder)")
    ap.add_argument(
        "--style",
        choices=("fixed", "a", "b"),
        default="fixed",
        help="fixed scene, or a randomised scene rendered in style a or b (bench/camera_eval.py)",
    )
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scgw-camera-") as tmp:
        out = args.out or Path(tmp)
        if args.style == "fixed":
            clip = seeded_clip(out, args.scene, args.seed, args.duration, dwell_s=args.dwell)
        else:
            clip = random_clip(
                out, args.scene, args.style, args.seed, args.duration, dwell_s=args.dwell
            )
        return analyze.main(
            [
                "--video",
                str(clip.video),
                "--config",
                str(clip.config),
                "--mqtt-url",
                args.broker,
                "--device-id",
                args.device_id,
            ]
        )


if __name__ == "__main__":
    raise SystemExit(main())
