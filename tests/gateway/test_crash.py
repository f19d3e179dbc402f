"""Crash safety: SIGKILL the gateway mid-stream; after restart every message is stored once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from tests.support.clients import Publisher
from tests.support.mosquitto import Mosquitto
from tests.support.streams import BandStream
from tests.support.waiting import wait_for

DEVICES = [f"WB-{n:04d}" for n in range(20)]
TOTAL = 6000
SOS_EVERY = 10


def _env(mosquitto: Mosquitto, db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SCGW_BROKER__URL=mosquitto.url,
        SCGW_BROKER__CLIENT_ID="gw-crash-test",
        SCGW_DATABASE__URL=f"sqlite:///{db}",
        SCGW_LOG_JSON="false",
        SCGW_LOG_LEVEL="WARNING",
    )
    return env


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM telemetry").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


@pytest.fixture
def gateway_process(mosquitto: Mosquitto, tmp_path: Path) -> Iterator:
    procs: list[subprocess.Popen[bytes]] = []
    db = tmp_path / "crash.db"

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "gateway", "run"],
                                env=_env(mosquitto, db), cwd=tmp_path)
        procs.append(proc)
        return proc

    yield db, start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(
    mosquitto: Mosquitto, gateway_process, tmp_path: Path
):
    db, start = gateway_process
    devices_file = tmp_path / "devices.csv"
    devices_file.write_text("id,kind,grid\n" + "".join(f"{d},wristband,G-01\n" for d in DEVICES))
    subprocess.run([sys.executable, "-m", "gateway", "devices", "import", str(devices_file)],
                   env=_env(mosquitto, db), cwd=tmp_path, check=True, capture_output=True)

    first = start()
    probe = Publisher(mosquitto.url)
    now = datetime.now(UTC).isoformat()
    probe_body = orjson.dumps({"ts": now, "seq": 10**9, "heart_rate_bpm": 70})

    def probe_landed() -> bool:
        # Re-sent until the gateway's session exists; dedup keeps it a single row.
        probe.publish(f"scgw/v1/wristband/{DEVICES[0]}/telemetry", probe_body)
        return _count(db) == 1

    assert wait_for(probe_landed, timeout=30, interval=0.3), "gateway never stored the probe"

    stream = BandStream(mosquitto.url, DEVICES, TOTAL, SOS_EVERY)
    stream.start()
    assert wait_for(lambda: _count(db) >= 300, timeout=60)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = _count(db)
    print(f"killed with {killed_at} of {TOTAL + 1} stored")
    assert stream.join(60), "publisher did not get every PUBACK from the broker"
    assert killed_at < TOTAL + 1, "the gateway finished before it was killed; test proves nothing"

    start()
    assert wait_for(lambda: _count(db) >= TOTAL + 1, timeout=90), f"stored {_count(db)}"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT device_id, seq, count(*) FROM telemetry GROUP BY device_id, seq"
        ).fetchall()
    assert len(rows) == TOTAL + 1
    assert all(n == 1 for *_, n in rows)
    expected = {(DEVICES[i % len(DEVICES)], i) for i in range(TOTAL)}
    assert expected <= {(d, s) for d, s, _ in rows}
    # Every SOS counted once on its device's one alert and ticket, none lost, none doubled.
    sent = stream.sos_sent()

    def alert_counts() -> dict[str, int]:
        with sqlite3.connect(db) as conn:
            return dict(conn.execute("SELECT device_id, sum(count) FROM alerts"
                                     " WHERE rule_id = 'wristband.sos' GROUP BY device_id"))
    assert wait_for(lambda: alert_counts() == sent, timeout=30), alert_counts()
    with sqlite3.connect(db) as conn:
        alerts = conn.execute("SELECT device_id, count(*) FROM alerts WHERE rule_id ="
                              " 'wristband.sos' GROUP BY device_id").fetchall()
        tickets = dict(conn.execute(
            "SELECT a.device_id, t.alert_count FROM tickets t JOIN ticket_alerts ta"
            " ON ta.ticket_id = t.id JOIN alerts a ON a.id = ta.alert_id"
            " WHERE a.rule_id = 'wristband.sos'").fetchall())
    assert all(n == 1 for _, n in alerts)  # one alert per device: no restart reopened it
    assert tickets == sent
    stream.close()
    probe.close()
