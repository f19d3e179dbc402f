"""Telemetry via Mosquitto and the gateway lands in a real InfluxDB-v2-API server, losslessly."""

from __future__ import annotations

import orjson

from gateway.influx.points import TELEMETRY_FIELDS
from tests.influx.conftest import NOW
from tests.support.clients import Publisher
from tests.support.waiting import wait_for

TAGS_WB = {"device_id": "WB-1001", "site": "jining-renmin", "building": "3"}


def _ms(ts: float) -> int:
    return round(ts * 1000)


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def test_points_arrive_with_tags_fields_and_device_timestamps(
    victoria, influx_gateway, publisher: Publisher, clock
):
    run = influx_gateway(victoria.url)
    t_wb, t_ac, t_lk, t_sos = NOW - 50, NOW - 40, NOW - 30.25, NOW - 20
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps({
        "ts": _ms(t_wb), "seq": 1, "heart_rate_bpm": 76, "spo2_pct": 97,
        "systolic_mmhg": 132, "diastolic_mmhg": 84, "glucose_mmol_l": 6.1, "battery_pct": 64,
        "worn": True,
        "location": {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 6.5, "source": "gps"},
    }))
    publisher.publish("scgw/v1/access/AC-2001/telemetry", orjson.dumps({
        "ts": _ms(t_ac), "door_open": False, "unlock_count": 12, "denied_count": 1,
    }))
    publisher.publish("scgw/v1/locker/LK-4001/telemetry", orjson.dumps({
        "ts": _ms(t_lk), "compartments_total": 40, "compartments_occupied": 17,
        "temperature_c": 21.5,
    }))
    publisher.publish("scgw/v1/wristband/WB-1001/event", orjson.dumps({
        "ts": _ms(t_sos), "seq": 2, "type": "sos",
    }))
    publisher.publish("scgw/v1/camera/CAM-3001/telemetry", orjson.dumps({
        "ts": _ms(t_sos), "fps": 12.5, "stream_ok": True,
    }))
    assert run.gateway.pipeline.wait_processed(5, timeout=10)

    match = '{__name__=~"(wristband|access|locker|camera|events)_.+"}'

    def arrived() -> bool:
        return len(victoria.export(match)) >= 19

    assert wait_for(arrived, timeout=10), victoria.export('{__name__!=""}')
    found = victoria.series(match)

    wristband = {
        "heart_rate_bpm": 76, "spo2_pct": 97, "systolic_mmhg": 132, "diastolic_mmhg": 84,
        "glucose_mmol_l": 6.1, "battery_pct": 64, "worn": 1, "lat": 35.4151, "lon": 116.5872,
        "accuracy_m": 6.5,
    }
    for field, value in wristband.items():
        row = found.pop((f"wristband_{field}", _labels(**TAGS_WB)))
        assert (row["values"], row["timestamps"]) == ([value], [_ms(t_wb)]), field
    access = {"door_open": 0, "unlock_count": 12, "denied_count": 1}
    for field, value in access.items():
        row = found.pop((f"access_{field}", _labels(device_id="AC-2001", site="jining-renmin",
                                                    building="3")))
        assert (row["values"], row["timestamps"]) == ([value], [_ms(t_ac)]), field
    locker = {"compartments_total": 40, "compartments_occupied": 17, "temperature_c": 21.5}
    for field, value in locker.items():
        row = found.pop((f"locker_{field}", _labels(device_id="LK-4001", site="jining-renmin",
                                                    building="3")))
        assert (row["values"], row["timestamps"]) == ([value], [_ms(t_lk)]), field
    camera = _labels(device_id="CAM-3001", site="jining-renmin", building="-")  # "-": not set
    assert found.pop(("camera_fps", camera))["values"] == [12.5]
    assert found.pop(("camera_stream_ok", camera))["values"] == [1]
    sos = found.pop(("events_count", _labels(**TAGS_WB, kind="wristband", type="sos")))
    assert (sos["values"], sos["timestamps"]) == ([1], [_ms(t_sos)])
    assert found == {}, f"unexpected series (ts/seq are never fields): {sorted(found)}"

    # The SOS opened an alert (built-in rule pack); the AlertBook listener wrote it.
    def alert_written() -> dict:
        return victoria.series('{__name__="alerts_count"}')

    assert wait_for(alert_written, timeout=10)
    [(_, labels)] = alert_written()
    assert dict(labels) == {"rule": "wristband.sos", "severity": "critical", "action": "opened",
                            "site": "jining-renmin", "device_id": "WB-1001"}

    assert run.value("scgw_influx_points_written_total") >= 5
    assert wait_for(lambda: run.value("scgw_influx_buffer_points") == 0, timeout=5)


