"""The device list is built without pydantic for speed: it must say what the model says."""

from __future__ import annotations

import orjson
import pytest
from pydantic import TypeAdapter

from api.schemas import DevicePublic
from tests.api.conftest import Api
from tests.conftest import T0, device
from tests.support.clients import Publisher
from tests.support.waiting import wait_for


@pytest.mark.parametrize("role", ["operator", "vendor", "admin"])
def test_each_listed_device_is_what_its_detail_page_says(api: Api, role: str):
    headers = api.headers(role)
    listed = api.client.get("/devices", headers=headers)
    assert listed.status_code == 200, listed.text
    devices = listed.json()
    assert devices, "nothing listed"
    assert [d["id"] for d in devices] == sorted(d["id"] for d in devices)
    TypeAdapter(list[DevicePublic]).validate_python(devices)  # the documented schema holds
    for item in devices:
        detail = api.client.get(f"/devices/{item['id']}", headers=headers)
        assert detail.status_code == 200, detail.text
        assert item == detail.json()


def test_a_vendor_list_withholds_the_wearers_position_and_vitals(api: Api,
                                                                   publisher: Publisher):
    api.gateway.registry.register([device("WB-7001", "wristband", vendor="acme",
                                          resident_id="R-li", grid="G-01")])
    publisher.publish("scgw/v1/wristband/WB-7001/telemetry", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 1, "heart_rate_bpm": 81, "battery_pct": 64,
         "location": {"lat": 35.41, "lon": 116.58, "accuracy_m": 9}}))
    assert wait_for(lambda: getattr(api.gateway.twins.get("WB-7001"), "lat", None), 10)

    def listed(role: str) -> dict[str, object]:
        found = {d["id"]: d for d in api.client.get("/devices", headers=api.headers(role)).json()}
        return found["WB-7001"]["twin"]

    seen, vendor = listed("operator"), listed("vendor")
    assert seen["lat"] == 35.41 and seen["last_telemetry"]["heart_rate_bpm"] == 81
    assert vendor["lat"] is None and vendor["lon"] is None and vendor["location_ts"] is None
    assert "heart_rate_bpm" not in vendor["last_telemetry"]
    assert vendor["battery_pct"] == 64  # the hardware's health is the vendor's business


def test_a_bed_device_s_vendor_never_reads_the_life_at_home(api: Api, publisher: Publisher):
    # Vendor round 11: a sleep belt's vendor read a lone elder's breathing (14 → 0), and
    # when she was in bed, present, lying still — in the twin, the messages and the series.
    api.gateway.registry.register([device("RD-7001", "radar", vendor="acme",
                                          resident_id="R-li", grid="G-01")])
    publisher.publish("scgw/v1/radar/RD-7001/telemetry", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 1, "breath_rpm": 14, "in_bed": True, "presence": True,
         "posture": "lying", "signal_dbm": -70}))
    assert wait_for(lambda: getattr(api.gateway.twins.get("RD-7001"), "last_telemetry", None),
                    10)
    life = {"breath_rpm", "in_bed", "presence", "posture"}
    vendor = api.headers("vendor")
    twin = api.client.get("/devices/RD-7001", headers=vendor).json()["twin"]
    assert not life & set(twin["last_telemetry"]) and twin["last_telemetry"]["signal_dbm"] == -70
    asked = {"end": T0 + 1}
    assert wait_for(lambda: api.client.get("/devices/RD-7001/telemetry", params=asked,
                                           headers=vendor).json(), 10)  # committed
    series = api.client.get("/devices/RD-7001/telemetry", params=asked, headers=vendor).json()
    assert series and all(not life & set(p["values"]) for p in series)
    messages = api.client.get("/vendor/devices/RD-7001/messages", headers=vendor).json()
    assert messages and all(not life & set(m["data"]) for m in messages)
    staff = api.client.get("/devices/RD-7001", headers=api.headers("operator")).json()
    assert staff["twin"]["last_telemetry"]["breath_rpm"] == 14  # the control room's to see


def test_an_installed_device_s_vendor_never_reads_visitors_or_plates(api: Api,
                                                                     publisher: Publisher):
    # Red team round 12: an installed door controller's vendor read whom a visitor came to
    # see (`host_resident_id`) and the visitor's id; an installed camera's vendor every plate.
    api.gateway.registry.register([
        device("AC-7101", "access", vendor="acme", site="jining-renmin", building="3",
               grid="G-01"),
        device("CAM-7101", "camera", vendor="acme", site="jining-renmin", grid="G-01")])
    ms = int(T0 * 1000)
    publisher.publish("scgw/v1/access/AC-7101/event", orjson.dumps(
        {"ts": ms, "seq": 1, "type": "unlock", "method": "face", "visitor_id": "V-778",
         "host_resident_id": "R-li"}))
    publisher.publish("scgw/v1/camera/CAM-7101/event", orjson.dumps(
        {"ts": ms, "seq": 1, "type": "fire_lane_blocked", "zone": "FL-1", "confidence": 0.9,
         "plate": "鲁H12345"}))
    assert api.gateway.pipeline.wait_processed(2, 10)
    vendor = api.headers("vendor")
    for device_id in ("AC-7101", "CAM-7101"):
        said = api.client.get(f"/vendor/devices/{device_id}/messages", headers=vendor).text
        said += api.client.get(f"/devices/{device_id}/events", headers=vendor).text
        for secret in ("V-778", "R-li", "鲁H12345"):
            assert secret not in said, (device_id, secret)
    staff = api.client.get("/vendor/devices/CAM-7101/messages",
                           headers=api.headers("operator")).text
    assert "鲁H12345" in staff  # the control room's to see


def test_a_device_registered_later_is_listed_in_its_place(api: Api):
    before = [d["id"] for d in api.client.get("/devices", headers=api.headers("admin")).json()]
    r = api.client.post("/devices", headers=api.headers("admin"),
                        json={"id": "AA-0001", "kind": "locker"})
    assert r.status_code == 201, r.text
    after = [d["id"] for d in api.client.get("/devices", headers=api.headers("admin")).json()]
    assert after == sorted([*before, "AA-0001"])
