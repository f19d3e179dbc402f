"""A gateway the broker will not have stops at start-up and says what was refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.mosquitto import start_mosquitto


def _run(tmp_path: Path, url: str, username: str, password: str
         ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCGW_BROKER__URL": url, "SCGW_BROKER__USERNAME": username,
           "SCGW_BROKER__PASSWORD": password, "SCGW_BROKER__CLIENT_ID": f"gw-{username}",
           "SCGW_DATABASE__URL": f"sqlite:///{tmp_path / f'{username}.db'}",
           "SCGW_LOG_JSON": "false"}
    return subprocess.run([sys.executable, "-m", "gateway", "run"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_a_refused_login_stops_start_up_naming_it(tmp_path):
    broker = start_mosquitto(tmp_path / "broker", users={"gw-ok": "right-pass-1"})
    try:
        wrong = _run(tmp_path, broker.url, "gw-ok", "wrong-pass")
        assert wrong.returncode == 1
        assert "refused the gateway's login as 'gw-ok'" in wrong.stderr
        assert "SCGW_BROKER__PASSWORD" in wrong.stderr
        assert "Traceback" not in wrong.stderr
    finally:
        broker.stop()


def test_a_broken_dialect_file_stops_start_up_naming_the_file(tmp_path):
    folder = tmp_path / "dialects"
    folder.mkdir()
    (folder / "acme-band.yaml").write_text("dialect: acme-band\ntopics: [1, 2\n")
    env = {**os.environ, "SCGW_DIALECTS__FOLDER": str(folder),
           "SCGW_DATABASE__URL": f"sqlite:///{tmp_path / 'gw.db'}", "SCGW_LOG_JSON": "false"}
    done = subprocess.run([sys.executable, "-m", "gateway", "run"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "acme-band.yaml" in done.stderr and "not YAML" in done.stderr
    assert "Traceback" not in done.stderr
