"""Tickets people can act on, over HTTP: dispatch only to grid workers, a timeline with every
step, SLA time left, the note for the worker, and the resident's phone for the worker only."""

from __future__ import annotations

import json

import orjson
import pytest
from pydantic import TypeAdapter

from api.schemas import TicketPublic
from gateway.users import UserRepository
from tests.api.conftest import PASSWORD, Api
from tests.conftest import T0

# Runs on SQLite and on PostgreSQL (docs/storage.md: which tests run on both).
pytestmark = pytest.mark.both_backends


def _dispatch(api: Api, ticket: int, assignee: str, **extra: object) -> tuple[int, dict]:
    r = api.client.post(f"/tickets/{ticket}/transitions", headers=api.headers("operator"),
                        json={"action": "dispatch", "assignee": assignee, **extra})
    return r.status_code, r.json()


def test_dispatch_goes_only_to_grid_workers_and_a_reassignment_is_recorded(api):
    UserRepository(api.gateway.store, api.gateway.clock).add(
        "gw-zhang", PASSWORD, "grid_worker", display_name="张磊", grid="G-02")
    ticket = api.sos_ticket_id  # Mr. Yang's SOS, grid G-01, dispatched to gw-wang by the rota
    for who, reason in (("wangfnag", "不是系统中的账号"), ("fam-yang", "不是网格员"),
                        ("gw-zhang", "跨网格派发请明确选择")):
        status, body = _dispatch(api, ticket, who, note="请立即到仁和游园查看杨德福")
        assert status == 422 and reason in body["detail"], (who, body)
    offered = api.client.get(f"/tickets/{ticket}/assignees", headers=api.headers("operator"))
    assert [(c["username"], c["same_grid"], c["on_duty"]) for c in offered.json()] == [
        ("gw-wang", True, True), ("gw-zhang", False, False)]
    status, body = _dispatch(api, ticket, "gw-zhang", other_grid=True,
                             note="请立即到仁和游园查看杨德福")
    assert status == 200 and (body["assignee"], body["assignee_name"]) == ("gw-zhang", "张磊")
    assert body["note"] == "请立即到仁和游园查看杨德福" and body["note_by"] == "op-chen"
    detail = api.client.get(f"/tickets/{ticket}", headers=api.headers("operator")).json()
    last = detail["events"][-1]
    assert (last["action"], last["actor"], last["detail"]) == ("dispatch", "op-chen", {
        "assignee": "gw-zhang", "previous": "gw-wang", "grid": "G-02", "other_grid": True})
    assert api.client.get(f"/tickets/{ticket}/assignees",
                          headers=api.headers("grid_worker")).status_code == 403


def test_the_detail_has_the_alert_the_steps_and_the_sla_in_words(api, clock):
    headers = api.headers("operator")
    ticket = api.client.get(f"/tickets/{api.sos_ticket_id}", headers=headers).json()
    assert [a["rule_id"] for a in ticket["alerts"]] == ["wristband.sos"]
    assert ticket["alerts"][0]["name_zh"] == ticket["rule_name_zh"] == "一键求助报警（手环/按钮）"
    assert ticket["category_zh"] == "紧急求助" and ticket["resident_name"] == "杨大爷"
    assert "wristband." not in ticket["description"]  # never a raw rule id for people
    assert [e["action"] for e in ticket["events"]] == ["collect", "dispatch"]
    assert ticket["events"][1]["detail"]["assignee"] == "gw-wang"
    assert (ticket["sla_clock"], ticket["overdue"]) == ("accept", False)
    assert ticket["sla_due"] == ticket["sla_accept_due"]
    # The worker does not accept within 5 minutes: the breach escalates, visibly.
    clock.advance(301)
    api.gateway.pipeline.call("tick", lambda now, tx: api.gateway.workflow.tick(now, tx),
                              clock.time())
    ticket = api.client.get(f"/tickets/{api.sos_ticket_id}", headers=headers).json()
    assert ticket["overdue"] is True and ticket["sla_breaches"] == ["accept"]
    assert ticket["escalated_to"] == "community_lead"
    assert ticket["events"][-1]["detail"] == {"clock": "accept", "level": "community_lead"}
    board = api.client.get("/tickets/board", headers=headers).json()
    assert board["dispatched"][0]["id"] == api.sos_ticket_id  # breached first


