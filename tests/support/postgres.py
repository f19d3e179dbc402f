"""A real PostgreSQL for the tests: `initdb` + `postgres` from the binaries on the machine, in a
temporary folder on a free port, and a fresh database per test cloned from a migrated
template (CREATE DATABASE … TEMPLATE: milliseconds, not a migration per test).

PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs to the
unprivileged `nobody` account (subprocess drops to it), in a folder that account owns.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.support.mosquitto import free_port
from tests.support.waiting import wait_for

TEMPLATE = "scgw_template"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_SUPERUSER = "scgw"


class PostgresMissingError(RuntimeError):
    """initdb/postgres are not installed (`make system-deps` installs Debian's postgresql)."""


def bin_dir() -> Path:
    """The folder holding initdb and postgres: on PATH, else the newest Debian/Ubuntu
    /usr/lib/postgresql/<version>/bin (Debian does not put them on PATH)."""
    found = shutil.which("postgres")
    if found and shutil.which("initdb"):
        return Path(found).parent
    candidates = [p for p in Path("/usr/lib/postgresql").glob("*/bin")
                  if (p / "initdb").exists() and (p / "postgres").exists()]
    if not candidates:
        raise PostgresMissingError(
            "PostgreSQL's initdb/postgres were not found; run `make system-deps` (installs "
            "Debian's postgresql package) or put them on PATH")

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", p.parent.name)) or (0,)

    return max(candidates, key=version)


@dataclass
class PostgresServer:
    """A running cluster; `url(db)` is what a store connects to."""

    port: int
    folder: Path
    bin: Path
    account: str | None  # the OS account it runs as (None: the current one)
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        """A postgresql:// URL of one database."""
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection to the maintenance database."""
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def fresh_database(self) -> str:
        """A new database cloned from the migrated template; returns its name."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}'.encode())
        return name

    def empty_database(self) -> str:
        """A new database without our schema (migrations not applied); returns its name."""
        name = f"e{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return name

    def drop_database(self, name: str) -> None:
        """Drop a test's database (closing whatever the test left connected)."""
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

    def halt(self) -> None:
        """Stop the server as a crash would (SIGQUIT: immediate shutdown, no checkpoint,
        clients cut off)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def start(self) -> None:
        """Start the server on its port; returns once it answers queries.

        `postgres` runs as this process's child (not daemonised, as pg_ctl would) and is told to
        quit when its parent dies, so a test run killed outright leaves no server behind.
        """
        # Throw-away data: no fsync (a crash of the server process, which tests do, keeps
        # what the OS has; a power cut would not), no full-page writes. Commits stay
        # synchronous, so a committed batch survives `halt()` as it would in production.
        options = ["-p", str(self.port), "-k", str(self.folder),
                   "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                   "-c", "full_page_writes=off", "-c", "max_connections=300",
                   "-c", "shared_buffers=64MB"]
        user = pwd.getpwnam(self.account) if self.account else None
        with open(self.folder / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(self.folder / "data"), *options],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, env=_env(),
                user=user.pw_uid if user else None, group=user.pw_gid if user else None,
                extra_groups=[] if user else None, preexec_fn=_quit_with_parent)
        process = self.process
        if not wait_for(lambda: process.poll() is not None or self._answers(), 60) or (
                process.poll() is not None):
            log_text = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            self.halt()
            raise RuntimeError(f"PostgreSQL did not start:\n{log_text}")

    def _answers(self) -> bool:
        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:  # not listening yet, or still starting up
            return False

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        self.halt()
        shutil.rmtree(self.folder, ignore_errors=True)


def _env() -> dict[str, str]:
    return {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}


def _quit_with_parent() -> None:
    """In the child before exec (after dropping to `nobody`): SIGQUIT — PostgreSQL's
    immediate shutdown — when the test process dies, however it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


def _run(server: PostgresServer, tool: str, *args: str) -> None:
    user = pwd.getpwnam(server.account) if server.account else None
    result = subprocess.run(
        [str(server.bin / tool), *args], capture_output=True, text=True, timeout=120,
        cwd=server.folder, user=user.pw_uid if user else None,
        group=user.pw_gid if user else None, extra_groups=[] if user else None, env=_env())
    if result.returncode != 0:
        log = server.folder / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"{tool} {' '.join(args)} failed ({result.returncode}):\n"
                           f"{result.stdout}{result.stderr}\n{tail}")


def start_postgres() -> PostgresServer:
    """initdb a cluster in a new temporary folder, start it on a free port, and create the
    migrated template database."""
    account = "nobody" if os.geteuid() == 0 else None
    # Under /tmp (world-traversable), not pytest's 0700 tmp dirs, so `nobody` can reach it.
    folder = Path(tempfile.mkdtemp(prefix="scgw-pg-"))
    if account:
        user = pwd.getpwnam(account)
        os.chown(folder, user.pw_uid, user.pw_gid)
    server = PostgresServer(free_port(), folder, bin_dir(), account)
    _run(server, "initdb", "-D", str(folder / "data"), "-U", _SUPERUSER, "--auth=trust",
         "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
    server.start()
    with server.admin() as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE}".encode())
    from gateway.storage.postgres import PostgresStore

    PostgresStore(server.url(TEMPLATE), pool_size=1).close()
    return server
