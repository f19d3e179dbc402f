"""Every legal transition, a table of illegal ones, routing, audit, resident requests."""

from __future__ import annotations

import itertools

import pytest

from gateway.workflow.states import STATES, TRANSITIONS, TransitionError
from tests.conftest import T0  # Saturday 2026-11-21 12:00 in Jining

PLACE_G01 = {"site": "jining-renmin", "building": "3", "unit": "1", "grid": "G-01"}
PLACE_NOBODY = {"site": "jining-renmin", "grid": "G-99"}

# How to bring a fresh ticket (queued in the control room: grid G-99 has no rota) into a state.
PATHS: dict[str, list[tuple[str, dict]]] = {
    "collected": [],
    "dispatched": [("dispatch", {"assignee": "gw-li"})],
    "handling": [("dispatch", {"assignee": "gw-li"}), ("accept", {})],
    "feedback": [("dispatch", {"assignee": "gw-li"}), ("accept", {}),
                 ("report", {"result": "done"})],
    "closed": [("dispatch", {"assignee": "gw-li"}), ("accept", {}),
               ("report", {"result": "done"}), ("close", {"rating": 5})],
    "escalated": [("escalate", {"department": "police"})],
    "transferred": [("transfer", {})],
    "rejected": [("reject", {"reason": "not ours"})],
    "duplicate": [("mark_duplicate", {"reason": "same as 1", "duplicate_of": 1})],
}
ARGS = {
    "dispatch": {"assignee": "gw-zhang"}, "report": {"result": "fixed the door"},
    "close": {"rating": 4}, "escalate": {"department": "fire"},
    "reject": {"reason": "spam"}, "mark_duplicate": {"reason": "dup", "duplicate_of": 1},
}


def _ticket_in(service, store, state, source="resident"):
    with store.transaction() as tx:
        t = service.open_ticket(tx, source=source, category="property", now=T0,
                                place=PLACE_NOBODY, actor="op-chen")
        for action, kw in PATHS[state]:
            t = service.transition(tx, t.id, action, actor="op-chen", now=T0 + 60, **kw)
    assert t.state == state
    return t


@pytest.mark.parametrize(("action", "start"), sorted(TRANSITIONS), ids=lambda v: str(v))
def test_every_legal_transition_lands_in_its_state_and_is_audited(service, store, action, start):
    t = _ticket_in(service, store, start)
    with store.transaction() as tx:
        after = service.transition(tx, t.id, action, actor="op-chen", now=T0 + 120,
                                   note="by the book", **ARGS.get(action, {}))
        trail = tx.tickets.events(t.id)
    assert after.state == TRANSITIONS[(action, start)]
    last = trail[-1]
    assert (last["actor"], last["action"], last["from_state"], last["to_state"], last["note"]) == (
        "op-chen", action, start, after.state, "by the book")
    assert last["at"] == T0 + 120


ILLEGAL = [(a, s) for a, s in itertools.product(
    sorted({a for a, _ in TRANSITIONS}), STATES) if (a, s) not in TRANSITIONS]


