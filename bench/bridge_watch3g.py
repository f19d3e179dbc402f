"""3G-watch bridge: frames per second into stored rows, and connections held per 100 MB.

Real parts: Mosquitto, the gateway (SQLite, rules on), the bridge on its own event loop.

    .venv/bin/python bench/bridge_watch3g.py [--watches 200] [--frames 20] [--held 2000]

throughput: `--watches` logged-in watches each send `--frames` UD positions as fast as TCP
    takes them; the clock runs until the gateway has stored every one.
memory: `--held` watches log in (each a TCP connection and an MQTT session as itself) and
    then `--held` silent connections are opened; the bridge process's RSS growth per
    connection of each sort gives connections per 100 MB.

The last line is JSON with the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import machine
from devices.catalogue import CATALOGUE
from devices.vendors import watch3g
from gateway.bridges.watch3g import Watch3gBridge
from gateway.clock import SystemClock
from gateway.service import Gateway
from gateway.settings import BridgeSettings, Settings
from tests.support.mosquitto import start_mosquitto
from tests.support.waiting import wait_for


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _ud(device_id: str, at: float, n: int) -> bytes:
    stamp = datetime.fromtimestamp(at, tz=UTC)
    body = (f"UD,{stamp:%d%m%y},{stamp:%H%M%S},A,{35.41 + n * 1e-5:.6f},N,116.587100,E,0.0,"
            f"0.0,45,8,70,80,{n},0,00000000,1,0,460,0,9360,4082,131")
    return watch3g.encode("SG", device_id, body)


def _login(port: int, device_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(watch3g.encode("SG", device_id, "LK"))
    return sock


def main() -> None:
    """Run both measurements and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--watches", type=int, default=200)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--held", type=int, default=2000)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    folder = Path(tempfile.mkdtemp())
    broker = start_mosquitto(folder / "broker")
    total_ids = args.watches + args.held
    ids = [f"88{i:08d}" for i in range(total_ids)]
    gw = Gateway(Settings(broker={"url": broker.url, "client_id": "bench-gw"},
                          database={"url": f"sqlite:///{folder / 'bench.db'}"},
                          log_json=False, log_level="WARNING"))
    gw.registry.register([CATALOGUE.device_config_adapter.validate_python(
        {"id": i, "kind": "wristband", "codec": "watch3g"}) for i in ids])
    gw.start()
    assert gw.mqtt.wait_connected(10)
    bridge = Watch3gBridge(BridgeSettings(max_connections=100_000, first_frame_s=600),
                           broker_host="127.0.0.1", broker_port=broker.port,
                           lookup=gw.registry.get, credentials={}, clock=SystemClock())
    port = bridge.start("127.0.0.1", 0)
    try:
        # -- throughput --------------------------------------------------------------------
        socks = [_login(port, i) for i in ids[:args.watches]]
        assert wait_for(lambda: len(bridge.watches) == args.watches, 60)
        base = time.time() - 3600
        frames = [[_ud(i, base + n, n) for n in range(args.frames)] for i in ids[:args.watches]]
        before = gw.store.query("SELECT count(*) AS n FROM telemetry")[0]["n"]
        want = before + args.watches * args.frames
        start = time.perf_counter()
        for n in range(args.frames):
            for sock, mine in zip(socks, frames, strict=True):
                sock.sendall(mine[n])
        stored = wait_for(lambda: gw.store.query(
            "SELECT count(*) AS n FROM telemetry")[0]["n"] >= want, 300, interval=0.05)
        elapsed = time.perf_counter() - start
        fps = args.watches * args.frames / elapsed
        print(f"{args.watches * args.frames} frames stored in {elapsed:.2f} s: {fps:.0f}/s "
              f"(all stored: {stored})")
        # -- memory ------------------------------------------------------------------------
        rss0 = _rss_kb()
        held = [_login(port, i) for i in ids[args.watches:]]
        assert wait_for(lambda: len(bridge.watches) == total_ids, 120)
        rss1 = _rss_kb()
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(args.held)]
        assert wait_for(lambda: bridge.connections == total_ids + args.held, 60)
        rss2 = _rss_kb()
        per_watch_kb = (rss1 - rss0) / args.held
        per_idle_kb = (rss2 - rss1) / args.held
        for sock in socks + held + idle:
            sock.close()
    finally:
        bridge.stop()
        gw.stop()
        broker.stop()
    result = {
        "benchmark": "bridge_watch3g",
        "frames_per_s_into_stored_rows": round(fps, 1),
        "watches": args.watches, "frames_each": args.frames,
        "logged_in_watch_kb": round(per_watch_kb, 2),
        "idle_connection_kb": round(per_idle_kb, 2),
        "logged_in_watches_per_100mb": round(100 * 1024 / per_watch_kb) if per_watch_kb > 0
        else None,
        "idle_connections_per_100mb": round(100 * 1024 / per_idle_kb) if per_idle_kb > 0
        else None,
        "note": "RSS of the whole process (gateway in the same process); per-connection "
                "figures are growth over --held connections",
        "machine": machine(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
