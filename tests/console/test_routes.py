"""Console routes without a browser: pages, assets, /sitemap, /geofences and who may use them."""

from __future__ import annotations

import re
from pathlib import Path

from api.routes.console import ASSETS
from tests.api.conftest import api, make_api  # noqa: F401  (fixtures)

SQUARE = [[35.4140, 116.5850], [35.4140, 116.5870], [35.4160, 116.5870], [35.4160, 116.5850]]
BAD_POLYGONS = [SQUARE[:2], [[95, 116.5], *SQUARE[1:]], [[35.4, 116.5, 3], *SQUARE[1:]], []]


def test_pages_and_assets_are_served_with_a_strict_policy_and_no_sitemap_is_a_404(api):  # noqa: F811
    for path in ("/", "/grid", "/family"):
        r = api.client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["content-security-policy"]
    r = api.client.get("/static/console.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    for bad in ("/static/__init__.py", "/static/..%2Fapp.py", "/static/nope.js"):
        assert api.client.get(bad).status_code == 404, bad
    paths = set(api.client.get("/openapi.json").json()["paths"])  # pages stay out of the spec
    assert not paths & {"/", "/grid", "/family", "/console/config", "/static/{name}"}
    # This gateway has no api.sitemap_file: the pages draw devices without the compound.
    assert api.client.get("/sitemap", headers=api.headers("family")).status_code == 404
    assert api.client.get("/sitemap").status_code == 401


def test_assets_load_nothing_from_the_internet():
    for path in Path(ASSETS).iterdir():
        if path.suffix in (".html", ".js", ".css"):
            text = path.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")
            assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), path.name


def test_the_sitemap_is_served_to_every_signed_in_role(site):
    for user in ("operator", "yang.jun", "wangfang"):
        doc = site.call("GET", "/sitemap", user)
        assert doc["site"]["id"] == "jining-renmin" and len(doc["buildings"]) == 8
    assert {g["id"] for g in doc["gates"]} == {"GATE-S", "GATE-N", "GATE-E"}
    assert all(35.3 < lat < 35.5 for lat, _ in doc["boundary"])
    assert {d["id"] for d in doc["devices"]} >= {"AC-2001", "CAM-3001", "LK-4001"}


def test_a_family_manages_only_its_own_elders_safe_zones(api):  # noqa: F811
    yang, li = api.headers("family"), {"Authorization": f"Bearer {api.login('fam-li')}"}
    body = {"resident_id": "R-yang", "name": "家附近", "polygon": SQUARE}
    made = api.client.post("/geofences", json=body, headers=yang)
    assert made.status_code == 201, made.text
    zone = made.json()
    assert (zone["created_by"], zone["enabled"], zone["polygon"]) == ("fam-yang", True, SQUARE)
    assert [z["id"] for z in api.client.get("/geofences", headers=yang).json()] == [zone["id"]]
    assert api.client.get("/geofences", headers=li).json() == []
    # Another family's elder, or another family's zone, does not exist for them.
    assert api.client.post("/geofences", json={**body, "resident_id": "R-li"},
                           headers=yang).status_code == 404
    assert api.client.get("/geofences?resident_id=R-yang", headers=li).status_code == 404
    assert api.client.put(f"/geofences/{zone['id']}", json={"name": "x"},
                          headers=li).status_code == 404
    assert api.client.delete(f"/geofences/{zone['id']}", headers=li).status_code == 404
    denied = api.gateway.store.query(
        "SELECT actor, resident_id FROM access_audit WHERE outcome = 'denied'")
    assert ("fam-li", "R-yang") in {(r["actor"], r["resident_id"]) for r in denied}

    r = api.client.put(f"/geofences/{zone['id']}", json={"enabled": False}, headers=yang)
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["name"] == "家附近"
    ops = api.headers("operator")
    assert len(api.client.get("/geofences", headers=ops).json()) == 1  # staff see all
    assert api.client.post("/geofences", json={**body, "resident_id": "R-li"},
                           headers=ops).status_code == 201
    assert api.client.post("/geofences", json={**body, "resident_id": "R-nobody"},
                           headers=ops).status_code == 422
    assert api.client.delete(f"/geofences/{zone['id']}", headers=yang).status_code == 204
    assert api.client.get("/geofences", headers=yang).json() == []

    for role, expected in (("grid_worker", 403), ("vendor", 403), (None, 401)):
        headers = api.headers(role)
        assert api.client.get("/geofences", headers=headers).status_code == expected
        assert api.client.post("/geofences", json=body, headers=headers).status_code == expected
    for polygon in BAD_POLYGONS:
        r = api.client.post("/geofences", json={**body, "polygon": polygon}, headers=yang)
        assert r.status_code == 422, polygon
    assert api.client.delete(f"/geofences/{2**64}", headers=yang).status_code == 422
