"""A production-mode gateway process on Mosquitto with dynamic security, set up as the docs say.

The broker's admin account is created with `mosquitto_ctrl dynsec init`, the gateway's own
account with `scgw broker provision`, and the gateway runs as `scgw run` in its own process
with `environment: production`. The attacks in this folder go at it over MQTT and HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.clock import SystemClock
from gateway.residents import Resident, ResidentRepository
from gateway.storage.sqlite import SqliteStore
from gateway.users import UserRepository
from tests.support.mosquitto import Mosquitto, free_port, start_mosquitto
from tests.support.waiting import wait_for

PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
# Deliberately names without a reserved prefix: the exact service-account names must be
# refused too, not only the `scgw…` family.
ADMIN, ADMIN_PW = "ctl-admin", "ctl-admin-password-1"
GW_USER, GW_PW, GW_CLIENT = "gw-main", "gateway-password-123", "gw-main-1"
METRICS_TOKEN = "scrape-token-0123456789"
PASSWORD = "correct horse battery"
ACCOUNTS = {
    "admin-zhou": ("admin", {}),
    "op-chen": ("operator", {}),
    "gw-wang": ("grid_worker", {"grid": "G-01"}),
    "fam-yang": ("family", {}),
    "vendor-a": ("vendor", {"vendor": "acme"}),
    "vendor-b": ("vendor", {"vendor": "bolt"}),
}


def scgw(*args: str, env: dict[str, str], cwd: Path, check: bool = True,
         ) -> subprocess.CompletedProcess[str]:
    """Run the `scgw` command (as `python -m api`) and return what it printed."""
    done = subprocess.run([sys.executable, "-m", "api", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"scgw {' '.join(args)} failed: {done.stderr}")
    return done


@dataclass
class Edge:
    """The running production gateway, its broker, and ways to talk to both."""

    broker: Mosquitto
    api_url: str
    env: dict[str, str]
    folder: Path
    db: Path
    process: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)

    def http(self, **kwargs: object) -> httpx.Client:
        """An HTTP client for the API (pass `transport=` to pick a source address)."""
        return httpx.Client(base_url=self.api_url, timeout=10, **kwargs)  # type: ignore[arg-type]

    def login(self, username: str, password: str = PASSWORD) -> str:
        """A bearer token."""
        with self.http() as client:
            r = client.post("/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def headers(self, username: str) -> dict[str, str]:
        """Authorization header of an account (cached token)."""
        if username not in self.tokens:
            self.tokens[username] = self.login(username)
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def register(self, username: str, body: dict[str, object]) -> httpx.Response:
        """POST /devices as `username`."""
        with self.http() as client:
            return client.post("/devices", json=body, headers=self.headers(username))

    def scgw(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The CLI against this gateway's settings."""
        return scgw(*args, env=self.env, cwd=self.folder, check=check)

    def stored(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Read the gateway's database (a second, read-only connection)."""
        import sqlite3

        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10) as conn:
            return conn.execute(sql, args).fetchall()


class Client:
    """An MQTT 5 client as a device (or an attacker) would run it."""

    def __init__(self, broker: Mosquitto, username: str, password: str, client_id: str, *,
                 persistent: bool = False) -> None:
        self.reason: int | None = None
        self.disconnects: list[int] = []
        self.messages: list[tuple[str, bytes]] = []
        self.answered = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=paho.MQTTv5)
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self.pubacks: dict[int, int] = {}  # packet id → the broker's PUBACK reason code
        self.client.on_publish = self._on_publish
        props = Properties(PacketTypes.CONNECT)
        if persistent:
            props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", broker.port, clean_start=not persistent,
                            properties=props)
        self.client.loop_start()
        assert self.answered.wait(10), "no CONNACK"

    def _on_connect(self, client, userdata, flags, reason, props) -> None:
        self.reason = reason.value
        self.answered.set()
        if reason.value != 0:
            client.disconnect()  # a refused login is final: no automatic retry

    def _on_disconnect(self, client, userdata, flags, reason, props) -> None:
        self.disconnects.append(reason.value)

    def _on_publish(self, client, userdata, mid, reason, props) -> None:
        self.pubacks[mid] = reason.value

    @property
    def accepted(self) -> bool:
        """Whether the broker let this client in."""
        return self.reason == 0

    def publish(self, topic: str, payload: bytes) -> None:
        """QoS 1, waiting for the broker's ack."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def publish_reason(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """QoS 1; the reason code of the broker's PUBACK (0: accepted, 135: not authorized)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        assert wait_for(lambda: info.mid in self.pubacks, 10), f"no PUBACK for {topic}"
        return self.pubacks[info.mid]

    def subscribe(self, topic: str) -> None:
        """QoS 1 subscription (the result is not awaited)."""
        self.client.subscribe(topic, qos=1)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def attempt(broker: Mosquitto, username: str, password: str, client_id: str) -> int:
    """CONNACK reason code of one login attempt (0: accepted)."""
    client = Client(broker, username, password, client_id)
    client.close()
    assert client.reason is not None
    return client.reason


