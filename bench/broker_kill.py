"""Broker crash loss: SIGKILL Mosquitto under live traffic, with and without the shipped
persistence settings and end-to-end confirmation of urgent events.

Usage: .venv/bin/python bench/broker_kill.py [--kills 10] [--devices 10] [--rate 10]

Each run: devices publish telemetry and SOS events (QoS 1); before each crash the gateway is
away (restarting) so the broker holds a backlog; then the broker is SIGKILLed and restarted.
Prints one line per configuration and, last, JSON with every figure and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.broker_kill import run


def main() -> None:
    """Run the four configurations and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0, help="messages/s per device")
    args = parser.parse_args()
    results = {}
    for persistent in (True, False):
        for confirm in (True, False):
            name = f"{'deploy' if persistent else 'memory'}-{'confirm' if confirm else 'plain'}"
            with tempfile.TemporaryDirectory() as folder:
                report = run(Path(folder), kills=args.kills, devices=args.devices,
                             rate_hz=args.rate, confirm=confirm, persistent=persistent)
            results[name] = report.as_dict()
            print(name, report.as_dict(), flush=True)
    print(json.dumps({"bench": "broker_kill", "results": results, "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "platform": platform.platform()}}))


if __name__ == "__main__":
    main()
