"""Frame sources and snapshot encoding."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.camera import snapshot
from devices.camera.models import SNAPSHOT_MAX_CHARS
from devices.camera.source import FrameSource, SourceError


def test_folder_of_frames_is_read_in_name_order(tmp_path: Path) -> None:
    for i in (2, 0, 1):
        cv2.imwrite(str(tmp_path / f"f{i:03d}.png"), np.full((36, 64, 3), i * 50, np.uint8))
    source = FrameSource(str(tmp_path), fps=10)
    frames = list(source.frames())
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.t for f in frames] == [0.0, 0.1, 0.2]
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 50, 100]
    assert [f.index for f in FrameSource(str(tmp_path)).frames(lambda i: i != 1)] == [0, 2]


def test_missing_sources_raise_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        FrameSource(str(tmp_path / "nope.mp4"))
    with pytest.raises(SourceError):
        FrameSource(str(tmp_path))  # an empty folder


def test_noisy_full_hd_snapshot_still_fits_the_payload_limit() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    drawn = snapshot.draw_track(image, [(100.0, 100.0), (120.0, 400.0), (130.0, 900.0)])
    text = snapshot.encode(drawn)
    assert len(text) <= SNAPSHOT_MAX_CHARS
    with pytest.raises(snapshot.SnapshotTooLargeError):
        snapshot.encode(image, max_chars=100)