def _environment(broker: Mosquitto, db: Path, api_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SCGW_ENVIRONMENT="production",
        SCGW_API__JWT_SECRET="jwt-secret-for-the-security-tests-0123456789",
        SCGW_API__PORT=str(api_port),
        SCGW_API__METRICS_TOKEN=METRICS_TOKEN,
        SCGW_BROKER__URL=broker.url,
        SCGW_BROKER__USERNAME=GW_USER,
        SCGW_BROKER__PASSWORD=GW_PW,
        SCGW_BROKER__CLIENT_ID=GW_CLIENT,
        SCGW_PROVISIONING__ENABLED="true",
        SCGW_PROVISIONING__ADMIN_USERNAME=ADMIN,
        SCGW_PROVISIONING__ADMIN_PASSWORD=ADMIN_PW,
        SCGW_DATABASE__URL=f"sqlite:///{db}",
        SCGW_LOG_JSON="false",
        SCGW_LOG_LEVEL="WARNING",
    )
    return env


def _seed(db: Path) -> None:
    store = SqliteStore(db)
    try:
        users = UserRepository(store, SystemClock())
        for name, (role, extra) in ACCOUNTS.items():
            users.add(name, PASSWORD, role, **extra)
        ResidentRepository(store, SystemClock()).upsert([
            Resident("R-yang", "杨大爷", frozenset({"lives_alone"}), "jining-renmin"),
            Resident("R-li", "李奶奶", frozenset(), "jining-renmin"),
        ])
    finally:
        store.close()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """Broker with dynamic security + a production `scgw run` process, for one module."""
    folder = tmp_path_factory.mktemp("edge")
    state = folder / "dynsec.json"
    subprocess.run(["mosquitto_ctrl", "dynsec", "init", str(state), ADMIN, ADMIN_PW],
                   check=True, capture_output=True)
    broker = start_mosquitto(folder / "broker", anonymous=False,
                             extra=f"plugin {PLUGIN}\nplugin_opt_config_file {state}\n")
    db = folder / "scgw.db"
    api_port = free_port()
    env = _environment(broker, db, api_port)
    process = None
    try:
        provisioned = scgw("broker", "provision", env=env, cwd=folder)
        assert "created" in provisioned.stdout, provisioned.stdout
        _seed(db)
        # A free port can be taken by another process before the gateway binds it (seen on
        # a busy machine: "port … is already in use"); the gateway then exits, and is started
        # again on another port.
        for _ in range(3):
            process = subprocess.Popen([sys.executable, "-m", "api", "run"], env=env,
                                       cwd=folder)
            edge = Edge(broker, f"http://127.0.0.1:{api_port}", env, folder, db, process)

            def ready(edge: Edge = edge, process: subprocess.Popen[bytes] = process) -> bool:
                try:
                    with edge.http() as client:
                        return client.get("/ready").status_code == 200
                except httpx.TransportError:
                    return process.poll() is not None
            if wait_for(ready, 30) and process.poll() is None:
                break
            if process.poll() is None:
                break  # running but not ready: the assertion below says so
            api_port = free_port()
            env = _environment(broker, db, api_port)
        assert process.poll() is None and wait_for(ready, 1), "gateway did not become ready"
        yield edge
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        broker.stop()


# The seeded in-process API of tests/api (real Mosquitto and SQLite behind a TestClient).
from tests.api.conftest import api, make_api  # noqa: E402, F401
