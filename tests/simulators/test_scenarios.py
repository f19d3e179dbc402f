"""Every shipped scenario: valid file, contract-valid messages, expectations that name real
rules — and, over a real Mosquitto, the same messages arrive and the gateway takes them all."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from devices import topics
from devices.catalogue import CATALOGUE
from devices.codec import JsonCodec
from gateway.clock import ManualClock
from simulators.clock import VirtualClock
from simulators.mqtt import DeviceConnections
from simulators.scenario import ScenarioRun, play
from simulators.scenario_file import Scenario, ScenarioError, load_scenario, scenario_files
from tests.support.clients import Publisher
from tests.support.waiting import wait_for

FILES = scenario_files()
IDS = [f.stem for f in FILES]
CODEC = JsonCodec()
PACKS = Path(__file__).resolve().parents[2] / "rules" / "packs"


def _pack_rules() -> dict[str, dict]:
    rules = {}
    for path in PACKS.glob("*.yaml"):
        for rule in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules", []):
            rules[rule["id"]] = rule
    return rules


def test_there_are_scenarios_for_the_stories_of_the_issue():
    assert {"yang-fall-park", "fire-lane-fl2", "li-parcel-three-days"} <= {
        load_scenario(f).id for f in FILES}
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_scenario_is_valid_and_its_expectations_name_real_rules(path):
    scenario = load_scenario(path)
    assert scenario.id == path.stem.replace("_", "-")
    rules = _pack_rules()
    for alert in scenario.expect.alerts:
        assert alert.rule in rules, f"{path.name}: no built-in rule {alert.rule}"
        assert alert.device in scenario.device_ids()
    alert_categories = {rules[a.rule]["category"] for a in scenario.expect.alerts}
    for ticket in scenario.expect.tickets:
        assert ticket.category in alert_categories, f"{path.name}: ticket {ticket.category}"
    assert scenario.expect.alerts or scenario.expect.only


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_scenario_messages_follow_the_contract_and_repeat_exactly(path):
    scenario = load_scenario(path)
    first = list(ScenarioRun(scenario))
    again = list(ScenarioRun(scenario))
    assert [(m.ts, m.topic, m.payload) for m in first] == [
        (m.ts, m.topic, m.payload) for m in again]
    run = ScenarioRun(scenario)
    assert all(run.start <= m.ts <= run.end for m in first)
    for msg in first:
        parts = topics.parse(msg.topic)
        CODEC.decode(CATALOGUE.get(parts.kind), parts.channel, msg.payload)
    # The expected alerts' devices actually say something during the scenario.
    talking = {m.device_id for m in first if not m.topic.endswith("/status")}
    assert {a.device for a in scenario.expect.alerts} <= talking


def test_start_override_shifts_every_timestamp():
    scenario = load_scenario(FILES[0])
    shifted_start = scenario.start.replace(year=2027)
    base = list(ScenarioRun(scenario))
    shifted = list(ScenarioRun(scenario, start=shifted_start))
    delta = shifted_start - scenario.start
    assert [m.ts + delta for m in base] == [m.ts for m in shifted]


@pytest.mark.parametrize(("change", "message"), [
    ({"steps": [{"at": "09:00", "device": "WB-9999", "do": "sos"}]}, "unknown device"),
    ({"steps": [{"at": "09:00", "device": "WB-1001", "do": "dance"}]}, "has no action 'dance'"),
    ({"steps": [{"at": "09:00", "device": "WB-1001", "do": "go", "args": {"place": "moon"}}]},
     "unknown place 'moon'"),
    ({"steps": [{"at": "09:00", "device": "CAM-3003", "do": "park_car",
                 "args": {"for_s": 60}}]}, "watches no fire lane"),
    ({"steps": [{"at": "09:00", "device": "LK-4001", "do": "deposit",
                 "args": {"compartment": "L-99"}}]}, "no compartment 'L-99'"),
    ({"steps": [{"at": "09:00", "device": "WB-1001", "do": "fall",
                 "args": {"confidence": 2}}]}, "confidence"),
])
def test_bad_steps_are_refused_naming_the_step(change, message):
    data = {"id": "bad", "title": {"zh": "坏", "en": "bad"},
            "start": "2026-11-21T08:00:00+08:00", "end": "10:00", **change}
    scenario = Scenario.model_validate(data)
    with pytest.raises(ScenarioError, match=message) as err:
        scenario.check()
    assert "steps[0]" in str(err.value) or "unknown device" in str(err.value)


def test_times_outside_the_scenario_are_refused():
    with pytest.raises(ValueError, match="outside the scenario"):
        Scenario.model_validate({"id": "late", "title": {"zh": "晚", "en": "late"},
                                 "start": "2026-11-21T08:00:00+08:00", "end": "+1h",
                                 "steps": [{"at": "10:00", "device": "WB-1001", "do": "sos"}]})


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_scenario_over_mosquitto_reaches_subscribers_and_the_gateway_accepts_it_all(
        path, community, make_gateway, mosquitto, listener):
    scenario = load_scenario(path)
    run = ScenarioRun(scenario, community=community)
    # Retained status left by an earlier scenario would reach this gateway from its future.
    cleaner = Publisher(mosquitto.url)
    for spec in community.devices:
        cleaner.publish(topics.topic(spec.kind, spec.id, "status"), b"", retain=True)
    cleaner.close()
    listener.mark()
    # The gateway's clock walks along with scenario time, so nothing looks like it came
    # from the future; it starts at the scenario start.
    gw_clock = ManualClock(run.start)
    records = community.devices_for_registry()
    gw = make_gateway(devices=[CATALOGUE.device_config_adapter.validate_python(r)
                               for r in records], gw_clock=gw_clock)
    processed_before = gw.pipeline.processed
    connections = DeviceConnections(mosquitto.url, run.wills(), client_prefix=f"{path.stem}-")
    connections.connect()
    published = []

    class Recording:
        """Pass-through that moves the gateway clock up to each message before it goes out."""

        commands = connections.commands

        def publish(self, msg):
            if msg.ts.timestamp() > gw_clock.time():
                gw_clock.set(msg.ts)
            published.append(msg)
            connections.publish(msg)

        def flush(self):
            return connections.flush()

    try:
        play(run, Recording(), VirtualClock(run.start))  # type: ignore[arg-type]
    finally:
        connections.close()

    # What the devices sent (the gateway's own confirmations go the other way).
    received = [r for r in listener.mark() if not topics.is_outbound(r[0])]
    assert Counter((t, p) for t, p, _ in received) == Counter(
        (m.topic, m.payload) for m in published)
    for topic, payload, _ in received:
        parts = topics.parse(topic)
        CODEC.decode(CATALOGUE.get(parts.kind), parts.channel, payload)

    assert wait_for(lambda: gw.pipeline.processed - processed_before >= len(published), 20)
    assert gw.store.query("SELECT reason, topic, detail FROM dead_letters") == []
    stored = gw.store.query(
        "SELECT device_id, seq FROM telemetry UNION ALL SELECT device_id, seq FROM events")
    stored_keys = Counter((r["device_id"], r["seq"]) for r in stored)
    for msg in published:
        seq = json.loads(msg.payload).get("seq") if msg.payload.startswith(b"{") else None
        if seq is not None:
            assert stored_keys[(msg.device_id, seq)] >= 1, msg
