"""Broker accounts cannot be taken over: by registration, by client id, or past a disable."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import orjson

from tests.security.conftest import (
    ADMIN,
    ADMIN_PW,
    GW_CLIENT,
    GW_PW,
    GW_USER,
    Client,
    Edge,
    attempt,
)
from tests.support.waiting import wait_for

NOT_AUTHORIZED = {135, 134}  # MQTT 5: not authorized / bad username or password


def _telemetry(seq: int) -> bytes:
    return orjson.dumps({"ts": int(time.time() * 1000), "seq": seq, "heart_rate_bpm": 70})


def _stored(edge: Edge, device_id: str) -> set[int]:
    return {int(row[0]) for row in edge.stored(
        "SELECT seq FROM telemetry WHERE device_id = ?", (device_id,))}


def _device(edge: Edge, vendor: str, device_id: str, kind: str = "wristband") -> str:
    r = edge.register(vendor, {"id": device_id, "kind": kind})
    assert r.status_code == 201, r.text
    return r.json()["mqtt_password"]


def _gateway_still_works(edge: Edge, device_id: str, password: str, seq: int) -> None:
    device = Client(edge.broker, device_id, password, device_id)
    try:
        assert device.accepted
        device.publish(f"scgw/v1/wristband/{device_id}/telemetry", _telemetry(seq))
        assert wait_for(lambda: seq in _stored(edge, device_id), 10), \
            "the gateway no longer stores what devices send"
    finally:
        device.close()


def test_no_registration_can_name_or_change_a_service_account(edge: Edge):
    probe_pw = _device(edge, "vendor-a", "WB-PROBE-1")
    # A broker account made by hand for something else (not by provisioning).
    subprocess.run(["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(edge.broker.port), "-u",
                    ADMIN, "-P", ADMIN_PW, "dynsec", "createClient", "legacy-cam", "-p",
                    "legacy-password", "-c", "legacy-cam"], check=True, capture_output=True)
    reserved = [GW_USER, GW_USER.upper(), GW_CLIENT, ADMIN, "scgw-gateway", "SCGW-x",
                "dynsec-admin", "admin", "mosquitto-bridge", f"{GW_CLIENT}-dynsec",
                "$SYS", "../x", "-lead", "a" * 65, ""]
    for who in ("vendor-a", "op-chen", "admin-zhou"):
        for device_id in reserved:
            r = edge.register(who, {"id": device_id, "kind": "wristband"})
            assert r.status_code == 422, (who, device_id, r.status_code, r.text)
            assert "mqtt_password" not in r.text
        r = edge.register(who, {"id": "legacy-cam", "kind": "camera"})
        assert r.status_code == 409, (who, r.text)
    # Every service account still logs in with its own password; the gateway still works.
    assert attempt(edge.broker, GW_USER, GW_PW, "gw-main-probe") in NOT_AUTHORIZED  # bound id
    assert attempt(edge.broker, ADMIN, ADMIN_PW, "admin-probe") == 0
    assert attempt(edge.broker, "legacy-cam", "legacy-password", "legacy-cam") == 0
    _gateway_still_works(edge, "WB-PROBE-1", probe_pw, 1)
    assert not edge.stored("SELECT id FROM devices WHERE id IN ('legacy-cam', ?, ?)",
                           (GW_USER, ADMIN))


def test_only_the_owning_vendor_rotates_a_device_password(edge: Edge):
    first = _device(edge, "vendor-a", "WB-OWN-1")
    r = edge.register("vendor-b", {"id": "WB-OWN-1", "kind": "wristband"})
    assert r.status_code == 409
    assert attempt(edge.broker, "WB-OWN-1", first, "WB-OWN-1") == 0
    with edge.http() as client:
        r = client.post("/devices/WB-OWN-1/credentials", headers=edge.headers("vendor-b"))
    assert r.status_code == 404
    # The owner re-registers: a new password, and the old one stops working.
    second = _device(edge, "vendor-a", "WB-OWN-1")
    assert second != first
    assert attempt(edge.broker, "WB-OWN-1", first, "WB-OWN-1") in NOT_AUTHORIZED
    assert attempt(edge.broker, "WB-OWN-1", second, "WB-OWN-1") == 0
    # Once the gateway has heard from it, a kind change is a different device, not an update
    # (before that, a kind registered by mistake may be corrected: test_vendor_views.py).
    _gateway_still_works(edge, "WB-OWN-1", second, 1)
    r = edge.register("vendor-a", {"id": "WB-OWN-1", "kind": "locker"})
    assert r.status_code == 409
    assert attempt(edge.broker, "WB-OWN-1", second, "WB-OWN-1") == 0


def test_no_device_password_opens_another_session(edge: Edge):
    a_pw = _device(edge, "vendor-a", "WB-ATK-1")
    b_pw = _device(edge, "vendor-b", "WB-VIC-1")
    victim = Client(edge.broker, "WB-VIC-1", b_pw, "WB-VIC-1", persistent=True)
    try:
        assert victim.accepted
        victim.subscribe("scgw/v1/wristband/WB-VIC-1/cmd")
        stolen_ids = ["WB-VIC-1", GW_CLIENT, f"{GW_CLIENT}-dynsec", "random-client-7",
                      "", ADMIN]
        for client_id in stolen_ids:
            code = attempt(edge.broker, "WB-ATK-1", a_pw, client_id)
            assert code in NOT_AUTHORIZED, (client_id, code)
        # The gateway's own password works only with the gateway's client id.
        for client_id in ("WB-VIC-1", "other-replica"):
            assert attempt(edge.broker, GW_USER, GW_PW, client_id) in NOT_AUTHORIZED
        # The victim was never kicked, and its session still gets commands and delivers.
        assert victim.disconnects == []
        with edge.http() as client:
            r = client.post("/devices/WB-VIC-1/commands", json={"name": "locate_now"},
                            headers=edge.headers("op-chen"))
        assert r.status_code == 202, r.text
        assert wait_for(lambda: any(t.endswith("/cmd") for t, _ in victim.messages), 10)
        victim.publish("scgw/v1/wristband/WB-VIC-1/telemetry", _telemetry(7))
        assert wait_for(lambda: 7 in _stored(edge, "WB-VIC-1"), 10)
    finally:
        victim.close()
    # The attacker's own login still works: it is refused only as someone else.
    assert attempt(edge.broker, "WB-ATK-1", a_pw, "WB-ATK-1") == 0


def test_a_device_disabled_from_the_cli_is_disabled_at_the_broker(edge: Edge):
    password = _device(edge, "vendor-a", "WB-CLI-1")
    device = Client(edge.broker, "WB-CLI-1", password, "WB-CLI-1")
    try:
        assert device.accepted
        out = edge.scgw("devices", "disable", "WB-CLI-1")
        assert "broker account too" in out.stdout
        assert wait_for(lambda: device.disconnects, 10), "the broker kept the connection"
    finally:
        device.close()
    assert attempt(edge.broker, "WB-CLI-1", password, "WB-CLI-1") in NOT_AUTHORIZED
    assert edge.stored("SELECT status FROM devices WHERE id = 'WB-CLI-1'") == [("disabled",)]
    edge.scgw("devices", "enable", "WB-CLI-1")
    assert attempt(edge.broker, "WB-CLI-1", password, "WB-CLI-1") == 0
    # The CLI refuses what the API refuses, and names the reason.
    refused = edge.scgw("devices", "disable", GW_USER, check=False)
    assert refused.returncode == 1 and GW_USER in refused.stderr
    actions = edge.stored("SELECT action FROM admin_audit WHERE target = 'WB-CLI-1'"
                          " ORDER BY id")
    assert [a for (a,) in actions][-2:] == ["device_disable", "device_enable"]
    # The CLI's admin connection did not take over the running gateway's: it still works.
    assert attempt(edge.broker, "WB-CLI-2", _device(edge, "vendor-a", "WB-CLI-2"),
                   "WB-CLI-2") == 0


def test_a_device_cannot_forge_what_the_gateway_sends_it(edge: Edge):
    password = _device(edge, "vendor-a", "WB-FORGE-1")
    device = Client(edge.broker, "WB-FORGE-1", password, "WB-FORGE-1")
    try:
        base = "scgw/v1/wristband/WB-FORGE-1"
        for suffix in ("event/ack", "cmd", "errors"):
            device.subscribe(f"{base}/{suffix}")
        forged = orjson.dumps({"seq": 5, "type": "sos", "status": "stored"})
        for suffix in ("event/ack", "cmd", "errors"):
            device.publish(f"{base}/{suffix}", forged)
        # A real SOS: its confirmation is the first (and only) thing the device receives.
        device.publish(f"{base}/event", orjson.dumps(
            {"ts": int(time.time() * 1000), "seq": 5, "type": "sos"}))
        assert wait_for(lambda: device.messages, 10)
        topic, body = device.messages[0]
        assert topic == f"{base}/event/ack" and orjson.loads(body)["status"] == "stored"
        assert len(device.messages) == 1
    finally:
        device.close()


def test_provisioning_is_idempotent_and_a_gateway_without_its_role_is_told_why(edge: Edge):
    again = edge.scgw("broker", "provision")
    assert "updated" in again.stdout
    # The running gateway kept its login and session: it still stores what devices send.
    _gateway_still_works(edge, "WB-PROBE-2", _device(edge, "vendor-a", "WB-PROBE-2"), 1)
    # An account without the gateway role may log in but not subscribe: start-up stops and
    # names the refused subscription.
    subprocess.run(["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(edge.broker.port), "-u",
                    ADMIN, "-P", ADMIN_PW, "dynsec", "createClient", "gw-norole", "-p",
                    "norole-password-1", "-c", "gw-norole"], check=True, capture_output=True)
    env = {**edge.env, "SCGW_BROKER__USERNAME": "gw-norole",
           "SCGW_BROKER__PASSWORD": "norole-password-1", "SCGW_BROKER__CLIENT_ID": "gw-norole",
           "SCGW_DATABASE__URL": f"sqlite:///{edge.folder / 'norole.db'}",
           "SCGW_API__PORT": "1"}
    done = subprocess.run([sys.executable, "-m", "api", "run"], env=env, cwd=edge.folder,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr[-500:]
    assert "refused the gateway's subscription to 'scgw/v1/+/+/#'" in done.stderr
    assert "Traceback" not in done.stderr


def _channel_reasons(edge: Edge, device_id: str, password: str) -> dict[str, int]:
    """PUBACK reason codes of retained publishes on the device's channels and beside them."""
    base = f"scgw/v1/wristband/{device_id}"
    junk = orjson.dumps({"filler": "x" * 4000})
    device = Client(edge.broker, device_id, password, device_id)
    try:
        assert device.accepted
        reasons = {suffix: device.publish_reason(f"{base}/{suffix}", junk, retain=True)
                   for suffix in ("junk/1", "junk/2", "telemetry/x", "Telemetry", "events")}
        reasons["status"] = device.publish_reason(f"{base}/status", b"online", retain=True)
        reasons["telemetry"] = device.publish_reason(f"{base}/telemetry", _telemetry(1))
        return reasons
    finally:
        device.close()


