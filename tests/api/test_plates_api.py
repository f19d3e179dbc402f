"""The door-plate page's API: a signed link opens one unit only, a request with a photo
becomes a ticket the resident follows and rates, floods are refused without harm."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from api.app import create_app
from gateway.plates import PlateTokens
from gateway.storage.admin_repo import AdminReads
from tests.api.conftest import PASSWORD, Api

PLATES = [("DP-3-1-602", "3", "1", "602", "G-01"), ("DP-5-2-301", "5", "2", "301", "G-02")]


def _plates(api: Api) -> dict[str, str]:
    """Every plate's token (issuing keys as an export would)."""
    gw = api.gateway
    with gw.store.transaction() as tx:
        tx.people.door_plates([(c, "jining-renmin", b, u, r, g) for c, b, u, r, g in PLATES])
    desk = _desk(api)
    codes = ["DP-3-1-502", *(p[0] for p in PLATES)]
    return {code: desk.tokens.token(code, v, s) for code, (v, s) in
            desk.issue(codes, "test").items()}


def _desk(api: Api) -> Any:
    from api.routes.plates import Desk

    app = api.client.app
    if not hasattr(app.state, "plate_desk"):
        app.state.plate_desk = Desk(api.gateway)
    return app.state.plate_desk.desk


def _client(api: Api, address: str) -> TestClient:
    return TestClient(api.client.app, client=(address, 40000))


def _photo(exif: bool = True) -> bytes:
    image = Image.new("RGB", (3000, 2000), (200, 40, 40))
    tags = Image.Exif()
    if exif:
        tags[0x0112] = 6  # orientation: rotate 90° to show upright
        tags[0x010F] = "PhoneMaker"
        tags[0x0110] = "Model X"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=tags.tobytes(), quality=90)
    return out.getvalue()


def _submit(client: TestClient, token: str, text: str = "楼道灯不亮", **extra: Any) -> Any:
    files = {"photo": ("p.jpg", extra.pop("photo"), "image/jpeg")} if "photo" in extra else None
    data = {"category": "property", "text": text, **extra}
    return client.post(f"/plates/open/{token}/requests", data=data, files=files)


def test_a_plate_link_opens_its_own_unit_and_nothing_else(api):
    tokens = _plates(api)
    c = api.client
    opened = c.get(f"/plates/open/{tokens['DP-3-1-502']}").json()
    assert opened["label"] == "3号楼1单元502室" and opened["code"] == "DP-3-1-502"
    assert [k["key"] for k in opened["categories"]][:2] == ["property", "sanitation"]
    assert "sos" not in [k["key"] for k in opened["categories"]]
    # Another unit's code with this plate's signature, a changed signature, garbage: refused.
    _, version, mac = PlateTokens.parse(tokens["DP-3-1-502"])
    # A changed signature: its first character carries six whole bits (the last one only
    # two, and a random signature ends in "AA" one time in 256).
    changed = ("B" if mac[0] != "B" else "C") + mac[1:]
    for forged in (f"DP-3-1-602.{version}.{mac}", f"DP-3-1-502.{version}.{changed}",
                   f"DP-3-1-502.{version + 1}.{mac}", "not-a-plate-token",
                   # A digit of another script (red team round 8: an unauthenticated 500).
                   f"DP-3-1-502.%C2%B2.{mac}", f"DP-3-1-502.%E0%A5%A8.{mac}"):
        r = c.get(f"/plates/open/{forged}")
        assert r.status_code == 404 and "门牌码已失效" in r.json()["detail"], forged
    assert _submit(c, f"DP-3-1-602.{version}.{mac}").status_code == 404
    # Rotating one plate retires its printed link; every other plate keeps working.
    admin = api.headers("admin")
    rotated = c.post("/plates/DP-3-1-502/rotate", headers=admin).json()
    assert rotated["version"] == 2 and rotated["url"].endswith(
        PlateTokens(b"").parse(rotated["url"].rsplit("/", 1)[1])[2])
    assert c.get(f"/plates/open/{tokens['DP-3-1-502']}").status_code == 404
    assert c.get(f"/plates/open/{rotated['url'].rsplit('/', 1)[1]}").status_code == 200
    assert c.get(f"/plates/open/{tokens['DP-5-2-301']}").status_code == 200
    assert c.post("/plates/DP-3-1-502/rotate", headers=api.headers("operator")).status_code == 403
    [last, *_] = AdminReads(api.gateway.store).admin_actions(target="DP-3-1-502")
    assert last["action"] == "plate_rotate"


