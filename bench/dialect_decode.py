"""Dialect decode cost against our own JSON contract, per message, measured in one run.

The gateway's Decoder (topic, registry lookup, codec, time checks) decodes the same readings
sent as our v1 JSON and as each dialect sends them: hx_band on our topics, the 4G watch and
OwnTracks on their own topics. Rounds alternate between the paths so that drift in the
machine's speed hits both alike; the fastest round of each path is reported (on a shared
machine the slower rounds measure the neighbours), with the median beside it.

    .venv/bin/python bench/dialect_decode.py [--messages 20000] [--rounds 15]

Then the whole path of a message (decode, dedup, twin, rules, SQLite commit) is measured the
same way through the pipeline's `process_batch`, batches of 500, distinct messages.
The last line is JSON: µs per message per path, the ratios to native, and the machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import machine
from devices.catalogue import CATALOGUE
from gateway.clock import ManualClock
from gateway.decode import Decoder
from gateway.envelope import RawMessage
from gateway.registry import DeviceRegistry
from gateway.settings import LimitSettings
from gateway.storage.sqlite import SqliteStore

T0 = 1_795_233_600.0
TS_MS = int(T0 * 1000)
NATIVE = ("scgw/v1/wristband/WB-N/telemetry", orjson.dumps({
    "ts": TS_MS, "seq": 5, "heart_rate_bpm": 72, "systolic_mmhg": 128, "diastolic_mmhg": 82,
    "battery_pct": 80, "location": {"lat": 35.41421, "lon": 116.58712, "accuracy_m": 20.0}}))
PATHS = {
    "native_json": ("json", *NATIVE),
    "hx_band": ("hx_band", "scgw/v1/wristband/WB-H/telemetry", orjson.dumps({
        "t": int(T0), "n": 5, "hr": 72, "bp": "128/82", "bat": 80,
        "pos": [116.58712, 35.41421, 20]})),
    "watch4g": ("watch4g", "watch/865028041234567/up", orjson.dumps({
        "imei": "865028041234567", "cmd": "location", "sn": 5, "time": "2026-11-21 12:00:00",
        "lat": "35.414210", "lng": "116.587120", "acc": "20", "mode": "GPS", "bat": "80%",
        "step": "3021"})),
    "owntracks": ("owntracks", "owntracks/OT-1/phone", orjson.dumps({
        "_type": "location", "lat": 35.41421, "lon": 116.58712, "acc": 20, "alt": 41,
        "batt": 80, "tid": "YD", "tst": int(T0)})),
}
IDS = {"json": "WB-N", "hx_band": "WB-H", "watch4g": "865028041234567", "owntracks": "OT-1"}


def _decoder(folder: Path) -> Decoder:
    store = SqliteStore(folder / "bench.db")
    registry = DeviceRegistry(store, ManualClock(T0))
    registry.register([CATALOGUE.device_config_adapter.validate_python(
        {"id": device_id, "kind": "wristband", "codec": codec})
        for codec, device_id in IDS.items()])
    return Decoder(registry, LimitSettings())


def _round(decoder: Decoder, topic: str, payload: bytes, n: int) -> float:
    raws = [RawMessage(topic, payload, received_at=T0) for _ in range(n)]
    decode = decoder.decode
    # CPU time of this process: on a machine shared with other work, wall time measures the
    # neighbours too.
    start = time.process_time()
    for raw in raws:
        decode(raw, T0)
    return (time.process_time() - start) / n * 1e6


def _pipeline_round(gw: object, topic: str, make: object, n: int, start_seq: int) -> float:
    raws = [RawMessage(topic, make(start_seq + i), received_at=T0) for i in range(n)]
    begin = time.process_time()
    for i in range(0, n, 500):
        gw.pipeline.process_batch(raws[i:i + 500])  # type: ignore[attr-defined]
    return (time.process_time() - begin) / n * 1e6


def _makers() -> dict[str, tuple[str, object]]:
    """Per path: topic and a function seq → distinct payload (so dedup keeps them all)."""
    def native(seq: int) -> bytes:
        return orjson.dumps({**orjson.loads(NATIVE[1]), "seq": seq})

    def keyed(name: str, key: str) -> object:
        body = orjson.loads(PATHS[name][2])
        return lambda seq: orjson.dumps({**body, key: seq})

    def owntracks(seq: int) -> bytes:  # no seq in OwnTracks: distinct times instead
        body = orjson.loads(PATHS["owntracks"][2])
        return orjson.dumps({**body, "tst": int(T0) - 86_000 + seq % 86_000, "alt": seq})

    return {"native_json": (NATIVE[0], native), "hx_band": (PATHS["hx_band"][1],
                                                            keyed("hx_band", "n")),
            "watch4g": (PATHS["watch4g"][1], keyed("watch4g", "sn")),
            "owntracks": (PATHS["owntracks"][1], owntracks)}


def pipeline(folder: Path, messages: int, rounds: int) -> dict[str, float]:
    """Minimum CPU µs per message through the whole pipeline, per path."""
    from gateway.service import Gateway
    from gateway.settings import Settings

    gw = Gateway(Settings(broker={"url": "mqtt://127.0.0.1:1"},
                          database={"url": f"sqlite:///{folder / 'pipe.db'}"},
                          log_json=False, log_level="WARNING"), clock=ManualClock(T0))
    gw.registry.register([CATALOGUE.device_config_adapter.validate_python(
        {"id": device_id, "kind": "wristband", "codec": codec})
        for codec, device_id in IDS.items()])
    gw.start(connect=False)
    samples: dict[str, list[float]] = {name: [] for name in PATHS}
    try:
        makers = _makers()
        for r in range(rounds):
            for name, (topic, make) in makers.items():
                samples[name].append(_pipeline_round(gw, topic, make, messages,
                                                     1 + r * messages))
    finally:
        gw.stop()
    return {name: min(v) for name, v in samples.items()}


def main() -> None:
    """Run the rounds and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        decoder = _decoder(Path(tmp))
        for _, topic, payload in PATHS.values():  # warm caches and check every path decodes
            decoder.decode(RawMessage(topic, payload, received_at=T0), T0)
        gc.disable()
        samples: dict[str, list[float]] = {name: [] for name in PATHS}
        for _ in range(args.rounds):
            for name, (_, topic, payload) in PATHS.items():
                samples[name].append(_round(decoder, topic, payload, args.messages))
        gc.enable()
        whole = pipeline(Path(tmp), min(args.messages, 4000), max(3, args.rounds // 3))
    us = {name: min(v) for name, v in samples.items()}
    median = {name: statistics.median(v) for name, v in samples.items()}
    native = us["native_json"]
    result = {
        "benchmark": "dialect_decode",
        "messages_per_round": args.messages, "rounds": args.rounds,
        "us_per_message": {k: round(v, 3) for k, v in us.items()},
        "ratio_to_native": {k: round(v / native, 3) for k, v in us.items() if k != "native_json"},
        "median_us_per_message": {k: round(v, 3) for k, v in median.items()},
        "median_ratio_to_native": {k: round(v / median["native_json"], 3)
                                   for k, v in median.items() if k != "native_json"},
        "target_ratio": 1.3,
        "pipeline_us_per_message": {k: round(v, 3) for k, v in whole.items()},
        "pipeline_ratio_to_native": {k: round(v / whole["native_json"], 3)
                                     for k, v in whole.items() if k != "native_json"},
        "machine": machine(),
    }
    for name, value in us.items():
        print(f"decode   {name:12s} {value:7.2f} µs/message  ×{value / native:.2f}")
    for name, value in whole.items():
        print(f"pipeline {name:12s} {value:7.2f} µs/message  "
              f"×{value / whole['native_json']:.2f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
