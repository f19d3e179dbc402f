"""The HTTP edge of a production gateway: who may bind devices, login guessing, open surfaces."""

from __future__ import annotations

import httpx
import pytest

from api.schemas import DeviceCreate
from gateway.device_admin import BINDING_FIELDS, HARDWARE_FIELDS
from tests.security.conftest import METRICS_TOKEN, PASSWORD, Edge

BINDING_VALUES = {"site": "jining-other", "building": "9", "unit": "2", "grid": "G-09",
                  "resident_id": "R-yang"}
HARDWARE_VALUES = {"vendor": "acme", "model": "B3", "codec": "json",
                   "install_date": "2026-10-01", "offline_timeout_s": 7200}


def test_every_registration_field_is_classified():
    # A new field must be decided on: hardware (a vendor may send it) or binding (staff only).
    assert set(DeviceCreate.model_fields) == set(HARDWARE_FIELDS) | set(BINDING_FIELDS)


@pytest.mark.parametrize("field", BINDING_FIELDS)
def test_a_vendor_cannot_bind_a_device_to_anyone_or_anywhere(edge: Edge, field: str):
    device_id = f"WB-BIND-{field}"
    r = edge.register("vendor-a", {"id": device_id, "kind": "wristband",
                                   field: BINDING_VALUES[field]})
    assert r.status_code == 403 and field in r.text, r.text
    assert not edge.stored("SELECT id FROM devices WHERE id = ?", (device_id,))
    # Registered as hardware, then bound by an operator, the vendor cannot rebind it either.
    assert edge.register("vendor-a", {"id": device_id, "kind": "wristband"}).status_code == 201
    with edge.http() as client:
        r = client.put(f"/devices/{device_id}/binding", headers=edge.headers("op-chen"),
                       json={"resident_id": "R-li", "grid": "G-01", "site": "jining-renmin"})
        assert r.status_code == 200, r.text
        for attempt in ({**BINDING_VALUES}, {field: BINDING_VALUES[field]}):
            r = client.put(f"/devices/{device_id}/binding", headers=edge.headers("vendor-a"),
                           json=attempt)
            assert r.status_code == 403
    r = edge.register("vendor-a", {"id": device_id, "kind": "wristband",
                                   field: BINDING_VALUES[field]})
    assert r.status_code == 403
    # Installed, the band is the community's: the vendor can no longer cut it off the broker
    # (re-registering rotates its password; so does a rotation; disabling refuses it).
    r = edge.register("vendor-a", {"id": device_id, "kind": "wristband", "model": "B3"})
    assert r.status_code == 403 and "installed" in r.text, r.text
    with edge.http() as client:
        vendor = edge.headers("vendor-a")
        assert client.post(f"/devices/{device_id}/credentials", headers=vendor).status_code == 403
        assert client.post(f"/devices/{device_id}/disable", headers=vendor).status_code == 403
        # The operator still may.
        r = client.post(f"/devices/{device_id}/credentials", headers=edge.headers("op-chen"))
        assert r.status_code == 200, r.text
    assert edge.stored("SELECT resident_id, grid, model, status FROM devices WHERE id = ?",
                       (device_id,)) == [("R-li", "G-01", "", "active")]


@pytest.mark.parametrize("field", [f for f in HARDWARE_FIELDS if f not in ("id", "kind")])
def test_a_vendor_may_describe_its_hardware(edge: Edge, field: str):
    device_id = f"WB-HW-{field.replace('_', '-')}"
    r = edge.register("vendor-a", {"id": device_id, "kind": "wristband",
                                   field: HARDWARE_VALUES[field]})
    assert r.status_code == 201, r.text
    assert r.json()[field] == HARDWARE_VALUES[field]


def test_binding_is_checked_and_other_vendors_names_are_refused(edge: Edge):
    assert edge.register("vendor-a", {"id": "WB-NAME-1", "kind": "wristband",
                                      "vendor": "bolt"}).status_code == 403
    assert edge.register("vendor-a", {"id": "WB-NAME-1", "kind": "wristband"}).status_code == 201
    with edge.http() as client:
        r = client.put("/devices/WB-NAME-1/binding", headers=edge.headers("op-chen"),
                       json={"resident_id": "R-nobody"})
        assert r.status_code == 422 and "R-nobody" in r.text
        for who in ("gw-wang", "fam-yang", "vendor-b"):
            r = client.put("/devices/WB-NAME-1/binding", headers=edge.headers(who),
                           json={"resident_id": "R-yang"})
            assert r.status_code == 403, (who, r.status_code)
        # A staff registration of a bound device names a resident that exists.
        r = client.post("/devices", headers=edge.headers("op-chen"),
                        json={"id": "WB-STAFF-1", "kind": "wristband", "resident_id": "R-x"})
        assert r.status_code == 422


