"""A gateway built without a broker: for what happens before and beside MQTT (the inbox,
budgets, refusals), driven by `pipeline.submit` and `start(connect=False)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.clock import ManualClock
from gateway.service import Gateway
from gateway.settings import Settings


def offline_gateway(folder: Path, at: float, **settings: Any) -> Gateway:
    """A gateway on a SQLite file in `folder`, its clock at `at`, with `settings` over the
    defaults; its broker address leads nowhere (it is never connected)."""
    return Gateway(Settings(broker={"url": "mqtt://127.0.0.1:1"},
                            database={"url": f"sqlite:///{folder / 'gw.db'}"}, log_json=False,
                            **settings),
                   clock=ManualClock(at))
