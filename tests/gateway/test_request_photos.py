"""Residents' photos cost bounded memory to clean, whatever their pixels claim."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gateway.request_photos import clean_photo

_PEAK = """
import resource, sys
from gateway.request_photos import clean_photo
raw = open(sys.argv[1], "rb").read()
photo = clean_photo(raw, max_bytes=8 * 1024 * 1024, max_side=1600)
print(photo.width, photo.height, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def _peak_mb(path: Path) -> tuple[int, int, int]:
    # A process of its own: its high-water mark is the cleaning's (Pillow allocates outside
    # Python's tracked heap).
    out = subprocess.run([sys.executable, "-c", _PEAK, str(path)], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    w, h, mb = (int(x) for x in out.stdout.split())
    return w, h, mb


def _baseline_mb(tmp_path: Path) -> int:
    small = tmp_path / "small.png"
    Image.new("RGB", (64, 48), "gray").save(small)
    return _peak_mb(small)[2]


def test_a_tiny_file_of_tens_of_megapixels_is_cleaned_in_little_memory(tmp_path: Path):
    # A 1-bit PNG of 38 megapixels is a few KB on the wire and 150 MB as RGBA.
    bomb = tmp_path / "bomb.png"
    Image.new("1", (7000, 5400), 1).save(bomb, optimize=True)
    assert bomb.stat().st_size < 64 * 1024
    w, h, mb = _peak_mb(bomb)
    assert max(w, h) == 1600
    assert mb - _baseline_mb(tmp_path) < 60, f"cleaning took {mb} MB"  # 400 MB before


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(tmp_path: Path):
    big = tmp_path / "big.jpg"
    Image.linear_gradient("L").resize((6000, 4000)).convert("RGB").save(big, quality=80)
    w, h, mb = _peak_mb(big)
    assert (w, h) == (1600, 1067)
    # Full size would be 72 MB of pixels before scaling.
    assert mb - _baseline_mb(tmp_path) < 100, f"cleaning took {mb} MB"  # 215 MB before


@pytest.mark.parametrize("orientation, size", [(1, (400, 300)), (6, (300, 400))])
def test_the_photo_is_turned_upright_after_scaling(orientation: int, size: tuple[int, int]):
    image = Image.new("RGB", (800, 600), "white")
    exif = Image.Exif()
    exif[0x0112] = orientation
    raw = io.BytesIO()
    image.save(raw, format="JPEG", exif=exif.tobytes())
    photo = clean_photo(raw.getvalue(), max_bytes=1 << 20, max_side=400)
    assert (photo.width, photo.height) == size
    assert b"Exif" not in photo.data
