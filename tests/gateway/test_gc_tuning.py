"""A long-running gateway takes its start-up state out of garbage collection and gives it
back when it stops."""

from __future__ import annotations

import gc
from pathlib import Path

from gateway.clock import ManualClock
from gateway.service import Gateway
from gateway.settings import Settings
from tests.conftest import T0


def _gateway(tmp_path: Path, threshold: int) -> Gateway:
    return Gateway(Settings(broker={"url": "mqtt://127.0.0.1:1"},
                            database={"url": f"sqlite:///{tmp_path / 'gc.db'}"},
                            limits={"gc_threshold": threshold}, log_json=False),
                   clock=ManualClock(T0))


def test_a_started_gateway_freezes_its_state_and_thaws_it_when_it_stops(tmp_path):
    before = gc.get_threshold()
    gw = _gateway(tmp_path, 40_000)
    gw.start(connect=False)
    try:
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == 40_000
    finally:
        gw.stop()
        gc.set_threshold(*before)
    assert gc.get_freeze_count() == 0


def test_a_threshold_of_zero_leaves_the_collector_as_it_is(tmp_path):
    before = gc.get_threshold()
    gw = _gateway(tmp_path, 0)
    gw.start(connect=False)
    try:
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == before
    finally:
        gw.stop()
