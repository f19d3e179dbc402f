"""Browser fixtures: the seeded demo community behind a real uvicorn, and headless Chromium."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import T0
from tests.console.stack import PASSWORD, Site, start_site

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
# What a page shows after a message went through the gateway (a live push, a banner) can take
# seconds on a loaded 2-core CI machine running two test workers: assertions wait up to 10 s
# (Playwright's default is 5), as page actions already do.
sync_api.expect.set_options(timeout=10_000)

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# Mr. Yang's band (R-yang, family yang.jun, building 3 / grid G-01) near his unit door.
YANG_FIX = {"lat": 35.4151, "lon": 116.5853, "accuracy_m": 12}
# From the park (游园) back along the central fire lane to building 3.
WALK = [(35.4150, 116.5880), (35.4156, 116.5866), (35.4154, 116.5858), (35.4152, 116.5855)]
LI_FIX = {"lat": 35.4143, "lon": 116.5871, "accuracy_m": 9}


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo community (seed bundle + site map) on Mosquitto and SQLite, served by uvicorn.

    One stack for the console tests that leave the clock alone (they touch different elders
    and tickets): a browser test is slow enough without rebuilding the community for each.
    Tests that move time or flood the board start their own (`start_site`).
    """
    site = start_site(tmp_path_factory.mktemp("console"))
    vitals = {"heart_rate_bpm": 77, "systolic_mmhg": 138, "diastolic_mmhg": 86,
              "glucose_mmol_l": 6.4, "spo2_pct": 97, "battery_pct": 64}
    for minutes, (lat, lon) in zip((50, 40, 30, 20), WALK, strict=True):  # this morning's walk
        site.publish("WB-1001", "telemetry", {"ts": int((T0 - 60 * minutes) * 1000),
                                              "location": {"lat": lat, "lon": lon,
                                                           "accuracy_m": 15}})
    site.publish("WB-1001", "telemetry", {**vitals, "location": YANG_FIX})
    site.publish("WB-1002", "telemetry", {**vitals, "location": LI_FIX})
    site.publish("WB-1001", "event", {"type": "sos", "location": YANG_FIX})
    site.wait_processed(3 + len(WALK))
    yield site
    site.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser).

    Package scope: sync Playwright keeps an asyncio loop on the main thread while it runs,
    so it must be gone before other packages' tests call asyncio.run().
    """
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Open pages in fresh contexts (own session storage); `new_page(viewport)`."""
    contexts = []

    def _open(viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(viewport=viewport, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
        context.set_default_timeout(10_000)
        contexts.append(context)
        errors: list[str] = []

        def offline(route: Any) -> None:  # the sites are offline: any outside fetch is a bug
            errors.append(f"outside request: {route.request.url}")
            route.abort()

        context.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])"), offline)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # 5xx anywhere, or a missing page or asset (4xx from the API can be the point of a test).
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500
                or (r.status >= 400 and r.request.resource_type != "fetch") else None)
        page.errors = errors  # tests assert it stays empty
        return page

    yield _open
    for context in contexts:
        context.close()


def login(page: Any, url: str, username: str) -> None:
    """Open `url` and sign in through the form."""
    page.goto(url)
    page.locator("#login input[name=username]").fill(username)
    page.locator("#login input[name=password]").fill(PASSWORD)
    page.locator("#login button[type=submit]").click()
    sync_api.expect(page.locator("#app")).to_be_visible()


def no_horizontal_scroll(page: Any) -> bool:
    """The page is no wider than the viewport."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under tests/artifacts/ (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