@pytest.mark.parametrize(("action", "start"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_transitions_are_refused_and_change_nothing(service, store, action, start):
    t = _ticket_in(service, store, start)
    with store.transaction() as tx:
        n_events = len(tx.tickets.events(t.id))
        with pytest.raises(TransitionError, match=f"cannot {action} a ticket that is {start}"):
            service.transition(tx, t.id, action, actor="x", now=T0 + 120, **ARGS.get(action, {}))
        assert tx.tickets.get(t.id).state == start
        assert len(tx.tickets.events(t.id)) == n_events


@pytest.mark.both_backends
def test_actions_missing_what_they_need_are_refused(service, store):
    t = _ticket_in(service, store, "collected")
    with store.transaction() as tx:
        with pytest.raises(TransitionError, match="needs an assignee"):
            service.transition(tx, t.id, "dispatch", actor="x", now=T0)
        with pytest.raises(TransitionError, match="needs a reason"):
            service.transition(tx, t.id, "reject", actor="x", now=T0)
        with pytest.raises(TransitionError, match="unknown department"):
            service.transition(tx, t.id, "escalate", actor="x", now=T0, department="army")
    fb = _ticket_in(service, store, "feedback")
    with store.transaction() as tx, pytest.raises(TransitionError, match="satisfaction"):
        service.transition(tx, fb.id, "close", actor="x", now=T0)
    with store.transaction() as tx, pytest.raises(TransitionError, match=r"1\.\.5"):
        service.transition(tx, fb.id, "close", actor="x", now=T0, rating=6)


@pytest.mark.both_backends
def test_routing_to_the_grid_worker_on_duty_else_the_control_room(service, store):
    with store.transaction() as tx:
        noon = service.open_ticket(tx, source="operator", category="property", now=T0,
                                   place=PLACE_G01)
        night = service.open_ticket(tx, source="operator", category="property",
                                    now=T0 + 11 * 3600, place=PLACE_G01)  # 23:00 local
        weekend_g02 = service.open_ticket(tx, source="operator", category="sanitation", now=T0,
                                          place={"grid": "G-02"})  # Saturday: off duty
        nobody = service.open_ticket(tx, source="operator", category="property", now=T0,
                                     place=PLACE_NOBODY)
    assert (noon.state, noon.assignee) == ("dispatched", "gw-wang")
    assert (night.state, night.assignee) == ("dispatched", "gw-night")
    assert (weekend_g02.state, weekend_g02.team) == ("collected", "control_room")
    assert (nobody.state, nobody.assignee, nobody.team) == ("collected", None, "control_room")


@pytest.mark.both_backends
def test_resident_request_resolves_the_door_plate_and_closes_with_a_rating(service, store):
    with store.transaction() as tx:
        t = service.submit_request(tx, category="sanitation", text="楼道堆放杂物",
                                   door_plate="DP-3-1-502", now=T0, actor="resident-li",
                                   resident_id="R-li")
    assert (t.building, t.unit, t.room, t.grid, t.source) == ("3", "1", "502", "G-01", "resident")
    assert t.state == "dispatched" and t.assignee == "gw-wang"
    with store.transaction() as tx:
        service.transition(tx, t.id, "accept", actor="gw-wang", now=T0 + 60)
        service.transition(tx, t.id, "report", actor="gw-wang", now=T0 + 600, result="已清理")
        closed = service.transition(tx, t.id, "close", actor="resident-li", now=T0 + 700,
                                    rating=5)
    assert (closed.state, closed.rating, closed.result) == ("closed", 5, "已清理")
    with store.transaction() as tx:
        with pytest.raises(LookupError, match="door-plate"):
            service.submit_request(tx, category="sanitation", text="x", door_plate="NOPE",
                                   now=T0, actor="r")
        with pytest.raises(ValueError, match="unknown category"):
            service.submit_request(tx, category="karaoke", text="x", door_plate="DP-3-1-502",
                                   now=T0, actor="r")


@pytest.mark.both_backends
def test_big_matter_categories_go_straight_to_the_12345_outbox(service, store):
    with store.transaction() as tx:
        t = service.open_ticket(tx, source="resident", category="illegal_construction", now=T0,
                                place=PLACE_G01, description="顶楼违建")
        rows = tx.connection.execute(
            "SELECT kind, idempotency_key, state FROM outbox WHERE ticket_id = ?", (t.id,)
        ).fetchall()
    assert t.state == "transferred" and t.external_state == "pending"
    assert rows == [("transfer", f"scgw-ticket-{t.id}-transfer", "pending")]


@pytest.mark.both_backends
def test_critical_category_notifies_control_room_and_family_at_once(service, store):
    with store.transaction() as tx:
        t = service.open_ticket(tx, source="operator", category="fall", now=T0,
                                place=PLACE_G01, resident_id="R-yang")
    # Committed with the ticket, in the transaction that opened it.
    notes = [(r["audience"], r["recipient"], r["kind"]) for r in store.query(
        "SELECT audience, recipient, kind FROM notifications WHERE ticket_id = ? ORDER BY id",
        (t.id,))]
    assert ("control_room", "control_room", "critical_ticket") in notes
    assert ("family", "fam-yang-son", "critical_ticket") in notes
    assert ("user", "gw-wang", "ticket_dispatched") in notes


@pytest.mark.both_backends
def test_same_dedup_key_never_opens_a_second_ticket(service, store):
    with store.transaction() as tx:
        a = service.open_ticket(tx, source="operator", category="other", now=T0, dedup_key="k1")
        b = service.open_ticket(tx, source="operator", category="other", now=T0 + 5,
                                dedup_key="k1")
    n = store.query("SELECT count(*) AS n FROM tickets")[0]["n"]  # as committed
    assert a.id == b.id and n == 1


@pytest.mark.both_backends
def test_a_ticket_opened_by_an_alert_has_the_alerts_place_and_names_it(service, store):
    from rules.records import Alert, AlertChange

    alert = Alert(7, "wb.sos", "WB-9", "wristband", "jining-renmin", "3", "1", "G-01", None,
                  "critical", "sos", "active", T0, T0, T0)
    with store.transaction() as tx:
        service.on_alert_change(AlertChange(alert, "opened", "system", T0, None), tx)
        ticket = tx.tickets.for_alert(7)
    assert ticket is not None
    assert ticket.place == alert.place
    assert "3号楼1单元" in ticket.description


@pytest.mark.both_backends
@pytest.mark.parametrize(("category", "place", "state"), [
    ("property", PLACE_G01, "dispatched"),  # a grid worker on duty
    ("property", PLACE_NOBODY, "collected"),  # queued in the control room
    ("illegal_construction", PLACE_G01, "transferred"),  # 大事: handed to 12345
])
def test_a_new_tickets_code_is_stored_whichever_way_it_is_routed(service, store, category,
                                                                  place, state):
    with store.transaction() as tx:
        t = service.open_ticket(tx, source="operator", category=category, now=T0, place=place)
    assert t.state == state
    # T0 is 2026-11-21 in Jining: the code is the local date and the id.
    assert t.code == f"GD20261121-{t.id:05d}"
    stored = store.query("SELECT code, state FROM tickets WHERE id = ?", (t.id,))[0]
    assert (stored["code"], stored["state"]) == (t.code, state)
