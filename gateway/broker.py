"""Embedded pure-Python MQTT broker (amqtt) for the demo and laptops; Mosquitto in production."""

from __future__ import annotations

import asyncio
import logging
import threading

from amqtt.broker import Broker

from gateway.settings import EmbeddedBrokerSettings

log = logging.getLogger(__name__)


class EmbeddedBroker:
    """Runs an amqtt broker on its own event loop thread."""

    def __init__(self, settings: EmbeddedBrokerSettings) -> None:
        self._settings = settings
        self._loop = asyncio.new_event_loop()
        self._broker: Broker | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        """mqtt:// URL clients use to reach it."""
        return f"mqtt://{self._settings.host}:{self._settings.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; raise RuntimeError if it does not come up in time."""
        self._thread = threading.Thread(target=self._run, name="scgw-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"embedded broker did not start on {self.url}")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {
                "default": {
                    "type": "tcp",
                    "bind": f"{self._settings.host}:{self._settings.port}",
                }
            },
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {
                "allow_anonymous": True}},
        }
        self._broker = Broker(config, loop=self._loop)
        self._loop.run_until_complete(self._broker.start())
        log.info("embedded broker listening", extra={"url": self.url})
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        """Shut the broker down and end its thread."""
        if self._broker is None or self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
