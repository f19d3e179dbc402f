"""Fixtures for the InfluxDB tests: VictoriaMetrics, a gateway with the hook, a clock near now."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.influx import InfluxHook
from gateway.metrics import GatewayMetrics
from gateway.service import Gateway
from gateway.settings import Settings
from tests.conftest import STANDARD_DEVICES
from tests.influx.victoria import Victoria
from tests.support.mosquitto import Mosquitto

# VictoriaMetrics refuses samples far in the future, so these tests live near real time:
# an hour ago, on a whole minute.
NOW = float(int(time.time()) // 60 * 60 - 3600)

FAST_INFLUX = {
    "flush_interval_s": 0.05, "retry_min_s": 0.05, "retry_max_s": 0.3, "timeout_s": 2,
    "stats_interval_s": 60,
}


@pytest.fixture
def clock() -> ManualClock:
    """Manual time, an hour behind the wall clock."""
    return ManualClock(NOW)


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Victoria]:
    """A VictoriaMetrics for one test (tests stop and restart it)."""
    vm = Victoria(tmp_path / "victoria")
    vm.folder.mkdir()
    vm.start()
    yield vm
    vm.stop()


@dataclass
class Running:
    """A started gateway with its InfluxDB hook and the metrics both write to."""

    gateway: Gateway
    hook: InfluxHook
    metrics: GatewayMetrics

    def value(self, name: str, **labels: str) -> float:
        """A sample of the hook's metrics."""
        return self.metrics.value(name, **labels)

    def stop(self) -> None:
        """Stop the gateway (which stops its hook after the pipeline)."""
        self.gateway.stop()


@pytest.fixture
def influx_gateway(
    tmp_path: Path, mosquitto: Mosquitto, clock: ManualClock
) -> Iterator[Callable[..., Running]]:
    """Build gateways whose telemetry also goes to `influx_url`; all share one data folder."""
    made: list[Running] = []

    def _make(influx_url: str, **influx: Any) -> Running:
        settings = Settings(
            broker={"url": mosquitto.url, "client_id": f"gw-influx-{tmp_path.name}-{len(made)}"},
            database={"url": f"sqlite:///{tmp_path / 'scgw.db'}"},
            data_dir=tmp_path,
            influx={"url": influx_url, **FAST_INFLUX, **influx},
            log_json=False,
        )
        gw = Gateway(settings, clock=clock)  # builds its own InfluxDB hook from the settings
        assert gw.influx is not None
        gw.registry.register(STANDARD_DEVICES)
        gw.start()
        assert gw.mqtt.wait_connected(10), "gateway did not connect to mosquitto"
        running = Running(gw, gw.influx, gw.metrics)
        made.append(running)
        return running

    yield _make
    for running in made:
        running.stop()
