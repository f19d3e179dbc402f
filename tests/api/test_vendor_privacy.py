"""A vendor's views of a device that serves (or served) a resident carry nothing the device
sent in its own words: no refused payload, no detail quoting it, no unmapped vendor fields —
for a dialect band (`watch4g`) as for a band speaking our JSON."""

from __future__ import annotations

from typing import Any

import orjson

from tests.api.conftest import Api, vendors_band_bound_to_mr_yang
from tests.conftest import T0
from tests.support.clients import Publisher

IMEI = "865028041238888"
LOCAL = "2026-11-21 12:00:00"  # T0 in China time, as a watch4g watch writes it
# Values of Mr. Yang's that the watch sent; none may reach the vendor once he wears it.
SECRETS = ("76bpm", "132", "97%", "N35.414210", "116.587120", "116.58712", "35.41421",
           "hr_avg", "bo_avg", "aa:bb:cc:dd:ee:ff", "9520,3671", "131", "35.41517")


def _watch(api: Api, publisher: Publisher, *, bind: bool) -> None:
    """Acme registers a watch4g watch (bound to Mr. Yang by an operator if `bind`); the watch
    sends two messages the dialect cannot convert and two with fields it does not map."""
    c = api.client
    r = c.post("/devices", json={"id": IMEI, "kind": "wristband", "codec": "watch4g"},
               headers=api.headers("vendor"))
    assert r.status_code == 201, r.text
    if bind:
        r = c.put(f"/devices/{IMEI}/binding", headers=api.headers("operator"),
                  json={"site": "jining-renmin", "grid": "G-01", "resident_id": "R-yang"})
        assert r.status_code == 200, r.text
    head = {"imei": IMEI, "time": LOCAL}
    bodies: list[dict[str, Any]] = [
        {**head, "cmd": "health", "sn": 1, "hr": "76bpm", "sbp": "132", "dbp": "85",
         "spo2": "97%", "temp": 365},
        {**head, "cmd": "location", "sn": 2, "lat": "N35.414210", "lng": "116.587120",
         "acc": "20"},
        {**head, "cmd": "health", "sn": 3, "hr": 76, "hr_avg": 74, "bo_avg": 96},
        {**head, "cmd": "location", "sn": 4, "lat": "35.41421", "lng": "116.58712", "acc": "20",
         "wifi": "aa:bb:cc:dd:ee:ff,-60", "lbs": "460,0,9520,3671"},
    ]
    processed = api.gateway.pipeline.processed
    for body in bodies:
        publisher.publish(f"watch/{IMEI}/up", orjson.dumps(body))
    assert api.gateway.pipeline.wait_processed(processed + len(bodies), 10)


def _vendor_texts(api: Api, device_id: str) -> dict[str, str]:
    vendor = api.headers("vendor")
    out = {}
    for path in (f"/vendor/dead-letters?device_id={device_id}",
                 f"/vendor/devices/{device_id}/messages", f"/devices/{device_id}",
                 f"/devices/{device_id}/events",
                 f"/devices/{device_id}/telemetry?start={T0 - 60}&end={T0 + 60}"):
        r = api.client.get(path, headers=vendor)
        assert r.status_code == 200, (path, r.text)
        out[path] = r.text
    return out


def test_a_dialect_watch_that_serves_someone_shows_its_vendor_nothing_it_said(
        api: Api, publisher: Publisher):
    _watch(api, publisher, bind=True)
    for path, text in _vendor_texts(api, IMEI).items():
        for secret in SECRETS:
            assert secret not in text, (path, secret, text)
    dead = api.client.get(f"/vendor/dead-letters?device_id={IMEI}",
                          headers=api.headers("vendor")).json()
    assert [d["reason"] for d in dead] == ["schema_invalid", "schema_invalid"]
    # What the vendor can act on: the reason, its meaning and the field (our name for it).
    assert "withheld" in dead[0]["payload_preview"]
    assert "(field: messages.0.location.lat)" in dead[0]["detail"], dead[0]
    assert "(field: messages.1.heart_rate_bpm)" in dead[1]["detail"], dead[1]
    messages = api.client.get(f"/vendor/devices/{IMEI}/messages",
                              headers=api.headers("vendor")).json()
    assert [m["seq"] for m in messages] == [4, 3]
    assert all("extra" not in m["data"] for m in messages)
    # Staff see what came, and reading unmapped vendor fields is a personal-data read.
    operator = api.headers("operator")
    staff = api.client.get(f"/vendor/devices/{IMEI}/messages", headers=operator)
    assert "aa:bb:cc:dd:ee:ff" in staff.text and "hr_avg" in staff.text
    assert api.gateway.store.query(
        "SELECT actor, resident_id FROM access_audit WHERE action = 'device_messages'") == [
        {"actor": "op-chen", "resident_id": "R-yang"}]
    staff = api.client.get(f"/dead-letters?device_id={IMEI}", headers=operator)
    assert "N35.414210" in staff.text and "76bpm" in staff.text


