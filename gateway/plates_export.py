"""Printing door plates: one QR PNG per unit and one A4 PDF per building, labelled in Chinese.

The QR codes are vector shapes in the PDF (sharp at any printer resolution); the labels use
a CJK font found at run time (Debian's fonts-noto-cjk, or `plates.font_file`) and embedded
as a subset. Plates without a key get their first one here; already issued plates keep
theirs, so an export can be repeated without invalidating what hangs on the doors.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

import segno

from gateway.plates import PlateTokens, label, link, new_secret, plate_key
from gateway.settings import Settings
from gateway.storage.plates_repo import PlateReads, PlateRow

if TYPE_CHECKING:
    from fpdf import FPDF

    from gateway.storage.common import SqlStore

# Where Debian (and a few other distributions) put Noto Sans CJK.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf"),
)
QR_ERROR = "q"  # 25 % of the code may be dirty or scratched: plates hang in stairwells
COLUMNS, ROWS = 2, 3  # plates per A4 page
CARD_W, CARD_H = 90.0, 88.0  # mm
MARGIN_X, MARGIN_Y = 15.0, 16.5


class FontMissingError(RuntimeError):
    """No font that can print the Chinese labels."""


@dataclass(frozen=True, slots=True)
class CjkFont:
    """A font file and, for a collection (.ttc), the index of its Simplified Chinese face."""

    path: Path
    index: int = 0


def find_cjk_font(configured: Path | None = None) -> CjkFont:
    """The font to print labels with; FontMissingError naming the fix when there is none."""
    candidates = [configured] if configured is not None else list(FONT_CANDIDATES)
    if configured is None and shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC:lang=zh-cn"],
                               capture_output=True, text=True, check=False, timeout=10)
        if found.stdout.strip():
            candidates.append(Path(found.stdout.strip()))
    for path in candidates:
        if path.is_file() and path.suffix.lower() in (".ttc", ".otc", ".otf", ".ttf"):
            return CjkFont(path, _sc_face(path))
    where = str(configured) if configured else ", ".join(str(p) for p in FONT_CANDIDATES)
    raise FontMissingError(
        f"no CJK font to print the plate labels (looked at {where}): install Debian's "
        "fonts-noto-cjk (apt-get install fonts-noto-cjk) or set plates.font_file")


def _sc_face(path: Path) -> int:
    """The Simplified Chinese face of a font collection (0 for a single font)."""
    if path.suffix.lower() not in (".ttc", ".otc"):
        return 0
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(path), lazy=True)
    names = [str(f["name"].getDebugName(4) or "") for f in collection.fonts]
    for wanted in (" SC", "SC", "CN", "Hans"):
        for i, name in enumerate(names):
            if wanted in name and "Mono" not in name:
                return i
    return 0


def qr(url: str) -> segno.QRCode:
    """The QR code of a plate link."""
    return segno.make_qr(url, error=QR_ERROR, boost_error=False)


def qr_png(url: str, scale: int = 10) -> bytes:
    """A bare QR code as PNG bytes."""
    out = io.BytesIO()
    qr(url).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def labelled_png(url: str, text: str, code: str, font: CjkFont) -> bytes:
    """The QR code with the unit's label and the plate code under it."""
    from PIL import Image, ImageDraw, ImageFont

    code_image = Image.open(io.BytesIO(qr_png(url, scale=12))).convert("RGB")
    width = code_image.width
    big = ImageFont.truetype(str(font.path), 44, index=font.index)
    small = ImageFont.truetype(str(font.path), 24, index=font.index)
    canvas = Image.new("RGB", (width, code_image.height + 150), "white")
    canvas.paste(code_image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.text((width / 2, code_image.height + 35), text, font=big, fill="black", anchor="mm")
    draw.text((width / 2, code_image.height + 95), f"扫码提交诉求 · {code}", font=small,
              fill="#333333", anchor="mm")
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _runs(matrix: list[bytearray] | tuple) -> Iterator[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules."""
    for y, row in enumerate(matrix):
        x = 0
        for dark, group in groupby(row):
            n = len(list(group))
            if dark:
                yield y, x, n
            x += n


def building_pdf(plates: list[tuple[PlateRow, str]], title: str, font: CjkFont) -> bytes:
    """One A4 PDF: six plates a page with cut lines, each with its QR code and label."""
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_title(title)
    pdf.set_creator("scgw plates export")
    pdf.add_font("cjk", "", str(font.path), collection_font_number=font.index)
    per_page = COLUMNS * ROWS
    for n, (plate, url) in enumerate(plates):
        if n % per_page == 0:
            pdf.add_page()
            pdf.set_font("cjk", size=9)
            pdf.set_text_color(90)
            pdf.set_xy(MARGIN_X, 6)
            pdf.cell(180, 5, f"{title} · 数字门牌码 · 第 {n // per_page + 1} 页")
        slot = n % per_page
        x = MARGIN_X + (slot % COLUMNS) * CARD_W
        y = MARGIN_Y + (slot // COLUMNS) * CARD_H
        _card(pdf, plate, url, x, y)
    return bytes(pdf.output())


def _card(pdf: FPDF, plate: PlateRow, url: str, x: float, y: float) -> None:
    pdf.set_draw_color(170)
    pdf.set_line_width(0.2)
    with pdf.local_context(dash_pattern={"dash": 1.5, "gap": 1.5}):
        pdf.rect(x, y, CARD_W, CARD_H)
    pdf.set_text_color(0)
    pdf.set_font("cjk", size=18)
    pdf.set_xy(x, y + 4)
    pdf.cell(CARD_W, 9, label(plate), align="C")
    code = qr(url)
    modules = code.symbol_size(border=0)[0]
    side = 52.0
    unit = side / modules
    left, top = x + (CARD_W - side) / 2, y + 15
    pdf.set_fill_color(0)
    for row, col, length in _runs(code.matrix):
        pdf.rect(left + col * unit, top + row * unit, length * unit + 0.01, unit + 0.01,
                 style="F")
    pdf.set_font("cjk", size=10)
    pdf.set_xy(x, top + side + 3)
    pdf.cell(CARD_W, 5, "微信或手机相机扫码，一键提交诉求", align="C")
    pdf.set_font("cjk", size=7.5)
    pdf.set_text_color(80)
    pdf.set_xy(x, top + side + 9)
    version = f" · 第{plate.version}版" if plate.version else ""
    pdf.cell(CARD_W, 4, f"{plate.code}{version} · 紧急情况请拨 110 / 119 / 120", align="C")


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote."""

    plates: int
    issued: int
    pngs: list[Path]
    pdfs: list[Path]


def safe_name(text: str) -> str:
    """A file-name-safe version of a building or plate code."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "_"


def export_plates(store: SqlStore, settings: Settings, *, site: str, out: Path,
                  actor: str, now: float, base_url: str | None = None) -> ExportResult:
    """Write `out/<building>/<code>.png` per plate and `out/building-<b>.pdf` per building."""
    tokens = PlateTokens(plate_key(settings))
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # its subsetter narrates at INFO
    font = find_cjk_font(settings.plates.font_file)
    reads = PlateReads(store)
    plates = reads.plates(site=site)
    if not plates:
        known = ", ".join(reads.sites()) or "none"
        raise LookupError(f"no door plates for site {site!r} (sites with plates: {known})")
    missing = [p.code for p in plates if p.version is None]
    if missing:
        with store.transaction() as tx:
            for code in missing:
                tx.plates.issue_key(code, new_secret(), now, actor)
        plates = reads.plates(site=site)
    if base_url:
        settings = settings.model_copy(update={"plates": settings.plates.model_copy(
            update={"public_url": base_url})})
    out.mkdir(parents=True, exist_ok=True)
    pngs, pdfs = [], []
    by_building: dict[str, list[tuple[PlateRow, str]]] = {}
    for plate in plates:
        assert plate.version is not None and plate.secret is not None
        url = link(settings, tokens, plate.code, plate.version, plate.secret)
        folder = out / f"building-{safe_name(plate.building or '_')}"
        folder.mkdir(exist_ok=True)
        png = folder / f"{safe_name(plate.code)}.png"
        png.write_bytes(labelled_png(url, label(plate), plate.code, font))
        pngs.append(png)
        by_building.setdefault(plate.building, []).append((plate, url))
    for building, members in by_building.items():
        pdf = out / f"building-{safe_name(building or '_')}.pdf"
        title = f"{site} {building}号楼" if building else site
        pdf.write_bytes(building_pdf(members, title, font))
        pdfs.append(pdf)
    return ExportResult(len(plates), len(missing), pngs, pdfs)
