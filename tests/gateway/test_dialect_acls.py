"""Vendor topics under dynamic security: a device publishes on its own dialect topics only.

Against the production gateway process of tests/security (Mosquitto with dynsec, accounts
provisioned at registration): each device's role carries its dialect's topics with its own
id, a hub's role its own base topic, the gateway's role reads the dialects' topics, and no
account can publish on another device's (or hub's) vendor topic.
"""

from __future__ import annotations

import time

import orjson

from tests.security.conftest import Client, Edge
from tests.security.conftest import edge as edge  # the fixture
from tests.support.waiting import wait_for


def _register(at: Edge, vendor: str, body: dict) -> str:
    r = at.register(vendor, body)
    assert r.status_code == 201, r.text
    return r.json()["mqtt_password"]


def _location(lat: float) -> bytes:
    return orjson.dumps({"_type": "location", "lat": lat, "lon": 116.58, "acc": 10,
                         "tst": int(time.time())})


def _rows(at: Edge, device_id: str) -> list[tuple]:
    return at.stored("SELECT data FROM telemetry WHERE device_id = ?", (device_id,))


def test_a_device_publishes_only_on_its_own_vendor_topics(edge: Edge):
    pw_a = _register(edge, "vendor-a", {"id": "OT-A1", "kind": "wristband",
                                        "codec": "owntracks"})
    pw_b = _register(edge, "vendor-b", {"id": "OT-B1", "kind": "wristband",
                                        "codec": "owntracks"})
    pw_json = _register(edge, "vendor-a", {"id": "WB-J1", "kind": "wristband"})
    a = Client(edge.broker, "OT-A1", pw_a, "OT-A1")
    b = Client(edge.broker, "OT-B1", pw_b, "OT-B1")
    plain = Client(edge.broker, "WB-J1", pw_json, "WB-J1")
    try:
        a.publish("owntracks/OT-A1/phone", _location(35.1))
        assert wait_for(lambda: len(_rows(edge, "OT-A1")) == 1, 10), "its own topic is read"
        # Refused by the broker; the sender's next own message is the barrier (one client's
        # messages reach the gateway in order), so nothing refused can still be on its way.
        a.publish("owntracks/OT-B1/phone", _location(99.0))
        a.publish("owntracks/OT-A1/phone", _location(35.3))
        assert wait_for(lambda: len(_rows(edge, "OT-A1")) == 2, 10)
        plain.publish("owntracks/OT-B1/phone", _location(98.0))  # no vendor topics at all
        plain.publish("owntracks/WB-J1/phone", _location(97.0))
        plain.publish("scgw/v1/wristband/WB-J1/telemetry", orjson.dumps(
            {"ts": int(time.time() * 1000), "heart_rate_bpm": 70}))
        assert wait_for(lambda: len(_rows(edge, "WB-J1")) == 1, 10)
        b.publish("owntracks/OT-B1/phone", _location(35.2))
        assert wait_for(lambda: _rows(edge, "OT-B1"), 10)
        rows = [orjson.loads(r[0])["location"]["lat"] for r in _rows(edge, "OT-B1")]
        assert rows == [35.2]
        assert "heart_rate_bpm" in orjson.loads(_rows(edge, "WB-J1")[0][0])
    finally:
        for client in (a, b, plain):
            client.close()


def test_registration_refuses_a_dialect_for_a_kind_it_does_not_decode(edge: Edge):
    r = edge.register("vendor-a", {"id": "LK-OT1", "kind": "locker", "codec": "owntracks"})
    assert r.status_code == 422, r.text
    assert "does not decode locker" in r.text


def test_a_hub_speaks_for_its_own_devices_only(edge: Edge):
    done = edge.scgw("dialects", "hub", "add", "z2m-h1")
    password = done.stdout.split("password: ", 1)[1].strip()
    assert "zigbee2mqtt/z2m-h1/#" in done.stdout
    # A hub's devices are registered by staff, naming whose hardware each is (red team
    # round 12: any vendor registering `<hub>-door9` read another party's door contact).
    _register(edge, "admin-zhou", {"id": "z2m-h1-door_1", "kind": "access",
                                   "codec": "zigbee2mqtt", "vendor": "acme"})
    _register(edge, "admin-zhou", {"id": "z2m-h2-door_1", "kind": "access",
                                   "codec": "zigbee2mqtt", "vendor": "bolt"})
    # The hub's name is taken: no device may be registered under it.
    assert edge.register("vendor-a", {"id": "z2m-h1", "kind": "access"}).status_code == 409
    hub = Client(edge.broker, "z2m-h1", password, "z2m-h1")
    try:
        assert hub.accepted
        hub.publish("zigbee2mqtt/z2m-h2/door_1", orjson.dumps({"contact": False}))  # refused
        hub.publish("zigbee2mqtt/z2m-h1/door_1", orjson.dumps({"contact": False}))  # barrier
        assert wait_for(lambda: _rows(edge, "z2m-h1-door_1"), 10)
        assert _rows(edge, "z2m-h2-door_1") == []
    finally:
        hub.close()
    again = edge.scgw("dialects", "hub", "add", "z2m-h1")
    assert "password rotated" in again.stdout
