"""Ingest benchmark: the gateway against the ceiling of a bare paho-mqtt subscriber.

Real parts: Mosquitto (generated config, free port), the gateway with its real settings
(SQLite file, WAL, synchronous=FULL, the built-in rule pack, 10k registered devices).

    .venv/bin/python bench/ingest.py drain [--messages 200000] [--profile out.raw]
    .venv/bin/python bench/ingest.py live [--rates 5000] [--duration 20]

drain: N mixed QoS 1 messages (wristband, access, locker) wait in the gateway's persistent
    session while it is stopped; then the time until it has committed them all. In the same run
    and from the same broker, a bare paho subscriber (persistent session, QoS 1, parses the
    JSON, auto-acks) drains the same N: the ceiling. Reports both rates and their ratio.
live: a generator publishes at a target rate while the gateway runs in its own process;
    publish → committed latency (the payload's `ts` vs the commit), the rate sustained, the
    backlog, gateway CPU and peak RSS.

The last line of output is JSON, with a description of the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    ROOT,
    Traffic,
    generate,
    machine,
    percentiles,
    publish_now,
    raise_fd_limit,
    register_fleet,
)
from devices import topics
from gateway.service import Gateway
from gateway.settings import Settings
from tests.support.mosquitto import start_mosquitto

DEVICES = 10_000
GATEWAY_ID = "bench-gateway"


def settings(db: Path, url: str) -> Settings:
    """The gateway's real settings, pointed at the benchmark's broker and database."""
    return Settings(broker={"url": url, "client_id": GATEWAY_ID},
                    database={"url": f"sqlite:///{db}"}, log_json=False, log_level="WARNING")


def prepare(db: Path, url: str, devices: int) -> None:
    """Register the fleet and create the gateway's persistent session, then stop."""
    gw = Gateway(settings(db, url))
    register_fleet(gw, devices)
    gw.start()
    if not gw.mqtt.wait_connected(15):
        raise RuntimeError("gateway did not connect")
    gw.stop()


class BareSubscriber:
    """The ceiling: paho-mqtt, persistent MQTT 5 session, QoS 1, parse the JSON, auto-ack."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.host, self.port = host, int(port)
        self.count = 0
        self.done = threading.Event()
        self.target = 0
        self.subscribed = threading.Event()
        # The same protocol as the gateway's settings (SCGW_BROKER__PROTOCOL), for a fair ratio.
        self.v5 = Settings().broker.protocol == "5"
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-bare",
            clean_session=None if self.v5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if self.v5 else MQTTProtocolVersion.MQTTv311)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_connect = self._on_connect

    def _on_connect(self, client: paho.Client, *args: Any) -> None:
        client.subscribe([(f, 1) for f in topics.subscriptions()])

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        orjson.loads(msg.payload)
        self.count += 1
        if self.count >= self.target:
            self.done.set()

    def connect(self) -> None:
        """Connect keeping the session (7 days), in paho's own network thread."""
        self.subscribed.clear()
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 7 * 86_400
            self.client.connect(self.host, self.port, 60, clean_start=False, properties=props)
        else:
            self.client.connect(self.host, self.port, 60)
        self.client.loop_start()

    def disconnect(self) -> None:
        """Leave the session on the broker."""
        self.client.disconnect()
        self.client.loop_stop()


