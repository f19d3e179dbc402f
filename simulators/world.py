"""The simulated community: every device's simulator, wired together, advanced in time order."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime

from simulators.community.model import AccessSpec, Community
from simulators.kinds.access import AccessSim
from simulators.kinds.alarm_pole import AlarmPoleSim
from simulators.kinds.base import Args, DeviceSim, Message
from simulators.kinds.camera import CameraSim
from simulators.kinds.charging_pile import ChargingPileSim
from simulators.kinds.elevator import ElevatorSim
from simulators.kinds.extinguisher import ExtinguisherSim
from simulators.kinds.gas_detector import GasDetectorSim
from simulators.kinds.leak_detector import LeakDetectorSim
from simulators.kinds.locker import LockerSim
from simulators.kinds.radar import RadarSim
from simulators.kinds.smoke_detector import SmokeDetectorSim
from simulators.kinds.water_meter import WaterMeterSim
from simulators.kinds.wristband import WristbandSim

SIMULATORS: dict[str, type[DeviceSim]] = {
    "wristband": WristbandSim, "access": AccessSim, "camera": CameraSim, "locker": LockerSim,
    "alarm_pole": AlarmPoleSim,
    "smoke_detector": SmokeDetectorSim,
    "gas_detector": GasDetectorSim,
    "leak_detector": LeakDetectorSim,
    "water_meter": WaterMeterSim,
    "extinguisher": ExtinguisherSim,
    "elevator": ElevatorSim,
    "radar": RadarSim,
    "charging_pile": ChargingPileSim,
}


class World:
    """Device simulators of one community; wearers walking through doors make them unlock."""

    def __init__(self, community: Community, *, seed: int | str = 0,
                 device_ids: Iterable[str] | None = None, spontaneous: bool = True,
                 routine: bool = True, seq_base: int = 0) -> None:
        self.community = community
        wanted = set(device_ids) if device_ids is not None else None
        self.sims: dict[str, DeviceSim] = {}
        for spec in community.devices:
            if wanted is not None and spec.id not in wanted:
                continue
            # One random stream per device: adding a device never changes another's behaviour.
            rng = random.Random(f"{seed}:{spec.id}")
            sim = SIMULATORS[spec.kind](spec.id, community, rng, spontaneous=spontaneous,
                                        routine=routine, seq_base=seq_base)
            if isinstance(sim, WristbandSim):
                sim.hooks.append(self._door)
            self.sims[spec.id] = sim
        if wanted is not None and wanted - set(self.sims):
            raise KeyError(f"unknown devices: {sorted(wanted - set(self.sims))}")

    def _door(self, where: str, place: str, resident: str, when: datetime) -> None:
        for sim in self.sims.values():
            if not isinstance(sim, AccessSim):
                continue
            spec: AccessSpec = sim.spec
            at_gate = where == "gate" and spec.gate == place
            at_unit = (where == "unit" and f"{spec.building}/{spec.unit}" == place
                       and spec.resident in (None, resident))
            if at_gate or at_unit:
                sim.resident_passes(resident, when)

    def start(self, now: datetime) -> list[Message]:
        """Every device comes online."""
        return sorted((m for sim in self.sims.values() for m in sim.start(now)),
                      key=lambda m: m.ts)

    def stop(self, now: datetime) -> list[Message]:
        """Every device says offline (clean shutdown)."""
        return [m for sim in self.sims.values() for m in sim.stop(now)]

    def advance(self, now: datetime) -> list[Message]:
        """Everything every device has to say up to `now`, oldest first."""
        out: list[Message] = []
        # Repeat: a wearer reaching a door schedules an unlock on a sim already advanced.
        while True:
            due = [s for s in self.sims.values() if (t := s.next_due()) is not None and t <= now]
            if not due:
                break
            # Wearers first: the door unlocks they cause then land in each controller's agenda
            # before the controller moves past that moment, keeping its sequence in time order.
            due.sort(key=lambda s: not isinstance(s, WristbandSim))
            for sim in due:
                out += sim.advance(now)
        out.sort(key=lambda m: m.ts)
        return out

    def act(self, device_id: str, action: str, args: Args, now: datetime) -> list[Message]:
        """A scripted action on one device."""
        return self.sims[device_id].act(action, args, now)

    def command(self, device_id: str, payload: bytes, now: datetime) -> list[Message]:
        """A command from the gateway to one device; returns its acknowledgement."""
        sim = self.sims.get(device_id)
        return sim.command(payload, now) if sim else []

    def wills(self) -> dict[str, tuple[str, bytes]]:
        """Each device's MQTT last will."""
        return {device_id: sim.will() for device_id, sim in self.sims.items()}