def test_the_control_room_sees_and_sets_a_device_s_own_offline_timeout(edge: Edge):
    # Red team round 11: a vendor's 26 h for a lone elder's fall radar hid it dead; the
    # operator could neither see nor lower it. A radar's own is at most an hour now, and
    # staff set it in the binding (a vendor cannot re-register an installed device).
    r = edge.register("vendor-a", {"id": "RD-T1", "kind": "radar", "offline_timeout_s": 93600})
    assert r.status_code == 422 and "3600 s at most" in r.text, r.text
    r = edge.register("vendor-a", {"id": "RD-T1", "kind": "radar", "offline_timeout_s": 3600})
    assert r.status_code == 201 and r.json()["offline_timeout_s"] == 3600
    # Red team round 12: a door controller's 26 h still hid a dead one; 2 h at most now.
    r = edge.register("vendor-a", {"id": "AC-T26", "kind": "access", "offline_timeout_s": 93600})
    assert r.status_code == 422 and "7200 s at most" in r.text, r.text
    with edge.http() as client:
        bind = {"resident_id": "R-yang", "grid": "G-01", "site": "jining-renmin"}
        r = client.put("/devices/RD-T1/binding", headers=edge.headers("op-chen"), json=bind)
        assert r.status_code == 200 and r.json()["offline_timeout_s"] == 3600  # left as it was
        r = client.put("/devices/RD-T1/binding", headers=edge.headers("op-chen"),
                       json={**bind, "offline_timeout_s": 600})
        assert r.status_code == 200 and r.json()["offline_timeout_s"] == 600, r.text
        r = client.put("/devices/RD-T1/binding", headers=edge.headers("op-chen"),
                       json={**bind, "offline_timeout_s": None})
        assert r.status_code == 200 and r.json()["offline_timeout_s"] is None  # the kind's
        r = client.put("/devices/RD-T1/binding", headers=edge.headers("vendor-a"),
                       json={**bind, "offline_timeout_s": 7200})
        assert r.status_code == 403


def _from(address: str) -> httpx.HTTPTransport:
    return httpx.HTTPTransport(local_address=address)


def test_guessing_a_password_slows_the_guesser_not_the_user(edge: Edge):
    with edge.http() as attacker:
        codes = []
        for n in range(8):
            # A rotating X-Forwarded-For must not reset anything: no proxy is trusted.
            r = attacker.post("/auth/token", headers={"X-Forwarded-For": f"10.9.{n}.1"},
                              data={"username": "op-chen", "password": f"guess-{n}"})
            codes.append(r.status_code)
        assert codes[:3] == [401, 401, 401] and 429 in codes[3:], codes
        r = attacker.post("/auth/token", data={"username": "op-chen", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # The real operator, from their own address, is not locked out.
    with edge.http(transport=_from("127.0.0.2")) as operator:
        r = operator.post("/auth/token", data={"username": "op-chen", "password": PASSWORD})
        assert r.status_code == 200, r.text
    # Spraying many usernames from one address backs off too — but an operator who signed in
    # from that shared address before (an office NAT) is not held back with the sprayer
    # (red team round 8: one sprayer locked everyone behind the address out).
    with edge.http(transport=_from("127.0.0.3")) as office:
        assert office.post("/auth/token", data={"username": "op-chen",
                                                "password": PASSWORD}).status_code == 200
    with edge.http(transport=_from("127.0.0.3")) as sprayer:
        codes = [sprayer.post("/auth/token", data={"username": f"user-{n}",
                                                   "password": "Winter2026!"}).status_code
                 for n in range(24)]
        assert 429 in codes and codes[:20] == [401] * 20, codes
    with edge.http(transport=_from("127.0.0.3")) as office:
        assert office.post("/auth/token", data={"username": "op-chen",
                                                "password": PASSWORD}).status_code == 200
    with edge.http() as client:
        text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    throttled = next(line for line in text.splitlines()
                     if line.startswith('scgw_api_logins_total{outcome="throttled"}'))
    assert float(throttled.split()[-1]) >= 2
    audit = edge.stored("SELECT count(*) FROM access_audit WHERE client_addr LIKE '10.9.%'")
    assert audit == [(0,)]


def test_open_surfaces_are_only_the_probes(edge: Edge):
    with edge.http() as anonymous:
        assert anonymous.get("/health").json() == {"status": "ok"}
        ready = anonymous.get("/ready")
        assert ready.status_code == 200 and set(ready.json()) == {"ready", "database", "broker"}
        for path in ("/metrics", "/openapi.json", "/asyncapi.json", "/devices", "/alerts",
                     "/audit/access"):
            assert anonymous.get(path).status_code == 401, path
        for path in ("/docs", "/redoc"):
            assert anonymous.get(path).status_code == 404, path
        wrong = anonymous.get("/metrics", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401
        scraped = anonymous.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraped.status_code == 200 and "scgw_messages_received_total" in scraped.text
    with edge.http() as vendor:
        headers = edge.headers("vendor-a")
        assert vendor.get("/openapi.json", headers=headers).json()["info"]["title"]
        assert vendor.get("/asyncapi.json", headers=headers).json()["asyncapi"].startswith("3")
        # A user's token is not a scrape token.
        assert vendor.get("/metrics", headers=headers).status_code == 401


def test_a_body_of_thousands_of_unknown_keys_gets_a_short_refusal(edge: Edge):
    # Red team round 3b: 60,000 unknown keys to an open route were answered with every error
    # and its input (6.6 MB, encoded on the event loop): four such requests delayed other
    # bands' SOS by seconds. The refusal names the first problems only.
    body = {f"k{i}": i for i in range(60_000)} | {"id": "WB-KEYS-1", "kind": "wristband"}
    token = edge.login("vendor-a")
    with edge.http(headers={"Authorization": f"Bearer {token}"}) as client:
        r = client.post("/devices", json=body)
        assert r.status_code == 422
        assert len(r.content) < 10_000, len(r.content)
        detail = r.json()["detail"]
        assert len(detail) == 1 and "60000 unknown fields" in detail[0]["msg"], detail
        assert all("input" not in d for d in detail)
        assert client.get("/health").status_code == 200
