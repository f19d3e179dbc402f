"""SLA breach escalation, 12345 delivery to a real HTTP server, reminders exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import orjson
import pytest

from gateway.clock import ManualClock
from gateway.workflow.config import WorkflowSettings
from gateway.workflow.outbox import OutboxSender
from gateway.workflow.reminders import upsert_asset
from tests.conftest import T0
from tests.workflow.conftest import make_service

# Runs on SQLite and on PostgreSQL (docs/storage.md: which tests run on both).
pytestmark = pytest.mark.both_backends


def _notes(store, ticket_id):
    return store.query("SELECT audience, recipient, kind FROM notifications WHERE ticket_id = ?"
                       " ORDER BY id", (ticket_id,))


def test_sla_breaches_escalate_one_level_each_and_only_once(service, store):
    with store.transaction() as tx:
        t = service.open_ticket(tx, source="operator", category="property", now=T0,
                                place={"grid": "G-99"})  # normal: dispatch within 1 h
    for now in (T0 + 3599, T0 + 3601, T0 + 3700):
        with store.transaction() as tx:
            service.tick(now, tx)
    t = store.query("SELECT escalation_level, sla_breaches FROM tickets WHERE id = ?", (t.id,))[0]
    assert t == {"escalation_level": 1, "sla_breaches": '["dispatch"]'}
    with store.transaction() as tx:
        service.transition(tx, 1, "dispatch", actor="op", now=T0 + 4000, assignee="gw-li")
        service.tick(T0 + 4000 + 14_399, tx)  # accept SLA: 4 h
    assert store.query("SELECT escalation_level FROM tickets")[0]["escalation_level"] == 1
    with store.transaction() as tx:
        service.tick(T0 + 4000 + 14_401, tx)
        service.tick(T0 + 4000 + 99_000, tx)  # resolve SLA (48 h) not yet passed
    row = store.query("SELECT escalation_level, sla_breaches FROM tickets")[0]
    assert row == {"escalation_level": 2, "sla_breaches": '["dispatch","accept"]'}
    breaches = [n for n in _notes(store, 1) if n["kind"] == "sla_breach"]
    assert [n["recipient"] for n in breaches] == ["community_lead", "street_office"]
    trail = [e["action"] for e in store.query("SELECT action FROM ticket_events ORDER BY id")]
    assert trail.count("sla_breach") == 2


def test_escalated_ticket_must_be_accepted_by_the_department_in_time(service, store):
    with store.transaction() as tx:
        t = service.open_ticket(tx, source="alert", category="fall", now=T0,
                                place={"grid": "G-01"}, resident_id="R-yang")
        service.transition(tx, t.id, "escalate", actor="op", now=T0 + 10, department="medical")
        service.tick(T0 + 10 + 299, tx)  # urgent accept SLA: 300 s
    assert store.query("SELECT sla_breaches FROM tickets")[0]["sla_breaches"] == "[]"
    with store.transaction() as tx:
        service.tick(T0 + 10 + 301, tx)
    assert store.query("SELECT sla_breaches FROM tickets")[0]["sla_breaches"] == '["accept"]'
    key = store.query("SELECT idempotency_key FROM outbox")[0]["idempotency_key"]
    assert key == f"scgw-ticket-{t.id}-escalation-medical"


class _Hotline(BaseHTTPRequestHandler):
    """The district 12345 channel: fails the first request, then accepts (dedup by key)."""

    calls: ClassVar[list[tuple[str, dict]]] = []
    accepted: ClassVar[dict[str, dict]] = {}

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers["Idempotency-Key"]
        type(self).calls.append((key, body))
        if len(type(self).calls) == 1:
            self.send_response(503)
        else:
            type(self).accepted.setdefault(key, body)
            self.send_response(201)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def hotline() -> Iterator[str]:
    _Hotline.calls, _Hotline.accepted = [], {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hotline)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tickets"
    server.shutdown()


def test_12345_delivery_retries_after_a_failure_and_delivers_exactly_once(store, hotline):
    settings = WorkflowSettings(hotline_url=hotline, outbox_retry_first_s=10)
    service = make_service()
    clock = ManualClock(T0)
    sender = OutboxSender(store, settings, clock)
    with store.transaction() as tx:
        t = service.open_ticket(tx, source="resident", category="illegal_construction", now=T0,
                                place={"grid": "G-01"}, description="顶楼违建")
    assert sender.deliver_due() == 0  # first attempt: 503
    row = store.query("SELECT state, attempts, next_attempt_at, last_error FROM outbox")[0]
    assert (row["state"], row["attempts"], row["last_error"]) == ("pending", 1, "HTTP 503")
    assert T0 + 5 <= row["next_attempt_at"] <= T0 + 10
    assert store.query("SELECT external_state FROM tickets")[0]["external_state"] == "retrying"
    assert sender.deliver_due() == 0 and len(_Hotline.calls) == 1  # not due yet: no request
    clock.advance(10)
    assert sender.deliver_due() == 1
    clock.advance(3600)
    assert sender.deliver_due() == 0  # delivered rows are never sent again
    assert len(_Hotline.calls) == 2
    assert list(_Hotline.accepted) == [f"scgw-ticket-{t.id}-transfer"]
    body = _Hotline.accepted[f"scgw-ticket-{t.id}-transfer"]
    assert (body["kind"], body["category"], body["ticket"]) == ("transfer", "illegal_construction",
                                                                t.code)
    ticket = store.query("SELECT state, external_state FROM tickets")[0]
    assert ticket == {"state": "transferred", "external_state": "delivered"}
    with store.transaction() as tx:
        assert tx.tickets.events(t.id)[-1]["action"] == "delivered_12345"


def test_reminder_tickets_open_once_per_expiry(store):
    service = make_service(reminder_days=30)
    with store.transaction() as tx:
        upsert_asset(tx, id="EXT-3-1", kind="extinguisher", name="3号楼1单元灭火器",
                     expires_on=date(2026, 12, 31), now=T0,
                     place={"site": "jining-renmin", "building": "3", "grid": "G-01"})
        upsert_asset(tx, id="HC-shop-7", kind="health_certificate",
                     name="7号商铺健康证", expires_on=date(2026, 12, 1), remind_days=7, now=T0)
        service.tick(T0, tx)  # 40 days ahead and 10 days ahead (7-day window): nothing yet
    assert store.query("SELECT count(*) AS n FROM tickets")[0]["n"] == 0
    day = 86_400
    for offset in (3, 4, 5, 11, 12, 60):
        with store.transaction() as tx:
            service.tick(T0 + offset * day, tx)
    rows = store.query("SELECT category, source, title, grid, state FROM tickets ORDER BY id")
    assert [r["title"] for r in rows] == ["7号商铺健康证 到期提醒", "3号楼1单元灭火器 到期提醒"]
    assert all(r["category"] == "facility_expiry" and r["source"] == "reminder" for r in rows)
    assert rows[1]["grid"] == "G-01" and rows[1]["state"] == "dispatched"
    with store.transaction() as tx:  # renewed: the next expiry gets its own reminder
        upsert_asset(tx, id="EXT-3-1", kind="extinguisher", name="3号楼1单元灭火器",
                     expires_on=date(2027, 12, 31), now=T0 + 61 * day)
        service.tick(T0 + 61 * day, tx)
        service.tick(T0 + 376 * day, tx)
        service.tick(T0 + 377 * day, tx)
    assert store.query("SELECT count(*) AS n FROM tickets")[0]["n"] == 3
