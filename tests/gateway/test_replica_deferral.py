"""A replica's batch does not wait for a device another replica's transaction holds: it
commits the rest and takes that device's messages, in order, once the device is free."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import psycopg
import pytest

from gateway.clock import ManualClock
from gateway.coherence import PUT_BACK_LIMIT
from gateway.envelope import RawMessage
from gateway.service import Gateway
from tests.conftest import device
from tests.support.mosquitto import Mosquitto
from tests.support.replicas import replica_starter
from tests.support.waiting import wait_for

HELD, FREE = "WB-0000", "WB-0001"


@pytest.fixture
def replica(mosquitto: Mosquitto, pg_url: str, clock: ManualClock, tmp_path,
            ) -> Iterator[Gateway]:
    group = f"d{abs(hash(tmp_path.name)) % 10**8}"
    with replica_starter(mosquitto.url, pg_url, group) as start:
        yield start("gw-a", clock, before_start=lambda gw: gw.registry.register(
            [device(d, "wristband", grid="G-01") for d in (HELD, FREE)]))


def _reading(clock: ManualClock, band: str, seq: int) -> RawMessage:
    body = orjson.dumps({"ts": int(clock.time() * 1000), "seq": seq, "heart_rate_bpm": 70})
    # QoS 0: nothing to acknowledge to the broker, the pipeline is fed directly.
    return RawMessage(f"scgw/v1/wristband/{band}/telemetry", body, qos=0,
                      received_at=clock.time(), arrived=time.monotonic())


def _seqs(gw: Gateway, band: str) -> list[int]:
    rows = gw.store.query("SELECT seq FROM telemetry WHERE device_id = ? ORDER BY id", (band,))
    return [int(r["seq"]) for r in rows]


def test_a_held_device_waits_for_the_next_batch_while_the_rest_commits(
        replica: Gateway, pg_url: str, clock: ManualClock):
    deferred = replica.metrics.replica_deferred
    before = deferred._value.get()
    # Another replica's open transaction holds HELD's lock (the same key the gateway uses).
    with psycopg.connect(pg_url) as other:
        other.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 22))", (HELD,))
        # One batch: the inbox hands everything waiting to the next transaction.
        replica.pipeline.submit([_reading(clock, HELD, 1), _reading(clock, FREE, 1),
                                 _reading(clock, HELD, 2)])
        assert wait_for(lambda: _seqs(replica, FREE) == [1], 10), \
            "the free device's reading waited for the held one"
        assert _seqs(replica, HELD) == []
        # Put back PUT_BACK_LIMIT batches in a row, then waited for: never more.
        assert wait_for(lambda: deferred._value.get() - before == 2 * PUT_BACK_LIMIT, 10)
        assert _seqs(replica, HELD) == []
        other.commit()  # the other replica's transaction ends: the device is free
    assert wait_for(lambda: len(_seqs(replica, HELD)) == 2, 10), "held readings never stored"
    assert _seqs(replica, HELD) == [1, 2]  # in their order, once each
    assert deferred._value.get() - before == 2 * PUT_BACK_LIMIT  # then it waited
    assert _seqs(replica, FREE) == [1]
    assert replica.pipeline.depth() == 0
