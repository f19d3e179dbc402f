"""Fleet mode against a real Mosquitto: every message sent is acknowledged."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from simulators.fleet.run import FleetConfig, run_fleet


def test_a_small_fleet_sends_at_rate_and_everything_is_acknowledged(mosquitto):
    cfg = FleetConfig(broker=mosquitto.url, wristbands=50, rate=400, duration_s=1.0,
                      prefix="T-FLEET-")
    # Its own thread and loop: a session-wide browser fixture (sync Playwright) keeps an event
    # loop running on the main thread, where asyncio.run() would refuse to start.
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, run_fleet(cfg)).result(timeout=60)
    assert result["connected"] == 50
    assert result["errors"] == 0
    assert result["sent"] >= 350
    assert result["acknowledged"] == result["sent"]
