"""A disable by the community's staff is theirs to lift: the vendor can neither enable the
device again nor re-register it back on; a vendor's own disable is the vendor's to lift."""

from __future__ import annotations

from tests.security.conftest import Edge, attempt

NOT_AUTHORIZED = {135, 134}  # MQTT 5: not authorized / bad username or password


def _post(edge: Edge, username: str, path: str) -> int:
    with edge.http() as client:
        return client.post(path, headers=edge.headers(username)).status_code


def _state(edge: Edge, device_id: str) -> tuple[object, ...]:
    return edge.stored("SELECT status, disabled_by FROM devices WHERE id = ?", (device_id,))[0]


def test_a_vendor_cannot_undo_an_operator_s_disable(edge: Edge):
    r = edge.register("vendor-a", {"id": "WB-DIS-1", "kind": "wristband"})
    assert r.status_code == 201, r.text
    password = r.json()["mqtt_password"]
    assert attempt(edge.broker, "WB-DIS-1", password, "WB-DIS-1") == 0
    # Not installed yet (no place, nobody bound), so it is still the vendor's hardware; the
    # operator cuts it off all the same.
    assert _post(edge, "op-chen", "/devices/WB-DIS-1/disable") == 200
    assert attempt(edge.broker, "WB-DIS-1", password, "WB-DIS-1") in NOT_AUTHORIZED
    with edge.http() as client:
        r = client.post("/devices/WB-DIS-1/enable", headers=edge.headers("vendor-a"))
    assert r.status_code == 403 and "staff" in r.text, r.text
    assert attempt(edge.broker, "WB-DIS-1", password, "WB-DIS-1") in NOT_AUTHORIZED
    assert _state(edge, "WB-DIS-1") == ("disabled", "operator")
    # Re-registering rotates the password and changes nothing else: still disabled.
    r = edge.register("vendor-a", {"id": "WB-DIS-1", "kind": "wristband"})
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["disabled_by"]) == ("disabled", "operator")
    password = r.json()["mqtt_password"]
    assert attempt(edge.broker, "WB-DIS-1", password, "WB-DIS-1") in NOT_AUTHORIZED
    # Disabling it again does not make the disable the vendor's.
    assert _post(edge, "vendor-a", "/devices/WB-DIS-1/disable") == 200
    assert _post(edge, "vendor-a", "/devices/WB-DIS-1/enable") == 403
    assert _state(edge, "WB-DIS-1") == ("disabled", "operator")
    # The operator lifts it.
    assert _post(edge, "op-chen", "/devices/WB-DIS-1/enable") == 200
    assert attempt(edge.broker, "WB-DIS-1", password, "WB-DIS-1") == 0
    assert _state(edge, "WB-DIS-1") == ("active", "")


def test_a_vendor_lifts_its_own_disable_until_staff_take_it_over(edge: Edge):
    r = edge.register("vendor-a", {"id": "WB-DIS-2", "kind": "wristband"})
    assert r.status_code == 201, r.text
    password = r.json()["mqtt_password"]
    assert _post(edge, "vendor-a", "/devices/WB-DIS-2/disable") == 200
    assert attempt(edge.broker, "WB-DIS-2", password, "WB-DIS-2") in NOT_AUTHORIZED
    assert _state(edge, "WB-DIS-2") == ("disabled", "vendor")
    assert _post(edge, "vendor-a", "/devices/WB-DIS-2/enable") == 200
    assert attempt(edge.broker, "WB-DIS-2", password, "WB-DIS-2") == 0
    # The vendor disables, then an operator does too: from then on it is the staff's.
    assert _post(edge, "vendor-a", "/devices/WB-DIS-2/disable") == 200
    assert _post(edge, "op-chen", "/devices/WB-DIS-2/disable") == 200
    assert _post(edge, "vendor-a", "/devices/WB-DIS-2/enable") == 403
    assert attempt(edge.broker, "WB-DIS-2", password, "WB-DIS-2") in NOT_AUTHORIZED
    # Another vendor does not even see it.
    assert _post(edge, "vendor-b", "/devices/WB-DIS-2/enable") == 404