def test_a_test_watch_nobody_wears_shows_its_vendor_everything(api: Api, publisher: Publisher):
    _watch(api, publisher, bind=False)
    texts = _vendor_texts(api, IMEI)
    dead = texts[f"/vendor/dead-letters?device_id={IMEI}"]
    assert "N35.414210" in dead and "76bpm" in dead  # payload and detail, to debug with
    assert "hr_avg" in texts[f"/vendor/devices/{IMEI}/messages"]


def test_our_own_json_band_that_serves_someone_keeps_unknown_fields_from_its_vendor(
        api: Api, publisher: Publisher):
    c = api.client
    vendor, operator = api.headers("vendor"), api.headers("operator")
    vendors_band_bound_to_mr_yang(api, "WB-7101")
    # Fields our contract does not have (refused), and a vital sign that is no plain number.
    processed = api.gateway.pipeline.processed
    publisher.publish("scgw/v1/wristband/WB-7101/telemetry", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 1, "heartrate": 131, "pos": "35.41517,116.58723"}))
    publisher.publish("scgw/v1/wristband/WB-7101/telemetry", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 2, "heart_rate_bpm": "131 bpm"}))  # no plain number
    assert api.gateway.pipeline.wait_processed(processed + 2, 10)
    r = c.get("/vendor/dead-letters?device_id=WB-7101", headers=vendor)
    assert r.status_code == 200 and len(r.json()) == 2, r.text
    for secret in ("131", "35.41517", "heartrate", "pos"):
        assert secret not in r.text, secret
    newest, oldest = r.json()
    assert "(field: heart_rate_bpm)" in newest["detail"]
    assert "field:" not in oldest["detail"]  # the device's own word is not repeated
    assert "131" in c.get("/dead-letters?device_id=WB-7101", headers=operator).text


def test_a_command_result_in_the_band_s_own_words_stays_with_the_staff(
        api: Api, publisher: Publisher):
    from tests.support.waiting import wait_for

    c = api.client
    vendor, operator = api.headers("vendor"), api.headers("operator")
    vendors_band_bound_to_mr_yang(api, "WB-7102")
    sent = c.post("/devices/WB-7102/commands", json={"name": "locate_now"}, headers=vendor)
    assert sent.status_code == 202, sent.text
    command_id = sent.json()["id"]
    # The fix where the contract puts it, and again under names the band made up.
    result = {"location": {"lat": 35.41517, "lon": 116.58723, "accuracy_m": 6},
              "gps": "35.41517,116.58723", "hr": 131}
    publisher.publish("scgw/v1/wristband/WB-7102/cmd/ack", orjson.dumps(
        {"id": command_id, "ok": True, "ts": int(T0 * 1000), "result": result}))
    path = f"/devices/WB-7102/commands/{command_id}"
    assert wait_for(lambda: c.get(path, headers=vendor).json()["state"] == "succeeded", 10)
    for where in (path, "/vendor/devices/WB-7102/commands", "/vendor/devices/WB-7102/messages",
                  "/devices/WB-7102/commands"):
        r = c.get(where, headers=vendor)
        assert r.status_code == 200, (where, r.text)
        for secret in ("35.41517", "131", "gps"):
            assert secret not in r.text, (where, secret, r.text)
    assert c.get(path, headers=vendor).json()["result"] == {"result": {}, "error": None}
    staff = c.get(path, headers=operator).json()["result"]["result"]
    assert staff["gps"] == "35.41517,116.58723" and staff["hr"] == 131



def test_a_vendor_sees_no_event_of_a_band_that_serves_someone(api: Api, publisher: Publisher):
    # When an elder fell or pressed SOS is theirs, not the band maker's (red team, session 31).
    c = api.client
    vendors_band_bound_to_mr_yang(api, "WB-7103")
    processed = api.gateway.pipeline.processed
    publisher.publish("scgw/v1/wristband/WB-7103/event", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 1, "type": "fall"}))
    publisher.publish("scgw/v1/wristband/WB-7103/telemetry", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 2, "steps": 4321, "battery_pct": 80}))
    assert api.gateway.pipeline.wait_processed(processed + 2, 10)
    r = c.get("/devices/WB-7103/events", headers=api.headers("vendor"))
    assert r.status_code == 200 and all(e["channel"] != "event" for e in r.json()), r.text
    staff = c.get("/devices/WB-7103/events", headers=api.headers("operator")).json()
    assert "event" in {e["channel"] for e in staff}
    # Nor through the vendor's own message view (red team round 2), nor how much he walked;
    # the band's battery is the vendor's business.
    r = c.get("/vendor/devices/WB-7103/messages", headers=api.headers("vendor"))
    assert r.status_code == 200 and all(m["channel"] != "event" for m in r.json()), r.text
    assert "4321" not in r.text and '"battery_pct":80' in r.text


