"""Alerts and the family's view over HTTP: an SOS from a band off the wrist still pages but says
so; honest counts; a family told when, where, what was done and why vitals are missing."""

from __future__ import annotations

import orjson
import pytest

from tests.api.conftest import Api
from tests.conftest import T0

# Runs on SQLite and on PostgreSQL (docs/storage.md: which tests run on both).
pytestmark = pytest.mark.both_backends


def _publish(publisher, device: str, channel: str, seq: int, at: float, **body: object) -> None:
    publisher.publish(f"scgw/v1/wristband/{device}/{channel}",
                      orjson.dumps({"ts": int(at * 1000), "seq": seq, **body}))


def test_the_wear_mark_counts_a_reading_sent_before_the_sos_but_applied_after_it(api: Api):
    # The SOS comes on the event lane, the band's last reading (taken off, 2 minutes before)
    # on the main session, applied after the SOS: the alert said the band was worn (a fresh
    # clone's run of the test below).
    from gateway.envelope import RawMessage

    gw = api.gateway

    def raw(channel: str, seq: int, at: float, **body: object) -> RawMessage:
        return RawMessage(f"scgw/v1/wristband/WB-1002/{channel}", orjson.dumps(
            {"ts": int(at * 1000), "seq": seq, **body}), received_at=gw.clock.time())

    gw.pipeline.process_batch([raw("telemetry", 20, T0 - 600, worn=True)])
    gw.pipeline.process_batch([raw("event", 21, T0, type="sos")])
    gw.clock.advance(5)
    gw.pipeline.process_batch([raw("telemetry", 22, T0 - 120, worn=False)])
    [sos] = api.client.get("/alerts?device_id=WB-1002", headers=api.headers("operator")).json()
    assert sos["worn"] is False
    # A reading the band made after the SOS says nothing of the moment it was pressed.
    gw.pipeline.process_batch([raw("telemetry", 23, T0 + 30, worn=True)])
    api.client.app.state.alert_views._wear.clear()
    [sos] = api.client.get("/alerts?device_id=WB-1002", headers=api.headers("operator")).json()
    assert sos["worn"] is False


def test_an_sos_from_a_band_not_worn_pages_as_usual_and_is_marked(api: Api, publisher):
    li = {"Authorization": f"Bearer {api.login('fam-li')}"}
    _publish(publisher, "WB-1002", "telemetry", 10, T0 - 600, heart_rate_bpm=70, worn=True)
    _publish(publisher, "WB-1002", "telemetry", 11, T0 - 120, worn=False, battery_pct=80)
    _publish(publisher, "WB-1002", "event", 12, T0, type="sos")
    assert api.gateway.pipeline.wait_processed(5, 10)
    [sos] = api.client.get("/alerts?device_id=WB-1002", headers=api.headers("operator")).json()
    assert (sos["severity"], sos["state"], sos["muted"], sos["worn"]) == (
        "critical", "active", None, False)  # never suppressed: only marked
    assert sos["name_en"] == "SOS (band or button)"
    [yang] = api.client.get("/alerts?device_id=WB-1001", headers=api.headers("operator")).json()
    assert yang["worn"] is None  # his band never said
    tickets = api.client.get("/tickets", headers=api.headers("operator")).json()
    assert {t["device_id"]: t["worn"] for t in tickets}["WB-1002"] is False
    summary = api.client.get("/alerts/summary", headers=api.headers("operator")).json()
    assert (summary["open"], summary["active"], summary["critical_active"]) == (2, 2, 2)
    # The family sees why there are no vitals, and the SOS with its handling.
    vitals = api.client.get("/family/elders/R-li/vitals", headers=li).json()
    assert vitals["worn"] is False and vitals["missing"]["heart_rate_bpm"] == "not_worn"
    assert vitals["missing"]["glucose_mmol_l"] == "not_worn" and vitals["battery_pct"] == 80
    [alarm] = api.client.get("/family/elders/R-li/alarms", headers=li).json()
    assert alarm["type"] == "sos" and alarm["worn"] is False
    assert alarm["handling"]["state"] == "collected"  # G-02 has nobody on duty in this rota
    assert [s["action"] for s in alarm["handling"]["steps"]] == ["collect"]


def test_acknowledging_starts_the_countdown_after_which_it_pages_again(api: Api, clock):
    ops = api.headers("operator")
    acked = api.client.post(f"/alerts/{api.sos_alert_id}/ack", json={"note": ""},
                            headers=ops).json()
    assert acked["ack_due"] == acked["acked_at"] + 300 and acked["escalations"] == 0
    clock.advance(301)
    api.gateway.alerting.call("tick", lambda tx: api.gateway.alerting.tick(clock.time(), tx))
    again = api.client.get(f"/alerts/{api.sos_alert_id}", headers=ops).json()
    assert (again["state"], again["escalations"], again["ack_due"]) == ("active", 1, None)
