"""The analyzer on short generated clips: what must be detected, and what must not."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.camera.analyze import Analyzer, main, run
from devices.camera.config import load_config
from devices.camera.detection import Detection
from devices.camera.models import SNAPSHOT_MAX_CHARS, FallingObjectEvent
from devices.camera.source import FrameSource
from simulators.video.generate import Clip
from tests.devices.camera import clips


def _analyse(clip: Clip) -> list[Detection]:
    config = load_config(clip.config)
    source = FrameSource(str(clip.video))
    try:
        return list(run(source, Analyzer(config, source.fps)))
    finally:
        source.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def throw_clip(folder: Path) -> Clip:
    return clips.throw(folder)


def test_thrown_object_is_detected_with_its_floor(throw_clip: Clip) -> None:
    dets = _analyse(throw_clip)
    assert [d.type for d in dets] == ["falling_object"]
    [det] = dets
    assert det.floor is not None and abs(det.floor - clips.THROW_FLOOR) <= 1
    assert abs(det.t - clips.THROW_T) < 0.5
    assert det.confidence >= 0.5
    ys = [y for _, _, y in det.track]
    assert ys[-1] - ys[0] > 200, "the track follows the fall"
    assert det.snapshot_jpeg_b64 is not None and len(det.snapshot_jpeg_b64) <= SNAPSHOT_MAX_CHARS
    jpeg = cv2.imdecode(
        np.frombuffer(base64.b64decode(det.snapshot_jpeg_b64), np.uint8), cv2.IMREAD_COLOR
    )
    assert jpeg is not None and jpeg.shape[1] >= 320


def test_cli_prints_one_json_line_per_event(
    throw_clip: Clip, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "--video",
                str(throw_clip.video),
                "--config",
                str(throw_clip.config),
                "--json",
                "--no-snapshot",
            ]
        )
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 1
    assert {"type", "t", "floor", "confidence"} <= lines[0].keys()
    assert lines[0]["type"] == "falling_object"


def test_detection_becomes_a_valid_contract_payload(throw_clip: Clip) -> None:
    [det] = _analyse(throw_clip)
    event = det.to_event(
        ts=__import__("datetime").datetime(2026, 11, 21, 4, 0, tzinfo=__import__("datetime").UTC),
        seq=9,
    )
    again = FallingObjectEvent.model_validate_json(event.model_dump_json(exclude_none=True))
    assert again.floor == det.floor and len(again.track) == len(det.track)


@pytest.mark.parametrize(
    "make",
    [clips.birds, clips.rain, clips.lighting, clips.clutter],
    ids=["birds", "rain", "lighting", "shake-leaves-insect-windows-night"],
)
def test_distractors_raise_nothing(folder: Path, make: Callable[[Path], Clip]) -> None:
    assert _analyse(make(folder)) == []


def test_parked_car_blocks_then_clears(folder: Path) -> None:
    dets = _analyse(clips.parked(folder))
    assert [(d.type, d.zone) for d in dets] == [
        ("fire_lane_blocked", "FL-1"),
        ("fire_lane_cleared", "FL-1"),
    ]
    blocked, cleared = dets
    arrive = 0.5 + (400 + 125) / 200.0  # drives in from x=-125 at 200 px/s
    assert arrive + clips.DWELL_S - 1.5 <= blocked.t <= arrive + clips.DWELL_S + 2.0
    assert blocked.dwell_s is not None and blocked.dwell_s >= clips.DWELL_S
    # "cleared" is dated at the departure; the confirmation came clear_s (or a bit) later.
    assert abs(cleared.t - (arrive + 9.0)) <= 1.0
    assert cleared.confirmation_delay_s is not None
    assert clips.CLEAR_S <= cleared.confirmation_delay_s <= clips.CLEAR_S + 3.0
    assert blocked.snapshot_jpeg_b64 and cleared.snapshot_jpeg_b64


def test_car_driving_through_raises_nothing(folder: Path) -> None:
    assert _analyse(clips.drive_through(folder)) == []


def test_car_leaving_after_startup_leaves_no_ghost_block(folder: Path) -> None:
    assert _analyse(clips.parked_at_start(folder)) == []