def start_profiler(out: str, rate: int = 250, pid: int | None = None) -> subprocess.Popen[bytes]:
    """py-spy sampling a process (this one by default): collapsed stacks of all threads."""
    spy = Path(sys.executable).with_name("py-spy")
    proc = subprocess.Popen([str(spy), "record", "-p", str(pid or os.getpid()), "-f", "raw",
                             "-o", out,
                             "-r", str(rate), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy needs a moment to attach
    return proc


def _batches(gw: Gateway) -> dict[str, float]:
    """How many transactions the drain took and their mean size (from the batch histogram)."""
    count = total = 0.0
    for metric in gw.metrics.batch_size.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                count = sample.value
            elif sample.name.endswith("_sum"):
                total = sample.value
    return {"transactions": int(count), "mean_batch": round(total / count, 1) if count else 0}


def drain(args: argparse.Namespace) -> dict[str, Any]:
    """Both drains in one run, same broker, same messages."""
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_mosquitto(Path(tmp) / "mosquitto")
        try:
            db = Path(tmp) / "scgw.db"
            prepare(db, broker.url, DEVICES)
            bare = BareSubscriber(broker.url)
            bare.connect()
            bare.subscribed.wait(10)
            time.sleep(0.2)
            bare.disconnect()
            messages = Traffic(DEVICES, profile=args.traffic).batch(n)
            publish_s = publish_now(broker.url, messages)
            print(f"published {n} in {publish_s:.1f}s ({n / publish_s:,.0f}/s)", flush=True)

            bare.target = n
            load = os.getloadavg()[0]
            t0, cpu0 = time.perf_counter(), time.process_time()
            bare.connect()
            bare.done.wait(300)
            bare_s = time.perf_counter() - t0
            bare_cpu = time.process_time() - cpu0
            bare.disconnect()
            print(f"bare paho: {bare.count} in {bare_s:.2f}s ({bare.count / bare_s:,.0f}/s)",
                  flush=True)

            gw = Gateway(settings(db, broker.url))
            gw.start(connect=False)
            spy = start_profiler(args.profile) if args.profile else None
            t0, cpu0 = time.perf_counter(), time.process_time()
            gw.sessions.start()  # the main session and the event lane
            ok = gw.pipeline.wait_processed(n, 600)
            gw_s = time.perf_counter() - t0
            gw_cpu = time.process_time() - cpu0
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
            processed = gw.pipeline.processed
            rows = gw.store.query(
                "SELECT (SELECT count(*) FROM telemetry) AS telemetry,"
                " (SELECT count(*) FROM events WHERE channel = 'event') AS events,"
                " (SELECT count(*) FROM dead_letters) AS dead_letters,"
                " (SELECT count(*) FROM alerts) AS alerts")[0]
            batches = _batches(gw)
            gw.stop()
            print(f"gateway: {processed} in {gw_s:.2f}s ({processed / gw_s:,.0f}/s) {rows}",
                  flush=True)
        finally:
            broker.stop()
    gw_rate, bare_rate = processed / gw_s, bare.count / bare_s
    return {"bench": "ingest", "mode": "drain", "traffic": args.traffic, "messages": n,
            "devices": DEVICES,
            "all_committed": ok, "stored": rows,
            "gateway": {"seconds": round(gw_s, 2), "rate": round(gw_rate),
                        "cpu_s": round(gw_cpu, 2), "cpu_us_per_msg": round(1e6 * gw_cpu / n, 1),
                        **batches},
            "bare_paho": {"seconds": round(bare_s, 2), "rate": round(bare_rate),
                          "cpu_s": round(bare_cpu, 2),
                          "cpu_us_per_msg": round(1e6 * bare_cpu / n, 1)},
            "load_average_1m_at_start": round(load, 2),
            "ratio": round(gw_rate / bare_rate, 3),
            "publish_rate": round(n / publish_s), "machine": machine()}


def live_one(url: str, db: Path, rate: float, duration: float, warmup: float,
             profile: str | None = None) -> dict[str, Any]:
    """One gateway process, one target rate."""
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "gwproc.py"), "--db", str(db), "--broker", url,
         "--client-id", GATEWAY_ID], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    assert child.stdin is not None and child.stdout is not None
    ready = json.loads(child.stdout.readline())
    spy = start_profiler(f"{profile}.{int(rate)}", pid=child.pid) if profile else None
    gen = asyncio.run(generate(url, rate, warmup + duration, Traffic(DEVICES, seed=int(rate))))
    time.sleep(1.0)
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
    child.stdin.write("stop\n")
    child.stdin.flush()
    report = json.loads(child.stdout.readline())
    child.wait(30)
    samples = report.pop("samples")
    first = min((t for t, _ in samples), default=0.0)
    measured = [lat for t, lat in samples if t - first >= warmup]
    quarter = [lat for t, lat in samples if t - first >= warmup + 0.75 * duration]
    timeline = report.pop("timeline")
    result = {
        "target_rate": rate, "achieved_rate": round(gen["achieved_rate"]),
        "sent": gen["sent"], "acked": gen["acked"], "committed": len(samples),
        "latency_ms": percentiles(measured), "latency_ms_last_quarter": percentiles(quarter),
        "max_queue_depth": max((p["queue"] for p in timeline), default=0),
        "startup": ready, **report,
    }
    result["sustained"] = bool(gen["acked"] == gen["sent"] and len(samples) >= gen["sent"]
                               and gen["achieved_rate"] >= 0.97 * rate
                               and result["latency_ms_last_quarter"]["p99"] < 1000)
    return result


def live(args: argparse.Namespace) -> dict[str, Any]:
    """The ladder of target rates, one gateway process each."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_mosquitto(Path(tmp) / "mosquitto")
        try:
            db = Path(tmp) / "scgw.db"
            prepare(db, broker.url, DEVICES)
            for rate in (float(r) for r in args.rates.split(",")):
                r = live_one(broker.url, db, rate, args.duration, args.warmup, args.profile)
                runs.append(r)
                lat = r["latency_ms"]
                print(f"target {rate:,.0f}/s achieved {r['achieved_rate']:,}/s committed "
                      f"{r['committed']} p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} ms "
                      f"cpu {r['cpu_pct_of_one_core']}% rss {r['peak_rss_mb']} MB "
                      f"queue≤{r['max_queue_depth']} {'ok' if r['sustained'] else 'BEHIND'}",
                      flush=True)
        finally:
            broker.stop()
    return {"bench": "ingest", "mode": "live", "devices": DEVICES, "duration_s": args.duration,
            "runs": runs, "machine": machine()}


def main() -> int:
    """Parse arguments, run the mode, print JSON last."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    d = sub.add_parser("drain")
    d.add_argument("--messages", type=int, default=200_000)
    d.add_argument("--profile", help="write py-spy collapsed stacks of the gateway drain here")
    d.add_argument("--traffic", choices=("mixed", "flood"), default="mixed",
                   help="mixed: everyday traffic; flood: 10 %% events (SOS, falls), flapping "
                        "battery, heart-rate episodes")
    lv = sub.add_parser("live")
    lv.add_argument("--rates", default="5000")
    lv.add_argument("--duration", type=float, default=20.0)
    lv.add_argument("--warmup", type=float, default=3.0)
    lv.add_argument("--profile", help="py-spy collapsed stacks of the gateway to FILE.<rate>")
    g = sub.add_parser("generate", help="only the load generator (used by alert_latency.py)")
    g.add_argument("--broker", required=True)
    g.add_argument("--rate", type=float, default=5000.0)
    g.add_argument("--duration", type=float, default=30.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    raise_fd_limit()
    if args.mode == "generate":
        result = asyncio.run(generate(args.broker, args.rate, args.duration, Traffic(DEVICES)))
    else:
        result = drain(args) if args.mode == "drain" else live(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