def test_a_device_cannot_store_retained_messages_beside_its_channels(edge: Edge):
    # The broker keeps a retained message per topic for ever: a device allowed `…/<id>/#`
    # could fill its memory and disk on invented sub-topics. Only the four channels pass.
    reasons = _channel_reasons(edge, "WB-RETAIN-1", _device(edge, "vendor-a", "WB-RETAIN-1"))
    assert reasons.pop("status") == 0 and reasons.pop("telemetry") == 0
    assert set(reasons.values()) <= NOT_AUTHORIZED, reasons
    assert wait_for(lambda: 1 in _stored(edge, "WB-RETAIN-1"), 10)


def test_sync_acls_narrows_an_account_provisioned_before_the_exact_channels(edge: Edge):
    password = _device(edge, "vendor-a", "WB-OLDACL-1")
    # The ACL devices were given before: anything under their own prefix.
    subprocess.run(["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(edge.broker.port), "-u",
                    ADMIN, "-P", ADMIN_PW, "dynsec", "addRoleACL", "device-WB-OLDACL-1",
                    "publishClientSend", "scgw/v1/wristband/WB-OLDACL-1/#", "allow", "0"],
                   check=True, capture_output=True)
    assert _channel_reasons(edge, "WB-OLDACL-1", password)["junk/1"] == 0
    done = edge.scgw("broker", "sync-acls")
    assert "1 changed" in done.stdout, done.stdout
    reasons = _channel_reasons(edge, "WB-OLDACL-1", password)
    assert reasons["junk/1"] in NOT_AUTHORIZED and reasons["telemetry"] == 0
    assert "0 changed" in edge.scgw("broker", "sync-acls").stdout


