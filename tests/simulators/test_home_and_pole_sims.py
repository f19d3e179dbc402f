"""Simulators of the alarm poles, detectors and water meters: contract-valid, a routine that never
looks like a welfare case or a leak, and the scripted incidents the scenarios use."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devices import topics
from devices.catalogue import CATALOGUE
from devices.codec import JsonCodec
from rules.conditions.counter_idle import idle_deadline
from rules.conditions.schedule import Window
from simulators.kinds.alarm_pole import Press
from simulators.kinds.base import Message, NoArgs
from simulators.kinds.gas_detector import Gas
from simulators.kinds.smoke_detector import Smoke
from simulators.kinds.water_meter import Leak, Replace, UseWater
from simulators.world import World

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 21, 0, 0, tzinfo=CST)
CODEC = JsonCodec()
METERS = ["WM-8001", "WM-8002", "WM-8003", "WM-8004", "WM-8005"]
DAYTIME = [Window(start="06:00", end="22:00")]


def _run(world: World, hours: float, start: datetime = START) -> list[Message]:
    out = world.start(start)
    for minute in range(1, int(hours * 60) + 1):
        out += world.advance(start + timedelta(minutes=minute))
    return out


def _bodies(messages: list[Message], device_id: str, channel: str) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in messages
            if m.device_id == device_id and m.topic.endswith("/" + channel)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_routine_water_use_is_never_a_welfare_case_nor_a_leak(community, seed):
    world = World(community, seed=seed, device_ids=METERS, spontaneous=False)
    messages = _run(world, 72)
    tz = ZoneInfo("Asia/Shanghai")
    for msg in messages:  # contract-valid, every one
        parts = topics.parse(msg.topic)
        CODEC.decode(CATALOGUE.get(parts.kind), parts.channel, msg.payload)  # type: ignore
    for meter in METERS:
        readings = _bodies(messages, meter, "telemetry")
        assert len(readings) >= 4 * 72 - 1
        base = since = None
        running = 0
        used = readings[-1]["total_l"] - readings[0]["total_l"]
        assert 150 < used < 700, f"{meter} used {used} L in three days"
        for body in readings:
            ts = body["ts"] / 1000 if isinstance(body["ts"], int) else datetime.fromisoformat(
                body["ts"]).timestamp()
            if base is None or body["total_l"] - base >= 1:
                base, since = body["total_l"], ts
            assert since is not None
            assert ts < idle_deadline(since, 12 * 3600, DAYTIME, tz), f"{meter} idle at {ts}"
            running = running + 1 if body["flow_l_min"] > 0 else 0
            assert running < 3, f"{meter}: water running at {running} readings in a row"


def test_scripted_water_incidents(community):
    world = World(community, seed=5, device_ids=["WM-8005"], spontaneous=False, routine=False)
    out = world.start(START)
    out += world.advance(START + timedelta(minutes=20))
    sim = world.sims["WM-8005"]
    first = sim.total
    out += world.act("WM-8005", "use", UseWater(litres=12, minutes=3),
                     START + timedelta(minutes=20))
    out += world.act("WM-8005", "leak", Leak(flow_l_min=2.0), START + timedelta(minutes=40))
    out += world.advance(START + timedelta(hours=2))
    sim.count_up(START + timedelta(hours=2))  # the register, up to this instant
    assert sim.total == pytest.approx(first + 12 + 2.0 * 80)
    assert _bodies(out, "WM-8005", "telemetry")[-1]["flow_l_min"] == 2.0
    out += world.act("WM-8005", "close_valve", NoArgs(), START + timedelta(hours=2))
    out += world.advance(START + timedelta(hours=3))
    last = _bodies(out, "WM-8005", "telemetry")[-1]
    assert (last["flow_l_min"], last["valve"]) == (0.0, "closed")
    out += world.act("WM-8005", "replace", Replace(start_l=0), START + timedelta(hours=3))
    out += world.advance(START + timedelta(hours=4))
    assert _bodies(out, "WM-8005", "telemetry")[-1]["total_l"] == 0.0
    [ack] = world.command("WM-8005", b'{"id": "v-1", "name": "set_valve", '
                                     b'"args": {"state": "open"}}', START + timedelta(hours=4))
    assert json.loads(ack.payload)["result"] == {"valve": "open"}


def test_a_press_rings_the_control_room_and_a_detector_alarm_clears(community):
    world = World(community, seed=6, device_ids=["AP-5003", "AP-5001", "SD-6003", "GD-7001",
                                                 "GD-7003"], spontaneous=False)
    at = START + timedelta(hours=21, minutes=40)
    out = world.start(START)
    out += world.act("AP-5003", "press", Press(answer_after_s=12, talk_s=120), at)
    out += world.act("AP-5001", "press", Press(answer_after_s=None, ring_s=60), at)
    out += world.act("SD-6003", "smoke", Smoke(), at)
    out += world.act("GD-7001", "gas", Gas(lel_pct=30), at)
    out += world.act("GD-7003", "gas", Gas(lel_pct=30), at)
    out += world.advance(at + timedelta(minutes=5))
    out += world.act("SD-6003", "clear", NoArgs(), at + timedelta(minutes=5))
    out += world.act("SD-6003", "remove", NoArgs(), at + timedelta(minutes=6))
    out += world.act("SD-6003", "smoke", Smoke(), at + timedelta(minutes=7))  # off its base
    answered = [b["type"] for b in _bodies(out, "AP-5003", "event")]
    assert answered == ["button_pressed", "call_connected", "call_ended"]
    press = _bodies(out, "AP-5003", "event")[0]
    assert press["camera_id"] == "CAM-3001" and press["snapshot_ref"].startswith("nvr://CAM-3001/")
    unanswered = _bodies(out, "AP-5001", "event")
    assert [b["type"] for b in unanswered] == ["button_pressed", "call_ended"]
    assert "camera_id" not in unanswered[0] and "duration_s" not in unanswered[1]
    assert [b["type"] for b in _bodies(out, "SD-6003", "event")] == [
        "smoke_alarm", "alarm_cleared", "removed"]
    assert _bodies(out, "GD-7001", "event")[0]["valve_closed"] is True  # it has a valve
    assert "valve_closed" not in _bodies(out, "GD-7003", "event")[0]
    [refused] = world.command("GD-7003", b'{"id": "c-1", "name": "close_valve"}', at)
    assert json.loads(refused.payload)["ok"] is False
    [siren] = world.command("AP-5003", b'{"id": "s-1", "name": "sound_siren", '
                                       b'"args": {"duration_s": 60}}', at)
    assert json.loads(siren.payload)["result"] == {"siren_s": 60}
