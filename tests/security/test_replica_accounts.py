"""Replicas under Mosquitto's dynamic security: each logs in as its own account, bound to its
own client id, and a survivor can still take over a dead replica's session (as the district
deployment chapter of docs/operations.md says)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psycopg
import pytest

from tests.security.conftest import ADMIN, ADMIN_PW, GW_CLIENT, GW_PW, GW_USER, PLUGIN, Client
from tests.security.conftest import attempt as login_code
from tests.support.mosquitto import start_mosquitto
from tests.support.waiting import wait_for

DEVICE, DEVICE_PW = "WB-7001", "device-password-7001"


def _ctrl(port: int, *args: str) -> None:
    subprocess.run(["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(port), "-u", ADMIN, "-P",
                    ADMIN_PW, "dynsec", *args], check=True, capture_output=True)


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql.encode()).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.slow
def test_each_replica_has_its_account_and_a_survivor_adopts_a_dead_ones_session(
        tmp_path: Path, pg_url: str):
    state = tmp_path / "dynsec.json"
    subprocess.run(["mosquitto_ctrl", "dynsec", "init", str(state), ADMIN, ADMIN_PW],
                   check=True, capture_output=True)
    broker = start_mosquitto(tmp_path / "broker", anonymous=False,
                             extra=f"plugin {PLUGIN}\nplugin_opt_config_file {state}\n")
    env = dict(os.environ)
    env.update(SCGW_BROKER__URL=broker.url, SCGW_BROKER__USERNAME=GW_USER,
               SCGW_BROKER__PASSWORD=GW_PW, SCGW_BROKER__CLIENT_ID=GW_CLIENT,
               SCGW_BROKER__SHARED_GROUP="scgw", SCGW_PROVISIONING__ADMIN_USERNAME=ADMIN,
               SCGW_PROVISIONING__ADMIN_PASSWORD=ADMIN_PW, SCGW_DATABASE__URL=pg_url,
               SCGW_GATEWAY__LEASE_S="2", SCGW_GATEWAY__HEARTBEAT_S="0.5",
               SCGW_LOG_JSON="false", SCGW_LOG_LEVEL="WARNING")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for replica in ("gw-a", "gw-b"):
            done = subprocess.run([sys.executable, "-m", "gateway", "broker", "provision"],
                                  env={**env, "SCGW_GATEWAY__REPLICA_ID": replica},
                                  cwd=tmp_path, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            assert f"'{GW_USER}-{replica}'" in done.stdout
            assert f"'{GW_CLIENT}-{replica}'" in done.stdout
        # Bound: gw-a's account cannot take gw-b's client id, nor the plain gateway's.
        assert login_code(broker, f"{GW_USER}-gw-a", GW_PW, f"{GW_CLIENT}-gw-b") != 0
        assert login_code(broker, f"{GW_USER}-gw-a", GW_PW, GW_CLIENT) != 0

        _ctrl(broker.port, "createRole", "dev-7001")
        _ctrl(broker.port, "addRoleACL", "dev-7001", "publishClientSend",
              f"scgw/v1/wristband/{DEVICE}/#", "allow")
        _ctrl(broker.port, "createClient", DEVICE, "-p", DEVICE_PW, "-c", DEVICE)
        _ctrl(broker.port, "addClientRole", DEVICE, "dev-7001")
        (tmp_path / "devices.csv").write_text(f"id,kind,grid\n{DEVICE},wristband,G-01\n")
        subprocess.run([sys.executable, "-m", "gateway", "devices", "import", "devices.csv"],
                       env=env, cwd=tmp_path, check=True, capture_output=True, timeout=60)

        for replica in ("gw-a", "gw-b"):
            procs[replica] = subprocess.Popen(
                [sys.executable, "-m", "gateway", "run"], cwd=tmp_path,
                env={**env, "SCGW_GATEWAY__REPLICA_ID": replica})
        assert wait_for(lambda: _count(pg_url, "SELECT count(*) FROM replicas") == 2, 60)
        band = Client(broker, DEVICE, DEVICE_PW, DEVICE)
        assert band.accepted
        probe = orjson.dumps({"ts": int(time.time() * 1000), "seq": 0, "heart_rate_bpm": 70})

        def both_subscribed() -> bool:
            # Re-sent until both sessions exist (before, the broker drops it: nobody
            # subscribed); dedup keeps it one row. Two rows of it would be a fault.
            band.publish(f"scgw/v1/wristband/{DEVICE}/telemetry", probe)
            return "gw-main-1-gw-b" in broker.log() and "gw-main-1-gw-a" in broker.log() \
                and _count(pg_url, "SELECT count(*) FROM telemetry") == 1

        assert wait_for(both_subscribed, 30, interval=0.5)
        procs["gw-b"].send_signal(signal.SIGKILL)
        procs["gw-b"].wait()
        for seq in range(1, 41):  # half of these wait in gw-b's session
            band.publish(f"scgw/v1/wristband/{DEVICE}/telemetry", orjson.dumps(
                {"ts": int(time.time() * 1000), "seq": seq, "heart_rate_bpm": 70}))
        assert wait_for(
            lambda: _count(pg_url, "SELECT count(DISTINCT seq) FROM telemetry") == 41, 30), \
            "the survivor did not take over the dead replica's session"
        assert _count(pg_url, "SELECT count(*) FROM telemetry") == 41
        band.close()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        broker.stop()
