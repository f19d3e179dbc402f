"""A real VictoriaMetrics (speaks the InfluxDB v2 write API) on a free port, stoppable mid-test."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.mosquitto import free_port
from tests.support.waiting import wait_for


def _binary() -> str:
    found = shutil.which("victoria-metrics")
    if found is None:
        # Not a skip: `make test` installs it, so its absence is a broken setup.
        pytest.fail("victoria-metrics is not installed; `make test` installs it "
                    "(apt-get install victoria-metrics)", pytrace=False)
    return found


@dataclass
class Victoria:
    """One VictoriaMetrics process over a storage folder that outlives restarts."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL; the InfluxDB client appends /api/v2/write."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start and wait until /health answers."""
        log = (self.folder / "victoria.log").open("ab")
        self.process = subprocess.Popen(
            [_binary(), f"-httpListenAddr=127.0.0.1:{self.port}",
             f"-storageDataPath={self.folder / 'data'}",
             "-retentionPeriod=100y",          # test timestamps are never "too old"
             "-search.latencyOffset=0s",       # just-written points are queryable at once
             "-search.disableCache", "-loggerLevel=ERROR"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        if not wait_for(self._healthy, timeout=15):
            self.stop()
            raise RuntimeError(f"victoria-metrics did not start: {self.log()[-2000:]}")

    def stop(self) -> None:
        """Graceful stop (SIGTERM flushes what it accepted to disk)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def log(self) -> str:
        """What the server logged."""
        path = self.folder / "victoria.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=0.5) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def export(self, match: str) -> list[dict[str, Any]]:
        """Raw samples of every series matching `match` (duplicates are kept, not merged)."""
        urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=5).close()
        query = urllib.parse.urlencode({"match[]": match})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=5) as resp:
            text = resp.read().decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def series(self, match: str) -> dict[tuple[str, frozenset[tuple[str, str]]], dict[str, Any]]:
        """`export` keyed by (metric name, other labels)."""
        found = {}
        for row in self.export(match):
            labels = dict(row["metric"])
            name = labels.pop("__name__")
            found[(name, frozenset(labels.items()))] = row
        return found