def test_the_residents_phone_is_for_the_grid_worker_on_the_ticket_and_each_view_is_audited(api):
    r = api.client.put("/residents/R-yang/contact", headers=api.headers("operator"), json={
        "phone": "138 0537 0001", "contact_name": "杨军", "contact_relation": "儿子",
        "contact_phone": "139 0537 0002"})
    assert r.status_code == 204
    path = f"/tickets/{api.sos_ticket_id}/contact"
    for role, code in (("operator", 403), ("family", 403), ("vendor", 403), ("admin", 403)):
        assert api.client.get(path, headers=api.headers(role)).status_code == code, role
    for _ in range(2):
        r = api.client.get(path, headers=api.headers("grid_worker"))
        assert r.status_code == 200 and r.json()["contact_phone"] == "139 0537 0002"
    reads = api.gateway.store.query(
        "SELECT actor FROM access_audit WHERE action = 'resident_contact' AND resident_id ="
        " 'R-yang' AND outcome = 'allowed'")
    assert [r["actor"] for r in reads] == ["gw-wang", "gw-wang"]
    bad = api.client.put("/residents/R-yang/contact", headers=api.headers("operator"),
                         json={"phone": "call me maybe"})
    assert bad.status_code == 422


def test_the_board_keeps_the_most_overdue_cards_and_counts_the_whole_column(api, clock):
    def operator() -> dict[str, str]:  # a fresh token: the clock moves by a day
        return {"Authorization": f"Bearer {api.login('op-chen')}"}

    def open_ticket(grid: str) -> int:
        r = api.client.post("/tickets", headers=operator(), json={
            "category": "access", "title": f"门禁 {grid}", "grid": grid})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    # Grids without a rota, so the tickets wait in "collected": two old ones whose dispatch
    # SLA runs out, then more newer ones still in time than the column shows.
    UserRepository(api.gateway.store, api.gateway.clock).add(
        "gw-zhang", PASSWORD, "grid_worker", display_name="张磊", grid="G-02")
    old = [open_ticket("G-02"), open_ticket("G-03")]
    clock.advance(24 * 3600)
    newer = [open_ticket("G-03" if i % 2 else "G-02") for i in range(8)]
    r = api.client.get("/tickets/board?per_state=3", headers=operator())
    assert r.status_code == 200
    collected = r.json()["collected"]
    # The oldest, breached cards are on the board, however many newer tickets came after.
    assert [t["id"] for t in collected[:2]] == old and all(t["overdue"] for t in collected[:2])
    assert len(collected) == 3 and collected[2]["id"] in newer
    totals = json.loads(r.headers["X-Board-Totals"])
    assert totals["collected"] == [10, 2]
    assert totals["closed"] == [0, 0]
    # A grid worker's columns and counts hold only its grid's (and its own) tickets.
    worker = {"Authorization": f"Bearer {api.login('gw-zhang')}"}
    mine = api.client.get("/tickets/board?per_state=50", headers=worker)
    grid_totals = json.loads(mine.headers["X-Board-Totals"])
    assert grid_totals["collected"] == [5, 1]
    assert {t["grid"] for t in mine.json()["collected"]} == {"G-02"}
    assert api.client.get("/tickets/board?per_state=0", headers=operator()).status_code == 422


def test_an_alert_names_its_ticket_in_lists_and_alone(api):
    headers = api.headers("operator")
    ticket = api.client.get(f"/tickets/{api.sos_ticket_id}", headers=headers).json()
    listed = api.client.get("/alerts?state=open&rule_id=wristband.sos", headers=headers).json()
    [sos] = [a for a in listed if a["id"] == ticket["alert_ids"][0]]
    assert (sos["ticket_id"], sos["ticket_code"]) == (ticket["id"], ticket["code"])
    alone = api.client.get(f"/alerts/{sos['id']}", headers=headers).json()
    assert (alone["ticket_id"], alone["ticket_code"]) == (ticket["id"], ticket["code"])
    # Filters still name the alert's own columns (grid, site …), not the ticket's.
    grid = api.client.get("/alerts?state=open", headers=api.headers("grid_worker")).json()
    assert grid and {a["grid"] for a in grid} == {"G-01"}


def test_each_board_card_is_what_the_ticket_list_says_and_the_totals_come_with_it(
        api, publisher):
    # Tickets in several columns, with notes, an alert, a breach: the board's cards are built
    # without the model, the list's with it; they must be the same.
    publisher.publish("scgw/v1/wristband/WB-1002/event", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 7, "type": "fall"}))
    assert api.gateway.pipeline.wait_processed(3, 10)
    headers = api.headers("operator")
    r = api.client.post(f"/tickets/{api.sos_ticket_id}/comments", headers=headers,
                        json={"text": "已电话联系家属"})
    assert r.status_code == 201, r.text
    board = api.client.get("/tickets/board", headers=headers)
    assert board.status_code == 200 and board.headers["content-type"] == "application/json"
    cards = [c for column in board.json().values() for c in column]
    TypeAdapter(dict[str, list[TicketPublic]]).validate_python(board.json())
    listed = {t["id"]: t for t in api.client.get("/tickets", headers=headers).json()}
    assert {c["state"] for c in cards} == {"collected", "dispatched"}
    assert all(card == listed[card["id"]] for card in cards)
    totals = orjson.loads(board.headers["X-Board-Totals"])
    assert sum(total for total, _ in totals.values()) == len(listed)
    assert any(card["note"] == "已电话联系家属" for card in cards)
