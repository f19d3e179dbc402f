"""Shared pieces of the gateway benchmarks: machine description, fleet, traffic, publishers.

Not a test helper: nothing here asserts anything; the benchmarks print what they measured.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devices.base import DeviceConfig  # noqa: E402
from devices.catalogue import CATALOGUE  # noqa: E402
from simulators.fleet.wire import (  # noqa: E402
    Connection,
    MqttError,
    connect_packet,
    encode_topic,
)

# Share of registered devices per kind (the community model's proportions).
FLEET_MIX = {"wristband": 0.70, "access": 0.15, "camera": 0.05, "locker": 0.10}
PREFIX = {"wristband": "WB", "access": "AC", "camera": "CAM", "locker": "LK"}
HOME = (35.4151, 116.5872)


def machine() -> dict[str, Any]:
    """CPU model, cores, Python and Mosquitto versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    try:
        out = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=5).stdout
        broker = out.split("\n")[0].strip()
    except (OSError, subprocess.TimeoutExpired):
        broker = "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "broker": broker}


def raise_fd_limit(want: int = 8192) -> None:
    """Room for many sockets (the broker, a child, inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def fleet_ids(total: int) -> dict[str, list[str]]:
    """Device ids per kind for a fleet of `total` devices."""
    out: dict[str, list[str]] = {}
    for kind, share in FLEET_MIX.items():
        out[kind] = [f"{PREFIX[kind]}-{i:06d}" for i in range(int(total * share))]
    return out


def fleet_configs(total: int) -> list[DeviceConfig]:
    """Validated registrations for a fleet spread over 5 sites × 40 buildings × 20 grids."""
    adapter = CATALOGUE.device_config_adapter
    configs = []
    for kind, ids in fleet_ids(total).items():
        for i, device_id in enumerate(ids):
            raw: dict[str, Any] = {"id": device_id, "kind": kind, "site": f"site-{i % 5}",
                                   "building": str(i % 40), "unit": str(i % 4 + 1),
                                   "grid": f"G-{i % 20:02d}"}
            if kind == "wristband":
                raw["resident_id"] = f"R-{i:06d}"
            configs.append(adapter.validate_python(raw))
    return configs


def register_fleet(gateway: Any, total: int) -> None:
    """Register the fleet's devices and their wearers: every wristband's resident on file
    with a name, as an operator's import leaves them (a ticket's text names the elder)."""
    from gateway.residents import Resident, ResidentRepository

    configs = fleet_configs(total)
    gateway.registry.register(configs)
    ResidentRepository(gateway.store, gateway.clock).upsert(
        Resident(rid, f"居民{rid.removeprefix('R-')}") for c in configs
        if (rid := getattr(c, "resident_id", None)))


class Traffic:
    """Realistic mixed messages from wristbands, access controllers and lockers.

    Every message carries a fresh per-device `seq` (so none is a duplicate) and `ts` = the
    wall-clock time at which it was built, in epoch milliseconds (the latency probe reads it).
    """

    def __init__(self, total_devices: int, seed: int = 1, seq_base: int | None = None,
                 profile: str = "mixed") -> None:
        ids = fleet_ids(total_devices)
        self._rng = random.Random(seed)
        self._flood = profile == "flood"
        # Flood: a twentieth of the bands are in a heart-rate episode at any time.
        self._episode: set[str] = set()
        self._wb = [(d, encode_topic(f"scgw/v1/wristband/{d}/telemetry"),
                     encode_topic(f"scgw/v1/wristband/{d}/event")) for d in ids["wristband"]]
        self._ac = [(d, encode_topic(f"scgw/v1/access/{d}/telemetry"),
                     encode_topic(f"scgw/v1/access/{d}/event")) for d in ids["access"]]
        self._lk = [(d, encode_topic(f"scgw/v1/locker/{d}/telemetry"),
                     encode_topic(f"scgw/v1/locker/{d}/event")) for d in ids["locker"]]
        self._seq: dict[str, int] = {}
        self._seq_base = int(time.time() * 1000) if seq_base is None else seq_base
        self._n = 0

    def _next_seq(self, device_id: str) -> int:
        seq = self._seq.get(device_id, self._seq_base) + 1
        self._seq[device_id] = seq
        return seq

    def message(self, ts_ms: int | None = None) -> tuple[bytes, bytes]:
        """One (length-prefixed topic, payload)."""
        rng = self._rng
        self._n += 1
        ts = int(time.time() * 1000) if ts_ms is None else ts_ms
        if self._flood:
            return self._flood_message(ts)
        roll = rng.random()
        body: dict[str, Any]
        if roll < 0.72:
            device_id, topic, _ = rng.choice(self._wb)
            sick = rng.random() < 0.01
            body = {"ts": ts, "seq": self._next_seq(device_id),
                    "heart_rate_bpm": rng.randint(125, 140) if sick else rng.randint(60, 95),
                    "spo2_pct": rng.randint(95, 99), "battery_pct": rng.randint(40, 100),
                    "steps": self._n % 5000, "worn": True}
            if self._n % 3 == 0:
                body["location"] = {"lat": round(HOME[0] + rng.uniform(-0.002, 0.002), 6),
                                    "lon": round(HOME[1] + rng.uniform(-0.002, 0.002), 6),
                                    "accuracy_m": 10}
        elif roll < 0.75:
            device_id, _, topic = rng.choice(self._wb)
            body = {"ts": ts, "seq": self._next_seq(device_id), "type": "worn"}
        elif roll < 0.82:
            device_id, topic, _ = rng.choice(self._ac)
            body = {"ts": ts, "seq": self._next_seq(device_id), "battery_pct": 90,
                    "door_open": False, "unlock_count": self._n}
        elif roll < 0.90:
            device_id, _, topic = rng.choice(self._ac)
            body = {"ts": ts, "seq": self._next_seq(device_id), "type": "unlock",
                    "method": rng.choice(["face", "card", "qr"]),
                    "resident_id": f"R-{rng.randrange(7000):06d}"}
        elif roll < 0.95:
            device_id, topic, _ = rng.choice(self._lk)
            body = {"ts": ts, "seq": self._next_seq(device_id), "compartments_total": 40,
                    "compartments_occupied": rng.randint(0, 40), "temperature_c": 21.5}
        else:
            device_id, _, topic = rng.choice(self._lk)
            parcel = f"P{self._n // 2}"
            kind = "parcel_deposited" if self._n % 2 else "parcel_picked_up"
            body = {"ts": ts, "seq": self._next_seq(device_id), "type": kind,
                    "compartment": f"A{self._n % 40}", "parcel_id": parcel}
        return topic, orjson.dumps(body)

    def _flood_message(self, ts: int) -> tuple[bytes, bytes]:
        """The control room's bad day: 10 % events (a tenth of them SOS, a tenth falls),
        battery drawn uniformly from 15-100 % on every reading (a low-battery threshold
        flaps), heart-rate episodes out of range."""
        rng = self._rng
        device_id, telemetry, event = rng.choice(self._wb)
        if rng.random() < 0.10:
            roll = rng.random()
            kind = "sos" if roll < 0.1 else "fall" if roll < 0.2 else rng.choice(
                ["worn", "removed"])
            body: dict[str, Any] = {"ts": ts, "seq": self._next_seq(device_id), "type": kind}
            return event, orjson.dumps(body)
        if rng.random() < 0.002:
            self._episode.symmetric_difference_update({device_id})
        hr = rng.randint(135, 160) if device_id in self._episode else rng.randint(60, 95)
        body = {"ts": ts, "seq": self._next_seq(device_id), "heart_rate_bpm": hr,
                "battery_pct": rng.randint(15, 100), "worn": True}
        return telemetry, orjson.dumps(body)

    def batch(self, n: int) -> list[tuple[bytes, bytes]]:
        """`n` messages."""
        return [self.message() for _ in range(n)]


def broker_address(url: str) -> tuple[str, int]:
    """Host and port of an mqtt:// URL."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


