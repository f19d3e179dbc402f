"""A gateway in its own process, for benchmarks that measure its CPU, RSS and latency honestly.

    python bench/gwproc.py --db FILE --broker URL [--client-id ID] [--api-port PORT]

Prints one JSON line `{"ready": ...}` once connected (with start-up time and RSS), then runs
until stdin is closed or says `stop`, and prints a final JSON line with what it measured:
publish → committed latency (from the payload's `ts`), CPU time of the process and of the
pipeline thread, peak RSS, and a per-second timeline of committed messages and queue depth.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.envelope import Envelope
from gateway.service import Gateway
from gateway.settings import Settings
from gateway.storage.records import Twin
from gateway.storage.sqlite import SqliteTx


class LatencyProbe:
    """Pipeline hook + commit callback: device `ts` of each accepted message → commit time."""

    def __init__(self) -> None:
        self._pending: list[float] = []
        self.samples: list[tuple[float, float]] = []  # (commit wall time, latency seconds)

    def on_message(self, env: Envelope, twin: Twin, tx: SqliteTx) -> None:
        """Remember the message's device timestamp until its batch commits."""
        self._pending.append(env.ts)

    def on_presence(self, twin: Twin, kind: str, now: float, tx: SqliteTx) -> None:
        """Not measured."""

    def committed(self) -> None:
        """The batch is durable: its messages are done (the PUBACKs follow)."""
        if self._pending:
            now = time.time()
            self.samples.extend((now, now - ts) for ts in self._pending)
            self._pending.clear()

    def rolled_back(self) -> None:
        """Those messages will be retried."""
        self._pending.clear()


def thread_cpu(thread: threading.Thread | None) -> float:
    """CPU seconds used by one thread so far (Linux)."""
    if thread is None or thread.ident is None:
        return 0.0
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    except (OSError, AttributeError):
        return 0.0


def rss_mb() -> float:
    """Current resident set size."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def process_cpu() -> float:
    """User + system CPU seconds of this process."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def build(args: argparse.Namespace) -> tuple[Gateway, LatencyProbe]:
    """The gateway with real settings and the probe attached."""
    overrides: dict[str, Any] = {}
    if args.api_port:
        overrides["api"] = {"host": "127.0.0.1", "port": args.api_port}
    settings = Settings(
        broker={"url": args.broker, "client_id": args.client_id},
        database={"url": f"sqlite:///{args.db}"},
        log_json=False, log_level="WARNING", **overrides,
    )
    probe = LatencyProbe()
    gw = Gateway(settings, hooks=[probe])
    gw.pipeline.on_commit.append(probe.committed)
    gw.pipeline.on_rollback.append(probe.rolled_back)
    return gw, probe


def main() -> int:
    """Run until told to stop; report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--broker", required=True)
    parser.add_argument("--client-id", default="bench-gateway")
    parser.add_argument("--api-port", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    cpu0 = process_cpu()
    gw, probe = build(args)
    server = None
    gw.start()
    if args.api_port:
        from api.server import ApiServer  # the API only when asked: it costs memory

        server = ApiServer(gw)
        server.start()
    connected = gw.mqtt.wait_connected(30)
    startup = time.perf_counter() - t0
    print(json.dumps({"ready": connected, "startup_s": round(startup, 3),
                      "startup_cpu_s": round(process_cpu() - cpu0, 3),
                      "rss_mb": round(rss_mb(), 1), "devices": len(gw.registry)}), flush=True)

    timeline: list[dict[str, float]] = []
    stop = threading.Event()

    def watch_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    cpu_start = process_cpu()
    pipe_start = thread_cpu(gw.pipeline._thread)
    mqtt_start = thread_cpu(gw.mqtt._thread)
    wall_start = time.perf_counter()
    while not stop.wait(1.0):
        timeline.append({"t": round(time.perf_counter() - wall_start, 2),
                         "processed": gw.pipeline.processed, "queue": gw.pipeline.depth(),
                         "rss_mb": round(rss_mb(), 1)})
    wall = time.perf_counter() - wall_start
    cpu = process_cpu() - cpu_start
    pipe_cpu = thread_cpu(gw.pipeline._thread) - pipe_start
    mqtt_cpu = thread_cpu(gw.mqtt._thread) - mqtt_start
    gw.stop()
    if server is not None:
        server.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "processed": gw.pipeline.processed, "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2), "cpu_pct_of_one_core": round(100 * cpu / wall, 1),
        "pipeline_thread_cpu_s": round(pipe_cpu, 2), "mqtt_thread_cpu_s": round(mqtt_cpu, 2),
        "peak_rss_mb": round(peak, 1), "timeline": timeline,
        "samples": [[round(t, 4), round(lat * 1000, 2)] for t, lat in probe.samples],
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
