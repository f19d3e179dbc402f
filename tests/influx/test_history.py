"""History reads: embedded store by default; past its retention, Flux against a real HTTP server.

VictoriaMetrics has no Flux, so the Flux path is checked against a small HTTP server in this
test that answers `/api/v2/query` with annotated CSV and records the query it was sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from gateway.clock import ManualClock
from gateway.history import HistoryUnavailableError, Sample, TelemetryHistory, auto_step
from gateway.influx.points import TELEMETRY_FIELDS
from gateway.influx.query import flux_query, flux_string, flux_time
from gateway.settings import Settings
from gateway.storage.records import DeviceRecord, StoredMessage
from gateway.storage.sqlite import SqliteStore
from tests.influx.conftest import NOW
from tests.influx.fake_http import FakeHttp, Reply, Request

DAY = 86_400.0
CUTOFF = NOW - 30 * DAY  # database.telemetry_retention_days defaults to 30


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def annotated_csv(rows: list[dict[str, object]], start: float, stop: float) -> bytes:
    """What InfluxDB 2.x answers for a pivoted query: one table, annotations first."""
    fields = [("heart_rate_bpm", "long"), ("lat", "double"), ("lon", "double"),
              ("worn", "boolean")]
    header = ["", "result", "table", "_start", "_stop", "_time", "_measurement", "device_id",
              "site", "building", *(f for f, _ in fields)]
    types = ["#datatype", "string", "long", "dateTime:RFC3339", "dateTime:RFC3339",
             "dateTime:RFC3339", "string", "string", "string", "string", *(t for _, t in fields)]
    group = ["#group", "false", "false", "true", "true", "false", "true", "true", "true",
             "true", *("false" for _ in fields)]
    default = ["#default", "_result", *("" for _ in header[2:])]
    lines = [",".join(types), ",".join(group), ",".join(default), ",".join(header)]
    for row in rows:
        values = ["", "", "0", _rfc3339(start), _rfc3339(stop), _rfc3339(float(row["ts"])),
                  "wristband", "WB-1001", "jining-renmin", "3",
                  *(str(row.get(f, "")).lower() for f, _ in fields)]
        lines.append(",".join(values))
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


OLD_ROWS = [
    {"ts": CUTOFF - 2 * DAY, "heart_rate_bpm": 71, "lat": 35.41, "lon": 116.58, "worn": True},
    {"ts": CUTOFF - 1 * DAY + 0.5, "heart_rate_bpm": 73, "lat": 35.42, "lon": 116.59,
     "worn": False},
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """An embedded store with WB-1001 and two recent readings (and one past retention)."""
    db = SqliteStore(tmp_path / "scgw.db")
    db.upsert_devices([DeviceRecord(id="WB-1001", kind="wristband", site="jining-renmin",
                                    building="3", created_at=NOW, updated_at=NOW)])
    readings = [
        (CUTOFF - 5 * DAY, {"heart_rate_bpm": 99}),  # not pruned yet; InfluxDB owns this range
        (NOW - 7200, {"heart_rate_bpm": 80, "worn": True,
                      "location": {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 6.5}}),
        (NOW - 3600, {"heart_rate_bpm": 90, "spo2_pct": 97.0, "worn": False}),
    ]
    with db.transaction() as tx:
        for ts, data in readings:
            tx.add_message(StoredMessage(
                device_id="WB-1001", kind="wristband", channel="telemetry", type="telemetry",
                ts=ts, received_at=ts, seq=None, stale=False,
                data=orjson.dumps({"ts": int(ts * 1000), **data}).decode(),
            ))
    yield db
    db.close()


@pytest.fixture
def flux_server() -> Iterator[FakeHttp]:
    """Answers every query with OLD_ROWS, as InfluxDB 2.x would (annotated CSV)."""
    def respond(req: Request) -> Reply:
        return Reply(200, annotated_csv(OLD_ROWS, CUTOFF - 3 * DAY, CUTOFF),
                     "text/csv; charset=utf-8")

    server = FakeHttp(respond)
    yield server
    server.close()


def _history(store: SqliteStore, tmp_path: Path, influx_url: str = "") -> TelemetryHistory:
    settings = Settings(database={"url": f"sqlite:///{tmp_path / 'scgw.db'}"},
                        influx={"url": influx_url, "token": "tok", "org": "scgw",
                                "bucket": "telemetry"},
                        log_json=False)
    return TelemetryHistory(store, settings, ManualClock(NOW))


def test_range_past_retention_is_read_with_flux_and_merged(store, flux_server, tmp_path):
    history = _history(store, tmp_path, flux_server.url)
    start = CUTOFF - 3 * DAY
    got = history.read("WB-1001", start, NOW, fields=["heart_rate_bpm", "lat", "worn"])
    history.close()

    assert got == [
        Sample(CUTOFF - 2 * DAY, {"heart_rate_bpm": 71, "lat": 35.41, "worn": True}, "influx"),
        Sample(CUTOFF - DAY + 0.5, {"heart_rate_bpm": 73, "lat": 35.42, "worn": False},
               "influx"),
        Sample(NOW - 7200, {"heart_rate_bpm": 80, "lat": 35.4151, "worn": True}),
        Sample(NOW - 3600, {"heart_rate_bpm": 90, "worn": False}),
    ]
    [request] = flux_server.requests
    assert request.path == "/api/v2/query"
    assert request.params["org"] == ["scgw"]
    assert request.headers["authorization"] == "Token tok"
    query = json.loads(request.body)["query"]
    assert query == (
        'from(bucket: "telemetry")\n'
        f"  |> range(start: {flux_time(start)}, stop: {flux_time(CUTOFF)})\n"
        '  |> filter(fn: (r) => r._measurement == "wristband" and r.device_id == "WB-1001")\n'
        '  |> filter(fn: (r) => r._field == "heart_rate_bpm" or r._field == "lat"'
        ' or r._field == "worn")\n'
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
        '  |> sort(columns: ["_time"])'
    )


def test_recent_range_never_asks_influx(store, flux_server, tmp_path):
    history = _history(store, tmp_path, flux_server.url)
    got = history.read("WB-1001", NOW - DAY, NOW)
    assert [s.values["heart_rate_bpm"] for s in got] == [80, 90]
    assert got[0].values == {"heart_rate_bpm": 80, "worn": True, "lat": 35.4151,
                             "lon": 116.5872, "accuracy_m": 6.5}
    assert flux_server.requests == []


def test_without_influx_the_embedded_store_answers_alone(store, tmp_path):
    history = _history(store, tmp_path)
    got = history.read("WB-1001", CUTOFF - 10 * DAY, NOW, fields=["heart_rate_bpm"])
    assert [(s.ts, s.values["heart_rate_bpm"]) for s in got] == [
        (CUTOFF - 5 * DAY, 99), (NOW - 7200, 80), (NOW - 3600, 90),
    ]


def test_long_range_is_downsampled_on_both_sides(store, flux_server, tmp_path):
    history = _history(store, tmp_path, flux_server.url)
    step = 86_400.0
    got = history.read("WB-1001", CUTOFF - 3 * DAY, NOW, step_s=step)
    query = json.loads(flux_server.requests[0].body)["query"]
    assert ('|> aggregateWindow(every: 86400s, fn: mean, createEmpty: false, '
            'timeSrc: "_start")') in query
    assert 'r._field == "worn"' not in query  # no mean of a bool
    stop = datetime.fromtimestamp(CUTOFF // step * step, UTC)  # split on a window edge
    assert f"stop: {stop.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}" in query
    windows: dict[float, list[int]] = {}
    for ts, heart_rate in [(NOW - 7200, 80), (NOW - 3600, 90)]:
        windows.setdefault(ts // step * step, []).append(heart_rate)
    recent = {s.ts: s.values["heart_rate_bpm"] for s in got if s.source == "embedded"}
    assert recent == {start: sum(v) / len(v) for start, v in windows.items()}
    assert all("worn" not in s.values for s in got if s.source == "embedded")


def test_unreachable_influx_is_an_error_not_a_silent_gap(store, tmp_path):
    server = FakeHttp(lambda req: Reply(500, b'{"code":"internal error"}', "application/json"))
    try:
        history = _history(store, tmp_path, server.url)
        with pytest.raises(HistoryUnavailableError, match="HTTP 500"):
            history.read("WB-1001", CUTOFF - DAY, NOW)
    finally:
        server.close()


def test_flux_strings_cannot_break_out_of_the_query():
    assert flux_string('a"b\\c${x}') == '"a\\"b\\\\c\\${x}"'
    flux = flux_query(bucket="b", measurement="wristband", device_id='x") or (r) => true',
                      start=0, end=1, fields=TELEMETRY_FIELDS["access"])
    assert 'r.device_id == "x\\") or (r) => true"' in flux


def test_auto_step_keeps_charts_small():
    assert auto_step(0, 3600) is None  # an hour of minutely readings is fine raw
    assert auto_step(0, 30 * DAY, max_points=1000) == 2592.0
