"""Rules engine throughput: 10k devices with the built-in pack, and the per-message cost of a
wristband message as rules for other device kinds are added (it should stay flat).

Run: .venv/bin/python bench/rules_bench.py [--messages 200000]
The last line of output is JSON with the numbers and a description of the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from devices.catalogue import CATALOGUE
from gateway.clock import ManualClock
from gateway.storage.sqlite import SqliteStore
from rules.engine import Engine, EngineConfig
from rules.loader import load_rules, rule_files
from rules.ports import Message, Subject

T0 = 1_795_233_600.0
BATCH = 500
MIX = {"wristband": 7000, "access": 1500, "camera": 500, "locker": 1000}
HOME = (35.4151, 116.5872)


def machine() -> dict[str, Any]:
    """CPU model, cores and Python version."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_model": model, "cores": os.cpu_count(), "python": sys.version.split()[0],
            "implementation": platform.python_implementation(), "platform": platform.platform()}


class Directory:
    """Subjects of the synthetic fleet."""

    def __init__(self, subjects: dict[str, Subject]) -> None:
        self.subjects = subjects

    def subject(self, device_id: str) -> Subject | None:
        """The device's subject."""
        return self.subjects.get(device_id)


def fleet() -> dict[str, Subject]:
    """10k devices spread over 5 sites × 40 buildings."""
    subjects = {}
    for kind, count in MIX.items():
        for i in range(count):
            device_id = f"{kind[:2].upper()}-{i:05d}"
            subjects[device_id] = Subject(device_id, kind, f"site-{i % 5}", str(i % 40), "1",
                                          f"G-{i % 20}", f"R-{i}" if kind == "wristband" else None)
    return subjects


def traffic(subjects: dict[str, Subject], n: int, rng: random.Random) -> list[Message]:
    """A realistic mix: mostly wristband vitals and fixes, some events from every kind."""
    tel = {k: CATALOGUE.telemetry_adapter(k) for k in MIX}
    evt = {k: CATALOGUE.event_adapter(k) for k in MIX}
    by_kind: dict[str, list[Subject]] = {}
    for s in subjects.values():
        by_kind.setdefault(s.kind, []).append(s)
    out = []
    ts = int(T0 * 1000)
    for i in range(n):
        roll = rng.random()
        if roll < 0.80:
            s = rng.choice(by_kind["wristband"])
            # Mostly healthy wearers at home; a few percent out of range or out of the zone.
            sick = rng.random() < 0.03
            body: dict[str, Any] = {
                "ts": ts,
                "heart_rate_bpm": rng.randint(125, 140) if sick else rng.randint(60, 95),
                "spo2_pct": rng.randint(85, 89) if sick else rng.randint(95, 99),
                "battery_pct": rng.randint(10, 19) if sick else rng.randint(40, 100),
                "steps": i % 5000,
            }
            if i % 3 == 0:
                spread = 0.01 if sick else 0.002
                body["location"] = {"lat": HOME[0] + rng.uniform(-spread, spread),
                                    "lon": HOME[1] + rng.uniform(-spread, spread),
                                    "accuracy_m": 10}
            out.append(Message(s, "telemetry", "telemetry", tel["wristband"].validate_python(body),
                               T0, T0))
        elif roll < 0.90:
            kind = rng.choice(["access", "camera", "locker"])
            s = rng.choice(by_kind[kind])
            out.append(Message(s, "telemetry", "telemetry",
                               tel[kind].validate_python({"ts": ts, "battery_pct": 80}), T0, T0))
        else:
            kind, body = rng.choice([
                ("wristband", {"type": "worn"}), ("wristband", {"type": "fall"}),
                ("access", {"type": "unlock", "method": "face"}),
                ("access", {"type": "denied", "method": "card"}),
                ("camera", {"type": "fire_lane_cleared", "zone": "FL-1"}),
                ("locker", {"type": "parcel_deposited", "compartment": "A1",
                            "parcel_id": f"P{i}"}),
                ("locker", {"type": "parcel_picked_up", "compartment": "A1",
                            "parcel_id": f"P{i - 50}"}),
            ])
            s = rng.choice(by_kind[kind])
            model = evt[kind].validate_python({"ts": ts, **body})
            out.append(Message(s, "event", body["type"], model, T0, T0))
    return out


