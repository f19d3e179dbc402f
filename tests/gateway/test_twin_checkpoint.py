"""Twins reach the database: presence at once, readings at the checkpoint, everything at stop."""

from __future__ import annotations

import orjson

from gateway.clock import ManualClock
from gateway.envelope import RawMessage
from gateway.service import Gateway
from gateway.settings import Settings
from gateway.storage.sqlite import SqliteStore
from tests.conftest import T0, device
from tests.support.waiting import wait_for

TOPIC = "scgw/v1/wristband/WB-1001/telemetry"
ISO_NOW = "2026-11-21T12:00:00+08:00"


def _stored_twin(gw, device_id="WB-1001"):
    rows = gw.store.query("SELECT online, battery_pct FROM twins WHERE device_id = ?",
                          (device_id,))
    return rows[0] if rows else None


def test_presence_is_written_at_once_and_readings_at_the_checkpoint(
        make_gateway, publisher, clock: ManualClock):
    gw = make_gateway()
    publisher.publish(TOPIC, orjson.dumps({"ts": ISO_NOW, "seq": 1, "battery_pct": 80}))
    assert gw.pipeline.wait_processed(1, timeout=10)
    # Coming online is a presence change: in the database with the message's batch.
    assert _stored_twin(gw) == {"online": 1, "battery_pct": 80.0}
    publisher.publish(TOPIC, orjson.dumps({"ts": ISO_NOW, "seq": 2, "battery_pct": 79}))
    assert gw.pipeline.wait_processed(2, timeout=10)
    assert gw.twins.get("WB-1001").battery_pct == 79  # the live twin is current at once
    clock.advance(gw.settings.database.twin_checkpoint_s)
    assert wait_for(lambda: _stored_twin(gw) == {"online": 1, "battery_pct": 79.0}, 10)


def test_a_clean_stop_writes_every_changed_twin(make_gateway, publisher, tmp_path):
    gw = make_gateway()
    for seq, battery in ((1, 80), (2, 77)):
        publisher.publish(TOPIC, orjson.dumps({"ts": ISO_NOW, "seq": seq,
                                               "battery_pct": battery}))
    assert gw.pipeline.wait_processed(2, timeout=10)
    gw.stop()  # no clock advance: no checkpoint ran
    store = SqliteStore(tmp_path / "scgw.db")
    twin = {t.device_id: t for t in store.load_twins()}["WB-1001"]
    assert (twin.online, twin.battery_pct) == (True, 77.0)
    store.close()


def test_a_large_checkpoint_is_written_a_chunk_per_transaction(tmp_path):
    # 600 wristbands come online (written at once), then all report a new battery level.
    settings = Settings(broker={"url": "mqtt://127.0.0.1:1"},
                        database={"url": f"sqlite:///{tmp_path / 'scgw.db'}"}, log_json=False)
    gw = Gateway(settings, clock=ManualClock(T0))
    ids = [f"WB-{i:04d}" for i in range(600)]
    gw.registry.register([device(i, "wristband") for i in ids])
    gw.registry.load()

    def readings(seq: int, battery: int) -> list[RawMessage]:
        body = orjson.dumps({"ts": ISO_NOW, "seq": seq, "battery_pct": battery})
        return [RawMessage(f"scgw/v1/wristband/{i}/telemetry", body, received_at=T0)
                for i in ids]

    def stored_at(battery: float) -> int:
        return gw.store.query("SELECT count(*) AS n FROM twins WHERE battery_pct = ?",
                              (battery,))[0]["n"]

    gw.pipeline.process_batch(readings(1, 80))
    assert stored_at(80) == 600  # presence changed: written with the batch
    gw.pipeline.process_batch(readings(2, 60))
    assert stored_at(60) == 0  # readings alone wait for the checkpoint
    gw.pipeline.start()  # the checkpoint runs as the scheduler would run it: a pipeline task
    gw.pipeline.call("twin_checkpoint", gw.pipeline.checkpoint_twins, T0)
    gw.pipeline.stop()
    assert stored_at(60) == 256
    gw.pipeline.process_batch([])  # each later transaction carries the next chunk
    assert stored_at(60) == 512
    gw.pipeline.process_batch([])
    assert stored_at(60) == 600
    gw.store.close()
