"""Every sign-in attempt lands in the admin's sign-in log — a wrong password too, with the
username tried, the address and the outcome, never the password — filtered, exported as CSV,
kept at least 90 days; a throttled flood writes one row per back-off window, not one per try."""

from __future__ import annotations

import csv
import io

import pytest
from pydantic import ValidationError

from gateway.settings import Settings
from tests.api.conftest import PASSWORD, Api

WRONG = "Tr0ub4dor&3-not-it"


def _try(api: Api, username: str, password: str) -> int:
    return api.client.post("/auth/token", data={"username": username,
                                                 "password": password}).status_code


def _attempts(api: Api, query: str = "") -> list[dict]:
    r = api.client.get(f"/audit/sign-ins{query}", headers=api.headers("admin"))
    assert r.status_code == 200, r.text
    return r.json()


def test_a_wrong_password_is_in_the_log_and_the_password_is_nowhere(api: Api):
    assert _try(api, "op-chen", WRONG) == 401
    assert _try(api, "nobody-here", WRONG) == 401
    newest = _attempts(api, "?username=op-chen")
    assert [(a["outcome"], a["role"], a["client_addr"]) for a in newest] == [
        ("wrong_password", None, "testclient"), ("ok", "operator", "testclient")]
    assert newest[0]["at"] == api.gateway.clock.time()
    refused = _attempts(api, "?outcome=wrong_password")
    assert [a["username"] for a in refused] == ["nobody-here", "op-chen"]
    assert _attempts(api, "?client_addr=elsewhere") == []
    assert _attempts(api, "?since=0&until=1") == []
    exported = api.client.get("/audit/sign-ins.csv?outcome=wrong_password",
                              headers=api.headers("admin"))
    assert exported.text.startswith("\ufeffid,at,username,client_addr,outcome,role,user_agent")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(r["username"], r["outcome"]) for r in rows] == [
        ("nobody-here", "wrong_password"), ("op-chen", "wrong_password")]
    everything = str(api.gateway.store.query("SELECT * FROM sign_in_attempts"))
    full_csv = api.client.get("/audit/sign-ins.csv", headers=api.headers("admin")).text
    for secret in (WRONG, PASSWORD):
        assert secret not in everything and secret not in full_csv


def test_a_throttled_flood_is_recorded_once_per_back_off_window(api: Api):
    for _ in range(3):  # the free failures
        assert _try(api, "gw-wang", WRONG) == 401
    for _ in range(20):
        assert _try(api, "gw-wang", WRONG) == 429
    assert [a["outcome"] for a in _attempts(api, "?username=gw-wang")][:4] == [
        "throttled", "wrong_password", "wrong_password", "wrong_password"]
    api.gateway.clock.advance(6)  # the first back-off (5 s) is over
    assert _try(api, "gw-wang", PASSWORD) == 200
    assert [a["outcome"] for a in _attempts(api, "?username=gw-wang")][:2] == [
        "ok", "throttled"]


def test_what_an_attacker_types_is_stored_short_plain_and_harmless_in_a_spreadsheet(api: Api):
    assert _try(api, "=HYPERLINK(\"http://x\")\r\n" + "a" * 500, WRONG) == 401
    [row] = _attempts(api, "?outcome=wrong_password")
    assert row["username"].startswith("=HYPERLINK") and len(row["username"]) == 64
    assert "\n" not in row["username"] and "\r" not in row["username"]
    exported = api.client.get("/audit/sign-ins.csv?outcome=wrong_password",
                              headers=api.headers("admin")).text
    [exported_row] = csv.DictReader(io.StringIO(exported.lstrip("\ufeff")))
    assert exported_row["username"].startswith("'=HYPERLINK")


def test_attempts_are_kept_the_retention_and_no_less_than_90_days(api: Api):
    gw = api.gateway
    assert _try(api, "op-chen", WRONG) == 401

    def stored() -> int:
        return gw.store.query("SELECT count(*) AS n FROM sign_in_attempts")[0]["n"]

    kept = stored()
    assert kept == len(_attempts(api)) > 0
    gw.clock.advance(179 * 86_400)  # the default retention is 180 days
    gw.pipeline.call("test_prune", gw._prune, gw.clock.time())
    assert stored() == kept
    gw.clock.advance(2 * 86_400)
    gw.pipeline.call("test_prune", gw._prune, gw.clock.time())
    assert stored() == 0
    with pytest.raises(ValidationError, match="sign_in_retention_days"):
        Settings(database={"sign_in_retention_days": 30})


def test_only_the_admin_reads_the_sign_in_log(api: Api):
    for role in ("operator", "grid_worker", "family", "vendor"):
        for path in ("/audit/sign-ins", "/audit/sign-ins.csv"):
            assert api.client.get(path, headers=api.headers(role)).status_code == 403, role
    assert api.client.get("/audit/sign-ins").status_code == 401
