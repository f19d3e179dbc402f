"""A vendor sees its own devices' refusals, messages and commands, and can dry-run a payload."""

from __future__ import annotations

import orjson

from tests.conftest import T0, device
from tests.support.clients import Publisher


def _seed_traffic(api) -> None:
    gw = api.gateway
    pub = Publisher(gw.settings.broker.url)
    try:
        # VD-1 is acme's locker; WB-1002 belongs to nobody's vendor account.
        pub.publish("scgw/v1/locker/VD-1/telemetry", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 1, "temperature_c": "warm"}))
        pub.publish("scgw/v1/locker/VD-1/telemetry", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 2, "temperature_c": 21.5}))
        pub.publish("scgw/v1/wristband/WB-1002/telemetry", b"{broken")
    finally:
        pub.close()
    assert gw.pipeline.wait_processed(5, 10)


def test_a_vendor_sees_only_its_own_devices(api):
    _seed_traffic(api)
    acme = api.headers("vendor")
    dead = api.client.get("/vendor/dead-letters", headers=acme).json()
    assert [(d["device_id"], d["reason"]) for d in dead] == [("VD-1", "schema_invalid")]
    assert api.client.get("/vendor/dead-letters", params={"device_id": "WB-1002"},
                          headers=acme).status_code == 404
    messages = api.client.get("/vendor/devices/VD-1/messages", headers=acme).json()
    assert [(m["channel"], m["seq"]) for m in messages] == [("telemetry", 2)]
    for path in ("/vendor/devices/WB-1001/messages", "/vendor/devices/WB-1001/commands"):
        assert api.client.get(path, headers=acme).status_code == 404
    # VD-1 is installed: opening a compartment is the staff's; the vendor sees what was sent.
    command = {"name": "open_compartment", "args": {"compartment": "2"}}
    r = api.client.post("/devices/VD-1/commands", headers=acme, json=command)
    assert r.status_code == 403 and "installed" in r.text
    r = api.client.post("/devices/VD-1/commands", headers=api.headers("operator"), json=command)
    assert r.status_code == 202
    history = api.client.get("/vendor/devices/VD-1/commands", headers=acme).json()
    assert [(c["name"], c["state"]) for c in history] == [("open_compartment", "sent")]
    # Which compartment, for the vendor and the operator alike (vendor round 4).
    assert history[0]["args"] == {"compartment": "2"}
    log = api.client.get("/devices/VD-1/commands", headers=api.headers("operator")).json()
    assert [c["args"] for c in log["recent"]] == [{"compartment": "2"}]
    # Families and grid workers have no vendor view.
    for role in ("family", "grid_worker"):
        assert api.client.get("/vendor/dead-letters", headers=api.headers(role)).status_code \
            in (403, 404)


