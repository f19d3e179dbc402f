"""A 12345 channel that never answers holds up its own deliveries and nothing else.

Red team round 4: the outbox was delivered on the scheduler's thread, which starts every
timer; with a black-holed channel and 30 transferred requests a fall's "no movement" page
came 157 s after the fall instead of 60 s, and SLA escalations stalled the same way.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import orjson
import pytest

from tests.support.waiting import wait_for


class BlackHole:
    """Accepts connections and never answers (a channel whose server hangs)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/12345"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        """Stop accepting; drop the held connections."""
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def test_a_hung_12345_channel_does_not_delay_a_fall_page(make_gateway, publisher, clock,
                                                          black_hole):
    gw = make_gateway(workflow={"hotline_url": black_hole.url, "hotline_timeout_s": 10,
                                "outbox_retry_first_s": 10})
    for n in range(3):  # big matters go straight to the 12345 outbox
        gw.pipeline.call("file", lambda now, tx, n=n: gw.workflow.open_ticket(
            tx, source="resident", category="illegal_construction", now=now,
            place={"grid": "G-01"}, description=f"顶楼违建 {n}"), clock.time())
    clock.advance(11)  # the outbox is due: its first delivery hangs in the black hole
    assert wait_for(lambda: black_hole.held, 5)
    publisher.publish("scgw/v1/wristband/WB-1001/event", orjson.dumps(
        {"ts": int(clock.time() * 1000), "seq": 1, "type": "fall"}))
    assert gw.pipeline.wait_processed(1, 10)
    clock.advance(61)  # no movement since the fall: the rules' timer fires
    assert wait_for(lambda: gw.store.query(
        "SELECT id FROM alerts WHERE rule_id = 'wristband.fall_no_movement'"), 3)
    # The deliveries are still waiting on the channel, not lost.
    assert [r["state"] for r in gw.store.query("SELECT state FROM outbox")] == ["pending"] * 3
