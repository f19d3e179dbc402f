"""Positions as bands really send them (vendor round 10): a fix in a Chinese map datum is
placed where the elder is, a module's own label for its method never costs the position, and
a cell fix claiming a radius it cannot have is not taken as exact."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from devices.datum import gcj02_to_bd09, wgs84_to_gcj02
from gateway.clock import ManualClock
from gateway.envelope import RawMessage
from gateway.service import Gateway
from gateway.settings import Settings
from tests.conftest import T0, device

BAND = "WB-POS-1"
HOME = (35.41512, 116.58720)  # WGS-84, in Jining
MS = int(T0 * 1000)


@pytest.fixture
def gateway(tmp_path: Path, database_url: str) -> Iterator[Gateway]:
    gw = Gateway(Settings(broker={"url": "mqtt://127.0.0.1:1"},
                          database={"url": database_url}, log_json=False),
                 clock=ManualClock(T0))
    gw.registry.register([device(BAND, "wristband", grid="G-01")])
    gw.start(connect=False)
    yield gw
    gw.stop()


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[0] - b[0]) * 111_320
    dx = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


def _send(gw: Gateway, channel: str, body: dict[str, Any]) -> None:
    gw.pipeline.process_batch([RawMessage(f"scgw/v1/wristband/{BAND}/{channel}",
                                          orjson.dumps({"ts": MS, **body}), received_at=T0)])


def _stored(gw: Gateway, table: str, seq: int) -> dict[str, Any]:
    [row] = gw.store.query(f"SELECT data FROM {table} WHERE seq = ?", (seq,))
    return orjson.loads(row["data"])


@pytest.mark.parametrize("label", ["coord_type", "coordType", "datum", "crs"])
def test_a_fix_in_gcj02_or_bd09_is_placed_in_wgs84(gateway: Gateway, label: str) -> None:
    # The GCJ-02 image of home is ~480 m off: used as WGS-84 it raised a false wandering
    # alarm and placed an SOS in the wrong street.
    gcj = wgs84_to_gcj02(*HOME)
    assert _metres(gcj, HOME) > 300
    _send(gateway, "telemetry", {"seq": 1, "location": {
        "lat": gcj[0], "lon": gcj[1], "accuracy_m": 8, label: "GCJ-02"}})
    twin = gateway.twins.get(BAND)
    assert _metres((twin.lat, twin.lon), HOME) < 1
    assert "coord_type" not in _stored(gateway, "telemetry", 1)["location"]
    bd = gcj02_to_bd09(*gcj)
    _send(gateway, "event", {"seq": 2, "type": "sos", "location": {
        "lat": bd[0], "lon": bd[1], "accuracy_m": 8, label: "bd09ll"}})
    sos = _stored(gateway, "events", 2)["location"]
    assert _metres((sos["lat"], sos["lon"]), HOME) < 1
    assert gateway.store.query("SELECT reason FROM dead_letters") == []


def test_a_no_fix_labelled_with_a_chinese_datum_stays_no_fix(gateway: Gateway) -> None:
    # Red team round 11: a module with no fix sends 0/0 with the datum it always names;
    # BD-09's offset made it a precise fix at sea, on the family's map and the SOS ticket.
    _send(gateway, "telemetry", {"seq": 1, "location": {"lat": HOME[0], "lon": HOME[1],
                                                        "accuracy_m": 15}})
    _send(gateway, "event", {"seq": 2, "type": "sos", "location": {
        "lat": 0, "lon": 0, "accuracy_m": 10, "coord_type": "bd09"}})
    assert "location" not in _stored(gateway, "events", 2)
    twin = gateway.twins.get(BAND)
    assert (twin.lat, twin.lon) == HOME
    _send(gateway, "telemetry", {"seq": 3, "location": {"lat": 35.41, "lon": 180,
                                                        "accuracy_m": 10, "coord_type": "bd09"}})
    assert gateway.twins.get(BAND).lon in (HOME[1], 180)  # never moved off by a datum


def test_a_datum_the_gateway_cannot_convert_costs_the_fix_not_the_message(
        gateway: Gateway) -> None:
    _send(gateway, "telemetry", {"seq": 1, "heart_rate_bpm": 71, "location": {
        "lat": HOME[0], "lon": HOME[1], "accuracy_m": 8, "datum": "utm50n"}})
    kept = _stored(gateway, "telemetry", 1)
    assert kept["heart_rate_bpm"] == 71 and "location" not in kept
    assert "no datum the gateway converts" in kept["salvaged"]["detail"]
    assert "location dropped" in kept["salvaged"]["detail"]
    assert gateway.twins.get(BAND).lat is None


@pytest.mark.parametrize(("said", "read"), [
    ("AGPS", "gps"), ("a-gps", "gps"), ("gps+lbs", "gps"), ("BDS/GPS", "gps"), ("bd", "gps"),
    ("wifi+lbs", "wifi"), ("WLAN", "wifi"), ("LBS", "cell"), ("cell_id", "cell"),
    ("基站", "cell"), ("mixed", "gps"), ("network", "gps"), ("ble", "gps")])
def test_a_module_s_word_for_its_method_never_costs_the_position(
        gateway: Gateway, said: str, read: str) -> None:
    # `AGPS` (MediaTek modules) refused every reading and dropped the SOS's position: the
    # ticket went to the elder's home while she was in the park.
    fix = {"lat": HOME[0], "lon": HOME[1], "accuracy_m": 60, "source": said}
    _send(gateway, "telemetry", {"seq": 1, "location": fix})
    _send(gateway, "event", {"seq": 2, "type": "sos", "location": fix})
    assert gateway.store.query("SELECT reason FROM dead_letters") == []
    for table, seq in (("telemetry", 1), ("events", 2)):
        stored = _stored(gateway, table, seq)
        assert (stored["location"]["lat"], stored["location"].get("source", "gps")) == (
            HOME[0], read)
        assert said[:10] in stored["salvaged"]["detail"]
    assert gateway.twins.get(BAND).lat == HOME[0]


def test_a_cell_fix_is_never_taken_as_exact(gateway: Gateway) -> None:
    # LBS watches write 0 when the lookup gives no radius: taken as exact, the jump between
    # two towers raised a false wandering alarm for an elder at home.
    _send(gateway, "telemetry", {"seq": 1, "location": {
        "lat": HOME[0], "lon": HOME[1], "accuracy_m": 0, "source": "cell"}})
    assert _stored(gateway, "telemetry", 1)["location"]["accuracy_m"] == 1000
    _send(gateway, "telemetry", {"seq": 2, "location": {
        "lat": HOME[0], "lon": HOME[1], "accuracy_m": 0, "source": "wifi"}})
    assert _stored(gateway, "telemetry", 2)["location"]["accuracy_m"] == 100
    assert gateway.twins.get(BAND).accuracy_m == 100
    # A real radius is kept as sent.
    _send(gateway, "telemetry", {"seq": 3, "location": {
        "lat": HOME[0], "lon": HOME[1], "accuracy_m": 60, "source": "cell"}})
    assert _stored(gateway, "telemetry", 3)["location"]["accuracy_m"] == 60


def test_a_coarse_fix_that_agrees_does_not_move_a_fresh_fine_one(gateway: Gateway) -> None:
    # Vendor round 10: an honest ±1,500 m cell fix 20 s after a ±6 m GPS fix at home moved
    # the family's dot 1.1 km into another neighbourhood (its circle held home all along).
    def fix(seq: int, at_s: float, lat: float, accuracy: float, source: str) -> None:
        gateway.pipeline.process_batch([RawMessage(
            f"scgw/v1/wristband/{BAND}/telemetry", orjson.dumps({
                "ts": MS + int(at_s * 1000), "seq": seq, "location": {
                    "lat": lat, "lon": HOME[1], "accuracy_m": accuracy, "source": source}}),
            received_at=T0 + at_s)])

    away = HOME[0] + 0.01  # ~1.1 km north
    fix(1, -400, HOME[0], 6, "gps")
    fix(2, -380, away, 1500, "cell")
    twin = gateway.twins.get(BAND)
    assert (twin.lat, twin.accuracy_m, twin.location_ts) == (HOME[0], 6, T0 - 400)
    assert len(gateway.store.query("SELECT id FROM telemetry")) == 2  # the trail keeps both
    # A coarse fix that excludes the fine one, or comes when that is stale, is the news.
    fix(3, -360, HOME[0] + 0.02, 1500, "cell")  # ~2.2 km: home is outside its circle
    assert gateway.twins.get(BAND).lat == HOME[0] + 0.02
    fix(4, -340, HOME[0], 6, "gps")
    fix(5, -340 + 301, away, 1500, "cell")
    assert gateway.twins.get(BAND).lat == away


def test_a_reading_in_gbk_with_a_chinese_word_is_kept(gateway: Gateway) -> None:
    # Vendor round 11: a 2G band's reading, GBK-encoded as its firmware does, with its
    # module's word for a cell fix, was an internal error (the twin re-read the raw bytes)
    # and lost — the family's map kept an old fix.
    text = (f'{{"ts": {MS}, "seq": 301, "heart_rate_bpm": 75, "location": {{"lat": 35.4151, '
            '"lon": 116.5872, "accuracy_m": 800, "source": "基站"}}')
    gateway.pipeline.process_batch([RawMessage(f"scgw/v1/wristband/{BAND}/telemetry",
                                               text.encode("gbk"), received_at=T0)])
    assert gateway.store.query("SELECT reason FROM dead_letters") == []
    stored = _stored(gateway, "telemetry", 301)
    assert stored["location"]["source"] == "cell" and "GBK" in stored["salvaged"]["detail"]
    twin = gateway.twins.get(BAND)
    assert (twin.lat, twin.location_source) == (35.4151, "cell")
    assert twin.last_telemetry["heart_rate_bpm"] == 75
