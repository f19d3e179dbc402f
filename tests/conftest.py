"""Shared fixtures: a real Mosquitto, a real PostgreSQL, a gateway on a temp SQLite file (or a
fresh PostgreSQL database where a folder runs on both backends), a manual clock."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from devices.base import DeviceConfig
from devices.catalogue import CATALOGUE
from gateway.clock import ManualClock
from gateway.service import Gateway
from gateway.settings import Settings
from tests.support.clients import Publisher
from tests.support.mosquitto import Mosquitto, start_mosquitto
from tests.support.postgres import PostgresServer, start_postgres


def _temporary_files_in_memory(least_free: int = 4 << 30) -> None:
    """Put the suite's temporary folders (pytest's tmp_path, the PostgreSQL cluster, the
    brokers' files, rendered clips) on /dev/shm when it has room. The tests create over a
    thousand SQLite files and PostgreSQL databases: on a virtual disk creating one waited
    0.1 s (SQLite) to 0.6 s (CREATE DATABASE, even with fsync off), in memory 0.05 s. A
    TMPDIR someone set, or a small /dev/shm (Docker's default is 64 MB), is left alone."""
    shm = Path("/dev/shm")
    if "TMPDIR" in os.environ or not shm.is_dir():
        return
    try:
        if shutil.disk_usage(shm).free < least_free:
            return
        root = shm / "scgw-tests"
        root.mkdir(mode=0o755, exist_ok=True)  # PostgreSQL runs as `nobody` below it
    except OSError:
        return
    os.environ["TMPDIR"] = str(root)  # for the gateways and servers the tests start too
    tempfile.tempdir = None  # forget a location already looked up


_temporary_files_in_memory()


# Hypothesis judges its own speed by the wall clock: on a 2-core machine running two test
# workers (make test), drawing one example can take seconds, which says nothing about the
# code under test. The examples and their number stay as each test declares them.
hypothesis_settings.register_profile(
    "shared-machine", suppress_health_check=[HealthCheck.too_slow], deadline=None)
hypothesis_settings.load_profile("shared-machine")

# Noon in Jining on the day the tests pretend it is.
T0 = 1_795_233_600.0  # 2026-11-21T04:00:00Z


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2 at its lowest cost inside the test process: the suite hashes and checks
    thousands of passwords, and what it tests is who may sign in, not how long a guess takes.
    Gateways the tests start as their own processes keep the real cost."""
    import gateway.users as users

    real = (users._HASHER, users._DUMMY_HASH)
    users._HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    users._DUMMY_HASH = users._HASHER.hash("no such user")
    yield
    users._HASHER, users._DUMMY_HASH = real


@pytest.fixture(autouse=True, scope="session")
def _collector_left_alone() -> Iterator[None]:
    """In-process gateways leave the garbage collector as it is unless a test sets
    `limits.gc_threshold` itself: the tuning collects the whole process once and freezes
    what survives, which suits one long-running gateway but cost a test process that starts
    hundreds of them a full collection of its heap each time (about half the suite's setup).
    Gateways the tests start as their own processes tune it as in production."""
    real = Gateway._tune_gc

    def tune_when_asked(self: Gateway) -> None:
        if "gc_threshold" in self.settings.limits.model_fields_set:
            real(self)

    Gateway._tune_gc = tune_when_asked  # type: ignore[method-assign]
    yield
    Gateway._tune_gc = real  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One anonymous Mosquitto per test module."""
    broker = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL per test session (initdb + pg_ctl in a temporary folder)."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test (dropped afterwards)."""
    name = postgres.fresh_database()
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture
def backend() -> str:
    """The store a test runs on: SQLite. Folders and modules that run on both backends
    override this fixture with `params=BACKENDS` (docs/storage.md lists them)."""
    return "sqlite"


BACKENDS = ["sqlite", "postgres"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.both_backends` (or a module's `pytestmark`) runs a test that uses the
    store, through `backend`, `database_url` or `make_gateway`, once per backend."""
    if ("backend" in metafunc.fixturenames
            and metafunc.definition.get_closest_marker("both_backends") is not None):
        metafunc.parametrize("backend", BACKENDS)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """`database.url` of the test's store: a SQLite file in tmp_path, or a fresh PostgreSQL
    database."""
    if backend == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'scgw.db'}"


@pytest.fixture
def clock() -> ManualClock:
    """Time that moves only when the test says so."""
    return ManualClock(T0)


def device(id: str, kind: str, **fields: Any) -> DeviceConfig:
    """A validated registration record."""
    return CATALOGUE.device_config_adapter.validate_python({"id": id, "kind": kind, **fields})


STANDARD_DEVICES = [
    device("WB-1001", "wristband", site="jining-renmin", building="3", unit="1", grid="G-01",
           resident_id="R-yang"),
    device("WB-1002", "wristband", site="jining-renmin", building="5", unit="2", grid="G-02",
           resident_id="R-li"),
    device("AC-2001", "access", site="jining-renmin", building="3", unit="1", grid="G-01"),
    device("CAM-3001", "camera", site="jining-renmin", grid="G-02"),
    device("LK-4001", "locker", site="jining-renmin", building="3", grid="G-01"),
]


@pytest.fixture
def make_gateway(
    tmp_path: Path, mosquitto: Mosquitto, clock: ManualClock, database_url: str
) -> Iterator[Callable[..., Gateway]]:
    """Build (and afterwards stop) gateways connected to the module's Mosquitto."""
    made: list[Gateway] = []
    counter = iter(range(1000))

    def _make(
        devices: list[DeviceConfig] | None = None,
        gw_clock: ManualClock | None = None,
        **overrides: Any,
    ) -> Gateway:
        n = next(counter)
        broker = {"url": mosquitto.url, "client_id": f"gw-{tmp_path.name}-{n}",
                  **overrides.pop("broker", {})}
        settings = Settings(
            broker=broker,
            database={"url": database_url},
            log_json=False,
            **overrides,
        )
        gw = Gateway(settings, clock=gw_clock or clock)
        gw.registry.register(STANDARD_DEVICES if devices is None else devices)
        gw.start()
        assert gw.mqtt.wait_connected(10), "gateway did not connect to mosquitto"
        made.append(gw)
        return gw

    yield _make
    for gw in made:
        gw.stop()


def logged_in_gateway(broker: Mosquitto, db: Path, clock: ManualClock, *, username: str,
                      password: str, **broker_settings: Any) -> Gateway:
    """A started gateway (the standard devices registered) logging in to a broker with
    accounts and an ACL; the caller stops it."""
    gw = Gateway(Settings(broker={"url": broker.url, "username": username,
                                  "password": password, **broker_settings},
                          database={"url": f"sqlite:///{db}"}, log_json=False), clock=clock)
    gw.registry.register(STANDARD_DEVICES)
    gw.start()
    return gw


@pytest.fixture
def publisher(mosquitto: Mosquitto) -> Iterator[Publisher]:
    """A plain MQTT client, like a device's."""
    pub = Publisher(mosquitto.url)
    yield pub
    pub.close()
