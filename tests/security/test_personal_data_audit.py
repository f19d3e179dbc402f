"""Every response that carries a resident's location or vitals leaves one audit row.

The routes are found by walking the published OpenAPI document for response schemas with
personal fields, so a new route that returns them is tested without anyone listing it here
(and the app refuses to start if such a route does not take the audit dependency).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from api.personal import PERSONAL_FIELDS, PERSONAL_READING_KEYS, READINGS
from tests.api.conftest import ACCOUNTS, Api
from tests.conftest import T0, device

ROLES = list(ACCOUNTS)
SQUARE = [[35.430, 116.600], [35.430, 116.602], [35.432, 116.602], [35.432, 116.600]]
FIX = {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 8}
# How to call each personal route: path parameters and body. A route missing here fails
# `test_every_personal_route_is_exercised`: decide how to call it, and it is covered.
CALLS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/devices"): {},
    ("GET", "/devices/{device_id}"): {},
    ("GET", "/devices/{device_id}/telemetry"): {"params": {"start": T0 - 3600,
                                                           "end": T0 + 60}},
    ("GET", "/family/elders"): {},
    ("GET", "/family/elders/{resident_id}/location"): {},
    ("GET", "/family/elders/{resident_id}/trail"): {"params": {"start": T0 - 3600,
                                                               "end": T0 + 60}},
    ("GET", "/family/elders/{resident_id}/vitals"): {},
    ("GET", "/geofences"): {"params": {"resident_id": "R-yang"}},
    ("POST", "/geofences"): {"json": {"resident_id": "R-yang", "name": "公园",
                                      "polygon": SQUARE}},
    ("PUT", "/geofences/{zone_id}"): {"json": {"name": "小区"}},
}


def _resolve(node: Any, schemas: dict[str, Any], seen: frozenset[str] = frozenset()) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            return {} if name in seen else _resolve(schemas[name], schemas, seen | {name})
        return {k: _resolve(v, schemas, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, schemas, seen) for v in node]
    return node


def _fields(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        found |= set(node.get("properties", {})) & PERSONAL_FIELDS
        for value in node.values():
            found |= _fields(value)
    elif isinstance(node, list):
        for value in node:
            found |= _fields(value)
    return found


def personal_routes(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every operation whose success response has personal fields."""
    schemas = openapi.get("components", {}).get("schemas", {})
    found = set()
    for path, operations in openapi["paths"].items():
        for method, op in operations.items():
            for code, response in op.get("responses", {}).items():
                if code.startswith("2"):
                    schema = response.get("content", {}).get("application/json", {})
                    if _fields(_resolve(schema.get("schema", {}), schemas)):
                        found.add((method.upper(), path))
    return found


def _personal(key: str, value: Any) -> bool:
    if key in READINGS:  # a map of readings is personal when it holds a vital or a fix
        return isinstance(value, dict) and bool(PERSONAL_READING_KEYS & set(value))
    return key in PERSONAL_FIELDS and value not in (None, {}, [], "")


def carries_personal_data(body: Any) -> bool:
    """Whether a JSON answer holds a non-empty personal field anywhere."""
    if isinstance(body, dict):
        return any(_personal(k, v) or carries_personal_data(v) for k, v in body.items())
    if isinstance(body, list):
        return any(carries_personal_data(v) for v in body)
    return False


@pytest.fixture
def seeded(make_api) -> tuple[Api, int]:
    api = make_api()
    gw = api.gateway
    # A band of vendor acme worn by Mr. Yang, in grid G-01, with a fix and vitals.
    gw.registry.register([device("WB-ACME-1", "wristband", vendor="acme", grid="G-01",
                                 site="jining-renmin", resident_id="R-yang")])
    from tests.support.clients import Publisher
    pub = Publisher(gw.settings.broker.url)
    try:
        pub.publish("scgw/v1/wristband/WB-ACME-1/telemetry", orjson.dumps(
            {"ts": int(T0 * 1000) - 30_000, "seq": 1, "heart_rate_bpm": 81, "location": FIX}))
    finally:
        pub.close()
    assert gw.pipeline.wait_processed(3, 10)
    r = api.client.post("/geofences", headers=api.headers("operator"),
                        json={"resident_id": "R-yang", "name": "家", "polygon": SQUARE})
    assert r.status_code == 201, r.text
    return api, r.json()["id"]