def test_a_device_moved_behind_a_hub_loses_its_own_account(edge: Edge):
    # A band registered with its own account, then found to speak through a Zigbee2MQTT hub:
    # its account kept logging in (and reading its confirmations) after staff changed codec.
    password = _device(edge, "vendor-a", "HUBM-btn1")
    with edge.http() as client:
        r = client.post("/devices", headers=edge.headers("op-chen"), json={
            "id": "HUBM-btn1", "kind": "wristband", "vendor": "acme", "codec": "zigbee2mqtt"})
        assert r.status_code in (200, 201), r.text
        assert client.post("/devices/HUBM-btn1/credentials",
                           headers=edge.headers("op-chen")).status_code == 422
    assert attempt(edge.broker, "HUBM-btn1", password, "HUBM-btn1") in NOT_AUTHORIZED
    # One changed before this release (its account left behind) is removed by sync-acls.
    old = _device(edge, "vendor-a", "HUBM-btn2")
    with sqlite3.connect(edge.db) as db:
        db.execute("UPDATE devices SET codec = 'zigbee2mqtt' WHERE id = 'HUBM-btn2'")
    done = edge.scgw("broker", "sync-acls")
    assert "1 accounts of devices behind a hub removed" in done.stdout, done.stdout
    assert attempt(edge.broker, "HUBM-btn2", old, "HUBM-btn2") in NOT_AUTHORIZED
    assert "0 accounts" in edge.scgw("broker", "sync-acls").stdout