def extra_rules(folder: Path, count: int) -> list[Path]:
    """`count` rules for access, camera and locker devices (none for wristbands)."""
    if count == 0:
        return []
    shapes = [
        ("access", "{type: event, event: denied}"),
        ("access", "{type: threshold, signal: battery_pct, op: lt, value: 10}"),
        ("camera", "{type: event, event: fire_lane_cleared}"),
        ("locker", "{type: repeating, event: tamper, count: 3, within_s: 600}"),
        ("access", "{type: absence, of: message, for_s: 7200}"),
    ]
    lines = ["rules:"]
    for i in range(count):
        kind, cond = shapes[i % len(shapes)]
        lines += [f"  - id: bench.other.{i}", "    name: {zh: 测试, en: Bench}",
                  f"    kind: {kind}", f"    condition: {cond}", "    severity: info",
                  "    category: other"]
    path = folder / f"extra-{count}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [path]


def zones(folder: Path) -> Path:
    """A safe zone per site, so the pack's geofence rule has work to do."""
    lines = ["zones:"]
    for site in range(5):
        lines.append(f"  - {{name: site-{site}, circle: {{lat: {HOME[0]}, lon: {HOME[1]}, "
                     "radius_m: 500}}")
    path = folder / "zones.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build(folder: Path, subjects: dict[str, Subject], extra: list[Path]) -> tuple[Engine,
                                                                                   SqliteStore]:
    """An engine with the pack and site zones (plus `extra` files) on a fresh store."""
    store = SqliteStore(folder / f"bench-{time.monotonic_ns()}.db", synchronous="NORMAL")
    files = [*rule_files(pack=True, extra_dir=None), zones(folder), *extra]
    ruleset = load_rules(files, tuple(CATALOGUE.kinds))
    engine = Engine(ruleset, EngineConfig(), clock=ManualClock(T0), devices=Directory(subjects))
    with store.transaction() as tx:
        engine.start(tx)
    return engine, store


def run(engine: Engine, store: SqliteStore, messages: list[Message]) -> float:
    """Seconds to evaluate `messages` in transactions of BATCH."""
    started = time.perf_counter()
    for i in range(0, len(messages), BATCH):
        with store.transaction() as tx:
            for msg in messages[i:i + BATCH]:
                engine.on_message(msg, tx)
    return time.perf_counter() - started


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000, help="messages in the mix run")
    parser.add_argument("--wristband-messages", type=int, default=50_000,
                        help="wristband messages per flatness run")
    parser.add_argument("--repeats", type=int, default=3, help="flatness runs per rule count")
    args = parser.parse_args()
    rng = random.Random(7)
    subjects = fleet()
    results: dict[str, Any] = {"devices": len(subjects)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        engine, store = build(folder, subjects, [])
        mix = traffic(subjects, args.messages, rng)
        run(engine, store, mix[: min(20_000, len(mix))])  # warm the states up
        seconds = run(engine, store, mix)
        rate = len(mix) / seconds
        results["mix"] = {"messages": len(mix), "seconds": round(seconds, 3),
                          "msgs_per_s": round(rate), "us_per_msg": round(1e6 / rate, 2),
                          "open_alerts": len(engine.book.open)}
        print(f"built-in pack, {len(subjects)} devices, mixed traffic: {rate:,.0f} msgs/s "
              f"({1e6 / rate:.1f} µs/msg, {len(engine.book.open)} open alerts)")
        store.close()

        wrist = [m for m in traffic(subjects, args.wristband_messages * 2, random.Random(11))
                 if m.subject.kind == "wristband" and m.channel == "telemetry"]
        wrist = wrist[: args.wristband_messages]
        flat = {}
        for count in (0, 10, 100, 1000):
            engine, store = build(folder, subjects, extra_rules(folder, count))
            run(engine, store, wrist[:5000])
            samples = [run(engine, store, wrist) / len(wrist) * 1e6 for _ in range(args.repeats)]
            store.close()
            us = statistics.median(samples)
            flat[str(count)] = {"us_per_wristband_msg": round(us, 2),
                                "rules_loaded": len(engine.evaluators),
                                "wristband_index_entries": engine.rule_count("wristband")}
            print(f"+{count:>4} rules for other kinds: {us:6.2f} µs per wristband message "
                  f"({len(engine.evaluators)} rules loaded, wristband index "
                  f"{engine.rule_count('wristband')} entries)")
        base = flat["0"]["us_per_wristband_msg"]
        worst = max(v["us_per_wristband_msg"] for v in flat.values())
        results["flatness"] = flat
        results["flatness_max_ratio"] = round(worst / base, 3)
        print(f"worst / baseline: {worst / base:.2f}x")
    results["machine"] = machine()
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