def test_validate_judges_like_ingest_and_stores_nothing(api):
    acme = api.headers("vendor")
    gw = api.gateway
    before = (gw.store.query("SELECT count(*) AS n FROM dead_letters")[0]["n"],
              gw.store.query("SELECT count(*) AS n FROM events")[0]["n"])

    def judge(topic: str, payload: object) -> dict:
        r = api.client.post("/vendor/validate", headers=acme,
                            json={"topic": topic, "payload": payload})
        assert r.status_code == 200, r.text
        return r.json()

    ok = judge("scgw/v1/locker/VD-1/event", {"ts": int(T0 * 1000), "seq": 3, "type": "tamper"})
    assert (ok["outcome"], ok["type"], ok["urgent"]) == ("accepted", "tamper", False)
    bad = judge("scgw/v1/locker/VD-1/telemetry", '{"ts": 1795233480, "temperature_c": 20}')
    assert (bad["outcome"], bad["reason"]) == ("refused", "out_of_range")
    typo = judge("scgw/v1/locker/VD-1/events", {"ts": int(T0 * 1000), "type": "tamper"})
    assert typo["reason"] == "bad_topic"
    # A band not registered yet is judged as if it were: the payload is fine, with a note.
    sos = judge("scgw/v1/wristband/WB-NEW-9/event", {"ts": int(T0 * 1000), "type": "sos"})
    assert sos["outcome"] == "accepted" and sos["urgent"] is True
    assert sos["confirmed_on"] == "scgw/v1/wristband/WB-NEW-9/event/ack"
    assert any("not registered" in n for n in sos["notes"])
    assert any("needs a seq" in n for n in sos["notes"])
    # A faulty SOS would still page: the vendor is told it is salvaged and what to fix.
    faulty = judge("scgw/v1/wristband/WB-NEW-9/event",
                   {"ts": int(T0), "seq": 4, "type": "sos", "battery_pct": 50})
    assert (faulty["outcome"], faulty["reason"], faulty["urgent"]) == (
        "salvaged", "schema_invalid", True), faulty
    assert "epoch seconds" in faulty["detail"] and "battery_pct dropped" in faulty["detail"]
    # A UTC clock labelled +08:00 is accepted, but the vendor is told what ingest sees in it
    # (vendor round 3: validate said nothing and the readings were never shown).
    from datetime import UTC, datetime, timedelta, timezone
    wrong = datetime.fromtimestamp(T0, UTC).replace(tzinfo=timezone(timedelta(hours=8)))
    zone = judge("scgw/v1/locker/VD-1/telemetry", {"ts": wrong.isoformat(), "seq": 9,
                                                   "temperature_c": 20})
    assert zone["outcome"] == "accepted"
    assert any("exactly 8 h" in n and "+08:00" in n for n in zone["notes"]), zone["notes"]
    months = judge("scgw/v1/locker/VD-1/telemetry", {"ts": int((T0 - 90 * 86_400) * 1000),
                                                     "seq": 10, "temperature_c": 20})
    assert any("flagged stale" in n for n in months["notes"]), months["notes"]
    # What the wire allows but our contract does not is judged, never a server error.
    huge = judge("scgw/v1/locker/VD-1/event",
                 {"ts": int(T0 * 1000), "seq": 2**70, "type": "tamper"})
    assert huge["outcome"] == "refused", huge
    # A queue whose wrapper names a device (the guide's own `imei` shape) is judged too (red
    # team round 8: every such queue answered 500).
    for named in ("865028041234567", "VD-1", "WB-1001"):
        queue = judge("scgw/v1/locker/VD-1/event", {"imei": named, "dataList": [
            {"ts": int(T0 * 1000), "seq": 21, "type": "tamper"}]})
        assert queue["outcome"] in ("accepted", "refused"), queue
    # Another vendor's (or nobody's) registered device is not the vendor's to probe, on our
    # topics or on a dialect's own.
    r = api.client.post("/vendor/validate", headers=acme, json={
        "topic": "scgw/v1/wristband/WB-1001/event",
        "payload": {"ts": int(T0 * 1000), "type": "sos"}})
    assert r.status_code == 404
    gw.registry.register([device("WB-OT-9", "wristband", vendor="bolt", codec="owntracks")])
    r = api.client.post("/vendor/validate", headers=acme, json={
        "topic": "owntracks/WB-OT-9/phone", "payload": {"_type": "location"}})
    assert r.status_code == 404 and "owntracks" not in r.text, r.text
    # A dialect device nobody registered yet is judged as if it were the vendor's (it was
    # refused as unknown_device, unlike on our own topics).
    new = judge("watch/865028041234999/up", {"imei": "865028041234999", "cmd": "alarm",
                                             "alarm": "SOS", "sn": 7,
                                             "time": "2026-11-21 12:00:00"})
    assert (new["outcome"], new["type"], new["urgent"]) == ("accepted", "sos", True), new
    assert any("not registered" in n for n in new["notes"])
    # A queue is judged element by element, as ingest does (vendor round 5 re-check: every
    # queue was refused here, or read as one salvaged event).
    queue = judge("scgw/v1/wristband/WB-NEW-9/event", [
        {"ts": int(T0 * 1000), "seq": 1, "type": "low_battery", "battery_pct": 9},
        {"ts": int(T0 * 1000), "seq": 2, "type": "sos"},
        {"ts": int(T0 * 1000), "seq": 3, "type": "worn", "extra": 1}])
    assert queue["outcome"] == "refused" and queue["detail"] == "1 of 3 elements refused"
    assert [(e["outcome"], e["type"], e["urgent"]) for e in queue["elements"]] == [
        ("accepted", "low_battery", False), ("accepted", "sos", True), ("refused", None, False)]
    assert any("a queue of 3" in n for n in queue["notes"])
    # Filters that cannot match anything say so instead of answering [].
    assert api.client.get("/vendor/dead-letters?reason=bogus", headers=acme).status_code == 422
    assert api.client.get(f"/vendor/dead-letters?since={int(T0 * 1000)}",
                          headers=acme).status_code == 422
    after = (gw.store.query("SELECT count(*) AS n FROM dead_letters")[0]["n"],
             gw.store.query("SELECT count(*) AS n FROM events")[0]["n"])
    assert after == before


