"""Switching a rule off clears its alerts and keeps it quiet, across a restart, until it is on."""

from __future__ import annotations

import orjson

from tests.conftest import T0


def _sos(publisher, seq: int, device: str = "WB-1002") -> None:
    publisher.publish(f"scgw/v1/wristband/{device}/event",
                      orjson.dumps({"ts": int(T0 * 1000) + seq, "seq": seq, "type": "sos"}))


def test_a_switched_off_rule_stays_quiet_until_switched_on(api, publisher, make_gateway):
    op = api.headers("operator")
    gw = api.gateway
    _sos(publisher, 10)
    assert gw.pipeline.wait_processed(3, 10)
    open_sos = gw.store.query("SELECT id FROM alerts WHERE rule_id = 'wristband.sos'"
                              " AND device_id = 'WB-1002' AND state != 'cleared'")
    assert len(open_sos) == 1

    # One operator click muted every SOS (red team, session 31): only an admin may.
    r = api.client.post("/rules/wristband.sos/disable", json={"reason": "drill"}, headers=op)
    assert r.status_code == 403 and "only an admin" in r.json()["detail"]
    assert gw.store.query("SELECT state FROM alerts WHERE id = ?",
                          (open_sos[0]["id"],))[0]["state"] == "active"
    assert api.client.post("/rules/wristband.heart_rate/disable", json={"reason": "drill"},
                           headers=op).status_code == 200  # not urgent: the operator's call
    r = api.client.post("/rules/wristband.sos/disable", json={"reason": "drill"},
                        headers=api.headers("admin"))
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert gw.store.query("SELECT state FROM alerts WHERE id = ?",
                          (open_sos[0]["id"],))[0]["state"] == "cleared"
    _sos(publisher, 11)
    assert gw.pipeline.wait_processed(4, 10)
    assert gw.store.query("SELECT count(*) AS n FROM alerts WHERE rule_id = 'wristband.sos'"
                          " AND state != 'cleared'")[0]["n"] == 0  # every one cleared, none new

    gw.stop()  # the switch is kept in the database
    gw2 = make_gateway(devices=[])
    rules = {r.id: r for r in gw2.alerting.engine.ruleset.rules}
    assert "wristband.sos" in rules and "wristband.sos" in gw2.alerting.engine.switched_off
    _sos(publisher, 12)
    assert gw2.pipeline.wait_processed(1, 10)
    assert gw2.store.query("SELECT count(*) AS n FROM alerts WHERE device_id = 'WB-1002'"
                           " AND state != 'cleared'")[0]["n"] == 0
    gw2.alerting.switch_rule("wristband.sos", True, "op-chen")
    _sos(publisher, 13)
    assert gw2.pipeline.wait_processed(2, 10)
    assert gw2.store.query("SELECT count(*) AS n FROM alerts WHERE device_id = 'WB-1002'"
                           " AND rule_id = 'wristband.sos' AND state = 'active'")[0]["n"] == 1
