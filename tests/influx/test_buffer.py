"""The on-disk buffer: its bound, survival across reopen, refused points isolated by halving."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from gateway.clock import ManualClock
from gateway.influx.writer import Flusher, InfluxMetrics, InfluxWriteError
from gateway.settings import InfluxSettings
from gateway.storage.point_buffer import PointBuffer
from tests.influx.conftest import NOW
from tests.influx.fake_http import FakeHttp, Reply, Request


def _lines(n: int, start: int = 0) -> list[str]:
    return [f"wristband,device_id=WB-1 heart_rate_bpm={60 + i}i {1_000 + i}"
            for i in range(start, start + n)]


def test_full_buffer_drops_the_oldest_and_survives_reopen(tmp_path: Path):
    path = tmp_path / "buf.sqlite"
    buffer = PointBuffer(path, max_points=100)
    assert buffer.append(_lines(90), now=NOW) == 0
    dropped = buffer.append(_lines(20, start=90), now=NOW + 1)
    # 10 over the bound plus 1 % slack, so a full buffer does not delete on every append.
    assert dropped == 11
    assert buffer.depth() == 99
    kept = buffer.peek(1000)
    assert [p.line for p in kept] == _lines(99, start=11)  # oldest went, newest stayed
    assert kept[-1].queued_at == NOW + 1
    buffer.close()

    reopened = PointBuffer(path, max_points=100)
    assert reopened.depth() == 99
    assert reopened.oldest_queued_at() == NOW
    reopened.remove([p.id for p in reopened.peek(50)])
    assert reopened.depth() == 49
    # A batch larger than the bound: all 49 old points and 400 of the batch's oldest go.
    assert reopened.append(_lines(500), now=NOW) == 449
    assert [p.line for p in reopened.peek(1000)] == _lines(500)[-100:]
    reopened.close()


def test_refused_point_is_dropped_alone_and_its_neighbours_arrive(tmp_path: Path):
    written: list[str] = []

    def respond(req: Request) -> Reply:
        body = req.body.decode()
        if "poison" in body:
            return Reply(400, b'{"code":"invalid","message":"unable to parse"}',
                         "application/json")
        written.extend(body.splitlines())
        return Reply(204)

    server = FakeHttp(respond)
    try:
        settings = InfluxSettings(url=server.url, token="t0ken", bucket="b", org="o",
                                  batch_size=100)
        metrics = InfluxMetrics(CollectorRegistry())
        buffer = PointBuffer(tmp_path / "buf.sqlite", max_points=1000)
        good = _lines(7)
        buffer.append([*good[:3], "poison line", *good[3:]], now=NOW)
        flusher = Flusher(buffer, settings, metrics, ManualClock(NOW + 2))

        assert flusher.flush_once() == 8
        assert sorted(written) == sorted(good)
        assert buffer.depth() == 0
        assert metrics.dropped.labels("rejected")._value.get() == 1
        assert metrics.written._value.get() == 7
        assert metrics.delivery._sum.get() == 2  # queued at NOW, written at NOW + 2

        first = server.requests[0]
        assert first.path == "/api/v2/write"
        assert first.params == {"org": ["o"], "bucket": ["b"], "precision": ["ms"]}
        assert first.headers["authorization"] == "Token t0ken"
        flusher.stop()
    finally:
        server.close()


def test_unavailable_server_keeps_the_batch_and_says_why(tmp_path: Path):
    server = FakeHttp(lambda req: Reply(503, b"overloaded"))
    try:
        settings = InfluxSettings(url=server.url, bucket="b")
        metrics = InfluxMetrics(CollectorRegistry())
        buffer = PointBuffer(tmp_path / "buf.sqlite", max_points=1000)
        buffer.append(_lines(3), now=NOW)
        flusher = Flusher(buffer, settings, metrics, ManualClock(NOW + 30))
        with pytest.raises(InfluxWriteError, match="503") as info:
            flusher.flush_once()
        assert info.value.reason == "server"
        assert buffer.depth() == 3  # nothing removed: the next attempt sends them again
        flusher.update_gauges()
        assert metrics.write_lag._value.get() == 30
        flusher.stop()
    finally:
        server.close()
