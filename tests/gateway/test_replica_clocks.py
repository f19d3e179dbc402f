"""Replicas whose own clocks disagree: heartbeats and leases go by the database's clock.

A replica whose clock ran 30 s ahead used to see every other replica's heartbeat as 30 s old
and take over its broker session at once (one running behind looked dead to the others), so
live replicas kicked each other off the broker in turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from gateway.clock import SystemClock
from gateway.service import Gateway
from tests.support.mosquitto import Mosquitto
from tests.support.replicas import replica_starter
from tests.support.waiting import wait_for

LEASE_S = 1.0
BEAT_S = 0.25


class SkewedClock(SystemClock):
    """The wall clock of a machine whose time sync is off by `skew_s`."""

    def __init__(self, skew_s: float) -> None:
        self.skew_s = skew_s

    def time(self) -> float:
        """Seconds since the epoch, as this machine believes."""
        return time.time() + self.skew_s

    def now(self) -> datetime:
        """Current UTC time, as this machine believes."""
        return datetime.fromtimestamp(self.time(), tz=UTC)


@pytest.fixture
def replicas(mosquitto: Mosquitto, pg_url: str, tmp_path,
             ) -> Iterator[Callable[[str, float], Gateway]]:
    group = f"k{abs(hash(tmp_path.name)) % 10**8}"
    with replica_starter(mosquitto.url, pg_url, group) as start:
        yield lambda name, skew_s: start(name, SkewedClock(skew_s), gateway={
            "lease_s": LEASE_S, "heartbeat_s": BEAT_S})


def _beats_past(gateways: list[Gateway], count: int) -> Callable[[], bool]:
    marks = [g.replica.beats + count for g in gateways]
    return lambda: all(g.replica.beats >= m for g, m in zip(gateways, marks, strict=True))


@pytest.mark.parametrize("skew_s", [30.0, -30.0], ids=["ahead", "behind"])
def test_a_replica_with_a_wrong_clock_takes_no_live_replica_for_dead(replicas, skew_s: float):
    right = replicas("gw-a", 0.0)
    wrong = replicas("gw-b", skew_s)
    # Several leases' worth of heartbeats: long enough for either to judge the other dead.
    assert wait_for(_beats_past([right, wrong], int(4 * LEASE_S / BEAT_S)), 20)

    assert right.replica.adopted == {} and wrong.replica.adopted == {}
    assert right.mqtt.connected and wrong.mqtt.connected
    now = right.clock.time()
    assert right.replica.leading(now) + wrong.replica.leading(wrong.clock.time()) == 1
    assert wrong.replica.offset == pytest.approx(-skew_s, abs=0.5)  # the skew is measured
    assert abs(right.replica.offset) < 0.5  # no false alarm from a job that ran late

    # Failover still runs on the database's clock: the right replica stops, the wrong one
    # takes its session and the timers within a lease or two.
    right.stop()
    assert wait_for(lambda: "gw-a" in wrong.replica.adopted, 5 * LEASE_S + 5)
    assert wait_for(lambda: wrong.replica.leading(wrong.clock.time()), 5 * LEASE_S + 5)
