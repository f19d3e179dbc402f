"""A running console stack — the seeded demo community on Mosquitto and SQLite behind a real
uvicorn — for browser tests, the flood bench and the screenshot script."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from api.server import ApiServer
from gateway.clock import ManualClock
from gateway.seed import apply_seed
from gateway.service import Gateway
from gateway.settings import Settings
from simulators.community.export import export
from tests.conftest import T0
from tests.support.clients import Publisher
from tests.support.mosquitto import free_port, start_mosquitto

PASSWORD = "console-test-pw"


@dataclass
class Site:
    """The running stack a browser test talks to."""

    url: str
    gateway: Gateway
    publisher: Publisher
    clock: ManualClock
    seq: int = 100
    stops: list[Callable[[], None]] = field(default_factory=list)

    def publish(self, device_id: str, channel: str, body: dict[str, Any],
                kind: str = "wristband", *, wait: bool = False) -> None:
        """Publish like the device would, with a fresh seq and the gateway's current time;
        with `wait`, return once the gateway committed it."""
        self.seq += 1
        payload = {"ts": int(self.gateway.clock.time() * 1000), "seq": self.seq, **body}
        before = self.gateway.pipeline.processed
        self.publisher.publish(f"scgw/v1/{kind}/{device_id}/{channel}", orjson.dumps(payload))
        if wait:
            assert self.gateway.pipeline.wait_processed(before + 1, 10)

    def token(self, user: str) -> str:
        """A fresh access token for `user`."""
        form = urllib.parse.urlencode({"username": user, "password": PASSWORD}).encode()
        with urllib.request.urlopen(f"{self.url}/auth/token", form, timeout=5) as resp:
            return str(json.loads(resp.read())["access_token"])

    def call(self, method: str, path: str, user: str, body: dict | None = None) -> Any:
        """A REST call as `user` (for setting up and checking state beside the browser)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token(user)}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def status(self, method: str, path: str, user: str, body: dict | None = None) -> tuple[
            int, Any]:
        """(status, JSON body) of a REST call that may be refused."""
        try:
            return 200, self.call(method, path, user, body)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def wait_processed(self, count: int) -> None:
        """Wait until the pipeline has taken `count` more messages."""
        assert self.gateway.pipeline.wait_processed(count, 10)

    def tick(self) -> None:
        """Run the alert and ticket timers now, on the pipeline thread (a barrier)."""
        gw = self.gateway
        now = self.clock.time()
        gw.pipeline.call("test_tick", lambda at, tx: (gw.alerting.tick(at, tx),
                                                      gw.workflow.tick(at, tx)), now)

    def advance(self, seconds: float) -> None:
        """Move the gateway's clock and run its timers."""
        self.clock.advance(seconds)
        self.tick()

    def stop(self) -> None:
        """Stop everything this stack started."""
        for stop in reversed(self.stops):
            stop()


def start_site(root: Path, *, api: dict[str, Any] | None = None, start: float = T0) -> Site:
    """Seed the demo community into a gateway on a fresh Mosquitto and serve it with uvicorn;
    the clock is fixed (noon in Jining by default: the day-shift worker is on)."""
    mosquitto = start_mosquitto(root / "mosquitto")
    seed_dir = root / "seed"
    export(seed_dir)
    settings = Settings(
        broker={"url": mosquitto.url, "client_id": f"gw-console-{root.name}"},
        database={"url": f"sqlite:///{root / 'scgw.db'}"},
        log_json=False,
        api={"host": "127.0.0.1", "port": free_port(),
             "sitemap_file": str(seed_dir / "sitemap.json"), **(api or {})},
        rules={"extra_dir": str(seed_dir / "rules")},
        workflow={"rota_file": str(seed_dir / "rota.yaml")},
    )
    clock = ManualClock(start)
    gw = Gateway(settings, clock=clock)
    apply_seed(gw, seed_dir, password=PASSWORD)
    gw.start()
    assert gw.mqtt.wait_connected(10), "gateway did not connect to mosquitto"
    publisher = Publisher(mosquitto.url)
    site = Site("", gw, publisher, clock)
    site.stops += [mosquitto.stop, gw.stop, publisher.close]
    server = ApiServer(gw)
    server.start()
    site.url = server.url

    def stop_server() -> None:
        # /ws handlers wait on their event queue, not on the socket, so a closed tab is
        # noticed only at the next event; don't let uvicorn's graceful shutdown wait for it.
        server._server.force_exit = True
        server.stop()

    site.stops.append(stop_server)
    return site


class CommitTimes:
    """When (wall clock) the transaction that opened an alert of a device committed: the
    moment a console could first know of it."""

    def __init__(self, gw: Gateway) -> None:
        self.times: dict[str, float] = {}
        self._pending: list[str] = []
        self._lock = threading.Lock()
        assert gw.alerting is not None
        gw.alerting.subscribe(self._changed)
        gw.pipeline.on_commit.append(self._committed)

    def _changed(self, change: Any, tx: Any) -> None:
        if change.action == "opened":
            self._pending.append(change.alert.device_id)

    def _committed(self) -> None:
        if self._pending:
            now = time.time()
            with self._lock:
                for device_id in self._pending:
                    self.times.setdefault(device_id, now)
            self._pending.clear()
