"""`bench/camera_snr.py` measures how far above the picture's noise a thrown object is: a clear
object reads far above 5, one within the noise reads under it (a short synthetic clip)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bench.camera_snr import measure

FPS = 25.0
W, H = 160, 240


def _clip(path: Path, contrast: float, seed: int = 0) -> dict:
    """3 s of a noisy wall (sigma 4 grey levels); an 8-px object released at 2 s falls."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    g = 9.81 * 40.0 / 3.0  # 40 px a storey
    path_pts = []
    for i in range(round(3.0 * FPS)):
        t = i / FPS
        img = np.full((H, W), 120.0) + rng.normal(0.0, 4.0, (H, W))
        if t >= 2.0:
            y = 40.0 + 0.5 * g * (t - 2.0) ** 2
            path_pts.append([round(t, 3), 80.0, y])
            img[int(y) - 4 : int(y) + 4, 76:84] -= contrast
        frame = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        writer.write(frame)
    writer.release()
    event = {"t": 2.0, "size_px": 8.0, "contrast": contrast, "path": path_pts}
    return {"fps": FPS, "events": [event]}


def test_a_clear_object_stands_far_above_the_noise(tmp_path: Path) -> None:
    truth = _clip(tmp_path / "clear.avi", 60.0)
    [row] = measure(tmp_path / "clear.avi", truth, truth["events"])
    assert row["frames"] >= 20
    assert row["box5"] >= 0.9 and row["box_median"] >= 20


def test_an_object_within_the_noise_reads_under_five(tmp_path: Path) -> None:
    truth = _clip(tmp_path / "faint.avi", 1.0)
    [row] = measure(tmp_path / "faint.avi", truth, truth["events"])
    assert row["box_median"] < 5 and row["box5"] <= 0.3
