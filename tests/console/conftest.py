"""Browser fixtures: the seeded demo community behind a real uvicorn, and headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from api.server import ApiServer
from gateway.clock import ManualClock
from gateway.seed import apply_seed
from gateway.service import Gateway
from gateway.settings import Settings
from simulators.community.export import export
from tests.conftest import T0
from tests.support.clients import Publisher
from tests.support.mosquitto import free_port, start_mosquitto

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "console-test-pw"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# Mr. Yang's band (R-yang, family yang.jun, building 3 / grid G-01) near his unit door.
YANG_FIX = {"lat": 35.4151, "lon": 116.5853, "accuracy_m": 12}
# From the park (游园) back along the central fire lane to building 3.
WALK = [(35.4150, 116.5880), (35.4156, 116.5866), (35.4154, 116.5858), (35.4152, 116.5855)]
LI_FIX = {"lat": 35.4143, "lon": 116.5871, "accuracy_m": 9}


@dataclass
class Site:
    """The running stack a browser test talks to."""

    url: str
    gateway: Gateway
    publisher: Publisher
    seq: int = 100

    def publish(self, device_id: str, channel: str, body: dict[str, Any]) -> None:
        """Publish like the device would, with a fresh seq and the gateway's current time."""
        self.seq += 1
        payload = {"ts": int(self.gateway.clock.time() * 1000), "seq": self.seq, **body}
        self.publisher.publish(f"scgw/v1/wristband/{device_id}/{channel}", orjson.dumps(payload))

    def call(self, method: str, path: str, user: str, body: dict | None = None) -> Any:
        """A REST call as `user` (for setting up and checking state beside the browser)."""
        form = urllib.parse.urlencode({"username": user, "password": PASSWORD}).encode()
        with urllib.request.urlopen(f"{self.url}/auth/token", form, timeout=5) as resp:
            token = json.loads(resp.read())["access_token"]
        request = urllib.request.Request(
            f"{self.url}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo community (seed bundle + site map) on Mosquitto and SQLite, served by uvicorn.

    One stack for all console tests (they touch different elders and tickets): a browser test
    is slow enough without rebuilding the community for each module.
    """
    root = tmp_path_factory.mktemp("console")
    mosquitto = start_mosquitto(root / "mosquitto")
    seed_dir = root / "seed"
    export(seed_dir)
    settings = Settings(
        broker={"url": mosquitto.url, "client_id": f"gw-console-{root.name}"},
        database={"url": f"sqlite:///{root / 'scgw.db'}"},
        log_json=False,
        api={"host": "127.0.0.1", "port": free_port(),
             "sitemap_file": str(seed_dir / "sitemap.json")},
        rules={"extra_dir": str(seed_dir / "rules")},
        workflow={"rota_file": str(seed_dir / "rota.yaml")},
    )
    gw = Gateway(settings, clock=ManualClock(T0))  # noon in Jining: the day-shift worker is on
    apply_seed(gw, seed_dir, password=PASSWORD)
    gw.start()
    assert gw.mqtt.wait_connected(10), "gateway did not connect to mosquitto"
    publisher = Publisher(mosquitto.url)
    site = Site("", gw, publisher)
    vitals = {"heart_rate_bpm": 77, "systolic_mmhg": 138, "diastolic_mmhg": 86,
              "glucose_mmol_l": 6.4, "spo2_pct": 97, "battery_pct": 64}
    for minutes, (lat, lon) in zip((50, 40, 30, 20), WALK, strict=True):  # this morning's walk
        site.publish("WB-1001", "telemetry", {"ts": int((T0 - 60 * minutes) * 1000),
                                              "location": {"lat": lat, "lon": lon,
                                                           "accuracy_m": 15}})
    site.publish("WB-1001", "telemetry", {**vitals, "location": YANG_FIX})
    site.publish("WB-1002", "telemetry", {**vitals, "location": LI_FIX})
    site.publish("WB-1001", "event", {"type": "sos", "location": YANG_FIX})
    assert gw.pipeline.wait_processed(3 + len(WALK), 10)
    server = ApiServer(gw)
    server.start()
    site.url = server.url
    yield site
    # /ws handlers wait on their event queue, not on the socket, so a closed browser tab is
    # noticed only at the next event; don't let uvicorn's graceful shutdown wait for that.
    server._server.force_exit = True
    server.stop()
    publisher.close()
    gw.stop()
    mosquitto.stop()


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