def test_devices_online_counts_are_written_periodically(
    victoria, influx_gateway, publisher: Publisher, clock
):
    run = influx_gateway(victoria.url)
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry",
                      orjson.dumps({"ts": _ms(NOW - 5), "heart_rate_bpm": 70}))
    assert run.gateway.pipeline.wait_processed(1, timeout=10)
    clock.advance(60)  # one stats interval: the flusher writes fresh counts

    wristbands = _labels(kind="wristband", site="jining-renmin")

    def counted() -> dict | None:
        rows = victoria.series('{__name__=~"gateway_devices_.+"}')
        online = rows.get(("gateway_devices_online", wristbands))
        return rows if online and _ms(NOW + 60) in online["timestamps"] else None

    assert wait_for(counted, timeout=10), victoria.export('{__name__=~"gateway_.+"}')
    rows = counted()
    online = rows[("gateway_devices_online", wristbands)]
    assert dict(zip(online["timestamps"], online["values"], strict=True)) == {
        _ms(NOW): 0, _ms(NOW + 60): 1,  # at start nobody had spoken; then WB-1001 had
    }
    total = rows[("gateway_devices_total", wristbands)]
    assert total["values"][-1] == 2
    cameras = rows[("gateway_devices_online", _labels(kind="camera", site="jining-renmin"))]
    assert cameras["values"][-1] == 0


def test_server_outage_and_gateway_restart_lose_nothing_and_double_nothing(
    victoria, influx_gateway, publisher: Publisher, clock
):
    def send(run, seqs: range, processed: int) -> None:
        for seq in seqs:
            publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps({
                "ts": _ms(NOW - 600 + seq), "seq": seq, "heart_rate_bpm": 60 + seq,
            }))
        # `processed` counts since this gateway started, so wait for the running total.
        assert run.gateway.pipeline.wait_processed(processed, timeout=10)

    def heart_rates() -> dict:
        rows = victoria.series('{__name__="wristband_heart_rate_bpm"}')
        return rows.get(("wristband_heart_rate_bpm", _labels(**TAGS_WB)), {"timestamps": []})

    run = influx_gateway(victoria.url)
    send(run, range(1, 11), processed=10)
    assert wait_for(lambda: len(heart_rates()["timestamps"]) == 10, timeout=10)

    victoria.stop()  # mid-stream: the gateway keeps ingesting into its buffer
    send(run, range(11, 21), processed=20)
    assert wait_for(lambda: run.value("scgw_influx_write_errors_total",
                                      reason="unreachable") >= 1, timeout=10)
    assert run.hook.buffer.depth() == 10
    clock.advance(5)
    assert wait_for(lambda: run.value("scgw_influx_write_lag_seconds") >= 5, timeout=5)

    run.stop()  # the gateway restarts during the outage; the buffer is on disk
    run = influx_gateway(victoria.url)
    assert run.hook.buffer.depth() >= 10
    send(run, range(21, 31), processed=10)

    victoria.start()
    assert wait_for(lambda: len(heart_rates()["timestamps"]) >= 30, timeout=15)
    assert wait_for(lambda: run.value("scgw_influx_buffer_points") == 0, timeout=5)
    got = heart_rates()
    expected = {_ms(NOW - 600 + seq): 60 + seq for seq in range(1, 31)}
    assert sorted(got["timestamps"]) == sorted(expected), "lost or doubled points"
    assert dict(zip(got["timestamps"], got["values"], strict=True)) == expected
    assert run.value("scgw_influx_write_lag_seconds") == 0
    assert run.value("scgw_influx_points_dropped_total", reason="buffer_full") == 0


def test_fields_follow_the_kind_models():
    # Derived, not hand-kept: every numeric/bool reading of every kind, and nothing else.
    names = {kind: [f.name for f in specs] for kind, specs in TELEMETRY_FIELDS.items()}
    assert names["wristband"] == [
        "battery_pct", "battery_v", "heart_rate_bpm", "spo2_pct", "systolic_mmhg", "diastolic_mmhg",
        "glucose_mmol_l", "body_temp_c", "steps", "worn", "lat", "lon", "accuracy_m",
    ]
    assert names["access"] == ["battery_pct", "battery_v", "door_open", "unlock_count",
                               "denied_count"]
    assert names["locker"] == [
        "battery_pct", "battery_v", "compartments_total", "compartments_occupied", "temperature_c",
    ]
    assert names["camera"] == ["battery_pct", "battery_v", "fps", "stream_ok"]
