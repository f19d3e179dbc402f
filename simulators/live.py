"""Live traffic for the demo: the whole community model, accelerated, with incidents.

    python -m simulators.live --broker mqtt://127.0.0.1:1883 [--community FILE] [--speed N]
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Empty, SimpleQueue

from simulators.clock import AcceleratedClock, SimClock
from simulators.community.model import Community, load_community
from simulators.kinds.alarm_pole import Press
from simulators.kinds.base import Message
from simulators.kinds.camera import ParkCar, Thrown
from simulators.kinds.elevator import Trap
from simulators.kinds.gas_detector import Gas
from simulators.kinds.leak_detector import Wet
from simulators.kinds.radar import LongStay
from simulators.kinds.smoke_detector import Smoke
from simulators.kinds.water_meter import Leak
from simulators.kinds.wristband import Fall, Vitals
from simulators.mqtt import DeviceConnections, load_passwords
from simulators.scenario import seq_base
from simulators.world import World

# Incidents the demo injects so alerts and tickets appear within a minute:
# (device kind, action, arguments factory); only devices that can do it are chosen.
INCIDENTS = (
    ("wristband", "sos", lambda rng: None),
    ("wristband", "fall", lambda rng: Fall(confidence=round(rng.uniform(0.8, 0.97), 2))),
    ("wristband", "vitals", lambda rng: Vitals(heart_rate_bpm=rng.randint(125, 140), for_s=900)),
    ("wristband", "remove", lambda rng: None),
    ("access", "force_open", lambda rng: None),
    ("access", "fence_intrusion", lambda rng: None),
    ("camera", "park_car", lambda rng: ParkCar(for_s=rng.uniform(300, 900))),
    ("camera", "falling_object", lambda rng: Thrown()),
    ("locker", "tamper", lambda rng: None),
    ("alarm_pole", "press", lambda rng: Press(answer_after_s=rng.randint(5, 30))),
    ("smoke_detector", "smoke", lambda rng: Smoke(obscuration_pct_m=round(
        rng.uniform(6, 15), 1))),
    ("gas_detector", "gas", lambda rng: Gas(lel_pct=round(rng.uniform(20, 40), 1))),
    ("leak_detector", "leak", lambda rng: Wet(depth_mm=round(rng.uniform(1, 8), 1))),
    ("water_meter", "leak", lambda rng: Leak(flow_l_min=round(rng.uniform(1, 4), 1))),
    ("elevator", "trap", lambda rng: Trap(rescue_after_s=rng.randint(600, 1800))),
    ("radar", "long_stay", lambda rng: LongStay(stay_s=rng.randint(1800, 3600))),
)


class Live:
    """The community running in (accelerated) real time, published as the devices."""

    def __init__(self, community: Community, connections: DeviceConnections | None,
                 clock: SimClock, *, seed: int = 0, world: World | None = None) -> None:
        self.community = community
        self.clock = clock
        self.rng = random.Random(seed)
        start = clock.now()
        self.world = world or World(community, seed=seed, seq_base=seq_base(start, "live"))
        self.connections = connections
        self.sent = 0
        self.incidents = 0
        self._pending: list[Message] = self.world.start(start)

    def step(self) -> list[Message]:
        """Advance the world to the clock, publish what is due, answer waiting commands."""
        now = self.clock.now()
        out = self._pending + self.world.advance(now)
        self._pending = []
        if self.connections is not None:
            while True:
                try:
                    device_id, payload = self.connections.commands.get_nowait()
                except queue.Empty:
                    break
                out += self.world.command(device_id, payload, now)
            for msg in out:
                self.connections.publish(msg)
        self.sent += len(out)
        return out

    def incident(self) -> list[Message]:
        """Something worth an alert happens to a random device that can have it."""
        kind, action, make_args = self.rng.choice(INCIDENTS)
        candidates = [s for s in self.world.sims.values()
                      if s.kind == kind and action in s.actions and not s.silent
                      and _can(s, action)]
        if not candidates:
            return []
        sim = self.rng.choice(candidates)
        args = make_args(self.rng) or sim.actions[action].model_validate(
            _default_args(sim, action, self.rng))
        now = self.clock.now()
        msgs = sim.act(action, args, now)
        if action == "fall":  # most people get up again; the unlucky do not
            sim.schedule(now + timedelta(minutes=self.rng.choice([1, 3, 30])),
                         lambda t: sim.act("get_up", sim.actions["get_up"](), t))
        if action == "remove":
            sim.schedule(now + timedelta(minutes=self.rng.uniform(10, 40)),
                         lambda t: sim.act("wear", sim.actions["wear"](), t))
        self.incidents += 1
        self._pending += msgs
        return msgs


def _stopped(signals: SimpleQueue[int], timeout: float) -> bool:
    """Whether SIGINT or SIGTERM came within `timeout` s."""
    try:
        signals.get(timeout=timeout)
    except Empty:
        return False
    return True


def _can(sim: object, action: str) -> bool:
    spec = getattr(sim, "spec", None)
    if action in ("park_car",):
        return getattr(spec, "fire_lane", None) is not None
    if action == "falling_object":
        return getattr(spec, "facade", None) is not None
    if action == "fence_intrusion":
        return bool(getattr(spec, "fence_zones", None))
    if action == "force_open":
        return not getattr(spec, "fence_zones", None)
    return True


def _default_args(sim: object, action: str, rng: random.Random) -> dict:
    if action == "fence_intrusion":
        return {"zone": rng.choice(sim.spec.fence_zones)}  # type: ignore[attr-defined]
    return {}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: runs until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m simulators.live", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt[s]://host:port")
    parser.add_argument("--community", type=Path, default=None, help="Community model YAML")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="Scenario seconds per wall second (e.g. 60: an hour a minute)")
    parser.add_argument("--start", type=datetime.fromisoformat, default=None,
                        help="Simulated start time (ISO 8601); default now")
    parser.add_argument("--seed", type=int, default=0, help="Random seed")
    parser.add_argument("--incident-every", type=float, default=20.0,
                        help="Wall seconds between injected incidents (0 = only random ones)")
    parser.add_argument("--first-incident", type=float, default=3.0,
                        help="Wall seconds before the first injected incident (someone who "
                        "just started the demo should not wait for something to happen)")
    parser.add_argument("--password-file", type=Path, default=None,
                        help="YAML mapping device id → MQTT password")
    parser.add_argument("--duration", type=float, default=0.0,
                        help="Stop after this many wall seconds (0 = until interrupted)")
    args = parser.parse_args(argv)
    community = load_community(args.community)
    start = args.start or datetime.now(UTC)
    clock = AcceleratedClock(start, args.speed)
    world = World(community, seed=args.seed, seq_base=seq_base(start, "live"))
    connections = DeviceConnections(args.broker, world.wills(),
                                    passwords=load_passwords(args.password_file))
    connections.connect()
    live = Live(community, connections, clock, seed=args.seed, world=world)
    # A queue, not an Event: the handler runs in this thread, and Event.set() there can
    # wait for the lock this thread holds inside Event.wait() (gateway/stop_signal.py).
    stop: SimpleQueue[int] = SimpleQueue()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.put(signum))
    began = time.monotonic()
    next_incident = args.first_incident if args.incident_every else float("inf")
    try:
        while not _stopped(stop, 0.2):
            wall = time.monotonic() - began
            if wall >= next_incident:
                live.incident()
                next_incident += args.incident_every
            live.step()
            if args.duration and wall >= args.duration:
                break
    finally:
        for msg in world.stop(clock.now()):
            connections.publish(msg)
        connections.flush()
        connections.close()
    print(json.dumps({"sent": live.sent, "incidents": live.incidents,
                      "devices": len(world.sims)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
