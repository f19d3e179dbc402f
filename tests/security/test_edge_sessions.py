"""The session attacks again, at a production `scgw run` process over real HTTP: a parallel
burst of password guesses, a cross-site refresh, logging someone out by their session id."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt

from tests.security.conftest import PASSWORD, Edge


def _from(address: str) -> httpx.HTTPTransport:
    return httpx.HTTPTransport(local_address=address)


def test_a_parallel_burst_of_guesses_gets_no_more_tries_than_a_sequence(edge: Edge):
    def guess(n: int) -> int:
        with edge.http(transport=_from("127.0.0.21")) as client:
            return client.post("/auth/token", data={"username": "admin-zhou",
                                                    "password": f"guess-{n}"}).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = sorted(pool.map(guess, range(16)))
    assert codes == [401] * 3 + [429] * 13, codes
    with edge.http(transport=_from("127.0.0.22")) as admin:  # the real admin is not held
        r = admin.post("/auth/token", data={"username": "admin-zhou", "password": PASSWORD})
        assert r.status_code == 200


def test_a_session_survives_cross_site_requests_and_strangers_knowing_its_id(edge: Edge):
    with edge.http(transport=_from("127.0.0.23")) as browser:
        r = browser.post("/auth/token", data={"username": "op-chen", "password": PASSWORD})
        token = r.json()["access_token"]
        cookie = browser.cookies["scgw_refresh"]
        assert cookie
        for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
            assert browser.post("/auth/refresh", headers=headers).status_code == 403
            assert browser.post("/auth/logout", headers=headers).status_code == 403
    session_id = jwt.decode(token, options={"verify_signature": False})["sid"]
    with edge.http(transport=_from("127.0.0.24"),
                   cookies={"scgw_refresh": session_id + ".x"}) as stranger:
        stranger.post("/auth/logout")
    with edge.http() as client:
        r = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["username"] == "op-chen"
