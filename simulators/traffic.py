"""Minimal live traffic for the demo: each demo device publishes plausible messages over MQTT."""

from __future__ import annotations

import argparse
import random
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from devices import topics
from devices.access import AccessTelemetry, UnlockEvent
from devices.base import Location, Status
from devices.camera.models import CameraTelemetry
from devices.locker import LockerTelemetry
from devices.wristband import WristbandTelemetry

_CENTRE = (35.4150, 116.5870)  # a compound in Jining


def _telemetry(kind: str, rng: random.Random, now: datetime, seq: int) -> bytes:
    if kind == "wristband":
        model = WristbandTelemetry(
            ts=now, seq=seq, heart_rate_bpm=rng.randint(62, 88), spo2_pct=rng.randint(95, 99),
            battery_pct=rng.randint(40, 100),
            location=Location(lat=_CENTRE[0] + rng.uniform(-0.001, 0.001),
                              lon=_CENTRE[1] + rng.uniform(-0.001, 0.001),
                              accuracy_m=rng.uniform(3, 15)),
        )
    elif kind == "access":
        model = AccessTelemetry(ts=now, seq=seq, door_open=False, unlock_count=seq)
    elif kind == "camera":
        model = CameraTelemetry(ts=now, seq=seq, fps=25, stream_ok=True)
    else:
        model = LockerTelemetry(ts=now, seq=seq, compartments_total=48,
                                compartments_occupied=rng.randint(5, 40))
    return model.model_dump_json(exclude_none=True).encode()


def _device_loop(url: str, device: dict[str, str], stop: threading.Event, period: float) -> None:
    parts = urlsplit(url)
    kind, device_id = device["kind"], device["id"]
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{device_id}")
    offline = Status(state="offline").model_dump_json(exclude_none=True)
    client.will_set(topics.topic(kind, device_id, "status"), offline, qos=1, retain=True)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    online = Status(state="online", ts=datetime.now(UTC)).model_dump_json()
    client.publish(topics.topic(kind, device_id, "status"), online, qos=1, retain=True)
    rng = random.Random(device_id)
    seq = 0
    while not stop.wait(period * rng.uniform(0.8, 1.2)):
        seq += 1
        now = datetime.now(UTC)
        client.publish(topics.topic(kind, device_id, "telemetry"),
                       _telemetry(kind, rng, now, seq), qos=1)
        if kind == "access" and rng.random() < 0.3:
            event = UnlockEvent(ts=now, seq=seq, method=rng.choice(["face", "card", "qr"]))
            client.publish(topics.topic(kind, device_id, "event"),
                           event.model_dump_json(exclude_none=True), qos=1)
    client.loop_stop()
    client.disconnect()


def main() -> None:
    """Run every device in the file until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--broker", required=True, help="mqtt://host:port")
    parser.add_argument("--devices", type=Path, required=True, help="YAML with a devices list")
    parser.add_argument("--period", type=float, default=5.0, help="Seconds between readings")
    args = parser.parse_args()
    devices = yaml.safe_load(args.devices.read_text(encoding="utf-8"))["devices"]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads = [
        threading.Thread(target=_device_loop, args=(args.broker, d, stop, args.period), daemon=True)
        for d in devices
    ]
    for t in threads:
        t.start()
    stop.wait()
    for t in threads:
        t.join(timeout=5)


if __name__ == "__main__":
    main()
