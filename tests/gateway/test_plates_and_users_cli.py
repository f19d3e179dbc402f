"""`scgw plates export|rotate` and `scgw users list|passwd|disable` as real processes on a real
SQLite file: the printed codes carry each unit's own signed link, in Chinese, per building."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gateway.clock import SystemClock
from gateway.plates import PlateTokenError, PlateTokens, plate_key
from gateway.plates_export import qr
from gateway.settings import Settings
from gateway.storage.plates_repo import PlateReads
from gateway.storage.sqlite import SqliteStore
from gateway.users import UserRepository

SCGW = Path(sys.executable).with_name("scgw")
SITE = "jining-renmin"
BASE = "https://sq.example.cn"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "scgw.db"
    store = SqliteStore(path)
    with store.transaction() as tx:
        tx.people.door_plates([(f"DP-3-{u}-{f}01", SITE, "3", str(u), f"{f}01", "G-01")
                               for u in (1, 2) for f in range(1, 5)]
                              + [("DP-5-1-101", SITE, "5", "1", "101", "G-02"),
                                 ("DP-9-1-101", "other-site", "9", "1", "101", "G-09")])
    UserRepository(store, SystemClock()).add("wang.fang", "first-password", "grid_worker",
                                              grid="G-01", display_name="王芳")
    store.close()
    return path


def scgw(db: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SCGW_DATABASE__URL": f"sqlite:///{db}", "SCGW_LOG_JSON": "false",
               **env}
    return subprocess.run([str(SCGW), *args], capture_output=True, text=True, env=environ,
                          timeout=60, check=False)


def _qr_modules(png: Path, modules: int) -> list[list[bool]]:
    """The dark/light modules read back from a printed PNG (scale 12, border 4)."""
    image = Image.open(png).convert("L")
    scale, border = 12, 4
    return [[image.getpixel(((border + x) * scale + 6, (border + y) * scale + 6)) < 128
             for x in range(modules)] for y in range(modules)]


def test_plates_export_prints_each_unit_its_own_link(db: Path, tmp_path: Path):
    out = tmp_path / "print"
    done = scgw(db, "plates", "export", "--site", SITE, "--out", str(out), "--base-url", BASE)
    assert done.returncode == 0, done.stderr
    assert "9 plates (9 newly issued): 9 PNG, 2 PDF" in done.stdout
    assert sorted(p.name for p in out.glob("*.pdf")) == ["building-3.pdf", "building-5.pdf"]
    pdf = (out / "building-3.pdf").read_bytes()
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 2  # 8 plates, 6 to a page
    assert b"/FontFile3" in pdf or b"/FontFile2" in pdf  # the CJK font is embedded
    store = SqliteStore(db)
    try:
        plate = PlateReads(store).plate("DP-3-1-201")
        assert plate is not None and plate.version == 1
        tokens = PlateTokens(plate_key(Settings()))
        url = f"{BASE}/r/{tokens.token(plate.code, plate.version, plate.secret)}"
        code = qr(url)
        size = code.symbol_size(border=0)[0]
        printed = _qr_modules(out / "building-3" / "DP-3-1-201.png", size)
        assert printed == [[bool(m) for m in row] for row in code.matrix]
        assert tokens.verify(url.rsplit("/", 1)[1], store).plate.code == "DP-3-1-201"
        assert PlateReads(store).plate("DP-9-1-101").version is None  # another site: untouched
        rotated = scgw(db, "plates", "rotate", "DP-3-1-201")
        assert rotated.returncode == 0 and "link version 2" in rotated.stdout
        with pytest.raises(PlateTokenError):
            tokens.verify(url.rsplit("/", 1)[1], store)
        assert store.query("SELECT action FROM admin_audit WHERE target = 'DP-3-1-201'") == [
            {"action": "plate_rotate"}]
    finally:
        store.close()


def test_plates_export_says_what_is_wrong(db: Path, tmp_path: Path):
    wrong = scgw(db, "plates", "export", "--site", "nowhere", "--out", str(tmp_path / "x"))
    assert wrong.returncode == 1 and "sites with plates: jining-renmin, other-site" in wrong.stderr
    nofont = scgw(db, "plates", "export", "--site", SITE, "--out", str(tmp_path / "y"),
                  SCGW_PLATES__FONT_FILE=str(tmp_path / "missing.ttc"))
    assert nofont.returncode == 1 and "fonts-noto-cjk" in nofont.stderr


def test_users_list_passwd_and_disable(db: Path):
    listed = scgw(db, "users", "list")
    assert listed.returncode == 0
    assert listed.stdout.splitlines() == ["wang.fang\tgrid_worker\tG-01\tenabled\t王芳"]
    changed = scgw(db, "users", "passwd", "wang.fang", SCGW_NEW_PASSWORD="second-password")
    assert changed.returncode == 0, changed.stderr
    store = SqliteStore(db)
    try:
        users = UserRepository(store, SystemClock())
        assert users.authenticate("wang.fang", "second-password") is not None
        assert users.authenticate("wang.fang", "first-password") is None
        assert scgw(db, "users", "disable", "wang.fang").returncode == 0
        assert users.get("wang.fang").disabled
        assert users.authenticate("wang.fang", "second-password") is None
        actions = [r["action"] for r in store.query(
            "SELECT action, actor FROM admin_audit ORDER BY id")]
        assert actions == ["user_password_reset", "user_disable"]
    finally:
        store.close()
    missing = scgw(db, "users", "disable", "nobody")
    assert missing.returncode == 1 and "nobody" in missing.stderr
