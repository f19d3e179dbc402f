"""A family files everyday requests for its elder, at the pace of a door plate, and can never
bury the control room's SOS ticket under them.

Red team round 4: one family login filed 2,300 urgent "SOS" and "fall" requests at any door
plate (115 a second, no limit); a genuine SOS ticket then fell off the board's column.
"""

from __future__ import annotations

import orjson

from tests.api.conftest import Api
from tests.support.clients import Publisher
from tests.support.waiting import wait_for


def _file(api: Api, category: str, text: str = "楼道灯坏了", plate: str = "DP-3-1-502") -> int:
    return api.client.post("/tickets/requests", headers=api.headers("family"), json={
        "category": category, "text": text, "door_plate": plate,
        "resident_id": "R-yang"}).status_code


def test_a_family_cannot_file_an_alarm_category(api: Api):
    for category in ("sos", "fall", "fire_safety", "public_alarm", "health", "falling_object"):
        assert _file(api, category) == 422, category
    assert _file(api, "property") == 201


def test_a_silence_of_a_rule_nobody_has_is_refused(api: Api):
    # Red team round 4 re-check: `WRISTBAND.SOS` was accepted, muted nothing, said nothing.
    for rule_id in ("WRISTBAND.SOS", "wristband.sos ", "nope"):
        r = api.client.post("/silences", headers=api.headers("operator"), json={
            "rule_id": rule_id, "device_id": "WB-1002", "duration_s": 600, "reason": "x"})
        assert r.status_code == 422 and "no rule" in r.text, rule_id


def test_a_family_files_at_the_pace_of_a_door_plate(api: Api, clock):
    assert [_file(api, "property", f"第 {n} 件") for n in range(4)] == [201, 201, 201, 429]
    r = api.client.post("/tickets/requests", headers=api.headers("family"), json={
        "category": "sanitation", "text": "x", "door_plate": "DP-3-1-502",
        "resident_id": "R-yang"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # Another account is not held up by this one; operators are not limited at all.
    for n in range(4):
        assert api.client.post("/tickets/requests", headers=api.headers("operator"), json={
            "category": "property", "text": f"电话报修 {n}", "door_plate": "DP-3-1-502"},
        ).status_code == 201
    clock.advance(61)
    assert _file(api, "property") == 201


def test_overdue_everyday_tickets_never_push_an_sos_off_the_board(api: Api, clock,
                                                                   publisher: Publisher):
    with api.gateway.store.transaction() as tx:  # a plate in G-02, which has no rota
        tx.connection.execute("INSERT INTO door_plates VALUES ('DP-5-2-301', 'jining-renmin',"
                              " '5', '2', '301', 'G-02')")
    for n in range(3):
        assert _file(api, "property", f"报修 {n}", plate="DP-5-2-301") == 201
    clock.advance(6 * 3600)  # every one of them far past its SLAs; then Mrs. Li's SOS (G-02)
    publisher.publish("scgw/v1/wristband/WB-1002/event", orjson.dumps(
        {"ts": int(clock.time() * 1000), "seq": 1, "type": "sos"}))
    assert wait_for(lambda: len(api.gateway.store.query(
        "SELECT id FROM tickets WHERE category = 'sos'")) == 2, 10)
    operator = {"Authorization": f"Bearer {api.login('op-chen')}"}
    board = api.client.get("/tickets/board?per_state=2", headers=operator).json()
    for ticket in api.gateway.store.query("SELECT id, state FROM tickets WHERE category = 'sos'"):
        assert ticket["id"] in [t["id"] for t in board[ticket["state"]]], ticket
