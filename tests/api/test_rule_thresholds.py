"""An administrator moves a rule's threshold within the bounds its file declares: the next
readings are judged against the new line, the change is in the rule's history and the admin
audit, it survives a restart, and anything outside the bounds changes nothing."""

from __future__ import annotations

import itertools

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gateway.rule_admin import retune_rule
from tests.api.conftest import PASSWORD, Api

HEART = "wristband.heart_rate"
_SEQ = itertools.count(100)  # one counter for every gateway: a restarted one remembers seqs


def _heart_rate(api_gw, publisher, bpm: int, device: str = "WB-1002") -> None:
    before = api_gw.pipeline.processed
    body = {"ts": int(api_gw.clock.time() * 1000), "seq": next(_SEQ), "heart_rate_bpm": bpm}
    publisher.publish(f"scgw/v1/wristband/{device}/telemetry", orjson.dumps(body))
    assert api_gw.pipeline.wait_processed(before + 1, 10)


def _hold(gw, publisher, bpm: int) -> None:
    """Two readings a minute apart, then the rule's five minutes pass (timers run)."""
    _heart_rate(gw, publisher, bpm)
    gw.clock.advance(60)
    _heart_rate(gw, publisher, bpm)
    gw.clock.advance(250)
    gw.alerting.call("test_tick", lambda tx: gw.alerting.tick(gw.clock.time(), tx))


def _open_heart_alerts(gw) -> list[dict]:
    return gw.store.query("SELECT id, state, device_id FROM alerts WHERE rule_id = ?"
                          " AND state != 'cleared'", (HEART,))


def _rule(c: TestClient, headers: dict[str, str], rule_id: str = HEART) -> dict:
    return next(r for r in c.get("/admin/rules", headers=headers).json() if r["id"] == rule_id)


def test_lowering_the_heart_rate_limit_alerts_on_a_reading_between_old_and_new(api: Api,
                                                                              publisher):
    c, admin, gw = api.client, api.headers("admin"), api.gateway
    listed = _rule(c, admin)
    assert listed["thresholds"] == [{
        "index": 0, "signal": "heart_rate_bpm", "op": "outside", "hysteresis": 5.0,
        "current": {"low": 45.0, "high": 120.0}, "declared": {"low": 45.0, "high": 120.0},
        "bounds": {"min": 30.0, "max": 180.0}, "editable": True, "changed_by": None,
        "changed_at": None, "change_reason": None}]
    _hold(gw, publisher, 110)  # 110 bpm for five minutes: fine under the file's 120
    assert _open_heart_alerts(gw) == []

    why = "李奶奶心脏病史，医生建议上限100"
    r = c.put(f"/admin/rules/{HEART}/threshold", json={"high": 100, "reason": why},
              headers=admin)
    assert r.status_code == 200, r.text
    t = r.json()["thresholds"][0]
    assert t["current"] == {"low": 45.0, "high": 100.0} and t["declared"]["high"] == 120.0
    assert (t["changed_by"], t["change_reason"]) == ("admin-zhou", why)
    assert r.json()["params"]["high"] == 100.0

    _hold(gw, publisher, 110)  # the same reading now holds past the new line
    assert [a["device_id"] for a in _open_heart_alerts(gw)] == ["WB-1002"]

    history = c.get(f"/admin/rules/changes?rule_id={HEART}", headers=admin).json()
    assert [(h["change"], h["detail"], h["actor"]) for h in history] == [
        ("threshold", "#0 heart_rate_bpm high 120→100", "admin-zhou")]
    audit = c.get("/audit/actions?action=rule_threshold", headers=admin).json()
    assert len(audit) == 1 and audit[0]["target"] == HEART
    assert "high 120→100" in audit[0]["detail"] and "医生建议" in audit[0]["detail"]


def test_outside_the_bounds_or_not_editable_is_refused_and_nothing_changes(api: Api):
    c, admin, gw = api.client, api.headers("admin"), api.gateway
    before = _rule(c, admin)
    for rule_id, body, words in (
            (HEART, {"high": 250}, "outside the declared bounds [30, 180]"),
            (HEART, {"low": 20}, "outside the declared bounds"),
            (HEART, {"low": 100, "high": 95}, "must be below high"),
            (HEART, {"value": 100}, "takes low and high"),
            (HEART, {"index": 1, "high": 100}, "no threshold #1"),
            (HEART, {"signal": "spo2_pct", "high": 100}, "is on heart_rate_bpm"),
            ("wristband.sos", {"value": 1}, "no threshold to change"),
            ("wristband.spo2", {"value": 70}, "[80, 95]")):
        r = c.put(f"/admin/rules/{rule_id}/threshold", json={**body, "reason": "试一下"},
                  headers=admin)
        assert r.status_code == 422 and words in r.json()["detail"], (body, r.text)
    for body in ({"high": 100}, {"reason": "没有数字"}):  # a reason is required; so is a number
        assert c.put(f"/admin/rules/{HEART}/threshold", json=body,
                     headers=admin).status_code == 422
    nan = c.put(f"/admin/rules/{HEART}/threshold", content=b'{"high": NaN, "reason": "xx"}',
                headers={**admin, "Content-Type": "application/json"})
    assert nan.status_code == 422
    assert c.put("/admin/rules/no.such.rule/threshold", json={"value": 1, "reason": "xx"},
                 headers=admin).status_code == 404
    assert _rule(c, admin) == before
    assert gw.store.query("SELECT * FROM rule_thresholds") == []
    assert gw.store.query("SELECT * FROM rule_changes") == []
    assert c.get("/audit/actions?action=rule_", headers=admin).json() == []


