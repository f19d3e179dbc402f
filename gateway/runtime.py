"""Process runtime: the embedded broker when none is configured, the gateway, the demo."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys

from devices.dialects.errors import DialectError
from gateway.broker import EmbeddedBroker
from gateway.service import Gateway
from gateway.settings import Settings

log = logging.getLogger(__name__)

DEMO_PASSWORD_ENV = "SCGW_DEMO_PASSWORD"
DEMO_PASSWORD_DEFAULT = "demo-2026"  # development demo only; printed on start
STARTUP_LOGIN_WAIT_S = 10.0


class RuntimeSetupError(RuntimeError):
    """The runtime cannot start as configured."""


def check_port_free(host: str, port: int, setting: str) -> None:
    """Refuse, in one line naming the setting that moves it, a port someone else holds."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise RuntimeSetupError(
                f"port {port} on {host} is already in use ({exc.strerror}); "
                f"set {setting} to another port") from exc


class Runtime:
    """Starts and stops everything one `scgw run` or `scgw demo` process holds.

    The demo seeds the community model (exported by the simulators package in a subprocess,
    so the gateway never imports it) and runs the live simulators as a separate process that
    speaks only MQTT, exactly like a vendor's devices.
    """

    def __init__(self, settings: Settings, *, demo: bool = False) -> None:
        self._demo = demo
        self.banner: list[str] = []  # lines the CLI prints once everything is up
        self.demo_password = os.environ.get(DEMO_PASSWORD_ENV, DEMO_PASSWORD_DEFAULT)
        self.broker: EmbeddedBroker | None = None
        if demo and settings.environment != "development":
            raise RuntimeSetupError("the demo seeds known passwords: development only")
        if not settings.broker.url:
            self.broker = EmbeddedBroker(settings.embedded_broker)
            # amqtt speaks MQTT 3.1.1 only.
            broker = settings.broker.model_copy(
                update={"url": self.broker.url, "protocol": "3.1.1"}
            )
            settings = settings.model_copy(update={"broker": broker})
        self.seed_dir = settings.data_dir / "demo-seed"
        if demo:
            self._export_seed()
            settings = settings.model_copy(update={
                "rules": settings.rules.model_copy(update={"extra_dir": self.seed_dir / "rules"}),
                "workflow": settings.workflow.model_copy(
                    update={"rota_file": self.seed_dir / "rota.yaml"}),
                "api": settings.api.model_copy(
                    update={"sitemap_file": self.seed_dir / "sitemap.json"}),
            })
        self.settings = settings
        try:
            self.gateway = Gateway(settings)
        except DialectError as exc:  # a vendor's file: say which and why, no traceback
            raise RuntimeSetupError(f"dialect file refused ({settings.dialects.folder}): "
                                    f"{exc}") from exc
        self._traffic: subprocess.Popen[bytes] | None = None

    @property
    def broker_url(self) -> str:
        """Where devices connect."""
        return self.settings.broker.url

    @property
    def database(self) -> str:
        """The database in use: the SQLite file, or the PostgreSQL server and database."""
        return self.gateway.store.location

    def _export_seed(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "simulators.community.export", "--out", str(self.seed_dir)],
            check=True, capture_output=True,
        )

    def start(self) -> None:
        """Broker first, then the gateway, then (demo) the simulated community."""
        if self.broker is not None:
            embedded = self.settings.embedded_broker
            check_port_free(embedded.host, embedded.port, "SCGW_EMBEDDED_BROKER__PORT")
            self.broker.start()
        if self.settings.metrics_port:
            from prometheus_client import start_http_server

            start_http_server(self.settings.metrics_port, addr=self.settings.metrics_host,
                              registry=self.gateway.metrics.registry)
        if self._demo:
            from gateway.seed import apply_seed

            counts = apply_seed(self.gateway, self.seed_dir, password=self.demo_password)
            self.banner.append(
                f"demo community seeded: {counts['devices']} devices, "
                f"{counts['residents']} residents, {counts['families']} family accounts")
            self.banner.append(
                f"accounts (password {self.demo_password!r}): admin, operator, "
                "family e.g. yang.jun, grid workers e.g. wangfang")
        self.gateway.start()
        self._check_broker_login()
        if self._demo:
            self._traffic = subprocess.Popen(
                [sys.executable, "-m", "simulators.live", "--broker", self.broker_url]
            )

    def _check_broker_login(self) -> None:
        """Stop at start-up, naming what was refused, when the broker will not have us.

        A network problem is retried in the background (the broker may come up later); a
        refused login or subscription needs an operator, so it stops the process.
        """
        mqtt = self.gateway.mqtt
        mqtt.wait_answered(STARTUP_LOGIN_WAIT_S)
        if mqtt.refusal is not None and not mqtt.connected:
            self.gateway.stop()
            raise RuntimeSetupError(mqtt.refusal)
        lane = self.gateway.event_lane
        if lane is not None and lane.wait_answered(STARTUP_LOGIN_WAIT_S) and not lane.connected:
            # Not fatal: events are read on the main session meanwhile (docs/operations.md,
            # the event lane), only without their queue of their own.
            log.error("event lane refused: %s. Until then devices' events are read on the "
                      "main session, and a flood of readings can delay an SOS", lane.refusal)

    def stop(self) -> None:
        """Reverse order of start."""
        if self._traffic is not None:
            self._traffic.terminate()
            try:
                self._traffic.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._traffic.kill()
                self._traffic.wait()
        self.gateway.stop()
        if self.broker is not None:
            self.broker.stop()
