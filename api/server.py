"""Serves the API with uvicorn on a background thread of the gateway process."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import uvicorn

from api.app import create_app
from gateway.runtime import check_port_free
from gateway.service import Gateway

log = logging.getLogger(__name__)


class ApiServer:
    """Starts and stops uvicorn for one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        api = gateway.settings.api
        self.url = f"http://{api.host}:{api.port}"
        self._host, self._port = api.host, api.port
        # Forwarded headers are believed only from the proxies named in settings: otherwise
        # anyone could pick the address that throttling and the audit see.
        config = uvicorn.Config(create_app(gateway), host=api.host, port=api.port,
                                log_level="warning", lifespan="off",
                                proxy_headers=bool(api.trusted_proxies),
                                forwarded_allow_ips=list(api.trusted_proxies) or None)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """RuntimeSetupError (one line naming the setting) if the API's port is taken."""
        check_port_free(self._host, self._port, "SCGW_API__PORT")

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

    def verify(self, runtime: Any, timeout: float) -> bool:
        """Log in as the demo operator and wait until an alert and a ticket that this run's
        traffic produced are visible (an old database's do not count)."""
        started = time.time() - 1.0
        deadline = time.monotonic() + timeout
        pause = threading.Event()
        while time.monotonic() < deadline:
            try:
                token = self._login("operator", runtime.demo_password)
                alerts = self._get("/alerts?limit=100", token)
                tickets = self._get("/tickets?limit=100", token)
                if (any(a["opened_at"] >= started for a in alerts)
                        and any(t["created_at"] >= started for t in tickets)):
                    return True
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                log.info("demo check: API not answering yet: %s", exc)
            pause.wait(1.0)
        return False

    def _login(self, username: str, password: str) -> str:
        body = urllib.parse.urlencode({"username": username, "password": password}).encode()
        with urllib.request.urlopen(f"{self.url}/auth/token", body, timeout=5) as resp:
            return json.loads(resp.read())["access_token"]

    def _get(self, path: str, token: str) -> Any:
        request = urllib.request.Request(f"{self.url}{path}",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        """Finish in-flight requests and stop."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
