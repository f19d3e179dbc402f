"""Process runtime: the embedded broker when none is configured, the gateway, the demo traffic."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from gateway.broker import EmbeddedBroker
from gateway.service import Gateway
from gateway.settings import Settings

log = logging.getLogger(__name__)

DEMO_DEVICES = Path(__file__).resolve().parent.parent / "simulators" / "demo_devices.yaml"


class Runtime:
    """Starts and stops everything one `scgw run` or `scgw demo` process holds."""

    def __init__(self, settings: Settings, *, demo: bool = False) -> None:
        self._demo = demo
        self.broker: EmbeddedBroker | None = None
        if not settings.broker.url:
            self.broker = EmbeddedBroker(settings.embedded_broker)
            # amqtt speaks MQTT 3.1.1 only.
            broker = settings.broker.model_copy(
                update={"url": self.broker.url, "protocol": "3.1.1"}
            )
            settings = settings.model_copy(update={"broker": broker})
        self.settings = settings
        self.gateway = Gateway(settings)
        self._traffic: subprocess.Popen[bytes] | None = None
        self.banner: list[str] = []  # lines the CLI prints once everything is up

    @property
    def broker_url(self) -> str:
        """Where devices connect."""
        return self.settings.broker.url

    @property
    def database(self) -> Path:
        """The SQLite file in use."""
        return self.settings.database.sqlite_path

    def start(self) -> None:
        """Broker first, then the gateway, then (demo) simulated devices."""
        if self.broker is not None:
            self.broker.start()
        if self.settings.metrics_port:
            from prometheus_client import start_http_server

            start_http_server(self.settings.metrics_port, registry=self.gateway.metrics.registry)
        if self._demo:
            from gateway.registry import read_import_file

            self.gateway.registry.register(read_import_file(DEMO_DEVICES))
        self.gateway.start()
        if self._demo:
            # A separate process speaking only MQTT, exactly like a vendor's devices would.
            self._traffic = subprocess.Popen(
                [sys.executable, "-m", "simulators.traffic",
                 "--broker", self.broker_url, "--devices", str(DEMO_DEVICES)]
            )

    def stop(self) -> None:
        """Reverse order of start."""
        if self._traffic is not None:
            self._traffic.terminate()
            self._traffic.wait(timeout=10)
        self.gateway.stop()
        if self.broker is not None:
            self.broker.stop()