class Publishers:
    """A few raw MQTT 3.1.1 connections publishing QoS 1 from one asyncio loop."""

    def __init__(self, url: str, connections: int = 8, window: int = 500,
                 client_prefix: str = "bench-pub") -> None:
        self.url = url
        self.count = connections
        self.window = window  # unacked messages allowed per connection
        self.prefix = client_prefix
        self.conns: list[Connection] = []
        self.acked = 0
        self.sent = 0

    def _ack(self, latency: float) -> None:
        self.acked += 1

    async def connect(self) -> None:
        """Open every connection (clean session)."""
        host, port = broker_address(self.url)
        loop = asyncio.get_running_loop()
        for i in range(self.count):
            _, conn = await loop.create_connection(
                lambda: Connection(self._ack, lambda: None), host, port)
            assert conn.transport is not None
            conn.transport.write(connect_packet(f"{self.prefix}-{os.getpid()}-{i}",
                                                keepalive=120))
            if await asyncio.wait_for(conn.connack, 10) != 0:
                raise MqttError("broker refused the publisher")
            self.conns.append(conn)

    def try_send(self, topic: bytes, payload: bytes) -> bool:
        """Publish on the least busy connection; False when every window is full."""
        conn = min(self.conns, key=lambda c: len(c.inflight))
        if len(conn.inflight) >= self.window:
            return False
        conn.publish(topic, payload)
        self.sent += 1
        return True

    async def send_all(self, messages: Iterator[tuple[bytes, bytes]]) -> None:
        """Publish everything as fast as the windows allow, then wait for every PUBACK."""
        for topic, payload in messages:
            while not self.try_send(topic, payload):
                await asyncio.sleep(0.001)
            if self.sent % 256 == 0:
                await asyncio.sleep(0)  # let PUBACKs in
        await self.drain()

    async def drain(self, timeout: float = 120.0) -> None:
        """Wait until every published message was acknowledged."""
        deadline = time.monotonic() + timeout
        while self.acked < self.sent and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    def close(self) -> None:
        """Disconnect cleanly."""
        for conn in self.conns:
            conn.disconnect()