def _audit_rows(api: Api) -> list[dict[str, Any]]:
    return api.gateway.audit.access_rows(limit=5000)


def test_every_personal_route_is_exercised(api):
    found = personal_routes(api.client.get("/openapi.json").json())
    assert found, "the OpenAPI walk found nothing: the test itself is broken"
    missing = found - set(CALLS)
    assert not missing, f"personal routes with no call recipe here: {sorted(missing)}"


@pytest.mark.parametrize("role", ROLES)
def test_each_read_of_personal_data_writes_one_audit_row(seeded, role):
    api, zone_id = seeded
    username = ACCOUNTS[role][0]
    audited = set()
    for (method, template), recipe in sorted(CALLS.items()):
        path = template.format(device_id="WB-ACME-1", resident_id="R-yang", zone_id=zone_id)
        # A minute apart: a family's same disclosure again within a minute shares its row
        # (test_cross_access.py).
        api.gateway.clock.advance(61)
        before = len(_audit_rows(api))
        r = api.client.request(method, path, headers=api.headers(role), **recipe)
        rows = _audit_rows(api)[: len(_audit_rows(api)) - before]
        if r.status_code >= 300 or not carries_personal_data(r.json()):
            assert not [x for x in rows if x["outcome"] == "allowed"
                        and x["action"] != "geofence_write"], (role, path, rows)
            continue
        reads = [x for x in rows if x["outcome"] == "allowed"]
        assert len(reads) == 1, (role, method, path, rows)
        row = reads[0]
        assert (row["actor"], row["role"], row["client_addr"]) == (username, role, "testclient")
        assert "R-yang" in row["residents"], (path, row)
        if "{device_id}" in template:
            assert row["device_id"] == "WB-ACME-1"
        if "params" in recipe and "start" in recipe["params"]:
            assert (row["range_from"], row["range_to"]) == (T0 - 3600, T0 + 60)
        audited.add(template.split("/")[1])
    # Who gets Mr. Yang's data at all (and so was audited): staff everything, the grid worker
    # the devices of its grid, his family the family page and zones, the vendor nothing.
    assert audited == {"admin": {"devices", "geofences"}, "operator": {"devices", "geofences"},
                       "grid_worker": {"devices"}, "family": {"family", "geofences"},
                       "vendor": set()}[role]


def test_a_vendor_sees_its_bands_health_but_never_where_the_wearer_is(seeded):
    api, _ = seeded
    vendor = api.headers("vendor")
    listed = {d["id"]: d for d in api.client.get("/devices", headers=vendor).json()}
    band = listed["WB-ACME-1"]
    assert band["twin"]["online"] is not None and band["twin"]["lat"] is None
    assert "heart_rate_bpm" not in (band["twin"]["last_telemetry"] or {})
    points = api.client.get("/devices/WB-ACME-1/telemetry", headers=vendor,
                            params={"start": T0 - 3600, "end": T0 + 60}).json()
    assert points and all(not ({"heart_rate_bpm", "location_lat"} & set(p["values"]))
                          for p in points)


def test_the_audit_log_is_an_admins_to_filter_and_export(seeded):
    api, _ = seeded
    api.client.get("/devices/WB-ACME-1", headers=api.headers("grid_worker"))
    admin = api.headers("admin")
    rows = api.client.get("/audit/access", params={"resident_id": "R-yang",
                                                   "actor": "gw-wang"}, headers=admin).json()
    assert rows and rows[0]["action"] == "device_read"
    csv_text = api.client.get("/audit/access.csv", params={"actor": "gw-wang"},
                              headers=admin).text
    header, first = csv_text.lstrip("\ufeff").splitlines()[:2]
    assert header.startswith("id,at,actor,role,action") and "gw-wang" in first
    for role in ("operator", "grid_worker", "family", "vendor"):
        assert api.client.get("/audit/access.csv", headers=api.headers(role)).status_code == 403
