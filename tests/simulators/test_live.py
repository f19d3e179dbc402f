"""Live mode over a real broker: devices answer commands from `cmd` on `cmd/ack`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from simulators.clock import VirtualClock
from simulators.live import Live
from simulators.mqtt import DeviceConnections
from simulators.world import World
from tests.support.clients import Publisher
from tests.support.waiting import wait_for

START = datetime(2026, 11, 21, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def test_live_devices_answer_commands_and_incidents_happen(community, mosquitto, listener):
    clock = VirtualClock(START)
    world = World(community, seed=1, device_ids=["WB-1001", "LK-4001", "CAM-3001"])
    connections = DeviceConnections(mosquitto.url, world.wills(), client_prefix="live-")
    connections.connect()
    live = Live(community, connections, clock, seed=1, world=world)
    gateway = Publisher(mosquitto.url)
    try:
        clock.set(START + timedelta(minutes=5))
        assert live.step()
        gateway.publish("scgw/v1/wristband/WB-1001/cmd",
                        b'{"id": "loc-1", "name": "locate", "args": {}}')
        gateway.publish("scgw/v1/locker/LK-4001/cmd",
                        b'{"id": "open-1", "name": "open_compartment", '
                        b'"args": {"compartment": "L-3"}}')

        def acks() -> dict[str, dict]:
            live.step()
            got = {}
            for topic, payload, _ in list(listener.messages):
                if topic.endswith("/cmd/ack"):
                    got[json.loads(payload)["id"]] = json.loads(payload)
            return got

        assert wait_for(lambda: {"loc-1", "open-1"} <= set(acks()), timeout=10)
        got = acks()
        assert got["loc-1"]["ok"] and "lat" in got["loc-1"]["result"]["location"]
        assert got["open-1"]["result"] == {"compartment": "L-3", "opened": True}
        for _ in range(6):
            live.incident()
        assert live.incidents >= 1
    finally:
        gateway.close()
        connections.close()
