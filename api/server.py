"""Serves the API with uvicorn on a background thread of the gateway process."""

from __future__ import annotations

import threading

import uvicorn

from api.app import create_app
from gateway.service import Gateway


class ApiServer:
    """Starts and stops uvicorn for one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        api = gateway.settings.api
        self.url = f"http://{api.host}:{api.port}"
        config = uvicorn.Config(create_app(gateway), host=api.host, port=api.port,
                                log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Listen; raise RuntimeError if it does not come up."""
        self._thread = threading.Thread(target=self._server.run, name="scgw-api", daemon=True)
        self._thread.start()
        ready = threading.Event()
        # uvicorn flips `started` once bound; poll it with a bounded wait, not a sleep loop.
        for _ in range(int(timeout / 0.05)):
            if self._server.started or not self._thread.is_alive():
                break
            ready.wait(0.05)
        if not self._server.started:
            raise RuntimeError(f"API did not start on {self.url}")

    def stop(self) -> None:
        """Finish in-flight requests and stop."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
