"""Alerts that contradict the device: the simulated bands never send an SOS or a fall while
they last said they were off the wrist (the gateway still pages such an alert, marked)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from simulators.community.model import load_community
from simulators.kinds.base import NoArgs
from simulators.kinds.wristband import Fall
from simulators.world import World

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 21, 0, 0, tzinfo=CST)


def _wear_contradictions(messages: list) -> list[str]:
    """SOS/fall events sent while the band's latest word was 'not worn'."""
    worn: dict[str, bool] = {}
    wrong = []
    for msg in messages:
        if "/wristband/" not in msg.topic:
            continue
        device = msg.topic.split("/")[3]
        data = json.loads(msg.payload)
        if msg.topic.endswith("/telemetry") and "worn" in data:
            worn[device] = data["worn"]
        elif msg.topic.endswith("/event"):
            if data["type"] in ("removed", "worn"):
                worn[device] = data["type"] == "worn"
            elif data["type"] in ("sos", "fall") and worn.get(device) is False:
                wrong.append(f"{device} {data['type']} at {msg.ts}")
    return wrong


def test_scenario_presses_and_falls_during_a_busy_day_never_come_from_a_band_off_the_wrist():
    # Bands come off during the day (a few minutes to 40) and charge at night; scenarios
    # press SOS and make people fall whenever their script says so.
    community = load_community()
    world = World(community, seed=5)
    bands = sorted(d for d in world.sims if d.startswith("WB-"))
    out = world.start(START + timedelta(hours=6))
    for step in range(1, 16 * 30):
        now = START + timedelta(hours=6, minutes=2 * step)
        out += world.advance(now)
        if step % 5 == 0:
            band = bands[step // 5 % len(bands)]
            action = ("sos", NoArgs()) if step % 10 else ("fall", Fall(gets_up_after_s=60))
            out += world.act(band, action[0], action[1], now)
    assert _wear_contradictions(out) == []


def test_a_scripted_sos_or_fall_on_a_band_left_on_the_charger_puts_it_on_first():
    world = World(load_community(), device_ids=["WB-1001"], spontaneous=False, routine=False)
    now = START + timedelta(hours=9)
    out = world.start(now)
    out += world.act("WB-1001", "remove", NoArgs(), now)
    out += world.act("WB-1001", "sos", NoArgs(), now + timedelta(minutes=1))
    out += world.act("WB-1001", "remove", NoArgs(), now + timedelta(minutes=2))
    out += world.act("WB-1001", "fall", Fall(), now + timedelta(minutes=3))
    types = [json.loads(m.payload)["type"] for m in out if m.topic.endswith("/event")]
    assert types == ["removed", "worn", "sos", "removed", "worn", "fall"]
    assert _wear_contradictions(out) == []
