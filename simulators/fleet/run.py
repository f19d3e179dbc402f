"""Drive N wristband connections from one asyncio loop at a target message rate."""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from devices import topics
from devices.base import Location, Status
from devices.wristband import WristbandTelemetry
from simulators.fleet.wire import Connection, MqttError, connect_packet, encode_topic

CENTRE = (35.4152, 116.5868)  # the Jining compound of the community model
MAX_INFLIGHT = 20  # per connection; more means the broker is behind
MAX_BUFFER = 256 * 1024  # bytes queued in a socket before we call it backpressure


@dataclass
class FleetConfig:
    """What to run."""

    broker: str
    wristbands: int
    rate: float
    duration_s: float
    prefix: str = "FLEET-WB-"
    connect_concurrency: int = 256
    keepalive_s: int = 60
    seed: int = 0


@dataclass
class Stats:
    """Counters of a run."""

    connected: int = 0
    connect_errors: int = 0
    sent: int = 0
    acked: int = 0
    lost: int = 0
    skipped: int = 0
    latencies: list[float] = field(default_factory=list)

    def ack(self, latency: float) -> None:
        """One PUBACK came back."""
        self.acked += 1
        if len(self.latencies) < 200_000:
            self.latencies.append(latency)


class Band:
    """One simulated wristband's state: enough for plausible readings."""

    __slots__ = ("battery", "conn", "hr", "lat", "lon", "seq", "steps", "topic")

    def __init__(self, device_id: str, rng: random.Random) -> None:
        self.topic = encode_topic(topics.topic("wristband", device_id, "telemetry"))
        self.lat = CENTRE[0] + rng.uniform(-0.001, 0.001)
        self.lon = CENTRE[1] + rng.uniform(-0.0012, 0.0012)
        self.hr = rng.randint(62, 80)
        self.battery = rng.uniform(40, 100)
        self.steps = 0
        self.seq = int(time.time()) * 100_000
        self.conn: Connection | None = None

    def reading(self, rng: random.Random, now: datetime) -> bytes:
        """The next telemetry payload, built through the contract's models."""
        self.seq += 1
        self.steps += rng.randint(0, 40)
        self.battery = max(1.0, self.battery - 0.01)
        self.lat += rng.gauss(0, 0.00002)
        self.lon += rng.gauss(0, 0.00002)
        model = WristbandTelemetry(
            ts=now, seq=self.seq, heart_rate_bpm=self.hr + rng.randint(-3, 3), spo2_pct=97.0,
            steps=self.steps, worn=True, battery_pct=round(self.battery, 1),
            location=Location(lat=round(self.lat, 6), lon=round(self.lon, 6),
                              accuracy_m=round(rng.uniform(3, 12), 1)))
        return model.model_dump_json(exclude_none=True).encode()


async def _connect(cfg: FleetConfig, device_id: str, band: Band, stats: Stats,
                   gate: asyncio.Semaphore) -> None:
    url = urlsplit(cfg.broker)
    loop = asyncio.get_running_loop()
    status_topic = topics.topic("wristband", device_id, "status")
    async with gate:
        try:
            _, conn = await loop.create_connection(
                lambda: Connection(stats.ack, lambda: None),
                url.hostname or "127.0.0.1", url.port or 1883)
            assert conn.transport is not None
            conn.transport.write(connect_packet(
                device_id, keepalive=cfg.keepalive_s,
                username=unquote(url.username) if url.username else None,
                password=unquote(url.password) if url.password else None,
                will=(status_topic, b"offline")))
            rc = await asyncio.wait_for(conn.connack, 15)
        except (OSError, MqttError, TimeoutError):
            stats.connect_errors += 1
            return
        if rc != 0:
            stats.connect_errors += 1
            conn.disconnect()
            return
    online = Status(state="online", ts=datetime.now(UTC)).model_dump_json(exclude_none=True)
    conn.publish(encode_topic(status_topic), online.encode(), retain=True)
    band.conn = conn
    stats.connected += 1


