"""Photos residents attach to a request: size-checked, decoded, re-encoded, metadata gone.

Only the pixels survive: the image is decoded by Pillow (JPEG, PNG, WebP, GIF's first
frame), turned upright by its EXIF orientation, scaled down to a longest side, and written
as a fresh baseline JPEG without EXIF (GPS position, phone model, time), ICC or comments. A
file that is not a picture, is too large, or would decompress into an enormous bitmap is
refused with a reason the resident can act on.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})  # MPO opens as JPEG
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is fine; a "bomb" of 50k x 50k is not
JPEG_QUALITY = 82


class PhotoError(ValueError):
    """A photo that cannot be accepted; the message is shown to the resident."""


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    """A re-encoded photo ready to store."""

    data: bytes
    width: int
    height: int
    media_type: str = "image/jpeg"


def clean_photo(raw: bytes, *, max_bytes: int, max_side: int) -> CleanPhoto:
    """Re-encode `raw` as a metadata-free JPEG no larger than `max_side` on its long side."""
    if not raw:
        raise PhotoError("照片是空文件 (the photo is empty)")
    if len(raw) > max_bytes:
        raise PhotoError(f"照片太大（最大 {max_bytes // (1024 * 1024)} MB） "
                         f"(the photo is larger than {max_bytes // (1024 * 1024)} MB)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=sorted(ACCEPTED_FORMATS))
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError("照片像素过多 (the photo has too many pixels)")
            if image.format == "JPEG":
                # Decode at the smallest 1/2, 1/4 or 1/8 scale still covering max_side: a
                # 40-megapixel photo then never exists at full size in memory.
                image.draft("RGB", (max_side, max_side))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError("照片像素过多 (the photo has too many pixels)") from exc
    except UnidentifiedImageError as exc:
        raise PhotoError("无法识别的图片，请选择 JPEG 或 PNG 照片 "
                         "(not a picture we can read: choose a JPEG or PNG photo)") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt file
        raise PhotoError("照片文件已损坏 (the photo file is damaged)") from exc
    # Scale first, then turn and flatten: a 1-bit or palette picture of tens of megapixels
    # is a few MB as decoded but hundreds as RGBA (a 5 KB PNG took 430 MB). The box is a
    # square, so turning after scaling gives the same size.
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    upright = ImageOps.exif_transpose(image)
    if upright.mode not in ("RGB", "L"):
        background = Image.new("RGB", upright.size, "white")
        rgba = upright.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        upright = background
    # A new image from the pixels alone: nothing of the original's info dict comes along.
    bare = Image.new(upright.mode, upright.size)
    bare.paste(upright)
    out = io.BytesIO()
    bare.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanPhoto(out.getvalue(), bare.width, bare.height)