def test_an_id_differing_from_anothers_in_case_only_is_refused(api):
    # `wb-1001` beside `WB-1001` (another vendor's band) invites binding the wrong band.
    for role in ("vendor", "operator"):
        r = api.client.post("/devices", headers=api.headers(role),
                            json={"id": "wb-1001", "kind": "wristband"})
        assert r.status_code == 409 and "WB-1001" in r.json()["detail"], r.text
    assert api.gateway.registry.get("wb-1001") is None


def test_a_kind_registered_by_mistake_is_corrected_until_the_device_is_heard(api):
    # Registered as an access controller, it is a wristband: re-registering with its real
    # kind answered 409 for ever, for the vendor and the operator alike (vendor's run).
    acme, c = api.headers("vendor"), api.client
    assert c.post("/devices", headers=acme,
                  json={"id": "VK-1", "kind": "access"}).status_code == 201
    r = c.post("/devices", headers=acme, json={"id": "VK-1", "kind": "wristband"})
    assert r.status_code in (200, 201), r.text
    assert api.gateway.registry.get("VK-1").kind == "wristband"
    # Heard from once (a reading accepted), the kind no longer changes.
    processed = api.gateway.pipeline.processed  # the fixture's own messages are in already
    pub = Publisher(api.gateway.settings.broker.url)
    try:
        pub.publish("scgw/v1/wristband/VK-1/telemetry",
                    orjson.dumps({"ts": int(T0 * 1000), "seq": 1, "heart_rate_bpm": 70}))
    finally:
        pub.close()
    assert api.gateway.pipeline.wait_processed(processed + 1, 10)
    r = c.post("/devices", headers=acme, json={"id": "VK-1", "kind": "locker"})
    assert r.status_code == 409 and "reported as one" in r.json()["detail"]


def test_a_vendor_registers_only_so_many_devices_nobody_installed(make_api):
    # Each registered device can page the control room (an SOS is never taken for a test):
    # a hostile vendor must not fill it from its warehouse.
    api = make_api(limits={"vendor_uninstalled_devices": 3})
    acme, c = api.headers("vendor"), api.client
    for n in range(3):  # VD-1, acme's locker, is installed and does not count
        assert c.post("/devices", headers=acme,
                      json={"id": f"VQ-{n}", "kind": "wristband"}).status_code == 201
    r = c.post("/devices", headers=acme, json={"id": "VQ-3", "kind": "wristband"})
    assert r.status_code == 429 and "3 devices registered and not yet installed" in r.text
    assert api.gateway.registry.get("VQ-3") is None
    # Re-registering one of its own (a password rotation) is not a new device.
    assert c.post("/devices", headers=acme,
                  json={"id": "VQ-0", "kind": "wristband"}).status_code in (200, 201)
    # Staff are not held to it (though what they register for the vendor counts), and once
    # the community installs some, the vendor may go on.
    op = api.headers("operator")
    assert c.post("/devices", headers=op,
                  json={"id": "VQ-9", "kind": "wristband", "vendor": "acme"}).status_code == 201
    r = c.put("/devices/VQ-0/binding", headers=op, json={"site": "jining-renmin", "grid": "G-01"})
    assert r.status_code == 200, r.text
    assert c.post("/devices", headers=acme,
                  json={"id": "VQ-3", "kind": "wristband"}).status_code == 429
    r = c.put("/devices/VQ-9/binding", headers=op, json={"site": "jining-renmin", "grid": "G-01"})
    assert r.status_code == 200, r.text
    assert c.post("/devices", headers=acme,
                  json={"id": "VQ-3", "kind": "wristband"}).status_code == 201


def test_the_vendor_quota_holds_against_a_parallel_burst(make_api):
    # Red team round 2: 100 registrations at once took a vendor from 1,990 to 2,039 of 2,000.
    from concurrent.futures import ThreadPoolExecutor

    from gateway.device_admin import Actor, QuotaExceededError

    api = make_api(limits={"vendor_uninstalled_devices": 5})
    admin = api.gateway.device_admin
    acme = Actor("vendor-acme", "vendor", "acme")

    def register(n: int) -> bool:
        try:
            admin.register({"id": f"VB-{n}", "kind": "wristband"}, acme)
        except QuotaExceededError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        accepted = list(pool.map(register, range(40)))
    assert sum(accepted) == 5
    assert sum(1 for d in api.gateway.registry.all() if d.id.startswith("VB-")) == 5