def test_a_request_with_a_photo_is_followed_to_its_rating(api):
    tokens = _plates(api)
    c = api.client
    r = _submit(c, tokens["DP-3-1-502"], phone="138 0000 1234", submission_id="sub-0001-abcd",
                photo=_photo())
    assert r.status_code == 201, r.text
    receipt = r.json()
    again = _submit(c, tokens["DP-3-1-502"], phone="138 0000 1234",
                    submission_id="sub-0001-abcd", photo=_photo())
    assert again.status_code == 200 and again.json() == {**receipt, "created": False}
    gw = api.gateway
    ticket = gw.store.query("SELECT * FROM tickets WHERE code = ?", (receipt["ticket_code"],))[0]
    assert (ticket["source"], ticket["building"], ticket["room"], ticket["grid"]) == (
        "resident", "3", "502", "G-01")
    assert "138" not in ticket["description"]  # the phone is not in the ticket's text
    # The photo: re-encoded, scaled, upright, without EXIF.
    photo_id = int(ticket["attachments"].split(":")[1].rstrip('"]'))
    wk = api.headers("grid_worker")
    picture = c.get(f"/plates/photos/{photo_id}", headers=wk)
    stored = Image.open(io.BytesIO(picture.content))
    assert picture.headers["content-type"] == "image/jpeg"
    assert (stored.width, stored.height) == (1067, 1600)  # rotated by its orientation
    assert not stored.getexif() and "exif" not in stored.info
    assert c.get(f"/plates/photos/{photo_id}", headers=api.headers("family")).status_code == 403
    # The worker sees who to call back; the read is in the access audit.
    who = c.get(f"/plates/requests/{ticket['id']}", headers=wk).json()
    assert who["phone"] == "138 0000 1234" and who["photos"] == [photo_id]
    audit = c.get("/audit/access?action=reporter_phone", headers=api.headers("admin")).json()
    assert audit[0]["actor"] == "gw-wang"
    # The resident follows it: dispatched on arrival (gw-wang is on duty), then handled.
    track = c.get(f"/plates/track/{receipt['track']}").json()
    assert track["step"] == "dispatched" and track["steps"][1]["at"] is not None
    assert "assignee" not in track and track["photos"] == 1
    for body in ({"action": "accept"}, {"action": "report", "result": "已更换灯泡"}):
        assert c.post(f"/tickets/{ticket['id']}/transitions", json=body,
                      headers=wk).status_code == 200
    track = c.get(f"/plates/track/{receipt['track']}").json()
    assert (track["step"], track["result"], track["can_rate"]) == ("feedback", "已更换灯泡", True)
    rated = c.post(f"/plates/track/{receipt['track']}/rating", json={"rating": 5}).json()
    assert (rated["state"], rated["rating"], rated["step"]) == ("closed", 5, "closed")
    assert c.post(f"/plates/track/{receipt['track']}/rating",
                  json={"rating": 1}).status_code == 409
    assert c.get("/plates/track/0123456789abcdef0123").status_code == 404


def test_a_flood_from_one_plate_is_refused_and_nothing_else_degrades(api):
    tokens = _plates(api)
    flood = tokens["DP-3-1-502"]
    codes = []
    for n in range(120):  # 120 submissions within a minute, from as many addresses
        r = _submit(_client(api, f"10.0.{n // 250}.{n % 250 + 1}"), flood, text=f"刷屏 {n}")
        codes.append(r.status_code)
        if r.status_code == 429:
            assert "本门牌每 1 分钟最多提交 3 条" in r.json()["detail"]
            assert int(r.headers["retry-after"]) <= 60
    assert codes.count(201) == 3 and codes.count(429) == 117
    assert len(api.gateway.store.query(
        "SELECT id FROM tickets WHERE source = 'resident'")) == 3
    # Meanwhile: other plates, and the console, work as before.
    assert _submit(_client(api, "10.9.9.9"), tokens["DP-5-2-301"]).status_code == 201
    assert api.client.get("/tickets/board", headers=api.headers("operator")).status_code == 200
    # One address trying every plate (or guessing links) is held back too, others are not.
    tried = [_submit(_client(api, "10.7.7.7"), tokens["DP-3-1-602"] if n == 0 else f"x{n}"
                     ".1.abcdefabcdefabcdefabcd").status_code for n in range(40)]
    assert tried[0] == 201 and set(tried[1:30]) == {404} and set(tried[30:]) == {429}
    assert _submit(_client(api, "10.7.7.8"), tokens["DP-3-1-602"]).status_code == 201
    # A minute later the plate may send again (the hour's limit still counts the first 3).
    api.gateway.clock.advance(61)
    assert _submit(_client(api, "10.8.8.8"), flood).status_code == 201


def test_photos_and_bodies_that_are_refused(api):
    tokens = _plates(api)
    c = api.client
    token = tokens["DP-5-2-301"]
    big = c.post(f"/plates/open/{token}/requests", content=b"x" * 100,
                 headers={"content-type": "multipart/form-data; boundary=x",
                          "content-length": str(13 * 1024 * 1024)})
    assert big.status_code in (413, 400)  # refused on the declared size before parsing
    assert _submit(c, token, photo=b"not a picture at all").status_code == 422
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, format="PNG")
    refused = _submit(c, token, photo=bomb.getvalue())
    assert refused.status_code == 422 and "pixels" in refused.json()["detail"]
    assert _submit(c, token, category="sos").status_code == 422
    assert _submit(c, token, text="   ").status_code == 422
    assert _submit(c, token, phone="call me maybe").status_code == 422
    assert c.get("/plates", headers=api.headers("admin")).status_code == 200
    assert c.get("/plates", headers=api.headers("operator")).status_code == 403


def test_production_without_a_plate_key_says_so(make_gateway, tmp_path):
    gw = make_gateway()
    gw.settings = gw.settings.model_copy(update={"environment": "production"})
    client = TestClient(create_app(gw))
    r = client.get("/plates/open/DP-3-1-502.1.abcdefabcdefabcdefabcd")
    assert r.status_code == 503 and "SCGW_PLATES__TOKEN_KEY" in r.json()["detail"]
    assert PASSWORD  # the module's accounts are not needed here
