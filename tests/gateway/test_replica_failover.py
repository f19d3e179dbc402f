"""Failover: three replica processes on `$share` and PostgreSQL; SIGKILL them mid-stream.

Every message must be stored once, every SOS counted on one alert and one ticket, and every
absence timer fire once, whichever replica set it and whichever died.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import pytest

from gateway.workflow.config import DEFAULT_CATEGORIES
from tests.support.clients import Publisher
from tests.support.mosquitto import Mosquitto
from tests.support.streams import BandStream
from tests.support.waiting import wait_for

BANDS = [f"WB-{n:04d}" for n in range(20)]
DOORS = [f"AC-{n:04d}" for n in range(4)]
TOTAL = 3000
SOS_EVERY = 10
DOOR_TIMEOUT_S = 8
SLA_S = 4  # urgent tickets (SOS) breach their dispatch and accept clocks within seconds


def _categories(folder: Path) -> Path:
    """The built-in catalogue with urgent SLAs of seconds: SOS tickets breach mid-stream."""
    text = DEFAULT_CATEGORIES.read_text(encoding="utf-8").replace(
        "urgent: {dispatch_s: 120, accept_s: 300, resolve_s: 3600}",
        f"urgent: {{dispatch_s: {SLA_S}, accept_s: {SLA_S}, resolve_s: 3600}}")
    assert f"dispatch_s: {SLA_S}," in text
    path = folder / "categories.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _env(mosquitto: Mosquitto, url: str, replica: str | None, folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SCGW_WORKFLOW__CATEGORIES_FILE=str(folder / "categories.yaml"),
        SCGW_WORKFLOW__TICK_S="1",
        SCGW_BROKER__URL=mosquitto.url, SCGW_BROKER__CLIENT_ID="gw",
        SCGW_BROKER__SHARED_GROUP="scgw", SCGW_DATABASE__URL=url,
        SCGW_LOG_JSON="false", SCGW_LOG_LEVEL="WARNING", SCGW_RULES__TICK_S="1",
        SCGW_OFFLINE_TIMEOUT_S=orjson.dumps({"access": DOOR_TIMEOUT_S}).decode(),
        SCGW_GATEWAY__LEASE_S="3", SCGW_GATEWAY__HEARTBEAT_S="0.5",
    )
    if replica:
        env["SCGW_GATEWAY__REPLICA_ID"] = replica
    return env


class Replicas:
    """Replica processes by name; `start` (re)starts one, `kill` SIGKILLs it."""

    def __init__(self, mosquitto: Mosquitto, url: str, folder: Path) -> None:
        self._mosquitto, self.url, self._folder = mosquitto, url, folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run"], cwd=self._folder,
            env=_env(self._mosquitto, self.url, name, self._folder))

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def scalar(self, sql: str) -> object:
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(sql.encode()).fetchone()
        return row[0] if row else None

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql.encode()).fetchall()


@pytest.fixture
def replicas(mosquitto: Mosquitto, pg_url: str, tmp_path: Path) -> Iterator[Replicas]:
    group = Replicas(mosquitto, pg_url, tmp_path)
    _categories(tmp_path)
    devices = tmp_path / "devices.csv"
    devices.write_text("id,kind,grid,building\n"
                       + "".join(f"{d},wristband,G-01,1\n" for d in BANDS)
                       + "".join(f"{d},access,G-01,{n + 2}\n" for n, d in enumerate(DOORS)))
    done = subprocess.run([sys.executable, "-m", "gateway", "devices", "import", str(devices)],
                          env=_env(mosquitto, pg_url, None, tmp_path), cwd=tmp_path,
                          capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    yield group
    for proc in group.procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _now() -> str:
    return datetime.now(UTC).isoformat()


@pytest.mark.slow
def test_sigkilled_replicas_lose_nothing_double_nothing_and_their_timers_still_fire(
        mosquitto: Mosquitto, replicas: Replicas):
    for name in ("gw-a", "gw-b", "gw-c"):
        replicas.start(name)

    def stored() -> int:
        return int(replicas.scalar("SELECT count(*) FROM telemetry") or 0)

    probe = Publisher(mosquitto.url)

    def all_subscribed() -> bool:
        # Until the three sessions exist the broker drops what nobody subscribed to; the
        # probes are told apart by seq and stored once each, whoever gets them.
        for n in range(3):
            probe.publish(f"scgw/v1/wristband/{BANDS[0]}/telemetry",
                          orjson.dumps({"ts": _now(), "seq": 10**9 + n, "heart_rate_bpm": 70}))
        return int(replicas.scalar("SELECT count(*) FROM replicas") or 0) == 3 and stored() > 0

    assert wait_for(all_subscribed, timeout=60, interval=0.5), "replicas never came up"
    probes = stored()
    for door in DOORS:  # each door is heard once, then falls silent: one offline alert each
        probe.publish(f"scgw/v1/access/{door}/event",
                      orjson.dumps({"ts": _now(), "seq": 1, "type": "unlock", "method": "card"}))

    stream = BandStream(mosquitto.url, BANDS, TOTAL, SOS_EVERY, rate_per_s=500)
    stream.start()
    leader = str(replicas.scalar("SELECT holder FROM leases WHERE name = 'timers'"))
    assert wait_for(lambda: stored() >= probes + TOTAL // 4, timeout=60)
    replicas.kill(leader)  # the timers' holder first: its absence timers must still fire
    assert wait_for(lambda: stored() >= probes + TOTAL // 2, timeout=60)
    other = next(n for n in ("gw-a", "gw-b", "gw-c") if n != leader)
    replicas.kill(other)
    killed_at = stored()
    replicas.start(leader)  # back: takes its session back from whoever adopted it
    assert stream.join(120), "publisher did not get every PUBACK from the broker"
    replicas.start(other)
    print(f"second kill with {killed_at - probes} of {TOTAL} stored")
    assert killed_at < probes + TOTAL, "the stream ended before the kills: proves nothing"

    assert wait_for(lambda: stored() >= probes + TOTAL, timeout=120), f"stored {stored()}"
    rows = replicas.rows("SELECT device_id, seq, count(*) FROM telemetry"
                         " WHERE seq < 1000000000 GROUP BY device_id, seq")
    assert len(rows) == TOTAL and all(n == 1 for *_, n in rows)
    assert {(d, s) for d, s, _ in rows} == {(BANDS[i % len(BANDS)], i) for i in range(TOTAL)}

    sent = stream.sos_sent()

    def sos_counts() -> dict[object, object]:
        return dict(replicas.rows("SELECT device_id, sum(count) FROM alerts"
                                  " WHERE rule_id = 'wristband.sos' GROUP BY device_id"))

    assert wait_for(lambda: sos_counts() == sent, timeout=30), sos_counts()
    alerts = replicas.rows("SELECT device_id, count(*) FROM alerts"
                           " WHERE rule_id = 'wristband.sos' GROUP BY device_id")
    assert all(n == 1 for _, n in alerts), alerts  # one alert per band, never one per replica
    tickets = dict(replicas.rows(
        "SELECT a.device_id, t.alert_count FROM tickets t JOIN ticket_alerts l"
        " ON l.ticket_id = t.id JOIN alerts a ON a.id = l.alert_id"
        " WHERE a.rule_id = 'wristband.sos'"))
    assert tickets == sent

    def offline() -> list[tuple[object, ...]]:
        return replicas.rows("SELECT device_id, count(*) FROM alerts WHERE rule_id ="
                             " 'device.offline' GROUP BY device_id ORDER BY device_id")

    assert wait_for(lambda: [d for d, _ in offline()] == DOORS, timeout=60), offline()
    assert all(n == 1 for _, n in offline())

    def breaches() -> list[tuple[object, ...]]:  # (ticket, clocks breached, breach events)
        return replicas.rows(
            "SELECT t.id, t.sla_breaches, (SELECT count(*) FROM ticket_events e WHERE"
            " e.ticket_id = t.id AND e.action = 'sla_breach') FROM tickets t"
            " WHERE t.category = 'sos'")

    assert wait_for(lambda: all(n > 0 for *_, n in breaches()), timeout=30), breaches()
    for ticket, clocks, events in breaches():  # each clock breached once, whoever ticked
        names = orjson.loads(str(clocks))
        assert len(names) == len(set(names)) == events, (ticket, names, events)
    stream.close()
    probe.close()