def test_only_an_admin_may_change_a_threshold(api: Api):
    for role in ("operator", "grid_worker", "family", "vendor"):
        r = api.client.put(f"/admin/rules/{HEART}/threshold",
                           json={"high": 100, "reason": "我来改"}, headers=api.headers(role))
        assert r.status_code == 403, role
    assert api.client.put(f"/admin/rules/{HEART}/threshold",
                          json={"high": 100, "reason": "我来改"}).status_code == 401
    assert api.gateway.store.query("SELECT * FROM rule_thresholds") == []


def test_a_changed_threshold_survives_a_restart(api: Api, make_gateway, publisher):
    c, admin = api.client, api.headers("admin")
    assert c.put(f"/admin/rules/{HEART}/threshold", json={"high": 100, "reason": "医嘱"},
                 headers=admin).status_code == 200
    api.gateway.stop()
    gw2 = make_gateway(devices=[])  # the same database
    with TestClient(create_app(gw2)) as c2:
        token = c2.post("/auth/token", data={"username": "admin-zhou", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        t = _rule(c2, headers)["thresholds"][0]
        assert t["current"] == {"low": 45.0, "high": 100.0}
        assert (t["changed_by"], t["change_reason"]) == ("admin-zhou", "医嘱")
        _hold(gw2, publisher, 110)
        assert [a["device_id"] for a in _open_heart_alerts(gw2)] == ["WB-1002"]
        # Typing the file's number back removes the change: the file rules again.
        back = c2.put(f"/admin/rules/{HEART}/threshold", json={"high": 120, "reason": "停药"},
                      headers=headers).json()["thresholds"][0]
        assert back["current"] == back["declared"] and back["changed_by"] is None
        assert gw2.store.query("SELECT * FROM rule_thresholds") == []


def test_an_operators_switch_lands_in_the_rules_history_and_the_audit(api: Api):
    c = api.client
    # A rule that does not page on an urgent event (the SOS rule is the admin's to switch).
    r = c.post("/rules/wristband.heart_rate/disable", json={"reason": "演练"},
               headers=api.headers("operator"))
    assert r.status_code == 200 and r.json()["enabled"] is False
    c.post("/rules/wristband.heart_rate/enable", json={"reason": "演练结束"},
           headers=api.headers("operator"))
    admin = api.headers("admin")
    history = c.get("/admin/rules/changes?rule_id=wristband.heart_rate", headers=admin).json()
    assert [(h["change"], h["actor"], h["role"], h["reason"]) for h in history] == [
        ("enabled", "op-chen", "operator", "演练结束"), ("disabled", "op-chen", "operator", "演练")]
    actions = c.get("/audit/actions?action=rule_&actor=op-chen", headers=admin).json()
    assert [a["action"] for a in actions] == ["rule_enable", "rule_disable"]
    assert actions[0]["client_addr"] == "testclient"
    assert c.post("/rules/no.such.rule/disable", json={"reason": "x"},
                  headers=api.headers("operator")).status_code == 404


def test_a_change_whose_transaction_fails_leaves_the_engine_as_it_was(api: Api, monkeypatch):
    gw = api.gateway
    engine = gw.alerting.engine
    real = engine.apply_retune

    def applied_then_failed(tx, plan, actor, reason):
        real(tx, plan, actor, reason)
        raise RuntimeError("disk full")  # after the swap: the transaction rolls back

    monkeypatch.setattr(engine, "apply_retune", applied_then_failed)
    with pytest.raises(RuntimeError, match="disk full"):
        retune_rule(gw, HEART, 0, {"high": 100}, signal=None, actor="admin-zhou", role="admin",
                    reason="坏盘", client_addr="")
    assert engine.tunables(HEART)[0].current.operands() == {"low": 45.0, "high": 120.0}
    for table in ("rule_thresholds", "rule_changes", "admin_audit"):
        assert gw.store.query(f"SELECT * FROM {table}") == [], table
