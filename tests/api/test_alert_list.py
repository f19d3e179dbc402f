"""The alert list is built without pydantic for speed: it must say what the model says."""

from __future__ import annotations

import orjson
import pytest
from pydantic import TypeAdapter

from api.schemas import AlertPublic
from tests.api.conftest import Api
from tests.conftest import T0

pytestmark = pytest.mark.both_backends


def _publish(publisher, device: str, channel: str, seq: int, at: float, **body: object) -> None:
    publisher.publish(f"scgw/v1/wristband/{device}/{channel}",
                      orjson.dumps({"ts": int(at * 1000), "seq": seq, **body}))


@pytest.mark.parametrize("role", ["operator", "grid_worker"])
def test_each_listed_alert_is_what_its_detail_says(api: Api, publisher, clock, role: str):
    ops = api.headers("operator")
    # Alerts of every shape: worn and not worn, acknowledged, paged again after the ack
    # timed out, cleared, with and without a ticket.
    _publish(publisher, "WB-1002", "telemetry", 10, T0 - 600, heart_rate_bpm=70, worn=True)
    _publish(publisher, "WB-1002", "telemetry", 11, T0 - 120, worn=False, battery_pct=12)
    _publish(publisher, "WB-1002", "event", 12, T0, type="fall")
    assert api.gateway.pipeline.wait_processed(5, 10)
    assert api.client.post(f"/alerts/{api.sos_alert_id}/ack", json={"note": "on my way"},
                           headers=ops).status_code == 200
    clock.advance(301)
    api.gateway.alerting.call("tick", lambda tx: api.gateway.alerting.tick(clock.time(), tx))
    low = [a for a in api.client.get("/alerts?device_id=WB-1002", headers=ops).json()
           if a["category"] != "fall"]
    for alert in low:
        api.client.post(f"/alerts/{alert['id']}/clear", json={"note": "charged"}, headers=ops)

    headers = api.headers(role)
    listed = api.client.get("/alerts?limit=500", headers=headers)
    assert listed.status_code == 200, listed.text
    alerts = listed.json()
    TypeAdapter(list[AlertPublic]).validate_python(alerts)  # the documented schema holds
    kinds = {(a["escalations"] > 0, a["state"], a["ticket_id"] is not None, a["worn"])
             for a in alerts}
    if role == "operator":
        assert len(kinds) >= 3, kinds  # the shapes above are all there
        assert any(a["escalations"] for a in alerts) and any(a["worn"] is False for a in alerts)
    else:
        assert {a["grid"] for a in alerts} <= {"G-01"}
    for item in alerts:
        detail = api.client.get(f"/alerts/{item['id']}", headers=headers)
        assert detail.status_code == 200, detail.text
        # Compared as JSON text: 0 and false, 1 and 1.0 are equal in Python, not to a client.
        assert _text(item) == _text(detail.json())


def _text(body: dict[str, object]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
