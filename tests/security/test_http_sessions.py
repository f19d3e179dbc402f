"""Attacks on sign-in and sessions over HTTP: parallel password guessing, the password-change
form as a guessing oracle, ending someone's session by its id, and cross-site requests that
would ride the refresh cookie."""

from __future__ import annotations

import asyncio

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import ACCOUNTS, PASSWORD, Api

OPERATOR = ACCOUNTS["operator"][0]
FAMILY = ACCOUNTS["family"][0]


def _burst(api: Api, address: str, requests: list[tuple[str, dict[str, str], dict]]
           ) -> list[httpx.Response]:
    """Send all `requests` (path, form, headers) at once from `address`, in parallel."""
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api.client.app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return list(await asyncio.gather(*(c.post(path, data=form, headers=headers)
                                               for path, form, headers in requests)))
    return asyncio.run(run())


def test_parallel_password_guesses_are_held_to_the_back_off(api: Api):
    guesses = [("/auth/token", {"username": OPERATOR, "password": f"guess-{n}"}, {})
               for n in range(12)]
    codes = sorted(r.status_code for r in _burst(api, "10.20.0.1", guesses))
    # Three wrong passwords are free; the rest of the burst waits like a sequence would.
    assert codes == [401] * 3 + [429] * 9, codes
    again = _burst(api, "10.20.0.1", [("/auth/token",
                                       {"username": OPERATOR, "password": PASSWORD}, {})])[0]
    assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1
    # The real operator, elsewhere, is not locked out.
    mine = _burst(api, "10.20.0.2", [("/auth/token",
                                      {"username": OPERATOR, "password": PASSWORD}, {})])[0]
    assert mine.status_code == 200
    # A parallel spray across usernames is held to the per-address limit the same way.
    spray = [("/auth/token", {"username": f"nobody-{n}", "password": "Winter2026!"}, {})
             for n in range(30)]
    codes = sorted(r.status_code for r in _burst(api, "10.20.0.3", spray))
    assert codes.count(401) == 20 and codes.count(429) == 10, codes


def test_the_password_change_form_is_not_a_guessing_oracle(api: Api):
    token = api.login(FAMILY)
    auth = {"Authorization": f"Bearer {token}"}

    async def run(bodies: list[dict[str, str]]) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api.client.app, client=("10.21.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return list(await asyncio.gather(*(c.post("/auth/password", json=b, headers=auth)
                                               for b in bodies)))

    wrong = [{"current_password": f"guess-{n}", "new_password": "taken over 123"}
             for n in range(10)]
    codes = sorted(r.status_code for r in asyncio.run(run(wrong)))
    assert codes == [400] * 3 + [429] * 7, codes
    # Even the right current password waits now; the account's password is unchanged.
    right = asyncio.run(run([{"current_password": PASSWORD, "new_password": "taken over 123"}]))
    assert right[0].status_code == 429
    r = api.client.post("/auth/token", data={"username": FAMILY, "password": PASSWORD})
    assert r.status_code == 200


def test_a_session_id_alone_does_not_end_a_session(api: Api):
    victim = _browser(api, OPERATOR)
    token = victim.post("/auth/refresh").json()["access_token"]
    session_id = jwt.decode(token, options={"verify_signature": False})["sid"]
    # The id is in every access token and in the admins' session list; it is not the secret.
    attacker = TestClient(api.client.app)
    for forged in (session_id, f"{session_id}.", f"{session_id}.guess",
                   f"{session_id}.guess.{'0' * 32}"):
        attacker.cookies.set("scgw_refresh", forged, path="/auth")
        assert attacker.post("/auth/logout").status_code == 204
        # A made-up refresh token is not taken for a stolen one: no token, and no revocation.
        attacker.cookies.set("scgw_refresh", forged, path="/auth")
        r = attacker.post("/auth/refresh")
        assert r.status_code == 401 and "access_token" not in r.text
        attacker.cookies.clear()
    me = victim.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, "the victim's session was ended by its id"
    assert victim.post("/auth/refresh").status_code == 200
    # The owner's own cookie still ends it, at once.
    assert victim.post("/auth/logout").status_code == 204
    assert victim.get("/auth/me", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 401


def _browser(api: Api, username: str) -> TestClient:
    """A browser signed in as `username`: it holds the refresh cookie."""
    client = TestClient(api.client.app)
    r = client.post("/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200 and "scgw_refresh" in client.cookies
    return client


CROSS_SITE = ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
              {"Origin": "https://evil.example"}, {"Origin": "null"},
              {"Origin": "http://testserver.evil.example"})


def test_cookie_routes_refuse_requests_other_sites_make(api: Api):
    browser = _browser(api, OPERATOR)
    token = browser.post("/auth/refresh").json()["access_token"]
    for headers in CROSS_SITE:
        r = browser.post("/auth/refresh", headers=headers)
        assert r.status_code == 403 and "access_token" not in r.text, headers
        assert browser.post("/auth/logout", headers=headers).status_code == 403, headers
        # A login form posted from elsewhere (login CSRF) is refused too.
        r = browser.post("/auth/token", headers=headers,
                         data={"username": FAMILY, "password": PASSWORD})
        assert r.status_code == 403, headers
    assert browser.get("/auth/me", headers={"Authorization": f"Bearer {token}"}
                       ).json()["username"] == OPERATOR
    # The console's own requests, and API clients that say nothing, go through.
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://testserver"}, {}):
        r = browser.post("/auth/refresh", headers=headers)
        assert r.status_code == 200, (headers, r.text)
    assert browser.post("/auth/logout", headers={"Sec-Fetch-Site": "same-origin"}
                        ).status_code == 204
    assert browser.get("/auth/me", headers={"Authorization": f"Bearer {token}"}
                       ).status_code == 401


def test_endless_usernames_cannot_each_take_a_place_in_the_back_off(api: Api):
    # The back-off remembers (username, address) pairs; names a megabyte long, different
    # only at the end, would each take a megabyte of it. They count as one name.
    guesses = [("/auth/token", {"username": "x" * 500_000 + str(n), "password": "guess"}, {})
               for n in range(5)]
    codes = [_burst(api, "10.22.0.1", [g])[0].status_code for g in guesses]
    assert codes == [401, 401, 401, 429, 429], codes


def test_the_live_socket_takes_its_token_outside_the_url(api: Api):
    token = api.login(OPERATOR)
    with api.client.websocket_connect("/ws", subprotocols=["bearer", token]) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["user"] == OPERATOR
        assert ws.accepted_subprotocol == "bearer"
    # A forged token is refused there too.
    forged = token[:-4] + "AAAA"
    with pytest.raises(WebSocketDisconnect) as refused, api.client.websocket_connect(
            "/ws", subprotocols=["bearer", forged]) as ws:
        ws.receive_json()
    assert refused.value.code == 1008


def test_a_proxy_that_rewrites_host_still_lets_the_page_sign_in(api: Api):
    # Plain HTTP: no Sec-Fetch-Site, only Origin; the proxy forwards to 127.0.0.1:8080.
    r = api.client.post("/auth/token", data={"username": FAMILY, "password": PASSWORD},
                        headers={"Origin": "http://sq.example.cn", "Host": "127.0.0.1:8080",
                                 "X-Forwarded-Host": "sq.example.cn"})
    assert r.status_code == 200, r.text
    r = api.client.post("/auth/token", data={"username": FAMILY, "password": PASSWORD},
                        headers={"Origin": "http://evil.example", "Host": "127.0.0.1:8080",
                                 "X-Forwarded-Host": "sq.example.cn"})
    assert r.status_code == 403
