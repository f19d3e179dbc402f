"""Attacks on the open door-plate page: a burst of parallel submissions from one plate, and
photos that are small on the wire but enormous once decoded, sent all at once."""

from __future__ import annotations

import asyncio
import io
import threading
from typing import Any

import httpx
import pytest
from PIL import Image

from api.routes import plates
from tests.api.conftest import Api


def _tokens(api: Api) -> dict[str, str]:
    """Each seeded plate's link token (keys issued as `scgw plates export` would)."""
    from api.routes.plates import Desk

    app = api.client.app
    with api.gateway.store.transaction() as tx:
        tx.people.door_plates([("DP-7-1-101", "jining-renmin", "7", "1", "101", "G-01")])
    if not hasattr(app.state, "plate_desk"):
        app.state.plate_desk = Desk(api.gateway)
    desk = app.state.plate_desk.desk
    return {code: desk.tokens.token(code, v, s)
            for code, (v, s) in desk.issue(["DP-3-1-502", "DP-7-1-101"], "test").items()}


def _form(n: int, photo: bytes | None = None) -> dict[str, Any]:
    files = {"photo": ("p.png", photo, "image/png")} if photo is not None else None
    return {"data": {"category": "property", "text": f"楼道灯不亮 {n}"}, "files": files}


async def _post(app: Any, address: str, path: str, **kw: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        return await c.post(path, **kw)


def test_a_burst_of_parallel_submissions_opens_no_more_than_the_plates_limit(api: Api):
    token = _tokens(api)["DP-3-1-502"]
    path = f"/plates/open/{token}/requests"

    async def burst() -> list[httpx.Response]:
        # Many phones (addresses) at once, all with this plate's link.
        return list(await asyncio.gather(*(
            _post(api.client.app, f"10.30.0.{n + 1}", path, **_form(n)) for n in range(12))))

    codes = sorted(r.status_code for r in asyncio.run(burst()))
    assert codes == [201] * 3 + [429] * 9, codes  # plates.per_plate: 3 a minute
    opened = api.gateway.store.query(
        "SELECT count(*) AS n FROM plate_requests WHERE code = 'DP-3-1-502'")[0]["n"]
    assert opened == 3
    # Another home's plate is not held back by the flood.
    other = _tokens(api)["DP-7-1-101"]
    r = asyncio.run(_post(api.client.app, "10.30.1.1", f"/plates/open/{other}/requests",
                          **_form(99)))
    assert r.status_code == 201


def _bomb() -> bytes:
    """A few kilobytes of PNG that decode to 38 megapixels (hundreds of MB to re-encode)."""
    out = io.BytesIO()
    Image.new("1", (6000, 6300)).save(out, format="PNG")
    assert len(out.getvalue()) < 10_000
    return out.getvalue()


def _small() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (20, 120, 20)).save(out, format="PNG")
    return out.getvalue()


def test_photos_are_decoded_a_few_at_a_time_and_the_rest_are_told_to_wait(
        api: Api, monkeypatch: pytest.MonkeyPatch):
    tokens = _tokens(api)
    inside = threading.Semaphore(0)
    release = threading.Event()
    decoded = plates.clean_photo

    def slow_clean(raw: bytes, **kw: Any) -> Any:
        inside.release()
        assert release.wait(30)
        return decoded(raw, **kw)

    monkeypatch.setattr(plates, "clean_photo", slow_clean)
    monkeypatch.setattr(plates, "PHOTO_WAIT_S", 0.05)
    bomb, small = _bomb(), _small()

    async def attack() -> tuple[list[httpx.Response], httpx.Response]:
        app = api.client.app
        running = [asyncio.ensure_future(_post(
            app, f"10.31.0.{n + 1}", f"/plates/open/{tokens[code]}/requests",
            **_form(n, small))) for n, code in enumerate(["DP-3-1-502", "DP-7-1-101"])]
        for _ in running:  # both decodes have started (and hold their memory)
            assert await asyncio.to_thread(inside.acquire, True, 30)
        third = await _post(app, "10.31.0.9", f"/plates/open/{tokens['DP-3-1-502']}/requests",
                            **_form(9, bomb))
        release.set()
        return list(await asyncio.gather(*running)), third

    done, third = asyncio.run(attack())
    assert third.status_code == 503 and "Retry-After" in third.headers, third.text
    assert "Traceback" not in third.text
    assert [r.status_code for r in done] == [201, 201], [r.text for r in done]


def test_a_tracking_link_rates_only_a_result_the_community_reported(api: Api):
    token = _tokens(api)["DP-3-1-502"]
    r = asyncio.run(_post(api.client.app, "10.32.0.1", f"/plates/open/{token}/requests",
                          **_form(1)))
    assert r.status_code == 201, r.text
    track = r.json()["track"]
    ticket = api.gateway.store.query("SELECT ticket_id FROM plate_requests")[0]["ticket_id"]
    # Handed to the 12345 channel: the channel, not the link's holder, says it is done.
    moved = api.client.post(f"/tickets/{ticket}/transitions", headers=api.headers("operator"),
                            json={"action": "transfer", "note": "12345"})
    assert moved.json()["state"] == "transferred", moved.text
    rated = api.client.post(f"/plates/track/{track}/rating", json={"rating": 1})
    assert rated.status_code == 409, rated.text
    view = api.client.get(f"/plates/track/{track}").json()
    assert view["state"] == "transferred" and view["rating"] is None
