"""Reaching across: a family for another family's elder, a grid worker for another grid, by
every route that takes a resident, device, alert or ticket id — and a family closing its
elder's ticket before the community has reported on it."""

from __future__ import annotations

import json

import orjson
import pytest

from tests.api.conftest import Api
from tests.conftest import T0
from tests.support.clients import Publisher

FIX = {"lat": 35.4162, "lon": 116.5891, "accuracy_m": 9}


@pytest.fixture
def two(api: Api, publisher: Publisher) -> tuple[Api, int, int]:
    """The seeded API plus an SOS of Mrs. Li (grid G-02): (api, her alert, her ticket)."""
    publisher.publish("scgw/v1/wristband/WB-1002/event", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 1, "type": "sos", "location": FIX}))
    assert api.gateway.pipeline.wait_processed(3, 10)
    alert = api.gateway.store.query("SELECT id FROM alerts WHERE device_id = 'WB-1002'")[0]
    ticket = api.gateway.store.query(
        "SELECT ticket_id FROM ticket_alerts WHERE alert_id = ?", (alert["id"],))[0]
    return api, alert["id"], ticket["ticket_id"]


def test_a_family_reaches_no_other_elder_by_any_route(two: tuple[Api, int, int]):
    api, alert, ticket = two
    c, family = api.client, api.headers("family")  # fam-yang: Mr. Yang's son
    attempts = [
        ("GET", f"/tickets/{ticket}", None, 403),  # the staff view: no family's
        ("POST", f"/tickets/{ticket}/satisfaction", {"rating": 5}, 404),
        ("GET", f"/tickets/{ticket}/contact", None, 403),
        ("GET", f"/plates/requests/{ticket}", None, 403),
        ("GET", f"/alerts/{alert}", None, 403),
        ("GET", "/tickets/board", None, 403),
        ("GET", "/tickets?limit=10", None, 403),
        ("GET", "/alerts?resident_id=R-li", None, 403),
        ("GET", "/family/elders/R-li/location", None, 404),
        ("GET", "/family/elders/R-li/trail", None, 404),
        ("GET", "/family/elders/R-li/vitals", None, 404),
        ("GET", "/family/elders/R-li/alarms", None, 404),
        ("GET", "/geofences?resident_id=R-li", None, 404),
        ("POST", "/geofences", {"resident_id": "R-li", "name": "家", "polygon": [
            [35.41, 116.58], [35.42, 116.58], [35.42, 116.59]]}, 404),
        ("POST", "/tickets/requests", {"category": "property", "text": "x",
                                       "door_plate": "DP-3-1-502", "resident_id": "R-li"}, 404),
        ("GET", "/devices/WB-1002", None, 403),
        ("GET", "/devices/WB-1002/telemetry", None, 403),
        ("GET", "/devices/WB-1002/commands", None, 403),
        ("GET", "/vendor/devices/WB-1002/messages", None, 403),
        ("GET", "/residents/R-li", None, 403),
    ]
    for method, path, body, code in attempts:
        r = c.request(method, path, headers=family, json=body)
        assert r.status_code == code, (path, r.status_code, r.text)
        assert "李奶奶" not in r.text and str(FIX["lat"]) not in r.text, path
    # Her own elder's ticket she follows on the family page; the staff view (notes, the
    # place in words, other alerts) is not hers.
    assert c.get(f"/tickets/{api.sos_ticket_id}", headers=family).status_code == 403
    denied = api.gateway.store.query(
        "SELECT count(*) AS n FROM access_audit WHERE actor = 'fam-yang' AND outcome = 'denied'"
        " AND resident_id = 'R-li'")[0]["n"]
    assert denied >= 5  # the family routes and safe zones are audited as refused


def test_a_grid_worker_reaches_nothing_of_another_grid(two: tuple[Api, int, int]):
    api, alert, ticket = two
    c, worker = api.client, api.headers("grid_worker")  # gw-wang: grid G-01
    for method, path, body in [
        ("GET", f"/alerts/{alert}", None), ("GET", f"/alerts/{alert}/audit", None),
        ("POST", f"/alerts/{alert}/ack", {"note": "x"}),
        ("POST", f"/alerts/{alert}/comments", {"text": "x"}),
        ("GET", f"/tickets/{ticket}", None), ("GET", f"/tickets/{ticket}/contact", None),
        ("POST", f"/tickets/{ticket}/comments", {"text": "x"}),
        ("POST", f"/tickets/{ticket}/transitions", {"action": "accept"}),
        ("GET", f"/plates/requests/{ticket}", None), ("GET", "/devices/WB-1002", None),
        ("GET", "/devices/WB-1002/telemetry", None), ("GET", "/devices/WB-1002/events", None),
    ]:
        r = c.request(method, path, headers=worker, json=body)
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert "李奶奶" not in r.text and str(FIX["lat"]) not in r.text, path
    for path in ("/alerts?resident_id=R-li", "/alerts?device_id=WB-1002", "/tickets?grid=G-02",
                 "/devices?grid=G-02"):
        assert c.get(path, headers=worker).json() == [], path
    # The board shows and counts only what the worker may open, and every alert names only
    # a ticket the worker may open.
    board = c.get("/tickets/board", headers=worker)
    cards = [t for column in board.json().values() for t in column]
    assert ticket not in {t["id"] for t in cards} and cards
    totals = json.loads(board.headers["X-Board-Totals"])
    assert sum(n for n, _ in totals.values()) == len(cards)
    for a in c.get("/alerts", headers=worker).json():
        assert a["ticket_id"] is None or c.get(f"/tickets/{a['ticket_id']}",
                                               headers=worker).status_code == 200
    summary = c.get("/alerts/summary", headers=worker).json()
    assert summary["open"] == 1  # Mr. Yang's, not Mrs. Li's


