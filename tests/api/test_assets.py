"""Assets with an expiry date: staff record them over the API, and the reminder ticket opens
before the date — fire extinguishers could not be entered at all (vendor round 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import Api
from tests.conftest import T0

TODAY = datetime.fromtimestamp(T0, UTC).date()


def _reminders(api: Api) -> list[dict]:
    return api.gateway.store.query(
        "SELECT title, grid FROM tickets WHERE category = 'facility_expiry'")


def _tick(api: Api) -> None:
    gw = api.gateway
    gw.pipeline.call("tick", gw.workflow.tick, gw.clock.time())


def test_an_extinguisher_is_recorded_and_reminded_of_once_before_it_expires(api: Api):
    c, op = api.client, api.headers("operator")
    body = {"kind": "fire_extinguisher", "name": "3号楼1单元 灭火器 A",
            "expires_on": str(TODAY + timedelta(days=40)), "site": "jining-renmin",
            "building": "3", "unit": "1", "grid": "G-01"}
    r = c.put("/assets/EXT-3-1-A", json=body, headers=op)
    assert r.status_code == 200, r.text
    assert r.json()["place"]["grid"] == "G-01" and r.json()["reminder_ticket_id"] is None
    _tick(api)
    assert _reminders(api) == []  # 40 days ahead: not yet (the default window is 30)
    # Renewed to expire sooner (a failed inspection): within its window now.
    r = c.put("/assets/EXT-3-1-A", json={**body, "expires_on": str(TODAY + timedelta(days=10))},
              headers=op)
    assert r.status_code == 200
    _tick(api)
    _tick(api)
    assert _reminders(api) == [{"title": "3号楼1单元 灭火器 A 到期提醒", "grid": "G-01"}]
    listed = c.get("/assets", headers=op).json()
    assert [a["id"] for a in listed] == ["EXT-3-1-A"] and listed[0]["reminder_ticket_id"]
    # Who did it is in the admin audit.
    actions = [a["action"] for a in c.get("/audit/admin", headers=api.headers("admin")).json()]
    assert actions.count("asset_put") == 2


def test_who_may_see_and_change_assets(api: Api):
    c = api.client
    body = {"kind": "fire_extinguisher", "name": "B", "expires_on": str(TODAY), "grid": "G-02"}
    assert c.put("/assets/EXT-B", json=body, headers=api.headers("operator")).status_code == 200
    # The grid worker sees the assets of its own grid only; families and vendors nothing.
    assert c.get("/assets", headers=api.headers("grid_worker")).json() == []
    for role in ("family", "vendor", "grid_worker"):
        assert c.put("/assets/EXT-C", json=body, headers=api.headers(role)).status_code == 403
    for role in ("family", "vendor"):
        assert c.get("/assets", headers=api.headers(role)).status_code == 403
    # Bad input is refused with its reason; a device named must exist.
    op = api.headers("operator")
    assert c.put("/assets/EXT-B", json={**body, "expires_on": "soon"},
                 headers=op).status_code == 422
    assert c.put("/assets/EXT-B", json={**body, "device_id": "NOPE-1"},
                 headers=op).status_code == 422
    assert c.put("/assets/bad id", json=body, headers=op).status_code in (404, 422)
    assert c.delete("/assets/EXT-B", headers=op).status_code == 204
    assert c.delete("/assets/EXT-B", headers=op).status_code == 404
    assert c.get("/assets", headers=op).json() == []


def test_an_expired_asset_says_so_and_a_renewal_notes_the_open_reminder(api: Api):
    # Vendor round 3: an extinguisher expired six days ago was reminded of as "expires on …"
    # in English, at normal priority; renewing it left the reminder as if nothing was done.
    c, op = api.client, api.headers("operator")
    body = {"kind": "fire_extinguisher", "name": "B2 2F 灭火器",
            "expires_on": str(TODAY - timedelta(days=6)), "grid": "G-01"}
    assert c.put("/assets/EXT-B2-2F", json=body, headers=op).status_code == 200
    _tick(api)
    [ticket] = api.gateway.store.query(
        "SELECT id, title, priority, description FROM tickets WHERE category = 'facility_expiry'")
    assert ticket["title"] == "B2 2F 灭火器 已过期" and ticket["priority"] == "high"
    assert "已于" in ticket["description"] and "过期 6 天" in ticket["description"]
    assert "（灭火器）" in ticket["description"]  # not the raw key in the Chinese text
    renewed = str(TODAY + timedelta(days=5 * 365))
    assert c.put("/assets/EXT-B2-2F", json={**body, "expires_on": renewed},
                 headers=op).status_code == 200
    trail = c.get(f"/tickets/{ticket['id']}", headers=op).json()["events"]
    assert any(f"有效期已更新为 {renewed}" in (e.get("note") or "") and e["actor"] == "op-chen"
               for e in trail), trail


def test_an_extinguisher_asset_takes_only_an_extinguisher_as_its_sensor(api: Api):
    from tests.conftest import device

    api.gateway.registry.register([device("SD-1", "smoke_detector"),
                                   device("EX-7", "extinguisher")])
    op = api.headers("operator")
    body = {"kind": "fire_extinguisher", "name": "B", "expires_on": str(TODAY), "grid": "G-01"}
    r = api.client.put("/assets/EXT-7", json={**body, "device_id": "SD-1"}, headers=op)
    assert r.status_code == 422 and "smoke_detector" in r.json()["detail"]
    r = api.client.put("/assets/EXT-7", json={**body, "device_id": "EX-7"}, headers=op)
    assert r.status_code == 200


def test_one_cap_is_the_sensor_of_one_asset(api: Api):
    # Red team round 4: staff linked two assets to one cap, and only the latest changed one
    # got the cap's date; the other's reminder went stale.
    from datetime import date

    from tests.conftest import device

    gw = api.gateway
    gw.registry.register([device("EX-8", "extinguisher")])
    op = api.headers("operator")
    # The cap kept an asset of its own before staff recorded the extinguisher.
    gw.pipeline.call("own", lambda now, tx: tx.assets.upsert_asset(
        id="EX-8", kind="fire_extinguisher", name="fire_extinguisher EX-8", place={},
        device_id="EX-8", expires_on=date(2027, 5, 1), remind_days=None, now=now),
        gw.clock.time())
    body = {"kind": "fire_extinguisher", "name": "5号楼 灭火器", "expires_on": str(TODAY),
            "grid": "G-01", "device_id": "EX-8"}
    r = api.client.put("/assets/EXT-5-A", json=body, headers=op)
    assert r.status_code == 200, r.text
    # The cap's own record is retired in favour of the staff's (one extinguisher, one record).
    ids = [a["id"] for a in api.client.get("/assets", headers=op).json()]
    assert "EX-8" not in ids and "EXT-5-A" in ids
    r = api.client.put("/assets/EXT-5-B", json=body, headers=op)
    assert r.status_code == 409 and "EXT-5-A" in r.json()["detail"]
    assert api.client.put("/assets/EXT-5-A", json=body, headers=op).status_code == 200