def test_a_vendor_never_learns_which_resident_opened_a_door_it_made(api, publisher):
    # Vendor round 2: an installed door controller (placed at a building, nobody bound)
    # showed its vendor every unlock with the resident and the time; lockers the recipient.
    c = api.client
    assert c.post("/devices", json={"id": "AC-PRIV", "kind": "access"},
                  headers=api.headers("vendor")).status_code == 201
    r = c.put("/devices/AC-PRIV/binding", headers=api.headers("operator"),
              json={"site": "jining-renmin", "building": "3", "grid": "G-01"})
    assert r.status_code == 200, r.text
    processed = api.gateway.pipeline.processed
    publisher.publish("scgw/v1/access/AC-PRIV/event", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 1, "type": "unlock", "method": "face",
         "resident_id": "R-yang"}))
    # A refused one quoting the resident too (an unknown field).
    publisher.publish("scgw/v1/access/AC-PRIV/event", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 2, "type": "unlock", "method": "face",
         "resident_id": "R-yang", "face_score": 0.97}))
    assert api.gateway.pipeline.wait_processed(processed + 2, 10)
    texts = _vendor_texts(api, "AC-PRIV")
    for path, text in texts.items():
        assert "R-yang" not in text, path
    assert '"unlock"' in texts["/devices/AC-PRIV/events"]  # the event itself is still shown
    # Staff see who it was.
    staff = c.get("/devices/AC-PRIV/events", headers=api.headers("operator")).text
    assert "R-yang" in staff


def test_a_vendor_never_sees_whom_its_band_serves_nor_where_they_live(api: Api):
    # Red team round 2 (observation): the band's binding carried the elder's building and
    # unit — their home — to the vendor's device list. Site and grid (the community and its
    # area) stay: the vendor's support needs to know which community to call.
    c = api.client
    assert c.post("/devices", json={"id": "WB-HOME-1", "kind": "wristband"},
                  headers=api.headers("vendor")).status_code == 201
    r = c.put("/devices/WB-HOME-1/binding", headers=api.headers("operator"),
              json={"site": "jining-renmin", "building": "7", "unit": "2", "grid": "G-01",
                    "resident_id": "R-yang"})
    assert r.status_code == 200, r.text
    one = c.get("/devices/WB-HOME-1", headers=api.headers("vendor")).json()
    [listed] = [d for d in c.get("/devices", headers=api.headers("vendor")).json()
                if d["id"] == "WB-HOME-1"]
    for seen in (one, listed):
        assert seen["resident_id"] is None
        assert (seen["building"], seen["unit"]) == ("", "")
        assert (seen["place"]["building"], seen["place"]["unit"]) == ("", "")
        assert (seen["site"], seen["grid"]) == ("jining-renmin", "G-01")
    # Staff see the binding.
    staff = c.get("/devices/WB-HOME-1", headers=api.headers("operator")).json()
    assert (staff["building"], staff["unit"], staff["resident_id"]) == ("7", "2", "R-yang")


def test_an_installed_lift_s_vendor_learns_which_event_words_were_refused(
        api: Api, publisher: Publisher):
    # Vendor round 11: a lift maker could not learn that its 非平层困人 was refused in the
    # field (its car is installed: the detail is withheld); a word of its vocabulary is no
    # one's data, a long number in it may be.
    r = api.client.post("/devices", json={"id": "EL-P1", "kind": "elevator"},
                        headers=api.headers("vendor"))
    assert r.status_code == 201, r.text
    assert api.client.put("/devices/EL-P1/binding", headers=api.headers("operator"),
                          json={"site": "jining-renmin", "building": "2", "unit": "1",
                                "grid": "G-01"}).status_code == 200
    before = api.gateway.pipeline.processed
    for seq, word in enumerate(("升降机卡住", "call_13812345678"), 1):
        publisher.publish("scgw/v1/elevator/EL-P1/event", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": seq, "type": word}))
    assert api.gateway.pipeline.wait_processed(before + 2, 10)
    dead = api.client.get("/vendor/dead-letters?device_id=EL-P1",
                          headers=api.headers("vendor")).json()
    details = " | ".join(d["detail"] for d in dead)
    assert [d["reason"] for d in dead] == ["unknown_event_type"] * 2
    assert "(type: '升降机卡住')" in details and "13812345678" not in details
    assert all("installed" in d["payload_preview"] for d in dead)
