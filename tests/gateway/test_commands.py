"""Commands expire, are never delivered or settled late, and a refused publish fails at once."""

from __future__ import annotations

import threading
import time

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.api.conftest import make_api  # noqa: F401 (the seeded API fixture)
from tests.conftest import T0, logged_in_gateway
from tests.gateway.test_confirmations import Listener
from tests.support.mosquitto import start_mosquitto
from tests.support.waiting import wait_for

CMD = "scgw/v1/locker/LK-4001/cmd"


class Locker:
    """The locker's own MQTT 5 session: persistent, subscribed to its commands."""

    def __init__(self, port: int) -> None:
        self.received: list[dict] = []
        self.subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="LK-4001",
                                  protocol=paho.MQTTv5)
        self.client.on_message = lambda c, u, m: self.received.append(orjson.loads(m.payload))
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.port = port
        self.props = props

    def connect(self) -> None:
        self.subscribed.clear()
        self.client.connect("127.0.0.1", self.port, clean_start=False, properties=self.props)
        self.client.loop_start()
        self.client.subscribe(CMD, qos=1)
        assert self.subscribed.wait(5)

    def go_offline(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _state(gw, command_id: str) -> dict:
    return gw.store.query("SELECT state, expires_at, late_at, late_result, result FROM commands"
                          " WHERE id = ?", (command_id,))[0]


def _send(gw, clock, **kw) -> str:
    kw.setdefault("args", {"compartment": "L-3"})
    return gw.pipeline.call("cmd", lambda now, tx: gw.commands.send(
        tx, device_id="LK-4001", kind="locker", name="open_compartment", actor="op",
        now=now, **kw), clock.time())


def test_a_command_to_an_offline_device_expires_and_is_never_delivered_late(
        make_gateway, mosquitto, clock):
    gw = make_gateway()
    locker = Locker(mosquitto.port)
    locker.connect()
    locker.go_offline()
    command_id = _send(gw, clock, ttl_s=1)
    sent_at = time.monotonic()
    clock.advance(10)
    assert wait_for(lambda: _state(gw, command_id)["state"] == "timeout", 10)
    # The broker holds it for the offline session only until its expiry (1 s of wall clock
    # from when it got it; the publish leaves after the commit, so allow for a slow one).
    assert wait_for(lambda: time.monotonic() - sent_at > 3.0, 6)
    locker.connect()
    try:
        fresh = _send(gw, clock)  # a new command still arrives: the session works
        assert wait_for(lambda: locker.received, 5)
        assert [c["id"] for c in locker.received] == [fresh]
        assert locker.received[0]["expires_at"] == round((clock.time() + 60) * 1000)
    finally:
        locker.go_offline()


@pytest.mark.both_backends
def test_a_late_ack_is_recorded_and_changes_nothing(make_gateway, publisher, clock):
    gw = make_gateway()
    command_id = _send(gw, clock)
    clock.advance(61)
    gw.pipeline.call("expire", lambda now, tx: gw.commands.expire(now, tx), clock.time())
    assert _state(gw, command_id)["state"] == "timeout"
    ack = {"id": command_id, "ok": True, "ts": int(clock.time() * 1000)}
    publisher.publish("scgw/v1/locker/LK-4001/cmd/ack", orjson.dumps(ack))
    assert gw.pipeline.wait_processed(1, 10)
    row = _state(gw, command_id)
    assert row["state"] == "timeout" and row["late_at"] == pytest.approx(clock.time())
    # An ack that comes after the expiry but before the sweep ran is late too.
    second = _send(gw, clock)
    clock.advance(70)
    publisher.publish("scgw/v1/locker/LK-4001/cmd/ack", orjson.dumps(
        {"id": second, "ok": True, "ts": int(clock.time() * 1000)}))
    assert gw.pipeline.wait_processed(2, 10)
    assert _state(gw, second)["state"] == "timeout" and _state(gw, second)["late_at"]


def test_an_ack_with_a_small_mistake_still_settles_its_command(make_gateway, publisher,
                                                                mosquitto, clock):
    # Vendor round 2: an ack with a readable `id` and `ok` but `ts` in seconds (or without
    # an offset, or a text `result`) was refused; the compartment had opened, the command
    # showed `timeout`, and an operator retrying opened it twice.
    gw = make_gateway()
    listener = Listener(mosquitto.port, ["scgw/v1/locker/LK-4001/errors"])
    try:
        faults = [{"ts": int(clock.time())}, {"ts": "2026-11-21T12:00:00"},
                  {"ts": int(clock.time() * 1000), "result": "opened"}]
        for n, fault in enumerate(faults):
            command_id = _send(gw, clock, args={"compartment": f"L-{n + 1}"})
            publisher.publish("scgw/v1/locker/LK-4001/cmd/ack",
                              orjson.dumps({"id": command_id, "ok": True, **fault}))
            assert gw.pipeline.wait_processed(n + 1, 10)
            assert _state(gw, command_id)["state"] == "succeeded", fault
        assert wait_for(lambda: len(listener.got) == 3, 5)
        assert all(body.get("salvaged") for _, body in listener.got)
        # Without a readable `ok`, nothing can be settled: refused as before.
        command_id = _send(gw, clock, args={"compartment": "L-9"})
        publisher.publish("scgw/v1/locker/LK-4001/cmd/ack", orjson.dumps(
            {"id": command_id, "ok": "yes", "ts": int(clock.time() * 1000)}))
        assert gw.pipeline.wait_processed(4, 10)
        assert _state(gw, command_id)["state"] == "sent"
        assert gw.store.query("SELECT reason FROM dead_letters") == [
            {"reason": "schema_invalid"}]
    finally:
        listener.close()


def test_a_publish_the_broker_refuses_fails_at_once(tmp_path, clock):
    # A broker whose ACL lets the gateway read but not command lockers.
    broker = start_mosquitto(tmp_path / "acl-broker", users={"gw": "gw-pass-1"}, acl=(
        "user gw\ntopic read scgw/v1/#\ntopic write scgw/v1/wristband/+/cmd\n"))
    gw = logged_in_gateway(broker, tmp_path / "acl.db", clock, username="gw",
                           password="gw-pass-1", client_id="gw-acl")
    try:
        assert gw.mqtt.wait_connected(10)
        command_id = _send(gw, clock)
        assert wait_for(lambda: _state(gw, command_id)["state"] == "failed", 10)
        assert "not authorized" in _state(gw, command_id)["result"]
    finally:
        gw.stop()
        broker.stop()


def test_the_api_checks_arguments_against_the_catalogue(api):
    op = api.headers("operator")
    for body, fragment in (
        ({"name": "open_compartment"}, "compartment"),
        ({"name": "open_compartment", "args": {"compartment": "L-3", "force": True}}, "force"),
        ({"name": "open_compartment", "args": {"compartment": True}}, "compartment"),
        ({"name": "open_compartment", "args": {"compartment": "L-3"}, "ttl_s": 3600}, "ttl_s"),
        ({"name": "self_destruct"}, "open_compartment"),
    ):
        r = api.client.post("/devices/VD-1/commands", json=body, headers=op)
        assert r.status_code == 422 and fragment in r.text, (body, r.text)
    r = api.client.post("/devices/VD-1/commands", headers=op, json={
        "name": "open_compartment", "args": {"compartment": "L-3"}, "ttl_s": 30})
    assert r.status_code == 202
    assert r.json()["expires_at"] == pytest.approx(T0 + 30)
    # A numbered compartment is its number's label, as it is in the locker's own events
    # (vendor rounds 4-6: `"compartment": 12` was refused 422).
    r = api.client.post("/devices/VD-1/commands", headers=op, json={
        "name": "open_compartment", "args": {"compartment": 12}})
    assert r.status_code == 202 and r.json()["args"] == {"compartment": "12"}


@pytest.fixture
def api(make_api):  # noqa: F811 (the imported fixture, used by name)
    return make_api()


def test_one_command_in_flight_per_compartment_not_per_locker(make_gateway, clock):
    # Vendor round 2: a second resident could not be helped for up to a minute while the
    # first compartment's command was unanswered. The same compartment twice is still refused.
    from gateway.commands import CommandPendingError

    gw = make_gateway()
    first = _send(gw, clock, args={"compartment": "L-1"})
    second = _send(gw, clock, args={"compartment": "L-2"})
    assert first != second
    with pytest.raises(CommandPendingError, match="compartment 'L-1'"):
        _send(gw, clock, args={"compartment": "L-1"})
    # Commands without a `per` argument stay one at a time per name.
    locate = lambda: gw.pipeline.call("cmd", lambda now, tx: gw.commands.send(  # noqa: E731
        tx, device_id="WB-1001", kind="wristband", name="locate_now", args={}, actor="op",
        now=now), clock.time())
    locate()
    with pytest.raises(CommandPendingError):
        locate()
