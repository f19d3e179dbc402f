"""Bodies nobody should be able to make the gateway hold: a huge JSON body sent with no
account (FastAPI reads and parses a body before the login check), declared or chunked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import Api
from tests.security.conftest import Edge

HUGE = 3 * 1024 * 1024


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"current_password": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'", "new_password": "whatever-123"}'


@pytest.mark.parametrize("path", ["/auth/password", "/geofences", "/tickets/requests",
                                  "/vendor/validate", "/users"])
def test_a_huge_body_is_refused_before_it_is_read(api: Api, path: str):
    c = api.client
    body = b'{"text": "' + b"x" * HUGE + b'"}'
    r = c.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json() == {"detail": "request body too large"}, r.text
    # Counted as it arrives when no length is declared (chunked), with or without a token.
    for headers in ({}, api.headers("family")):
        r = c.post(path, content=_chunks(HUGE), headers={
            "content-type": "application/json", **headers})
        assert r.status_code == 413, (path, r.status_code)


def test_ordinary_bodies_and_the_plate_pages_photos_still_pass(api: Api):
    c = api.client
    r = c.post("/vendor/validate", headers=api.headers("vendor"), json={
        "topic": "scgw/v1/wristband/WB-X/telemetry",
        "payload": {"ts": 1, "heart_rate_bpm": 70, "note": "y" * 200_000}})
    assert r.status_code == 200 and r.json()["outcome"] == "refused"  # too large a payload
    r = c.post("/auth/password", headers=api.headers("family"),
               json={"current_password": "wrong-one", "new_password": "new-password-1"})
    assert r.status_code == 400
    # The plate page takes photos up to plates.max_body_bytes (its own check answers).
    r = c.post("/plates/open/DP-3-1-502.1.bad/requests", content=b"x" * HUGE,
               headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 404


def test_the_production_server_cuts_a_chunked_body_off(edge: Edge):
    with edge.http() as client:
        r = client.post("/auth/token", content=_chunks(HUGE),
                        headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413
    with edge.http() as client:  # and goes on serving
        assert client.get("/ready").status_code == 200
        r = client.post("/auth/password", content=b"{" + b" " * HUGE + b"}",
                        headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_a_family_cannot_make_thousands_of_safe_zones(api: Api):
    # Red team round 3b: 8,000 zones for one elder, each tested against every fix of the
    # band on the pipeline thread, delayed another family's SOS by seconds.
    from api.routes.geofences import ZONES_PER_RESIDENT

    c, family = api.client, api.headers("family")
    square = [[35.41, 116.58], [35.41, 116.59], [35.42, 116.59], [35.42, 116.58]]
    made = [c.post("/geofences", headers=family, json={
        "resident_id": "R-yang", "name": f"z{n}", "polygon": square}).status_code
        for n in range(ZONES_PER_RESIDENT + 1)]
    assert made == [201] * ZONES_PER_RESIDENT + [409]
    r = c.post("/geofences", headers=family, json={
        "resident_id": "R-yang", "name": "one more", "polygon": square})
    assert r.status_code == 409 and "change or delete one" in r.json()["detail"]
    assert len(c.get("/geofences", headers=family,
                     params={"resident_id": "R-yang"}).json()) == ZONES_PER_RESIDENT