def test_a_family_cannot_close_its_elders_ticket_before_the_community_reports(api: Api):
    c, family, operator = api.client, api.headers("family"), api.headers("operator")
    ticket = api.sos_ticket_id
    # Handed to the 12345 channel: the channel, not the family, reports it done.
    r = c.post(f"/tickets/{ticket}/transitions", headers=operator,
               json={"action": "transfer", "note": "12345"})
    assert r.status_code == 200 and r.json()["state"] == "transferred", r.text
    r = c.post(f"/tickets/{ticket}/satisfaction", headers=family, json={"rating": 5})
    assert r.status_code == 409, r.text
    assert c.get(f"/tickets/{ticket}", headers=operator).json()["state"] == "transferred"
    assert c.get(f"/alerts/{api.sos_alert_id}", headers=operator).json()["state"] == "active"


def test_giving_a_family_account_an_elder_is_in_the_admin_audit(api: Api):
    c = api.client
    # From now on fam-li sees Mr. Yang's position: who granted that must be on record.
    r = c.post("/residents/R-yang/family", headers=api.headers("operator"),
               json={"username": "fam-li", "relation": "niece"})
    assert r.status_code == 201
    rows = c.get("/audit/actions?action=family_", headers=api.headers("admin")).json()
    assert [(a["actor"], a["action"], a["target"]) for a in rows] == [
        ("op-chen", "family_link", "R-yang")]
    assert "fam-li" in rows[0]["detail"]


def test_a_silence_and_its_early_end_are_in_the_admin_audit(api: Api):
    # Red team round 4 re-check: a silence mutes pages, and nothing said who set it.
    c = api.client
    r = c.post("/silences", headers=api.headers("operator"),
               json={"device_id": "WB-1002", "duration_s": 600, "reason": "电池更换"})
    assert r.status_code == 201, r.text
    silence = r.json()["id"]
    assert c.delete(f"/silences/{silence}", headers=api.headers("operator")).status_code == 204
    rows = c.get("/audit/actions?action=silence_", headers=api.headers("admin")).json()
    assert [(a["actor"], a["role"], a["action"], a["target"]) for a in reversed(rows)] == [
        ("op-chen", "operator", "silence_create", f"silence {silence}"),
        ("op-chen", "operator", "silence_end", f"silence {silence}")]
    assert "device=WB-1002 for 600 s: 电池更换" in rows[-1]["detail"]


def test_a_family_asking_for_made_up_elders_cannot_fill_the_disk(api: Api):
    # Red team round 5: each refused read wrote an audit row holding the asked-for id as sent
    # (up to 60 KB), without limit: one family login grew the database by 18.8 MB a second.
    from api.personal import ID_SHOWN_MAX, REFUSED_PER_MINUTE

    c, family = api.client, api.headers("family")
    answers = [c.get(f"/family/elders/R-{'x' * 5000}{n}/location", headers=family).status_code
               for n in range(REFUSED_PER_MINUTE + 20)]
    assert answers == [404] * REFUSED_PER_MINUTE + [429] * 20
    rows = api.gateway.store.query(
        "SELECT resident_id, detail FROM access_audit WHERE outcome = 'denied'")
    assert len(rows) == REFUSED_PER_MINUTE
    assert all(len(r["resident_id"]) <= ID_SHOWN_MAX + 1 for r in rows)
    # A minute on, the next refusal is written again, with how many went unwritten.
    api.gateway.clock.advance(61)
    assert c.get("/family/elders/R-nobody/location", headers=family).status_code == 404
    last = api.gateway.store.query("SELECT detail FROM access_audit WHERE outcome = 'denied'"
                                   " ORDER BY id DESC LIMIT 1")[0]
    assert "+20 more refused" in last["detail"]
    # The family's own elder is still there.
    assert c.get("/family/elders/R-yang/location", headers=family).status_code == 200


def test_a_family_polling_its_own_elder_cannot_fill_the_disk_either(api: Api):
    # Red team round 6: each allowed read wrote its own audit row, without limit — 476 rows a
    # second from one family login polling its elder's location.
    from api.personal import FAMILY_READS_PER_MINUTE

    c, family = api.client, api.headers("family")
    answers = [c.get("/family/elders/R-yang/location", headers=family).status_code
               for _ in range(FAMILY_READS_PER_MINUTE + 10)]
    assert answers == [200] * FAMILY_READS_PER_MINUTE + [429] * 10

    def rows() -> list[dict]:
        return api.gateway.store.query(
            "SELECT detail FROM access_audit WHERE actor = ? AND action = 'location_now'"
            " AND outcome = 'allowed' ORDER BY id", ("fam-yang",))

    assert len(rows()) == 1  # the same read again within the minute shares its row
    api.gateway.clock.advance(61)
    assert c.get("/family/elders/R-yang/location", headers=family).status_code == 200
    assert len(rows()) == 2
    assert f"+{FAMILY_READS_PER_MINUTE - 1} identical reads" in rows()[-1]["detail"]
    # Staff are never refused.
    op = api.headers("operator")
    assert {c.get("/devices/WB-1001", headers=op).status_code
            for _ in range(FAMILY_READS_PER_MINUTE + 10)} == {200}