async def run_fleet(cfg: FleetConfig, report: Callable[[Stats, float], None] | None = None
                    ) -> dict[str, object]:
    """Connect the fleet, publish at `rate` for `duration_s`, wait for acks, disconnect."""
    rng = random.Random(cfg.seed)
    stats = Stats()
    bands = [Band(f"{cfg.prefix}{i:05d}", rng) for i in range(cfg.wristbands)]
    gate = asyncio.Semaphore(cfg.connect_concurrency)
    t_connect = time.perf_counter()
    await asyncio.gather(*(_connect(cfg, f"{cfg.prefix}{i:05d}", b, stats, gate)
                           for i, b in enumerate(bands)))
    connect_s = time.perf_counter() - t_connect
    live = [b for b in bands if b.conn is not None]
    settle = time.perf_counter() + 10
    while any(b.conn.inflight for b in live) and time.perf_counter() < settle:  # type: ignore[union-attr]
        await asyncio.sleep(0.02)
    stats.acked = 0  # the online statuses are not part of the measured traffic
    stats.latencies.clear()
    start = time.perf_counter()
    last_ping = last_report = start
    index = 0
    # Never try to catch up more than 50 ms of traffic at once: report what we really manage.
    burst = max(1, math.ceil(cfg.rate * 0.05))
    while live and (elapsed := time.perf_counter() - start) < cfg.duration_s:
        due = min(burst, int(cfg.rate * elapsed) - stats.sent - stats.skipped)
        now = datetime.now(UTC)
        for _ in range(max(0, due)):
            band = live[index % len(live)]
            index += 1
            conn = band.conn
            assert conn is not None
            if (conn.closed or len(conn.inflight) >= MAX_INFLIGHT
                    or (conn.transport and conn.transport.get_write_buffer_size() > MAX_BUFFER)):
                stats.skipped += 1
                continue
            conn.publish(band.topic, band.reading(rng, now))
            stats.sent += 1
        tick = time.perf_counter()
        if tick - last_ping > cfg.keepalive_s / 2:
            for band in live:
                band.conn.ping()  # type: ignore[union-attr]
            last_ping = tick
        if report and tick - last_report >= 0.5:
            report(stats, tick - start)
            last_report = tick
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - start
    sent_rate = stats.sent / elapsed if elapsed else 0.0
    drain_until = time.perf_counter() + 10
    while stats.acked < stats.sent and time.perf_counter() < drain_until:
        await asyncio.sleep(0.02)
    total = time.perf_counter() - start
    stats.lost = max(0, stats.sent - stats.acked)
    for band in live:
        band.conn.disconnect()  # type: ignore[union-attr]
    await asyncio.sleep(0.1)
    lat = sorted(stats.latencies)
    return {
        "wristbands": cfg.wristbands,
        "connected": stats.connected,
        "connect_errors": stats.connect_errors,
        "connect_s": round(connect_s, 2),
        "target_rate": cfg.rate,
        "duration_s": round(elapsed, 2),
        "sent": stats.sent,
        "acknowledged": stats.acked,
        "errors": stats.connect_errors + stats.lost,
        "skipped_backpressure": stats.skipped,
        "achieved_rate": round(sent_rate, 1),
        "acked_rate": round(stats.acked / total, 1) if total else 0.0,
        "ack_latency_ms": {
            "p50": round(statistics.median(lat) * 1000, 2) if lat else None,
            "p99": round(lat[int(len(lat) * 0.99) - 1] * 1000, 2) if lat else None,
        },
    }


def line_reporter(target: float, duration: float) -> Callable[[Stats, float], None]:
    """A one-line progress display on stderr (rewritten in place on a terminal)."""
    tty = sys.stderr.isatty()

    def show(stats: Stats, elapsed: float) -> None:
        pct = min(100.0, 100 * elapsed / duration)
        bar = "#" * int(pct / 5) + "-" * (20 - int(pct / 5))
        text = (f"[{bar}] {pct:5.1f}%  sent {stats.sent}  acked {stats.acked}  "
                f"rate {stats.sent / elapsed if elapsed else 0:,.0f}/s of {target:,.0f}/s  "
                f"skipped {stats.skipped}")
        print(("\r" if tty else "") + text, end="" if tty else "\n", file=sys.stderr, flush=True)

    return show
