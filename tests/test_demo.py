"""`scgw demo --check`: the one-command demo shows an alert and a ticket through the API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mosquitto import free_port


@pytest.mark.slow
def test_demo_check_sees_an_alert_and_a_ticket_within_a_minute(tmp_path: Path):
    env = dict(os.environ)
    env.update(SCGW_EMBEDDED_BROKER__PORT=str(free_port()), SCGW_API__PORT=str(free_port()),
               SCGW_LOG_LEVEL="WARNING")
    env.pop("SCGW_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "demo", "--check",
         "--timeout", "60"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check passed" in done.stdout
    assert (tmp_path / "data" / "scgw.db").exists()
