"""The command line fails clearly and puts things where the settings say."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.mosquitto import free_port


def _scgw(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SCGW_")}
    return subprocess.run([sys.executable, "-m", "api", *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


def test_a_busy_port_is_one_line_naming_the_setting(tmp_path):
    for setting in ("SCGW_API__PORT", "SCGW_EMBEDDED_BROKER__PORT"):
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            busy = str(holder.getsockname()[1])
            ports = {"SCGW_API__PORT": str(free_port()),
                     "SCGW_EMBEDDED_BROKER__PORT": str(free_port()), setting: busy}
            done = _scgw("run", cwd=tmp_path, SCGW_DATA_DIR=str(tmp_path / "d"), **ports)
        assert done.returncode == 1, done.stderr[-300:]
        last = done.stderr.strip().splitlines()[-1]
        assert f"port {busy} on 127.0.0.1 is already in use" in last and setting in last
        assert "Traceback" not in done.stderr


def test_the_data_directory_moves_the_database_and_version_answers(tmp_path):
    devices = tmp_path / "devices.csv"
    devices.write_text("id,kind\nWB-D1,wristband\n")
    data = tmp_path / "elsewhere"
    done = _scgw("devices", "import", str(devices), cwd=tmp_path, SCGW_DATA_DIR=str(data))
    assert done.returncode == 0, done.stderr
    assert (data / "scgw.db").exists() and not (tmp_path / "data").exists()
    assert str(data / "scgw.db") in done.stdout
    version = _scgw("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("scgw ")
