"""Vendor self-service against Mosquitto's dynamic-security plugin: credentials, ACL, revoke."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from api.app import create_app
from gateway.provisioning import DynsecProvisioner
from gateway.service import Gateway
from gateway.settings import Settings
from gateway.users import UserRepository
from tests.conftest import T0
from tests.support.mosquitto import Mosquitto, start_mosquitto
from tests.support.waiting import wait_for

PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
ADMIN, ADMIN_PW = "dynsec-admin", "dynsec-admin-pw"
GW_USER, GW_PW = "scgw-gateway", "gateway-pw-123"


@pytest.fixture
def dynsec_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    folder = tmp_path / "dynsec"
    folder.mkdir()
    state = folder / "dynsec.json"
    subprocess.run(["mosquitto_ctrl", "dynsec", "init", str(state), ADMIN, ADMIN_PW],
                   check=True, capture_output=True)
    broker = start_mosquitto(
        folder, anonymous=False,
        extra=f"plugin {PLUGIN}\nplugin_opt_config_file {state}\n")
    yield broker
    broker.stop()


class Device:
    """A device's own MQTT client, logging in with the credentials the API handed out."""

    def __init__(self, broker: Mosquitto, username: str, password: str) -> None:
        self.connack: list[int] = []
        self.suback: list[int] = []
        self.commands: list[dict] = []
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=username)
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda c, u, m: self.commands.append(orjson.loads(m.payload))
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, rc, props) -> None:
        self.connack.append(rc.value)
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, codes, props) -> None:
        self.suback.extend(c.value for c in codes)
        self.subscribed.set()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_vendor_registers_a_device_that_may_only_speak_as_itself(dynsec_broker, tmp_path, clock):
    admin = DynsecProvisioner(Settings(broker={"url": dynsec_broker.url}).broker,
                              Settings(provisioning={"admin_username": ADMIN,
                                                     "admin_password": ADMIN_PW}).provisioning)
    admin.ensure_gateway_account(GW_USER, GW_PW, "gw-dynsec")
    admin.close()
    settings = Settings(
        broker={"url": dynsec_broker.url, "username": GW_USER, "password": GW_PW,
                "client_id": "gw-dynsec"},
        provisioning={"enabled": True, "admin_username": ADMIN, "admin_password": ADMIN_PW},
        database={"url": f"sqlite:///{tmp_path / 'v.db'}"}, log_json=False,
    )
    gw = Gateway(settings, clock=clock)
    gw.start()
    client = None
    device = other = None
    try:
        assert gw.mqtt.wait_connected(10)
        UserRepository(gw.store, gw.clock).add("vendor-hx", "vendor-pass-1", "vendor",
                                               vendor="华信")
        client = TestClient(create_app(gw))
        token = client.post("/auth/token", data={"username": "vendor-hx",
                                                 "password": "vendor-pass-1"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for device_id in ("WB-9001", "WB-9002"):
            r = client.post("/devices", json={"id": device_id, "kind": "wristband"},
                            headers=headers)
            assert r.status_code == 201, r.text
        created = r.json()
        assert created["vendor"] == "华信" and created["mqtt_username"] == "WB-9002"
        password = created["mqtt_password"]
        assert len(password) >= 20
        assert "mqtt_password" not in client.get("/devices/WB-9002", headers=headers).json()

        device = Device(dynsec_broker, "WB-9002", password)
        assert device.connected.wait(10) and device.connack == [0]
        topic = "scgw/v1/wristband/WB-9002/telemetry"
        body = {"ts": int(T0 * 1000), "seq": 1, "heart_rate_bpm": 72}
        device.client.publish(topic, orjson.dumps(body), qos=1).wait_for_publish(5)
        assert gw.pipeline.wait_processed(1, 10)
        # Speaking as another device: the broker drops it; nothing reaches the gateway.
        device.client.publish("scgw/v1/wristband/WB-9001/telemetry", orjson.dumps(
            {**body, "seq": 2}), qos=1).wait_for_publish(5)
        device.client.publish(topic, orjson.dumps({**body, "seq": 3}), qos=1).wait_for_publish(5)
        assert gw.pipeline.wait_processed(2, 10)
        rows = gw.store.query("SELECT device_id, seq FROM telemetry ORDER BY seq")
        assert rows == [{"device_id": "WB-9002", "seq": 1}, {"device_id": "WB-9002", "seq": 3}]
        assert gw.store.query("SELECT count(*) AS n FROM dead_letters")[0]["n"] == 0
        # Reading everyone's traffic is refused; its own command topic is allowed.
        device.client.subscribe("scgw/v1/#", qos=1)
        assert device.subscribed.wait(5) and device.suback == [128]
        device.subscribed.clear()
        device.client.subscribe("scgw/v1/wristband/WB-9002/cmd", qos=1)
        assert device.subscribed.wait(5) and device.suback == [128, 1]

        # A command reaches the device; its ack settles the command.
        r = client.post("/devices/WB-9002/commands", json={"name": "locate_now"},
                        headers=headers)
        assert r.status_code == 202, r.text
        command_id = r.json()["id"]
        assert wait_for(lambda: device.commands, 5)
        expires = int((T0 + 120) * 1000)  # locate_now lives 2 minutes
        assert device.commands[0] == {"id": command_id, "name": "locate_now", "args": {},
                                      "expires_at": expires}
        ack = {"id": command_id, "ok": True, "ts": int(T0 * 1000), "result": {"lat": 35.4}}
        device.client.publish("scgw/v1/wristband/WB-9002/cmd/ack", orjson.dumps(ack),
                              qos=1).wait_for_publish(5)
        assert wait_for(lambda: client.get(f"/devices/WB-9002/commands/{command_id}",
                                           headers=headers).json()["state"] == "succeeded", 5)
        r = client.post("/devices/WB-9002/commands", json={"name": "open_compartment"},
                        headers=headers)
        assert r.status_code == 422  # not a wristband command

        # Disabling revokes: the connection is dropped and new logins are refused.
        assert client.post("/devices/WB-9002/disable", headers=headers).status_code == 200
        assert wait_for(lambda: not device.client.is_connected(), 10)
        device.close()
        other = Device(dynsec_broker, "WB-9002", password)
        assert other.connected.wait(10) and other.connack and other.connack[0] != 0
    finally:
        for d in (device, other):
            if d is not None:
                d.close()
        if client is not None:
            client.close()
        gw.stop()


def test_an_unanswered_command_times_out(make_gateway, publisher, clock):
    gw = make_gateway()
    command_id = gw.pipeline.call("cmd", lambda now, tx: gw.commands.send(
        tx, device_id="LK-4001", kind="locker", name="open_compartment",
        args={"compartment": "L-3"}, actor="op", now=now), clock.time())
    clock.advance(60 + 6)  # open_compartment lives 60 s; the sweep runs every 5 s
    assert wait_for(lambda: gw.store.query("SELECT state FROM commands WHERE id = ?",
                                           (command_id,))[0]["state"] == "timeout", 10)
