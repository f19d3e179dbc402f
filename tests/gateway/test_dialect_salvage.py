"""An urgent event from a device that speaks a vendor dialect is salvaged like one in our own
JSON: a mistake in its decoration must not mute it (a vendor's run, session 31)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from gateway.clock import ManualClock
from gateway.envelope import RawMessage
from gateway.service import Gateway
from gateway.settings import Settings
from tests.conftest import T0, device

IMEI = "865028041234567"
LOCAL = "2026-11-21 12:00:00"  # T0 in China time, as a 4G watch writes it
WATCH_TOPIC = f"watch/{IMEI}/up"
HX_TOPIC = "scgw/v1/wristband/HX-1/event"
BUTTON_TOPIC = "zigbee2mqtt/hub1/btn1"  # registered as hub1-btn1


def _watch(**fields: object) -> bytes:
    return orjson.dumps({"imei": IMEI, "cmd": "alarm", "alarm": "SOS", "sn": 11,
                         "time": LOCAL, **fields})


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = Gateway(Settings(broker={"url": "mqtt://127.0.0.1:1"},
                          database={"url": f"sqlite:///{tmp_path / 'gw.db'}"}, log_json=False),
                 clock=ManualClock(T0))
    gw.registry.register([device(IMEI, "wristband", codec="watch4g", grid="G-01"),
                          device("HX-1", "wristband", codec="hx_band", grid="G-01"),
                          device("hub1-btn1", "wristband", codec="zigbee2mqtt", grid="G-01")])
    gw.start(connect=False)
    yield gw
    gw.stop()


CASES = {
    "watch4g sn as text": (WATCH_TOPIC, _watch(sn="11")),
    "watch4g alarm code in lower case": (WATCH_TOPIC, _watch(alarm="sos")),
    "watch4g time in ISO": (WATCH_TOPIC, _watch(time="2026-11-21T04:00:00Z")),
    "watch4g time empty": (WATCH_TOPIC, _watch(time="")),
    "watch4g position in plain degrees": (WATCH_TOPIC, _watch(lat="35.414210", lng=116.58712)),
    # Vendor round 3: firmware v2 changed what the rule's `when` tests (`cmd` → `Cmd`, or
    # another command word) or spells the code its own way: no rule matched, the fall was lost.
    "watch4g when no longer matches": (WATCH_TOPIC, _watch(cmd="ALARM")),
    "watch4g alarm code camelCase": (WATCH_TOPIC, _watch(alarm="sosAlarm")),
    "hx_band t in milliseconds": (HX_TOPIC, orjson.dumps(
        {"t": int(T0 * 1000), "n": 11, "alarm": "SOS"})),
    "hx_band alarm in lower case": (HX_TOPIC, orjson.dumps(
        {"t": int(T0), "n": 11, "alarm": "sos"})),
    "hx_band device sending our v1 JSON": (HX_TOPIC, orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 11, "type": "sos"})),
    "zigbee button word capitalised": (BUTTON_TOPIC, orjson.dumps({"action": "Emergency"})),
    # Red team round 2: numbers a C printf or a JS encoder writes, and numbers no double holds.
    "hx_band hr nan (printf)": (HX_TOPIC, b'{"t": %d, "n": 11, "alarm": "SOS", "hr": nan}'
                                % int(T0)),
    "hx_band hr NaN (JS)": (HX_TOPIC, b'{"t": %d, "n": 11, "alarm": "SOS", "hr": NaN}'
                            % int(T0)),
    "hx_band t 1e400": (HX_TOPIC, b'{"t": 1e400, "n": 11, "alarm": "SOS"}'),
    "hx_band 5000-digit extra": (HX_TOPIC, b'{"t": %d, "n": 11, "alarm": "SOS", "x": %s}'
                                 % (int(T0), b"9" * 5000)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_dialect_sos_with_a_mistake_still_pages(gateway, case):
    topic, payload = CASES[case]
    acks: list[dict] = []
    gateway.confirmations._publish = lambda t, body, qos: acks.append(orjson.loads(body))
    gateway.pipeline.process_batch([RawMessage(topic, payload, received_at=T0)])
    rows = gateway.store.query("SELECT type, data FROM events WHERE channel = 'event'")
    assert [r["type"] for r in rows] == ["sos"], gateway.store.query(
        "SELECT reason, detail FROM dead_letters")
    assert "salvaged" in orjson.loads(rows[0]["data"])
    assert gateway.store.query("SELECT id FROM dead_letters") == []
    assert [r["rule_id"] for r in gateway.store.query("SELECT rule_id FROM alerts")] == [
        "wristband.sos"]
    assert [a.get("status") for a in acks if "status" in a] == ["stored"]


def test_a_wrong_position_is_dropped_not_stored_at_sea(gateway):
    # Plain degrees where the dialect expects millionths: 35.41421 × 1e-6 put the SOS at
    # (0.000035, 0.000117) and overwrote the watch's last position.
    topic, payload = CASES["watch4g position in plain degrees"]
    gateway.pipeline.process_batch([RawMessage(topic, payload, received_at=T0)])
    [row] = gateway.store.query("SELECT data FROM events WHERE channel = 'event'")
    data = orjson.loads(row["data"])
    assert "location" not in data
    assert "whole units" in data["salvaged"]["detail"]


def test_an_hx_band_sos_keeps_its_position(gateway):
    gateway.pipeline.process_batch([RawMessage(HX_TOPIC, orjson.dumps(
        {"t": int(T0), "n": 12, "alarm": "SOS", "pos": [116.587, 35.415, 8]}),
        received_at=T0)])
    [row] = gateway.store.query("SELECT data FROM events WHERE channel = 'event'")
    assert orjson.loads(row["data"])["location"]["lat"] == 35.415


def test_a_dialect_event_that_is_not_urgent_stays_a_dead_letter(gateway):
    gateway.pipeline.process_batch([RawMessage(WATCH_TOPIC, _watch(alarm="WEAR", sn="12"),
                                               received_at=T0)])
    assert gateway.store.query("SELECT id FROM events WHERE channel = 'event'") == []
    assert [r["reason"] for r in gateway.store.query("SELECT reason FROM dead_letters")] == [
        "schema_invalid"]


def test_a_watch_without_a_fix_keeps_its_reading(gateway):
    # Vendor round 3 recheck: watch4g sends "0.000000" for both coordinates without
    # satellites; refused as no fix, the reading lost its steps and battery with it.
    gateway.pipeline.process_batch([RawMessage(WATCH_TOPIC, orjson.dumps(
        {"imei": IMEI, "cmd": "location", "sn": 21, "time": LOCAL, "lat": "0.000000",
         "lng": "0.000000", "acc": "0", "mode": "GPS", "bat": "85%"}), received_at=T0)])
    assert gateway.store.query("SELECT reason, detail FROM dead_letters") == []
    [row] = gateway.store.query("SELECT data FROM telemetry")
    data = orjson.loads(row["data"])
    assert "location" not in data and data["battery_pct"] == 85