async def generate(url: str, rate: float, duration: float, traffic: Traffic) -> dict[str, Any]:
    """Publish Traffic at `rate` for `duration` seconds (QoS 1); return what was really sent."""
    pubs = Publishers(url, connections=8, window=2000, client_prefix="bench-live")
    await pubs.connect()
    start = time.perf_counter()
    blocked = 0
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= duration:
            break
        due = int(rate * elapsed) - pubs.sent
        for _ in range(min(due, int(rate * 0.05) + 1)):  # never burst more than 50 ms' worth
            topic, payload = traffic.message()
            if not pubs.try_send(topic, payload):
                blocked += 1
                break
        await asyncio.sleep(0.002)
    sent_s = time.perf_counter() - start
    await pubs.drain(60)
    pubs.close()
    return {"sent": pubs.sent, "acked": pubs.acked, "send_s": sent_s,
            "achieved_rate": pubs.sent / sent_s, "window_full": blocked}


def publish_now(url: str, messages: list[tuple[bytes, bytes]], connections: int = 8) -> float:
    """Publish `messages` at full speed; return the seconds it took (until all PUBACKed)."""

    async def run() -> float:
        pubs = Publishers(url, connections)
        await pubs.connect()
        t0 = time.perf_counter()
        await pubs.send_all(iter(messages))
        took = time.perf_counter() - t0
        pubs.close()
        await asyncio.sleep(0.05)
        return took

    return asyncio.run(run())


def percentiles(values: list[float], points: tuple[float, ...] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles, rounded to 0.01."""
    if not values:
        return {f"p{int(p)}": float("nan") for p in points} | {"max": float("nan")}
    ordered = sorted(values)
    out = {}
    for p in points:
        k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))
        out[f"p{int(p)}"] = round(ordered[k], 2)
    out["max"] = round(ordered[-1], 2)
    return out
