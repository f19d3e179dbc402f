"""Run a scenario: in-process as a message generator, or over MQTT with time acceleration.

    python -m simulators.scenario FILE --broker mqtt://127.0.0.1:1883 [--speed 60] [--start ISO]
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from simulators.clock import AcceleratedClock, SimClock, VirtualClock
from simulators.community.model import Community
from simulators.kinds.base import Message
from simulators.mqtt import DeviceConnections, load_passwords
from simulators.scenario_file import Scenario, load_scenario
from simulators.world import World


def seq_base(start: datetime, name: str) -> int:
    """Sequence base: distinct per start second and scenario, so a second run of the same
    scenario at another start time is never taken for a re-delivery by the gateway's dedup."""
    return (int(start.timestamp()) * 1000 + zlib.crc32(name.encode()) % 1000) * 100_000


class ScenarioRun:
    """A scenario unrolled into messages. Iterate it for (ts, topic, payload, qos, retain)
    in time order without any waiting; `command` answers a command at the current time."""

    def __init__(self, scenario: Scenario, *, start: datetime | None = None,
                 community: Community | None = None, seed: int | None = None) -> None:
        self.scenario = scenario
        self.community = community or scenario.load_community()
        self.start = start or scenario.start
        self.end = self.start + scenario.offset(scenario.end)
        self.steps = scenario.compiled_steps(self.community)
        self.world = World(self.community, seed=scenario.seed if seed is None else seed,
                           device_ids=scenario.device_ids(), spontaneous=scenario.spontaneous,
                           routine=scenario.routine,
                           seq_base=seq_base(self.start, scenario.id))
        self.now = self.start

    def __iter__(self) -> Iterator[Message]:
        yield from self.world.start(self.start)
        for offset, step, args in self.steps:
            when = self.start + offset
            yield from self._advance(when)
            yield from self.world.act(step.device, step.do, args, when)
        yield from self._advance(self.end)

    def _advance(self, when: datetime) -> Iterator[Message]:
        # Step by the shortest period so `now` (for commands) tracks the messages closely.
        while self.now < when:
            self.now = min(when, self.now + timedelta(seconds=30))
            yield from self.world.advance(self.now)

    def command(self, device_id: str, payload: bytes) -> list[Message]:
        """The device's answer to a command received now."""
        return self.world.command(device_id, payload, self.now)

    def wills(self) -> dict[str, tuple[str, bytes]]:
        """Last wills of the devices taking part."""
        return self.world.wills()


def play(run: ScenarioRun, connections: DeviceConnections, clock: SimClock) -> int:
    """Publish a run's messages when their scenario time comes, answering commands meanwhile.
    With a VirtualClock nothing waits. Returns the number of messages published."""
    sent = 0
    for msg in run:
        wait = clock.wall_seconds_until(msg.ts)
        while wait > 0:
            _answer(run, connections, timeout=min(wait, 0.1))
            wait = clock.wall_seconds_until(msg.ts)
        connections.publish(msg)
        sent += 1
        _answer(run, connections, timeout=0)
    connections.flush()
    return sent


def _answer(run: ScenarioRun, connections: DeviceConnections, timeout: float) -> None:
    try:
        device_id, payload = connections.commands.get(timeout=timeout) if timeout else (
            connections.commands.get_nowait())
    except queue.Empty:
        return
    for ack in run.command(device_id, payload):
        connections.publish(ack)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m simulators.scenario", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="Scenario YAML")
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt[s]://host:port")
    parser.add_argument("--speed", type=float, default=60.0,
                        help="Scenario seconds per wall second (0 = no waiting at all)")
    parser.add_argument("--start", type=datetime.fromisoformat, default=None,
                        help="Override the scenario start (ISO 8601 with offset)")
    parser.add_argument("--seed", type=int, default=None, help="Override the random seed")
    parser.add_argument("--password-file", type=Path, default=None,
                        help="YAML mapping device id → MQTT password")
    parser.add_argument("--dry-run", action="store_true",
                        help="Print the messages as JSON lines instead of publishing")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.file)
    run = ScenarioRun(scenario, start=args.start, seed=args.seed)
    if args.dry_run:
        for msg in run:
            print(json.dumps({"ts": msg.ts.isoformat(), "topic": msg.topic,
                              "payload": msg.payload.decode(), "retain": msg.retain},
                             ensure_ascii=False))
        return 0
    clock: SimClock = (VirtualClock(run.start) if args.speed == 0
                       else AcceleratedClock(run.start, args.speed))
    connections = DeviceConnections(args.broker, run.wills(),
                                    passwords=load_passwords(args.password_file))
    connections.connect()
    try:
        sent = play(run, connections, clock)
    finally:
        connections.close()
    print(json.dumps({"scenario": scenario.id, "sent": sent, "start": run.start.isoformat(),
                      "end": run.end.isoformat(), "expect": scenario.expect.model_dump(
                          exclude_none=True)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
