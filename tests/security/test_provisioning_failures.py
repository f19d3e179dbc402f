"""A broker whose admin API fails leaves nothing half done."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from gateway.storage.admin_repo import AdminReads
from gateway.users import UserRepository


def test_an_unanswered_admin_api_registers_nothing(make_gateway):
    # This Mosquitto has no dynamic-security plugin: $CONTROL commands go unanswered.
    gw = make_gateway(provisioning={"enabled": True, "admin_timeout_s": 0.5})
    UserRepository(gw.store, gw.clock).add("vendor-x", "vendor-pass-1", "vendor", vendor="x")
    with TestClient(create_app(gw)) as client:
        token = client.post("/auth/token", data={"username": "vendor-x",
                                                 "password": "vendor-pass-1"}).json()
        r = client.post("/devices", json={"id": "WB-HALF-1", "kind": "wristband"},
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert r.status_code == 502 and "no answer" in r.text
    assert gw.registry.get("WB-HALF-1") is None
    assert gw.store.query("SELECT * FROM device_credentials") == []
    assert AdminReads(gw.store).admin_actions() == []
