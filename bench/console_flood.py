"""The operator console under a flood, measured in headless Chromium.

Real parts: Mosquitto, the gateway and its API (uvicorn) on SQLite, the demo community plus
`--bands` more wearers whose bands each raise SOS, fall and low battery (3 alerts and 3
tickets each). Debian's Chromium (`/usr/bin/chromium`) opens the console.

- first render: from navigation start to the alert list drawn, for a returning operator (the
  session cookie signs the tab in), `--reloads` times;
- new critical: from the commit of the transaction that opened an SOS alert (a pipeline
  on-commit hook, wall clock) to its row appearing in the list (a MutationObserver in the
  page, wall clock on the same machine), `--samples` SOS from other bands, 10 s apart on the
  gateway's clock, once the flood's own follow-ups ("no movement after a fall", a minute on)
  have paged. `commit_to_socket_ms` is the part until the event reached the page.

    .venv/bin/python bench/console_flood.py [--bands 120] [--samples 10] [--reloads 5]

The last line of output is JSON, with a description of the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect, sync_playwright

from bench.harness import machine, percentiles
from gateway.residents import Resident
from tests.conftest import device
from tests.console.flood import add_flood_bands, publish_flood
from tests.console.stack import PASSWORD, CommitTimes, start_site

CHROMIUM = "/usr/bin/chromium"
WATCH = """device => { window.__seen = window.__seen || {};
  new MutationObserver(() => {
    if (!window.__seen[device] && document.querySelector(`li.alert[data-device="${device}"]`))
      window.__seen[device] = Date.now(); })
  .observe(document.getElementById('alerts'), {childList: true, subtree: true}); }"""


def _probes(site: Any, count: int) -> list[str]:
    """Bands that have raised nothing yet (each probe SOS opens a new alert)."""
    ids = [f"WB-P{n:02d}" for n in range(1, count + 1)]
    site.gateway.registry.register([
        device(i, "wristband", site="jining-renmin", building="5", unit="1", grid="G-02",
               resident_id=f"R-{i}") for i in ids])
    site.gateway.alerting.residents.upsert([
        Resident(f"R-{i}", f"探针{n}", frozenset(), "jining-renmin")
        for n, i in enumerate(ids, 1)])
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bands", type=int, default=120)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--reloads", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="console-flood-") as tmp:
        site = start_site(Path(tmp))
        try:
            commits = CommitTimes(site.gateway)
            publish_flood(site, add_flood_bands(site, args.bands))
            # A minute on, the fallen have not moved: "no movement after a fall" pages for each
            # (an avalanche of its own). The probes then measure the board as it stands.
            site.advance(61)
            probes = _probes(site, args.samples)
            summary = site.call("GET", "/alerts/summary", "operator")
            tickets = len(site.call("GET", "/tickets?limit=2000", "operator"))
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                page.goto(f"{site.url}/")
                page.locator("#login input[name=username]").fill("operator")
                page.locator("#login input[name=password]").fill(PASSWORD)
                page.locator("#login button[type=submit]").click()
                expect(page.locator("#alerts li.alert").first).to_be_visible(timeout=30_000)
                renders = []
                for _ in range(args.reloads):
                    page.reload()
                    expect(page.locator("body[data-first-render-ms]")).to_be_attached(
                        timeout=30_000)
                    renders.append(float(page.locator("body").get_attribute(
                        "data-first-render-ms")))
                expect(page.locator("body[data-live=on]")).to_be_attached(timeout=30_000)
                panel_ms = float(page.locator("#alert-panel").get_attribute("data-render-ms"))
                latencies, delivery = [], []
                for probe in probes:
                    site.advance(10)
                    page.evaluate(WATCH, probe)
                    site.publish(probe, "event", {"type": "sos"})
                    expect(page.locator(f"li.alert[data-device={probe}]")).to_be_visible(
                        timeout=30_000)
                    seen = page.evaluate(f"window.__seen['{probe}']")
                    got = page.evaluate(f"window.scgwReceived('{probe}')")
                    latencies.append(seen - commits.times[probe] * 1000)
                    delivery.append(got - commits.times[probe] * 1000)
                browser.close()
        finally:
            site.stop()
    result = {"bench": "console_flood", "open_alerts": summary["open"], "tickets": tickets,
              "first_render_ms": percentiles(renders, (50,)),
              "new_critical_visible_ms": percentiles(latencies, (50, 95)),
              "commit_to_socket_ms": percentiles(delivery, (50, 95)),
              "alert_panel_render_ms": panel_ms, "samples": len(latencies),
              "machine": machine()}
    print(f"{summary['open']} open alerts, {tickets} tickets: first render p50 "
          f"{result['first_render_ms']['p50']} ms; new critical visible p50 "
          f"{result['new_critical_visible_ms']['p50']} ms, max "
          f"{result['new_critical_visible_ms']['max']} ms after commit")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
