"""Console reads during a drain: how long the control room waits while ingest is busy.

Real parts: Mosquitto, the gateway with its real settings and the built-in rule pack, the
API served by uvicorn over HTTP, 10k registered devices, the flood traffic profile.

    .venv/bin/python bench/console_reads.py [--messages 100000] [--readers 10] [--interval 2]

Two drains of the same size, each from a fresh database and queue: first with nobody
reading, then with `--readers` consoles that each poll `GET /alerts`, `/tickets/board` and
`/devices` (the operator console's three lists) in turn, one request every interval/3 s,
over keep-alive connections. The consoles run in a process of their own, as browsers do on
other machines: in the gateway's process their HTTP client work would compete for its
interpreter lock and be counted as the API's latency. Reports the latency of every read
(p50/p95/p99/max per route) and both drain rates with their ratio. The last line of output is JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.server import ApiServer
from bench.harness import Traffic, machine, percentiles, publish_now, raise_fd_limit
from bench.ingest import DEVICES, prepare, settings
from gateway.service import Gateway
from gateway.settings import ApiSettings
from gateway.users import UserRepository
from tests.support.mosquitto import start_mosquitto

ROUTES = ("/alerts?state=open&limit=200", "/tickets/board", "/devices?limit=500")
OPERATOR, PASSWORD = "bench-operator", "bench-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Reader(threading.Thread):
    """One console: polls the three lists in turn until told to stop."""

    def __init__(self, url: str, token: str, pause_s: float, stop: Any) -> None:
        super().__init__(daemon=True)
        self._client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                    timeout=30)
        self._pause, self._halt = pause_s, stop
        self.latencies: dict[str, list[float]] = {r: [] for r in ROUTES}
        self.failures = 0

    def run(self) -> None:
        i = 0
        while not self._halt.is_set():
            route = ROUTES[i % len(ROUTES)]
            t0 = time.perf_counter()
            r = self._client.get(route)
            took = (time.perf_counter() - t0) * 1000
            if r.status_code == 200:
                self.latencies[route].append(took)
            else:
                self.failures += 1
            i += 1
            self._halt.wait(self._pause)
        self._client.close()


def _consoles(url: str, token: str, pause_s: float, n: int, stop: Any, out: Any) -> None:
    """The consoles' process: `n` readers until `stop` is set; their latencies to `out`."""
    team = [Reader(url, token, pause_s, stop) for _ in range(n)]
    for reader in team:
        reader.start()
    for reader in team:
        reader.join()
    out.put(({r: [x for t in team for x in t.latencies[r]] for r in ROUTES},
             sum(t.failures for t in team)))


def one_drain(n: int, readers: int, interval: float, share: float) -> dict[str, Any]:
    """A fresh broker, database and queue of `n` flood messages; drain it (with readers)."""
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_mosquitto(Path(tmp) / "mosquitto")
        try:
            db = Path(tmp) / "scgw.db"
            prepare(db, broker.url, DEVICES)
            base = settings(db, broker.url)
            cfg = base.model_copy(update={"api": base.api.model_copy(
                update={"host": "127.0.0.1", "port": _free_port(), "interactive_share": share})})
            messages = Traffic(DEVICES, profile="flood").batch(n)
            publish_now(broker.url, messages)
            gw = Gateway(cfg)
            UserRepository(gw.store, gw.clock).add(OPERATOR, PASSWORD, "operator")
            gw.start(connect=False)
            server = ApiServer(gw)
            server.start()
            ctx = multiprocessing.get_context("spawn")  # never fork a process with threads
            stop, results = ctx.Event(), ctx.Queue()
            consoles, token = None, ""
            if readers:
                token = httpx.post(f"{server.url}/auth/token", data={
                    "username": OPERATOR, "password": PASSWORD}).json()["access_token"]
                consoles = ctx.Process(target=_consoles, args=(
                    server.url, token, interval / len(ROUTES), readers, stop, results))
                consoles.start()
            t0 = time.perf_counter()
            gw.sessions.start()  # the main session and the event lane
            ok = gw.pipeline.wait_processed(n, 900)
            took = time.perf_counter() - t0
            stop.set()
            merged, failures = results.get(timeout=60) if consoles else ({}, 0)
            if consoles is not None:
                consoles.join(30)
            processed = gw.pipeline.processed
            idle = _idle_reads(server.url, token) if readers else {}
            server.stop()
            gw.stop()
        finally:
            broker.stop()
    out: dict[str, Any] = {"all_committed": ok, "seconds": round(took, 2),
                           "rate": round(processed / took),
                           "ingest_stepped_aside_s": round(gw.interactive.yielded_total_s, 2)}
    if readers:
        out["reads"] = {route: {"n": len(lat), **(percentiles(lat) if lat else {})}
                        for route, lat in merged.items()}
        out["read_failures"] = failures
        out["idle_reads"] = idle
    return out


def _idle_reads(url: str, token: str, rounds: int = 30) -> dict[str, Any]:
    """The same reads once the drain is over: what a read costs without contention."""
    lat: dict[str, list[float]] = {r: [] for r in ROUTES}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as client:
        for _ in range(rounds):
            for route in ROUTES:
                t0 = time.perf_counter()
                client.get(route).raise_for_status()
                lat[route].append((time.perf_counter() - t0) * 1000)
    return {route: percentiles(x) for route, x in lat.items()}


def main() -> int:
    """Run both drains and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2.0,
                        help="seconds for one console to read all three lists")
    parser.add_argument("--interactive-share", type=float, default=None,
                        help="api.interactive_share for this run (default: the setting's)")
    args = parser.parse_args()
    share = (args.interactive_share if args.interactive_share is not None
             else ApiSettings().interactive_share)
    raise_fd_limit()
    load = os.getloadavg()[0]
    quiet = one_drain(args.messages, 0, args.interval, share)
    print(f"drain without readers: {quiet}", flush=True)
    busy = one_drain(args.messages, args.readers, args.interval, share)
    print(f"drain with {args.readers} readers: {busy}", flush=True)
    print(json.dumps({
        "bench": "console_reads", "messages": args.messages, "traffic": "flood",
        "readers": args.readers, "interval_s": args.interval, "interactive_share": share,
        "drain_without_readers": quiet, "drain_with_readers": busy,
        "drain_ratio_with_to_without": round(busy["rate"] / quiet["rate"], 3),
        "load_average_1m_at_start": round(load, 2), "machine": machine()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
