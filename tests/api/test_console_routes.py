"""Who may use the routes the console added: every role against each, on a real gateway."""

from __future__ import annotations

import pytest

from tests.api.conftest import ACCOUNTS

# Runs on SQLite and on PostgreSQL (docs/storage.md: which tests run on both).
pytestmark = pytest.mark.both_backends

ROLES = list(ACCOUNTS)
STAFF = {"admin", "operator"}


def expected(allowed: set[str], code: int = 200, other: int = 403, **special: int) -> dict:
    """Status per role."""
    return {role: special.get(role, code if role in allowed else other) for role in ROLES}


ROUTES = [
    ("GET", "/alerts/summary", None, expected(STAFF | {"grid_worker"})),
    ("GET", "/auth/sessions", None, expected(set(ROLES))),
    ("GET", "/users", None, expected({"admin"})),
    ("GET", "/users?role=grid_worker", None, expected({"admin"})),
    ("GET", "/tickets/{ticket}/assignees", None, expected(STAFF)),
    ("GET", "/tickets/{ticket}/contact", None, expected({"grid_worker"})),  # admin set it
    ("PUT", "/residents/R-yang/contact", {"phone": "138 0000 0000"}, expected(STAFF, 204)),
    ("GET", "/devices/WB-1001/events", None,
     expected(STAFF | {"grid_worker"}, vendor=404, family=403)),
    ("GET", "/devices/WB-1001/commands", None,
     expected(STAFF | {"grid_worker"}, vendor=404, family=403)),
    ("POST", "/users/gw-wang/enable", None, expected({"admin"})),
]


def test_the_console_routes_answer_each_role_as_the_table_says(api):
    # One gateway for all roles: the table's writes are idempotent.
    wrong = {}
    for role in ROLES:
        for method, template, body, want in ROUTES:
            path = template.format(ticket=api.sos_ticket_id)
            r = api.client.request(method, path, json=body, headers=api.headers(role))
            if r.status_code != want[role]:
                wrong[(role, method, template)] = (r.status_code, want[role], r.text[:160])
    for method, template, body, _ in ROUTES:
        path = template.format(ticket=api.sos_ticket_id)
        assert api.client.request(method, path, json=body).status_code == 401, path
    assert not wrong, wrong


def test_device_events_and_commands_leave_positions_and_vitals_out(api):
    events = api.client.get("/devices/WB-1001/events", headers=api.headers("operator")).json()
    assert [e["type"] for e in events] == ["sos"]
    assert "location" not in events[0]["fields"]
    log = api.client.get("/devices/WB-1001/commands", headers=api.headers("operator")).json()
    assert log["available"] == ["locate_now"] and log["recent"] == []


def test_a_command_to_a_hub_s_child_is_refused_for_it_could_never_arrive(api):
    # Vendor round 6: a smoke sensor behind Zigbee2MQTT took `self_test` (202, `sent`); the
    # hub's login may not read the child's command topic, so it waited out its expiry.
    r = api.client.post("/devices", headers=api.headers("admin"), json={
        "id": "z2m-b3-smoke_303", "kind": "smoke_detector", "codec": "zigbee2mqtt"})
    assert r.status_code == 201, r.text
    r = api.client.post("/devices/z2m-b3-smoke_303/commands", json={"name": "self_test"},
                        headers=api.headers("operator"))
    assert r.status_code == 409 and "through a hub" in r.json()["detail"]
    assert api.gateway.store.query("SELECT id FROM commands") == []
    r = api.client.post("/devices/LK-4001/commands", headers=api.headers("operator"),
                        json={"name": "open_compartment", "args": {"compartment": "L-3"}})
    assert r.status_code == 202, r.text  # a device with its own login still can