def test_a_squatted_id_reclaimed_by_an_operator_loses_the_squatters_password(edge: Edge):
    # vendor-b registers an id that is vendor-a's hardware; an operator gives it to vendor-a.
    # The squatter's password kept logging in as the device (red team, session 31).
    squatter = _device(edge, "vendor-b", "WB-SQUAT-1")
    with edge.http() as client:
        r = client.post("/devices", headers=edge.headers("op-chen"),
                        json={"id": "WB-SQUAT-1", "kind": "wristband", "vendor": "acme"})
    assert r.status_code in (200, 201), r.text
    fresh = r.json()["mqtt_password"]
    assert fresh and fresh != squatter
    assert attempt(edge.broker, "WB-SQUAT-1", squatter, "WB-SQUAT-1") in NOT_AUTHORIZED
    _gateway_still_works(edge, "WB-SQUAT-1", fresh, 1)
    # Now acme's: acme may rotate it, the squatter's vendor may not.
    with edge.http() as client:
        assert client.post("/devices/WB-SQUAT-1/credentials",
                           headers=edge.headers("vendor-b")).status_code == 404
        r = client.post("/devices/WB-SQUAT-1/credentials", headers=edge.headers("vendor-a"))
        assert r.status_code == 200 and r.json()["mqtt_password"] not in (fresh, squatter)


