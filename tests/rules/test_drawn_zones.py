"""Safe zones drawn for a resident (the family page's editor) feed the geofence rule."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import T0
from tests.support.waiting import wait_for

# Runs on SQLite and on PostgreSQL (docs/storage.md: which tests run on both).
pytestmark = pytest.mark.both_backends

# A square around the daughter's flat, well outside any compound zone.
FLAT = [[35.4300, 116.6000], [35.4300, 116.6020], [35.4320, 116.6020], [35.4320, 116.6000]]
INSIDE_FLAT = {"lat": 35.4310, "lon": 116.6010, "accuracy_m": 10}
NOWHERE = {"lat": 35.4500, "lon": 116.6500, "accuracy_m": 10}


def _fix(publisher, seq: int, at: float, loc: dict) -> None:
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
        {"ts": int(at * 1000), "seq": seq, "location": loc}))


def _left_zone_alerts(gw) -> list[dict]:
    return gw.store.query("SELECT state FROM alerts WHERE rule_id = 'wristband.left_safe_zone'")


def test_a_drawn_zone_keeps_the_wearer_safe_and_leaving_it_alerts(make_gateway, publisher,
                                                                  clock):
    gw = make_gateway()
    with gw.store.transaction() as tx:
        tx.connection.execute(
            "INSERT INTO geofences (resident_id, name, polygon, enabled, created_by, created_at,"
            " updated_at) VALUES ('R-yang', '女儿家', ?, 1, 'fam-yang', ?, ?)",
            (orjson.dumps(FLAT).decode(), T0, T0))
    clock.advance(10)  # the rules tick reloads the zones
    assert wait_for(lambda: gw.alerting.residents.safe_zones("R-yang"), 10), \
        "the rules tick never loaded the drawn zone"
    seq = 0
    for _ in range(8):  # four minutes at the daughter's flat: inside a drawn zone
        seq += 1
        _fix(publisher, seq, clock.time(), INSIDE_FLAT)
        assert gw.pipeline.wait_processed(seq, 10)
        clock.advance(30)
    assert _left_zone_alerts(gw) == []
    for _ in range(8):  # four minutes somewhere else: outside every zone past the 3 min dwell
        seq += 1
        _fix(publisher, seq, clock.time(), NOWHERE)
        assert gw.pipeline.wait_processed(seq, 10)
        clock.advance(30)
    assert _left_zone_alerts(gw) == [{"state": "active"}]
