"""A refusal's detail explains its reason: a message with an out-of-range value and a
wrongly typed one is `schema_invalid`, so the detail names the wrongly typed field (found
while walking the vendor guide: it named the out-of-range one, which is not what
`schema_invalid` means, and the device fixed that one only to be refused again)."""

from __future__ import annotations

import orjson

from tests.conftest import T0
from tests.gateway.test_confirmations import Listener
from tests.support.waiting import wait_for

ERRORS = "scgw/v1/wristband/WB-1001/errors"


def test_the_detail_of_a_schema_refusal_names_the_schema_error(make_gateway, publisher,
                                                               mosquitto):
    gw = make_gateway()
    listener = Listener(mosquitto.port, [ERRORS])
    try:
        publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
            {"ts": int(T0 * 1000), "heart_rate_bpm": 300, "spo2_pct": "97"}))
        publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
            {"ts": int(T0 * 1000), "heart_rate_bpm": 300, "steps": -5}))
        assert gw.pipeline.wait_processed(2, 10)
        assert wait_for(lambda: len(listener.got) == 2, 10), listener.got
        (_, mixed), (_, ranges) = listener.got
        assert mixed["reason"] == "schema_invalid"
        assert mixed["detail"] == "spo2_pct: Input should be a valid number (+1 more)"
        assert ranges["reason"] == "out_of_range"
        assert ranges["detail"].startswith("heart_rate_bpm: Input should be less than or equal")
        dead = gw.store.query("SELECT reason, detail FROM dead_letters ORDER BY id")
        assert [d["detail"] for d in dead] == [mixed["detail"], ranges["detail"]]
    finally:
        listener.close()
