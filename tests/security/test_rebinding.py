"""A band handed to another elder never shows the previous wearer: not to the new family, not
to its vendor once it has served someone."""

from __future__ import annotations

import orjson

from tests.api.conftest import Api
from tests.conftest import T0
from tests.support.clients import Publisher

YANG_FIX = "35.4151"  # Mr. Yang's position, in every response that could carry it
PLACE = {"site": "jining-renmin", "building": "5", "unit": "2", "grid": "G-02"}


def _family_views(api: Api, token: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    return {path: api.client.get(path, headers=headers).text for path in (
        "/family/elders", "/family/elders/R-li/location", "/family/elders/R-li/trail",
        "/family/elders/R-li/vitals", "/family/elders/R-li/alarms")}


def test_a_band_given_to_another_elder_shows_her_family_nothing_of_the_last_wearer(
        api: Api, publisher: Publisher):
    gw = api.gateway
    gw.clock.advance(600)  # Mr. Yang's fix, heart rate 77 and SOS were ten minutes ago
    r = api.client.put("/devices/WB-1001/binding", headers=api.headers("operator"),
                       json={**PLACE, "resident_id": "R-li"})
    assert r.status_code == 200, r.text
    li = api.login("fam-li")
    views = _family_views(api, li)
    for path, body in views.items():
        assert YANG_FIX not in body, path
    assert '"heart_rate_bpm":77' not in views["/family/elders/R-li/vitals"]
    assert orjson.loads(views["/family/elders/R-li/alarms"]) == []

    # What the band sends for her from now on is hers to see.
    fix = {"lat": 35.4177, "lon": 116.5901, "accuracy_m": 6}
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
        {"ts": int((T0 + 600) * 1000), "seq": 2, "heart_rate_bpm": 64, "location": fix}))
    assert gw.pipeline.wait_processed(3, 10)
    views = _family_views(api, li)
    assert "35.4177" in views["/family/elders/R-li/location"]
    assert "35.4177" in views["/family/elders/R-li/trail"]
    assert orjson.loads(views["/family/elders/R-li/vitals"])["heart_rate_bpm"] == 64
    assert YANG_FIX not in views["/family/elders/R-li/trail"]

    # Her SOS is hers: not a repeat of Mr. Yang's open alert (staff went to his address).
    publisher.publish("scgw/v1/wristband/WB-1001/event", orjson.dumps(
        {"ts": int((T0 + 600) * 1000), "seq": 3, "type": "sos"}))
    assert gw.pipeline.wait_processed(4, 10)
    alerts = gw.store.query("SELECT resident_id, state, building FROM alerts"
                            " WHERE rule_id = 'wristband.sos' ORDER BY id")
    assert [(a["resident_id"], a["state"]) for a in alerts] == [
        ("R-yang", "cleared"), ("R-li", "active")]
    assert alerts[1]["building"] == "5"


def test_an_unbound_band_shows_its_vendor_nothing_of_whom_it_served(make_api, publisher):
    from tests.conftest import device  # a band of vendor acme's, worn by Mr. Yang
    api: Api = make_api()
    gw = api.gateway
    gw.registry.register([device("WB-ACME-1", "wristband", vendor="acme", resident_id="R-yang",
                                 **PLACE)])
    publisher.publish("scgw/v1/wristband/WB-ACME-1/telemetry", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 1, "heart_rate_bpm": 77,
         "location": {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 8}}))
    assert gw.pipeline.wait_processed(3, 10)
    gw.clock.advance(600)
    r = api.client.put("/devices/WB-ACME-1/binding", headers=api.headers("operator"),
                       json=PLACE)  # returned to the vendor: nobody's any more
    assert r.status_code == 200, r.text
    vendor = api.headers("vendor")
    for path in ("/devices/WB-ACME-1", "/vendor/devices/WB-ACME-1/messages", "/devices"):
        r = api.client.get(path, headers=vendor)
        assert r.status_code == 200, (path, r.text)
        assert YANG_FIX not in r.text and '"heart_rate_bpm":77' not in r.text, path
