"""Device simulators without a broker: contract-valid output, reproducibility, commands."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from devices import topics
from devices.catalogue import CATALOGUE
from devices.codec import JsonCodec
from simulators.community.geo import contains
from simulators.kinds.base import Message
from simulators.kinds.wristband import Fall
from simulators.world import World

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 21, 0, 0, tzinfo=CST)
CODEC = JsonCodec()


def decode(msg: Message):
    parts = topics.parse(msg.topic)
    return parts, CODEC.decode(CATALOGUE.get(parts.kind), parts.channel, msg.payload)


def run_day(seed: int, hours: int = 24) -> list[Message]:
    world = World(_community(), seed=seed)
    out = world.start(START)
    for minute in range(1, hours * 60 + 1):
        out += world.advance(START + timedelta(minutes=minute))
    return out


_cached: dict = {}


def _community():
    if "c" not in _cached:
        from simulators.community.model import load_community
        _cached["c"] = load_community()
    return _cached["c"]


@pytest.fixture(scope="module")
def day() -> list[Message]:
    """A full simulated day of the whole compound, routine and incidents on."""
    return run_day(seed=42)


def test_a_day_of_the_compound_is_valid_contract_traffic(day):
    kinds = Counter()
    for msg in day:
        parts, payload = decode(msg)  # raises if anything is off-contract
        kinds[(parts.kind, parts.channel, getattr(payload, "type", ""))] += 1
        assert msg.qos == 1
        assert msg.retain == (parts.channel == "status")
        assert len(msg.payload) < 64 * 1024
    for kind in ("wristband", "access", "camera", "locker"):
        assert kinds[(kind, "telemetry", "")] > 100
    assert kinds[("access", "event", "unlock")] > 500
    assert kinds[("locker", "event", "parcel_deposited")] > 5
    assert kinds[("wristband", "event", "removed")] >= 12  # taken off to charge at night


def test_sequences_increase_per_device_and_channel(day):
    last: dict[tuple[str, str], int] = {}
    for msg in sorted(day, key=lambda m: m.ts):
        parts, payload = decode(msg)
        key = (parts.device_id, parts.channel)
        assert payload.seq is not None
        assert payload.seq > last.get(key, -1), key
        last[key] = payload.seq


def test_wearers_follow_a_routine_over_the_map(day):
    community = _community()
    places = Counter()
    steps: dict[str, int] = {}
    for msg in day:
        if msg.topic.endswith("/telemetry") and "/wristband/" in msg.topic:
            data = json.loads(msg.payload)
            point = community.frame.to_local(data["location"]["lat"], data["location"]["lon"])
            if data["location"]["source"] == "gps":
                for poi in community.pois:
                    if contains(poi.polygon, point):
                        places[poi.id] += 1
            steps[msg.device_id] = max(steps.get(msg.device_id, 0), data["steps"])
            if data.get("heart_rate_bpm"):
                assert 40 <= data["heart_rate_bpm"] <= 130
    assert places["park"] > 0 and places["market"] > 0
    assert sum(1 for s in steps.values() if s > 500) >= 6  # most wearers walk somewhere


def test_vitals_have_a_day_night_rhythm(day):
    night, noon = [], []
    for msg in day:
        if "/wristband/WB-1006/telemetry" in msg.topic:
            data = json.loads(msg.payload)
            hour = msg.ts.astimezone(CST).hour
            if "heart_rate_bpm" in data and (hour < 5):
                night.append(data["heart_rate_bpm"])
            if "heart_rate_bpm" in data and 12 <= hour < 14:
                noon.append(data["heart_rate_bpm"])
    if night:  # worn at night only by those who do not charge then
        assert sum(night) / len(night) < sum(noon) / len(noon)
    assert noon


def test_same_seed_same_bytes_other_seed_other_bytes():
    a, b, c = run_day(7, hours=3), run_day(7, hours=3), run_day(8, hours=3)
    assert [(m.topic, m.payload) for m in a] == [(m.topic, m.payload) for m in b]
    assert [(m.topic, m.payload) for m in a] != [(m.topic, m.payload) for m in c]


def test_fall_without_getting_up_freezes_the_step_count():
    world = World(_community(), device_ids=["WB-1001"], spontaneous=False, routine=False)
    world.start(START + timedelta(hours=9))
    world.act("WB-1001", "go", world.sims["WB-1001"].actions["go"](place="park"),
              START + timedelta(hours=9))
    world.advance(START + timedelta(hours=9, minutes=12))
    fell = world.act("WB-1001", "fall", Fall(), START + timedelta(hours=9, minutes=12))
    _, event = decode(fell[0])
    assert event.type == "fall" and event.location is not None
    after = [json.loads(m.payload)["steps"]
             for m in world.advance(START + timedelta(hours=9, minutes=20))
             if m.topic.endswith("telemetry")]
    assert len(after) >= 7 and len(set(after)) == 1


def test_commands_are_answered_with_an_ack_echoing_the_id():
    world = World(_community(), device_ids=["WB-1001", "LK-4001"], spontaneous=False)
    now = START + timedelta(hours=10)
    world.start(now)
    [ack] = world.command("WB-1001", b'{"id": "cmd-1", "name": "locate"}', now)
    _, payload = decode(ack)
    assert ack.topic == "scgw/v1/wristband/WB-1001/cmd/ack"
    assert payload.id == "cmd-1" and payload.ok
    assert {"lat", "lon", "accuracy_m", "source"} <= set(payload.result["location"])
    [ack] = world.command("LK-4001", b'{"id": "c2", "name": "open_compartment", '
                          b'"args": {"compartment": "L-3"}}', now)
    assert decode(ack)[1].result == {"compartment": "L-3", "opened": True}
    [ack] = world.command("LK-4001", b'{"id": "c3", "name": "open_compartment", '
                          b'"args": {"compartment": "L-99"}}', now)
    assert not decode(ack)[1].ok and "L-99" in decode(ack)[1].error
    [ack] = world.command("WB-1001", b'{"id": "c4", "name": "self_destruct"}', now)
    assert not decode(ack)[1].ok
    assert world.command("WB-1001", b"not json", now) == []