def test_a_device_behind_a_hub_gets_no_broker_account(edge: Edge):
    # Its hub (Zigbee2MQTT) publishes for it; an account of its own let a squatter read the
    # confirmations of an elder's emergency button (red team, session 31).
    r = edge.register("admin-zhou", {"id": "HUB9-btn1", "kind": "wristband",
                                     "codec": "zigbee2mqtt", "vendor": "acme"})
    assert r.status_code == 201, r.text
    assert r.json().get("mqtt_password") is None
    assert attempt(edge.broker, "HUB9-btn1", "any-password-at-all", "HUB9-btn1") \
        in NOT_AUTHORIZED


def test_no_vendor_may_register_a_hubs_device(edge: Edge):
    # Red team round 12: a hub belongs to no vendor account, and any vendor registering
    # `<hub>-door9` read another party's door contact, squatted the id (the real vendor got
    # 409), and — registered as another kind — muted the hub's smoke alarm. Staff register a
    # hub's devices, naming the vendor; the attempt is audited.
    for vendor, kind in (("vendor-a", "access"), ("vendor-b", "smoke_detector")):
        r = edge.register(vendor, {"id": "HUB7-smoke7", "kind": kind, "codec": "zigbee2mqtt"})
        assert r.status_code == 403, r.text
    assert edge.stored("SELECT COUNT(*) FROM admin_audit WHERE target = 'HUB7-smoke7' "
                       "AND action = 'device_register_refused'") == [(2,)]
    r = edge.register("op-chen", {"id": "HUB7-smoke7", "kind": "smoke_detector",
                                  "codec": "zigbee2mqtt", "vendor": "bolt"})
    assert r.status_code == 201, r.text
    # The vendor named reads its device's messages, as for any of its own; no other does.
    with edge.http() as client:
        url = "/vendor/devices/HUB7-smoke7/messages"
        assert client.get(url, headers=edge.headers("vendor-b")).status_code == 200
        assert client.get(url, headers=edge.headers("vendor-a")).status_code in (403, 404)


def test_a_gateway_refused_only_a_dialects_topics_serves_the_rest(edge: Edge, tmp_path):
    # Vendor round 3: a dialect file installed before `scgw broker provision` gave the
    # gateway's role its topics stopped the whole gateway at start-up. Now those devices
    # wait (reported, counted) and every other device is served.
    from devices.vendors import builtin_codecs
    from gateway.clock import ManualClock
    from gateway.provisioning import gateway_acls
    from gateway.service import Gateway
    from gateway.settings import Settings
    from tests.conftest import device

    def ctrl(*args: str) -> None:
        subprocess.run(["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(edge.broker.port),
                        "-u", ADMIN, "-P", ADMIN_PW, "dynsec", *args],
                       check=True, capture_output=True)

    missing = "watch/+/up"
    ctrl("createRole", "gw-partial-role")
    for acl in gateway_acls([f for f in builtin_codecs().vendor_filters() if f != missing]):
        ctrl("addRoleACL", "gw-partial-role", acl["acltype"], acl["topic"],
             "allow" if acl["allow"] else "deny")
    ctrl("createClient", "gw-partial", "-p", "partial-password-1", "-c", "gw-partial")
    ctrl("addClientRole", "gw-partial", "gw-partial-role")
    password = _device(edge, "vendor-a", "WB-PROBE-9")
    gw = Gateway(Settings(broker={"url": edge.broker.url, "username": "gw-partial",
                                  "password": "partial-password-1", "client_id": "gw-partial",
                                  "event_lane": False},
                          database={"url": f"sqlite:///{tmp_path / 'partial.db'}"},
                          log_json=False), clock=ManualClock(time.time()))
    gw.registry.register([device("WB-PROBE-9", "wristband")])
    gw.start()
    try:
        assert gw.mqtt.wait_connected(10), gw.mqtt.refusal
        assert gw.mqtt.unsubscribed == [missing]
        assert gw.metrics.value("scgw_subscriptions_refused") == 1
        band = Client(edge.broker, "WB-PROBE-9", password, "WB-PROBE-9")
        try:
            band.publish("scgw/v1/wristband/WB-PROBE-9/telemetry", _telemetry(1))
            assert wait_for(lambda: gw.store.query("SELECT seq FROM telemetry"), 10)
        finally:
            band.close()
    finally:
        gw.stop()
