"""Registry scale: gateway start-up time and RSS with 10k and 100k registered devices.

Each size gets a fresh SQLite file holding the devices and, as after a day of traffic, a twin
for every device (last seen, battery, location, last telemetry) and the seq windows dedup keeps
for its telemetry and event channels — start-up loads both, seeds
the rules engine's absence timers from them, and connects to Mosquitto. The gateway runs in a
child process (`bench/gwproc.py`), so its RSS is its own; start-up is measured from spawning
that process (imports included) to the gateway being subscribed, and again from inside it.

    .venv/bin/python bench/scale.py [--sizes 10000,100000]

The last line of output is JSON, with a description of the machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import HOME, ROOT, fleet_configs, machine
from gateway.service import Gateway
from gateway.storage.records import SeqWindow, Twin
from tests.support.mosquitto import start_mosquitto


def prepare(db: Path, url: str, devices: int) -> float:
    """Register `devices` and give each a twin; return the seconds registration took."""
    from bench.ingest import settings

    gw = Gateway(settings(db, url))
    t0 = time.perf_counter()
    configs = fleet_configs(devices)
    gw.registry.register(configs)
    took = time.perf_counter() - t0
    rng = random.Random(7)
    now = time.time()
    with gw.store.transaction() as tx:
        for c in configs:
            seen = now - rng.uniform(0, 600)
            twin = Twin(device_id=c.id, online=True, online_source="message",
                        online_changed=seen - 3600, last_seen=seen,
                        battery_pct=float(rng.randint(20, 100)))
            base = rng.randrange(1, 2**40)
            tx.save_windows([(c.id, "t", SeqWindow(base + 2000, 2**63 - 1, seen)),
                             (c.id, "e", SeqWindow(base + 40, 2**20 - 1, seen - 900))])
            if c.kind == "wristband":
                twin.lat, twin.lon, twin.accuracy_m = HOME[0], HOME[1], 10.0
                twin.location_source, twin.location_ts = "gps", seen
                twin.last_telemetry = {"ts": "2026-11-21T04:00:00Z", "heart_rate_bpm": 72,
                                       "spo2_pct": 97.0, "steps": 1200, "worn": True,
                                       "battery_pct": twin.battery_pct}
            tx.save_twin(twin)
    gw.store.close()
    return took


def start_once(db: Path, url: str) -> dict[str, Any]:
    """Spawn the gateway, wait until it is subscribed, stop it; start-up time and RSS."""
    t0 = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "gwproc.py"), "--db", str(db), "--broker", url,
         "--client-id", f"scale-{time.monotonic_ns()}"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    ready = json.loads(child.stdout.readline())
    spawn_to_ready = time.perf_counter() - t0
    time.sleep(2.0)  # the first timer ticks (rules, offline sweep) run with everything loaded
    child.stdin.write("stop\n")
    child.stdin.flush()
    report = json.loads(child.stdout.readline())
    child.wait(60)
    return {"startup_s": round(spawn_to_ready, 2), "startup_in_process_s": ready["startup_s"],
            "startup_cpu_s": ready["startup_cpu_s"], "rss_mb_ready": ready["rss_mb"],
            "peak_rss_mb": report["peak_rss_mb"], "devices_loaded": ready["devices"],
            "connected": ready["ready"]}


def main() -> int:
    """Each size: prepare, start twice (cold-ish and warm page cache), report the second."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_mosquitto(Path(tmp) / "mosquitto")
        try:
            for size in (int(s) for s in args.sizes.split(",")):
                db = Path(tmp) / f"scale-{size}.db"
                register_s = prepare(db, broker.url, size)
                first = start_once(db, broker.url)
                second = start_once(db, broker.url)
                result = {"devices": size, "register_s": round(register_s, 2),
                          "db_mb": round(db.stat().st_size / 2**20, 1),
                          "first_start": first, **second}
                results.append(result)
                print(f"{size:>7} devices: start-up {second['startup_s']} s "
                      f"(in-process {second['startup_in_process_s']} s), "
                      f"RSS {second['rss_mb_ready']} MB ready / {second['peak_rss_mb']} MB peak",
                      flush=True)
        finally:
            broker.stop()
    print(json.dumps({"bench": "scale", "runs": results, "machine": machine()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
