"""SOS → alert on the operator's WebSocket, under background load.

Real parts: Mosquitto, the gateway and its API (uvicorn) in one process of their own (as
`scgw run` has them), 10k registered devices, the built-in rule pack; a load generator in
another process publishing the mixed traffic of `bench/ingest.py` at `--load` msgs/s.
An operator logs in (`/auth/token`), opens `/ws?token=…`, and the probe publishes an SOS
event from a different wristband every `--every` seconds; the latency is from just before
the PUBLISH to the `alert` event for that device arriving on the socket.

    .venv/bin/python bench/alert_latency.py [--load 5000] [--samples 200] [--every 0.15]

The last line of output is JSON, with a description of the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    ROOT,
    Publishers,
    fleet_ids,
    machine,
    percentiles,
    raise_fd_limit,
    register_fleet,
)
from gateway.service import Gateway
from gateway.users import UserRepository
from simulators.fleet.wire import encode_topic
from tests.support.mosquitto import free_port, start_mosquitto

DEVICES = 10_000
USER, PASSWORD = "bench-operator", "bench-password-1"


def prepare(db: Path, url: str) -> None:
    """Register the fleet and the operator."""
    from bench.ingest import settings

    gw = Gateway(settings(db, url))
    register_fleet(gw, DEVICES)
    UserRepository(gw.store, gw.clock).add(USER, PASSWORD, "operator")
    gw.store.close()


async def probe(api: str, url: str, samples: int, every: float) -> dict[str, Any]:
    """Publish SOS events one by one and time each until its alert is on the WebSocket."""
    async with httpx.AsyncClient(base_url=api) as http:
        resp = await http.post("/auth/token", data={"username": USER, "password": PASSWORD})
        resp.raise_for_status()
        token = resp.json()["access_token"]
    sent: dict[str, float] = {}
    latencies: list[float] = []
    bands = fleet_ids(DEVICES)["wristband"]
    pubs = Publishers(url, connections=1, window=100, client_prefix="bench-sos")
    await pubs.connect()
    ws_url = api.replace("http://", "ws://") + f"/ws?token={token}"
    async with websockets.connect(ws_url, max_queue=None) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello

        async def receive() -> None:
            async for frame in ws:
                event = json.loads(frame)
                if event.get("type") != "alert":
                    continue
                alert = event["alert"]
                t = sent.pop(alert["device_id"], None)
                if t is not None and alert["rule_id"] == "wristband.sos":
                    latencies.append((time.time() - t) * 1000)

        reader = asyncio.create_task(receive())
        for i in range(samples):
            device_id = bands[-1 - i]  # the traffic's own picks rarely collide with these
            body = {"ts": int(time.time() * 1000), "seq": 1, "type": "sos"}
            sent[device_id] = time.time()
            pubs.try_send(encode_topic(f"scgw/v1/wristband/{device_id}/event"),
                          orjson.dumps(body))
            await asyncio.sleep(every)
        deadline = time.monotonic() + 10
        while sent and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        reader.cancel()
    pubs.close()
    return {"sent": samples, "received": len(latencies), "missing": len(sent),
            "latency_ms": percentiles(latencies)}


def main() -> int:
    """Start everything, measure, print JSON last."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load", type=float, default=5000.0, help="background msgs/s")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--every", type=float, default=0.15, help="seconds between SOS")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_mosquitto(Path(tmp) / "mosquitto")
        db = Path(tmp) / "scgw.db"
        port = free_port()
        gateway = load = None
        try:
            prepare(db, broker.url)
            gateway = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "gwproc.py"), "--db", str(db),
                 "--broker", broker.url, "--api-port", str(port)],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert gateway.stdin is not None and gateway.stdout is not None
            ready = json.loads(gateway.stdout.readline())
            duration = args.samples * args.every + 8
            load = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "ingest.py"), "generate", "--broker",
                 broker.url, "--rate", str(args.load), "--duration", str(duration)],
                cwd=ROOT, stdout=subprocess.PIPE, text=True)
            time.sleep(3.0)  # let the load reach its rate first
            result = asyncio.run(probe(f"http://127.0.0.1:{port}", broker.url, args.samples,
                                       args.every))
            out, _ = load.communicate(timeout=duration + 120)
            generated = json.loads(out.strip().splitlines()[-1])
            gateway.stdin.write("stop\n")
            gateway.stdin.flush()
            report = json.loads(gateway.stdout.readline())
            gateway.wait(30)
        finally:
            for proc in (load, gateway):
                if proc is not None and proc.poll() is None:
                    proc.kill()
            broker.stop()
    report.pop("timeline")
    background = percentiles([lat for _, lat in report.pop("samples")])
    summary = {"bench": "alert_latency", "load_target": args.load,
               "load_achieved": round(generated["achieved_rate"]), "devices": DEVICES,
               **result, "background_commit_latency_ms": background,
               "gateway": {k: report[k] for k in ("cpu_pct_of_one_core", "peak_rss_mb")},
               "startup": ready, "machine": machine()}
    lat = result["latency_ms"]
    print(f"SOS → WebSocket under {generated['achieved_rate']:,.0f} msgs/s: "
          f"p50 {lat['p50']} ms, p99 {lat['p99']} ms ({result['received']}/{args.samples})")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
