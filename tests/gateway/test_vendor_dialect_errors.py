"""A device that speaks a dialect on its own topics learns why a message was refused, too.

The vendor guide promises every device its refusals on `scgw/v1/{kind}/{id}/errors`. A 4G
watch publishes on `watch/{imei}/up`, so the kind is not in its topic: the report must still
go to the watch's own `errors` topic (its kind comes from its registration).
"""

from __future__ import annotations

import orjson

from tests.conftest import device
from tests.gateway.test_confirmations import Listener
from tests.support.waiting import wait_for

IMEI = "865028041234567"
ERRORS = f"scgw/v1/wristband/{IMEI}/errors"


def test_a_refused_4g_watch_message_is_reported_on_the_watch_errors_topic(
        make_gateway, publisher, mosquitto):
    gw = make_gateway([device(IMEI, "wristband", codec="watch4g")])
    listener = Listener(mosquitto.port, [ERRORS])
    try:
        bad = orjson.dumps({"imei": IMEI, "cmd": "link", "time": "2026-11-21 12:06:00",
                            "bat": "full"})
        publisher.publish(f"watch/{IMEI}/up", bad)
        other = orjson.dumps({"imei": "865028049999999", "cmd": "link",
                              "time": "2026-11-21 12:06:00", "bat": "80%"})
        publisher.publish(f"watch/{IMEI}/up", other)
        assert gw.pipeline.wait_processed(2, 10)
        assert wait_for(lambda: sum(t == ERRORS for t, _ in listener.got) == 2, 10), listener.got
        reports = [body for topic, body in listener.got if topic == ERRORS]
        assert [r["reason"] for r in reports] == ["schema_invalid", "schema_invalid"]
        assert reports[0]["topic"] == f"watch/{IMEI}/up"
        assert "battery_pct" in reports[0]["detail"]
        assert "865028049999999" in reports[1]["detail"]
    finally:
        listener.close()


def test_a_future_timestamp_from_a_4g_watch_is_reported_too(make_gateway, publisher, mosquitto):
    gw = make_gateway([device(IMEI, "wristband", codec="watch4g")])
    listener = Listener(mosquitto.port, [ERRORS])
    try:
        # 2026-11-21 13:00 local (+08:00) is 05:00Z, an hour ahead of the gateway's T0 (04:00Z).
        ahead = orjson.dumps({"imei": IMEI, "cmd": "link", "sn": 5,
                              "time": "2026-11-21 13:00:00", "bat": "80%"})
        publisher.publish(f"watch/{IMEI}/up", ahead)
        assert gw.pipeline.wait_processed(1, 10)
        assert wait_for(lambda: listener.got, 10)
        [(_, report)] = listener.got
        assert report["reason"] == "future_timestamp"
    finally:
        listener.close()


def test_an_oversized_4g_watch_message_is_reported_too(make_gateway, publisher, mosquitto):
    gw = make_gateway([device(IMEI, "wristband", codec="watch4g")])
    listener = Listener(mosquitto.port, [ERRORS])
    try:
        publisher.publish(f"watch/{IMEI}/up", b"{" + b" " * 70_000 + b"}")
        assert gw.pipeline.wait_processed(1, 10)
        assert wait_for(lambda: listener.got, 10)
        [(_, report)] = listener.got
        assert (report["reason"], report["topic"]) == ("oversized", f"watch/{IMEI}/up")
    finally:
        listener.close()
