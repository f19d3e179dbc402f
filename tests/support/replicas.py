"""Gateway replicas in the test's own process: one shared subscription, one PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gateway.clock import Clock
from gateway.service import Gateway
from gateway.settings import Settings


@contextmanager
def replica_starter(broker_url: str, pg_url: str, group: str,
                    ) -> Iterator[Callable[..., Gateway]]:
    """`start(name, clock, gateway={…}, **settings)` → a started, connected replica; every
    replica started is stopped on exit. `group` names this test's sessions and share."""
    made: list[Gateway] = []

    def start(name: str, clock: Clock, *, gateway: dict[str, Any] | None = None,
              before_start: Callable[[Gateway], None] | None = None,
              **extra: Any) -> Gateway:
        settings = Settings(
            broker={"url": broker_url, "client_id": group, "shared_group": group},
            database={"url": pg_url}, gateway={"replica_id": name, **(gateway or {})},
            log_json=False, **extra)
        gw = Gateway(settings, clock=clock)
        if before_start is not None:
            before_start(gw)
        gw.start()
        assert gw.mqtt.wait_connected(10)
        made.append(gw)
        return gw

    try:
        yield start
    finally:
        for gw in made:
            gw.stop()
