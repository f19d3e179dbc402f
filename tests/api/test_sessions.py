"""Sign-in sessions over HTTP: a shift-long session renewed by a rotating refresh cookie, idle
and absolute limits per role, and revocation by logout, password change, disable and theft."""

from __future__ import annotations

import jwt
import orjson
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Api
from tests.conftest import T0

COOKIE = "scgw_refresh"


def _client(api: Api) -> TestClient:
    """A browser of its own (its own cookie jar) on the same app."""
    return TestClient(api.client.app)


def _login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    r = client.post("/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    assert "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=strict" in r.headers["set-cookie"].lower()
    assert "path=/auth" in r.headers["set-cookie"].lower()
    return r.json()["access_token"]


def _me(client: TestClient, token: str) -> int:
    return client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_an_operator_session_lasts_the_shift_by_refreshing_and_ends_after_12_hours(api, clock):
    browser = _client(api)
    token = _login(browser, "op-chen")
    ttl = api.gateway.settings.api.token_ttl_s
    for _ in range(40):  # 40 × 15 min = 10 h of a shift, the console renewing as it goes
        clock.advance(ttl + 1)
        assert _me(browser, token) == 401  # the access token alone is short-lived
        r = browser.post("/auth/refresh")
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        assert _me(browser, token) == 200
    clock.advance(2 * 3600 + 1)  # past 12 h since the password was typed
    r = browser.post("/auth/refresh")
    assert r.status_code == 401 and "time limit" in r.json()["detail"]
    assert COOKIE in r.headers.get("set-cookie", "") and "max-age=0" in r.headers[
        "set-cookie"].lower()


def test_a_family_session_idles_out_after_30_minutes_an_operators_does_not(api, clock):
    family, operator = _client(api), _client(api)
    _login(family, "fam-yang")
    _login(operator, "op-chen")
    clock.advance(31 * 60)
    assert family.post("/auth/refresh").status_code == 401
    assert operator.post("/auth/refresh").status_code == 200
    sessions = api.gateway.store.query("SELECT username, idle_s, expires_at - created_at AS life"
                                       " FROM sessions WHERE username IN ('fam-yang', 'op-chen')")
    limits = {r["username"]: (r["idle_s"], r["life"]) for r in sessions}
    assert limits["fam-yang"][0] == 1800 and limits["op-chen"][1] == 12 * 3600


def test_logout_revokes_the_session_and_its_access_tokens_at_once(api):
    browser = _client(api)
    token = _login(browser, "op-chen")
    assert _me(browser, token) == 200
    assert browser.post("/auth/logout").status_code == 204
    assert _me(browser, token) == 401  # not only forgotten by the page: refused by the server
    assert browser.post("/auth/refresh").status_code == 401


def test_a_password_change_ends_every_other_session_and_disable_ends_all(api):
    laptop, phone = _client(api), _client(api)
    laptop_token = _login(laptop, "gw-wang")
    phone_token = _login(phone, "gw-wang")
    r = laptop.post("/auth/password", json={"current_password": "wrong", "new_password": "x" * 12},
                    headers={"Authorization": f"Bearer {laptop_token}"})
    assert r.status_code == 400
    r = laptop.post("/auth/password", json={"current_password": PASSWORD,
                                            "new_password": "a new long one"},
                    headers={"Authorization": f"Bearer {laptop_token}"})
    assert r.status_code == 204
    assert _me(laptop, laptop_token) == 200 and _me(phone, phone_token) == 401
    assert phone.post("/auth/refresh").status_code == 401
    # The admin disables the account: the remaining session ends too, and no login works.
    r = api.client.post("/users/gw-wang/disable", headers=api.headers("admin"))
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert _me(laptop, laptop_token) == 401 and laptop.post("/auth/refresh").status_code == 401
    assert laptop.post("/auth/token", data={"username": "gw-wang",
                                            "password": "a new long one"}).status_code == 401
    assert api.client.post("/users/gw-wang/disable",
                           headers=api.headers("operator")).status_code == 403


def test_a_replayed_refresh_token_revokes_the_session(api, clock):
    browser = _client(api)
    _login(browser, "op-chen")
    stolen = browser.cookies[COOKIE]
    assert browser.post("/auth/refresh").status_code == 200  # the owner rotates it
    # Two tabs racing within seconds share the cookie: the older token still works then...
    racer = _client(api)
    racer.cookies.set(COOKIE, stolen, path="/auth")
    assert racer.post("/auth/refresh").status_code == 200
    # ...but replayed later it can only be a copy: the session is revoked for both.
    clock.advance(60)
    thief = _client(api)
    thief.cookies.set(COOKIE, stolen, path="/auth")
    r = thief.post("/auth/refresh")
    assert r.status_code == 401 and "reused" in r.json()["detail"]
    assert browser.post("/auth/refresh").status_code == 401


def test_my_sessions_can_be_listed_and_one_ended(api):
    laptop, phone = _client(api), _client(api)
    token = _login(laptop, "op-chen")
    phone_token = _login(phone, "op-chen")
    headers = {"Authorization": f"Bearer {token}"}
    mine = laptop.get("/auth/sessions", headers=headers).json()
    assert sum(s["current"] for s in mine) == 1 and len(mine) >= 2
    phone_sid = jwt.decode(phone_token, options={"verify_signature": False})["sid"]
    assert phone_sid in {s["id"] for s in mine if not s["current"]}
    assert laptop.delete(f"/auth/sessions/{phone_sid}", headers=headers).status_code == 204
    assert _me(phone, phone_token) == 401
    assert laptop.delete("/auth/sessions/nope", headers=headers).status_code == 404


def test_the_live_socket_closes_when_its_session_is_revoked(api, publisher):
    browser = _client(api)
    token = _login(browser, "op-chen")
    with browser.websocket_connect(f"/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert browser.post("/auth/logout").status_code == 204
        publisher.publish("scgw/v1/wristband/WB-1002/event", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 5, "type": "sos"}))
        message = ws.receive()
        assert message["type"] == "websocket.close" and message["code"] == 4401
