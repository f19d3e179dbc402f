"""A message whose processing makes the database refuse a statement is dead-lettered alone,
on both backends (on PostgreSQL one failed statement aborts the whole transaction, so the
batch is retried with a savepoint per message); the messages around it are stored."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import T0


class _Poison:
    """A rule-like hook whose statement the database refuses, for one device only."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id

    def on_message(self, env, twin, tx) -> None:
        if env.device_id == self.device_id:
            tx.connection.execute("SELECT no_such_column FROM twins")

    def on_presence(self, twin, kind, now, tx) -> None:
        return None


@pytest.mark.both_backends
def test_a_message_whose_statement_fails_is_dead_lettered_and_the_batch_commits(
    make_gateway, publisher
):
    gw = make_gateway()
    gw.pipeline.hooks.append(_Poison("WB-1002"))
    for at, (device, seq) in enumerate((("WB-1001", 1), ("WB-1002", 1), ("WB-1001", 2))):
        publisher.publish(f"scgw/v1/wristband/{device}/telemetry", orjson.dumps(
            {"ts": int((T0 + at) * 1000), "seq": seq, "heart_rate_bpm": 70}))
    assert gw.pipeline.wait_processed(3, 30), "the batch never committed"
    stored = gw.store.query("SELECT seq FROM telemetry WHERE device_id = 'WB-1001' ORDER BY seq")
    assert [r["seq"] for r in stored] == [1, 2]
    [dead] = gw.store.query("SELECT topic, reason FROM dead_letters")
    assert dead == {"topic": "scgw/v1/wristband/WB-1002/telemetry", "reason": "internal_error"}
    # The gateway goes on: the next message of the poisoned device's neighbour is stored.
    publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
        {"ts": int((T0 + 5) * 1000), "seq": 3, "heart_rate_bpm": 71}))
    assert gw.pipeline.wait_processed(4, 30)
