"""Regenerate the screenshots in docs/console.md from a live stack.

Starts what the browser tests start (Mosquitto, the gateway seeded with the demo community,
the API on uvicorn; clock fixed at noon in Jining), plays a morning's incidents over MQTT —
Mr. Yang falls in the park, Mrs. Li presses SOS with her band on the charger, thirty more
elders' bands raise alarms, five minutes pass without anyone accepting — and photographs each
page with Debian's Chromium into docs/img/.

    .venv/bin/python docs/screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.console.flood import add_flood_bands, publish_flood  # noqa: E402
from tests.console.stack import PASSWORD, Site, start_site  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
PARK = {"lat": 35.4150, "lon": 116.5880, "accuracy_m": 6}
LI = {"lat": 35.4143, "lon": 116.5871, "accuracy_m": 9}


def stage(site: Site) -> int:
    """Play the morning; returns the id of Mr. Yang's fall ticket."""
    vitals = {"heart_rate_bpm": 77, "systolic_mmhg": 138, "diastolic_mmhg": 86,
              "glucose_mmol_l": 6.4, "spo2_pct": 97, "battery_pct": 64}
    site.publish("WB-1001", "telemetry", {**vitals, "worn": True, "location": PARK}, wait=True)
    site.publish("WB-1002", "telemetry", {"worn": False, "battery_pct": 71}, wait=True)
    site.call("PUT", "/residents/R-yang/contact", "operator", {
        "phone": "138 0537 0001", "contact_name": "杨军", "contact_relation": "儿子",
        "contact_phone": "139 0537 0002"})
    publish_flood(site, add_flood_bands(site, 30))
    site.advance(240)
    site.publish("WB-1001", "event", {"type": "fall", "location": PARK}, wait=True)
    site.publish("WB-1002", "event", {"type": "sos", "location": LI}, wait=True)
    [row] = site.gateway.store.query(
        "SELECT ta.ticket_id FROM ticket_alerts ta JOIN alerts a ON a.id = ta.alert_id"
        " WHERE a.device_id = 'WB-1001' AND a.rule_id = 'wristband.fall'")
    ticket = int(row["ticket_id"])
    site.call("POST", f"/tickets/{ticket}/transitions", "operator", {
        "action": "dispatch", "assignee": "liuyang",
        "note": "请立即到仁和游园查看杨德福，家属杨军已在路上"})
    site.advance(90)  # the flood's urgent tickets are past their 5-minute accept limit
    return ticket


def shoot(page: Any, out: Path, name: str, *, full: bool = True) -> None:
    """A screenshot of the page (or of the viewport)."""
    page.screenshot(path=str(out / f"{name}.png"), full_page=full)
    print(out / f"{name}.png")


def login(page: Any, url: str, user: str) -> None:
    """Open `url`, signing in through the form unless the browser's session does it."""
    page.goto(url)
    page.wait_for_selector("#app:not([hidden]), #login:not([hidden])")
    if page.locator("#app").is_visible():
        return
    page.locator("#login input[name=username]").fill(user)
    page.locator("#login input[name=password]").fill(PASSWORD)
    page.locator("#login button[type=submit]").click()
    expect(page.locator("#app")).to_be_visible()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="console-shots-") as tmp:
        site = start_site(Path(tmp))
        try:
            ticket = stage(site)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])

                def page_for(viewport: dict[str, int]) -> Any:
                    context = browser.new_context(viewport=viewport, locale="zh-CN",
                                                  timezone_id="Asia/Shanghai")
                    return context.new_page()

                console = page_for(DESKTOP)
                login(console, f"{site.url}/", "operator")
                expect(console.locator("li.alert[data-device=WB-1002]")).to_be_visible()
                shoot(console, args.out, "console-alerts")
                console.locator("nav.tabs button[data-tab=tickets]").click()
                expect(console.locator(".card.overdue").first).to_be_visible()
                shoot(console, args.out, "console-tickets")
                console.locator("header [data-action=lang]").click()
                console.locator("nav.tabs button[data-tab=alerts]").click()
                shoot(console, args.out, "console-alerts-en")
                console.locator("header [data-action=lang]").click()

                detail = page_for(DESKTOP)
                login(detail, f"{site.url}/ticket?id={ticket}", "operator")
                expect(detail.locator("#timeline li").first).to_be_visible()
                shoot(detail, args.out, "ticket")
                login(detail, f"{site.url}/device?id=WB-1002", "operator")
                expect(detail.locator("#twin-worn")).to_be_visible()
                shoot(detail, args.out, "device")

                worker = page_for(PHONE)
                login(worker, f"{site.url}/grid", "liuyang")
                card = worker.locator(f"#mine .card[data-ticket-id='{ticket}']")
                expect(card.locator(".place-name")).to_be_visible()
                card.locator("button[data-act=contact]").click()
                expect(card.locator(".contact a").first).to_be_visible()
                card.scroll_into_view_if_needed()
                shoot(worker, args.out, "grid", full=False)

                family = page_for(PHONE)
                login(family, f"{site.url}/family", "li.na")
                expect(family.locator("#alarms li[data-type=sos]")).to_be_visible()
                shoot(family, args.out, "family")
                browser.close()
        finally:
            site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
