"""Every role × every route → the expected status, on a real SQLite file behind a real broker."""

from __future__ import annotations

import pytest

from tests.api.conftest import ACCOUNTS

ROLES = list(ACCOUNTS)
ALL = set(ROLES)
STAFF = {"admin", "operator"}
STAFF_GRID = STAFF | {"grid_worker"}
READERS = STAFF_GRID | {"vendor"}
SQUARE = [[35.430, 116.600], [35.430, 116.602], [35.432, 116.602], [35.432, 116.600]]


def ok_for(allowed: set[str], code: int = 200, other: int = 403,
           **special: int) -> dict[str, int]:
    """Expected status per role: `code` for the allowed ones, `other` for the rest."""
    out = {role: (code if role in allowed else other) for role in ROLES}
    out.update(special)
    return out


# (method, path, json body or None, expected status per role). `{alert}` and `{ticket}` are
# filled from the seeded SOS. Each role runs the whole table on its own fresh gateway, so
# earlier rows' effects are deterministic.
ROUTES: list[tuple[str, str, dict | None, dict[str, int]]] = [
    ("GET", "/auth/me", None, ok_for(ALL)),
    ("GET", "/devices", None, ok_for(READERS)),
    ("GET", "/devices/WB-1001", None, ok_for(READERS, vendor=404)),
    ("GET", "/devices/WB-1001/telemetry", None, ok_for(READERS, vendor=404)),
    ("POST", "/devices", {"id": "NEW-1", "kind": "access"}, ok_for(READERS - {"grid_worker"}, 201)),
    # VD-1 is placed (grid G-02): installed, so the operator's to cut off, not its vendor's;
    # NEW-1, just registered, is still the vendor's to manage.
    ("POST", "/devices/VD-1/disable", None, ok_for(READERS - {"grid_worker"}, vendor=403)),
    ("POST", "/devices/VD-1/enable", None, ok_for(READERS - {"grid_worker"}, vendor=403)),
    ("POST", "/devices/NEW-1/disable", None, ok_for(READERS - {"grid_worker"})),
    ("POST", "/devices/NEW-1/enable", None, ok_for(READERS - {"grid_worker"})),
    # Opening a compartment of an installed locker is staff's, not its vendor's.
    ("POST", "/devices/VD-1/commands", {"name": "open_compartment", "args": {"compartment": "1"}},
     ok_for(READERS - {"grid_worker"}, 202, vendor=403)),
    ("GET", "/devices/VD-1/commands/cmd-none", None, ok_for(READERS - {"grid_worker"}, 404,
                                                           grid_worker=404)),
    ("GET", "/alerts", None, ok_for(STAFF_GRID)),
    ("GET", "/alerts/{alert}", None, ok_for(STAFF_GRID)),
    ("GET", "/alerts/{alert}/audit", None, ok_for(STAFF_GRID)),
    ("POST", "/alerts/{alert}/comments", {"text": "on my way"}, ok_for(STAFF_GRID, 201)),
    ("POST", "/alerts/{alert}/ack", {"note": "seen"}, ok_for(STAFF_GRID)),
    ("POST", "/silences", {"device_id": "WB-1002", "duration_s": 600, "reason": "maintenance"},
     ok_for(STAFF, 201)),
    ("GET", "/silences", None, ok_for(STAFF)),
    ("GET", "/tickets", None, ok_for(STAFF_GRID)),
    ("GET", "/tickets/board", None, ok_for(STAFF_GRID)),
    ("GET", "/tickets/{ticket}", None, ok_for(STAFF_GRID)),  # families: the family page
    ("POST", "/tickets", {"category": "property", "title": "楼道灯坏了", "grid": "G-01"},
     ok_for(STAFF, 201)),
    ("POST", "/tickets/requests", {"category": "sanitation", "text": "楼道堆放杂物",
                                   "door_plate": "DP-3-1-502", "resident_id": "R-yang"},
     ok_for(STAFF | {"family"}, 201)),
    ("POST", "/tickets/{ticket}/comments", {"text": "家属已联系"}, ok_for(STAFF_GRID, 201)),
    ("POST", "/tickets/{ticket}/transitions", {"action": "accept"}, ok_for(STAFF_GRID)),
    ("POST", "/tickets/{ticket}/satisfaction", {"rating": 5},
     ok_for(STAFF | {"family"}, 409)),  # allowed, but the ticket is not in feedback yet
    ("POST", "/alerts/{alert}/clear", {"note": "false alarm"}, ok_for(STAFF)),
    ("GET", "/family/elders", None, ok_for({"family"})),
    ("GET", "/family/elders/R-yang/location", None, ok_for({"family"})),
    ("GET", "/family/elders/R-yang/trail", None, ok_for({"family"})),
    ("GET", "/family/elders/R-yang/vitals", None, ok_for({"family"})),
    ("GET", "/family/elders/R-yang/alarms", None, ok_for({"family"})),
    ("GET", "/family/elders/R-li/location", None, ok_for({"family"}, 404)),
    ("GET", "/geofences", None, ok_for(STAFF | {"family"})),
    ("POST", "/geofences", {"resident_id": "R-yang", "name": "女儿家", "polygon": SQUARE},
     ok_for(STAFF | {"family"}, 201)),
    ("POST", "/geofences", {"resident_id": "R-li", "name": "公园", "polygon": SQUARE},
     ok_for(STAFF, 201, family=404)),
    ("PUT", "/geofences/1", {"name": "女儿家（新）", "polygon": SQUARE, "enabled": False},
     ok_for(STAFF | {"family"})),
    ("DELETE", "/geofences/1", None, ok_for(STAFF | {"family"}, 204)),
    ("GET", "/residents", None, ok_for(STAFF)),
    ("GET", "/residents/R-yang", None, ok_for(STAFF)),
    ("PUT", "/residents/R-wang", {"name": "王大爷", "tags": ["lives_alone"]}, ok_for(STAFF)),
    ("POST", "/residents/R-yang/family", {"username": "fam-li", "relation": "niece"},
     ok_for(STAFF, 201)),
    ("GET", "/dead-letters", None, ok_for(STAFF)),
    ("GET", "/dead-letters/summary", None, ok_for(STAFF)),
    ("GET", "/rules", None, ok_for(STAFF)),
    ("POST", "/rules/locker.tamper/disable", {"reason": "maintenance"}, ok_for(STAFF)),
    ("POST", "/rules/locker.tamper/enable", {}, ok_for(STAFF)),
    ("GET", "/audit/access", None, ok_for({"admin"})),
]
PUBLIC = [("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics")]


def _path(api, template: str) -> str:
    return template.format(alert=api.sos_alert_id, ticket=api.sos_ticket_id)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_table_says(make_api, role):
    api = make_api()
    got = {}
    for method, template, body, expected in ROUTES:
        r = api.client.request(method, _path(api, template), json=body, headers=api.headers(role))
        got[(method, template)] = (r.status_code, expected[role], r.text[:200])
    wrong = {k: v for k, v in got.items() if v[0] != v[1]}
    assert not wrong, f"{role}: {wrong}"


def test_without_a_token_every_protected_route_is_401_and_public_ones_answer(api):
    for method, template, body, _ in ROUTES:
        r = api.client.request(method, _path(api, template), json=body)
        assert r.status_code == 401, (method, template, r.status_code)
    for method, path in PUBLIC:
        assert api.client.request(method, path).status_code == 200, path
    garbage = {"Authorization": "Bearer not.a.token"}
    assert api.client.get("/auth/me", headers=garbage).status_code == 401
