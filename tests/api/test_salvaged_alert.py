"""An alert raised by a salvaged urgent event tells the operator what was wrong with the
payload (`payload_problem`): in the alert list, the alert, the ticket and the live stream."""

from __future__ import annotations

import orjson

from tests.api.conftest import Api
from tests.conftest import T0
from tests.support.clients import Publisher


def test_the_operator_sees_that_an_alert_came_from_a_salvaged_payload(
        api: Api, publisher: Publisher):
    c, operator = api.client, api.headers("operator")
    with c.websocket_connect(f"/ws?token={api.tokens['operator']}") as ws:
        assert ws.receive_json()["type"] == "hello"
        # A fence intrusion without its zone, the time in epoch seconds: paged all the same.
        publisher.publish("scgw/v1/access/AC-2001/event", orjson.dumps(
            {"ts": int(T0), "seq": 7, "type": "fence_intrusion"}))
        live = ws.receive_json()
        while live["type"] != "alert":
            live = ws.receive_json()
    problem = live["alert"]["payload_problem"]
    assert problem and "zone" in problem and "epoch seconds" in problem, live
    listed = c.get("/alerts", params={"rule_id": "access.fence_intrusion"},
                   headers=operator).json()
    assert [a["payload_problem"] for a in listed] == [problem]
    one = c.get(f"/alerts/{listed[0]['id']}", headers=operator).json()
    assert one["payload_problem"] == problem
    ticket = c.get(f"/tickets/{one['ticket_id']}", headers=operator).json()
    assert [a["payload_problem"] for a in ticket["alerts"]] == [problem]
    # An alert from a sound payload has none.
    sos = c.get(f"/alerts/{api.sos_alert_id}", headers=operator).json()
    assert sos["payload_problem"] is None
    grid = c.get(f"/alerts/{listed[0]['id']}", headers=api.headers("grid_worker")).json()
    assert grid["payload_problem"] == problem
