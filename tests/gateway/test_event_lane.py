"""The event lane: a fleet flooding readings cannot queue an SOS behind them in the broker, and
an event that reaches the gateway on both sessions is processed once."""

from __future__ import annotations

import socket
import threading

import orjson
import pytest
from pydantic import ValidationError

from gateway.envelope import RawMessage
from gateway.event_lane import LANE, MAIN, EventCopies
from gateway.settings import Settings
from mqttwire import codec as wire
from tests.conftest import STANDARD_DEVICES, T0, device, logged_in_gateway
from tests.gateway.test_confirmations import Listener
from tests.support.clients import Publisher
from tests.support.mosquitto import start_mosquitto
from tests.support.waiting import wait_for

MS = int(T0 * 1000)
SOS = b'{"ts": 1, "seq": 7, "type": "sos"}'


def _raw(topic: str, payload: bytes, at: float = 0.0) -> RawMessage:
    return RawMessage(topic, payload, received_at=T0 + at, arrived=1000.0 + at)


def _event(device_id: str = "WB-1001", payload: bytes = SOS, at: float = 0.0) -> RawMessage:
    return _raw(f"scgw/v1/wristband/{device_id}/event", payload, at)


def test_the_first_copy_is_processed_and_its_twin_dropped_whichever_session_is_first():
    copies = EventCopies()
    process, twins = copies.split([_event()], LANE)
    assert len(process) == 1 and twins == []
    process, twins = copies.split([_event()], MAIN)
    assert process == [] and len(twins) == 1
    # The other way round, and readings (which only the main session gets) pass untouched.
    reading = _raw("scgw/v1/wristband/WB-1001/telemetry", b"{}")
    process, twins = copies.split([reading, _event("WB-1002")], MAIN)
    assert [r.topic for r in process] == [reading.topic, "scgw/v1/wristband/WB-1002/event"]
    process, twins = copies.split([_event("WB-1002")], LANE)
    assert process == [] and len(twins) == 1
    assert len(copies) == 0  # every copy paired


def test_a_detector_s_readings_come_twice_and_are_paired_like_events():
    # The lane also receives the readings of the kinds whose readings may be the alarm.
    copies = EventCopies(reading_kinds=frozenset({"gas_detector"}))
    gas = _raw("scgw/v1/gas_detector/GD-1/telemetry", b'{"lel_pct": 40}')
    band = _raw("scgw/v1/wristband/WB-1001/telemetry", b"{}")
    assert copies.split([gas], LANE) == ([gas], [])
    assert copies.split([band, gas], MAIN) == ([band], [gas])
    assert len(copies) == 0


def test_a_device_resending_the_same_bytes_makes_a_second_pair_that_is_processed():
    # An unconfirmed band resends its SOS byte for byte: that resend must reach the pipeline
    # (to be recognised as a resend, and confirmed again), not pass for a twin.
    copies = EventCopies()
    assert len(copies.split([_event()], MAIN)[0]) == 1
    assert len(copies.split([_event()], MAIN)[0]) == 1  # the resend, before any lane copy
    assert copies.split([_event(), _event()], LANE)[0] == []  # both were twins
    assert len(copies) == 0
    # A copy arriving again on the same session (a redelivery after a reconnect) is
    # processed, and its twin still dropped once.
    assert len(copies.split([_event()], LANE)[0]) == 1
    assert len(copies.split([_event()], LANE)[0]) == 1
    process, twins = copies.split([_event()], MAIN)
    assert process == [] and len(twins) == 1


def test_a_copy_whose_twin_never_comes_is_forgotten_and_a_late_twin_processed():
    copies = EventCopies(max_unpaired=3, unpaired_for_s=60.0)
    copies.split([_event("WB-1", at=0.0)], LANE)
    copies.split([_event(f"WB-{n}", at=1.0) for n in (2, 3, 4)], LANE)
    assert len(copies) == 3  # the oldest went beyond the count bound
    process, _ = copies.split([_event("WB-1", at=2.0)], MAIN)
    assert len(process) == 1  # no twin known: processed (deduplication has the last word)
    process, _ = copies.split([_event("WB-9", at=120.0)], MAIN)
    assert len(copies) == 1  # the others were older than a minute
    bounded = EventCopies(max_bytes=2 * len(SOS))
    bounded.split([_event(f"WB-{n}") for n in range(5)], LANE)
    assert len(bounded) == 2


def test_a_fleet_flooding_within_its_budgets_does_not_hold_up_another_bands_sos(
        make_gateway, publisher, mosquitto, tmp_path):
    # Red team, session 31: a hundred devices each sending fewer readings than its burst sat
    # ahead of another band's SOS in the broker's queue for the gateway's one session.
    gw, total, sockets = _flooded(make_gateway, mosquitto)
    listener = Listener(mosquitto.port, ["scgw/v1/wristband/WB-1001/event/ack"])
    try:
        publisher.publish("scgw/v1/wristband/WB-1001/event",
                          orjson.dumps({"ts": MS, "seq": 5, "type": "sos"}))
        assert wait_for(lambda: listener.got, 30)
        done_when_confirmed = gw.pipeline.processed
        assert listener.got[0][1]["status"] == "stored"
        # Without the lane the SOS came after the whole flood; now far ahead of it.
        assert done_when_confirmed < total / 2, (done_when_confirmed, total)
        assert gw.pipeline.wait_processed(total + 1, 60)
        counts = gw.store.query(
            "SELECT (SELECT count(*) FROM telemetry) AS readings,"
            " (SELECT count(*) FROM events WHERE type = 'sos') AS sos")[0]
        assert counts == {"readings": total, "sos": 1}
        # The SOS came on both sessions; the second copy was acknowledged and dropped.
        assert wait_for(lambda: gw.metrics.value("scgw_event_copies_total") == 1, 10)
    finally:
        for sock in sockets:
            sock.close()
        listener.close()


def test_a_gas_reading_over_the_alarm_level_does_not_wait_behind_a_flood_of_readings(
        make_gateway, publisher, mosquitto, tmp_path):
    # Red team round 11: a gas detector's `lel_pct: 40` (critical by itself) waited 16-46 s
    # behind another device's readings: it came on the main session, behind them in the
    # broker's queue and in the inbox. A kind whose readings may be the alarm
    # (`lane_readings`) has them on the event lane too, and they go to the front.
    detector = device("GD-9001", "gas_detector", site="jining-renmin", building="7",
                      grid="G-01")
    gw, total, sockets = _flooded(make_gateway, mosquitto, [detector])
    try:
        publisher.publish("scgw/v1/gas_detector/GD-9001/telemetry",
                          orjson.dumps({"ts": MS, "seq": 3, "lel_pct": 40}))

        def alerted() -> bool:
            return bool(gw.store.query(
                "SELECT 1 FROM alerts WHERE device_id = 'GD-9001'"
                " AND rule_id = 'gas_detector.concentration_high'"))

        assert wait_for(alerted, 30)
        done_when_alerted = gw.pipeline.processed
        assert done_when_alerted < total / 2, (done_when_alerted, total)
        assert gw.pipeline.wait_processed(total + 1, 60)
        [row] = gw.store.query(
            "SELECT count(*) AS n FROM telemetry WHERE device_id = 'GD-9001'")
        assert row["n"] == 1  # both sessions' copies, stored once
        assert wait_for(lambda: gw.metrics.value("scgw_event_copies_total") == 1, 10)
    finally:
        for sock in sockets:
            sock.close()


def _flooded(make_gateway, mosquitto, extra=()):  # type: ignore[no-untyped-def]
    """A gateway whose broker queue holds 50,000 readings of 20 installed bands (each within
    its budget), every one of them in the broker before this returns."""
    # Installed devices (a grid each): a fleet nobody installed has a far smaller budget.
    fleet = [device(f"WB-F{n:03d}", "wristband", grid="G-01") for n in range(20)]
    gw = make_gateway([*STANDARD_DEVICES, *fleet, *extra])
    assert gw.event_lane is not None and gw.event_lane.wait_connected(10)
    each = 2500  # under the default burst (10,000): nothing is shed
    sockets = [_flood_connection(mosquitto.port, d.id) for d in fleet]
    # Each device on its own connection, as in the field: the broker takes the flood in
    # much faster than one writer stores it. Every reading has reached the broker (each
    # connection's last publish is acknowledged) before the caller's message is sent.
    writers = [threading.Thread(target=_flood, args=(s, d.id, each))
               for s, d in zip(sockets, fleet, strict=True)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    return gw, each * len(fleet), sockets


def _flood_connection(port: int, device_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(wire.connect_packet(wire.ConnectOptions(device_id, 60, v5=False)))
    return sock


def _flood(sock: socket.socket, device_id: str, count: int) -> None:
    """`count` QoS 0 readings, then one at QoS 1 whose PUBACK says all of them arrived."""
    topic = f"scgw/v1/wristband/{device_id}/telemetry"
    body = [orjson.dumps({"ts": MS - 60_000 + k, "seq": k + 1, "heart_rate_bpm": 70})
            for k in range(count)]
    sock.sendall(b"".join(wire.publish_packet(topic, b, qos=0, retain=False, packet_id=0,
                                              v5=False) for b in body[:-1])
                 + wire.publish_packet(topic, body[-1], qos=1, retain=False, packet_id=1,
                                       v5=False))
    parser = wire.StreamParser(False)
    while not any(kind == wire.PUBACK for kind, _ in parser.feed(sock.recv(65536))[1]):
        pass


def test_without_the_lanes_account_events_are_read_on_the_main_session(tmp_path, clock):
    # A deployment provisioned before the lane existed: the broker refuses `gw-events`.
    broker = start_mosquitto(tmp_path / "broker", users={"gw": "gw-pass-1", "WB-1001": "pw"},
                             acl="user gw\ntopic readwrite scgw/v1/#\n"
                                 "user WB-1001\ntopic readwrite scgw/v1/wristband/WB-1001/#\n")
    gw = logged_in_gateway(broker, tmp_path / "gw.db", clock, username="gw",
                           password="gw-pass-1", client_id="gw-main", reconnect_max_s=1.0)
    try:
        assert gw.mqtt.wait_connected(10)
        assert gw.event_lane is not None and gw.event_lane.wait_answered(10)
        assert not gw.event_lane.connected and "gw-events" in (gw.event_lane.refusal or "")
        assert gw.metrics.value("scgw_event_lane_connected") == 0
        assert gw.metrics.value("scgw_broker_connected") == 1
        band = Publisher(broker.url, username="WB-1001", password="pw")
        try:
            band.publish("scgw/v1/wristband/WB-1001/event",
                         orjson.dumps({"ts": MS, "seq": 9, "type": "sos"}))
            assert gw.pipeline.wait_processed(1, 10)
        finally:
            band.close()
        [row] = gw.store.query("SELECT type FROM events")
        assert row["type"] == "sos"
    finally:
        gw.stop()
        broker.stop()


def test_a_replica_may_not_be_named_like_another_replicas_lane():
    # Replica `a`'s lane logs in as `<client_id>-a-events`: a replica named `a-events` would
    # take that session over (and each would throw the other off).
    pg = {"url": "postgresql://scgw@db/scgw"}
    for name in ("events", "a-events"):
        with pytest.raises(ValidationError, match="may not be `events` or end in `-events`"):
            Settings(gateway={"replica_id": name}, database=pg, broker={"shared_group": "g"})
    settings = Settings(gateway={"replica_id": "a"}, database=pg, broker={"shared_group": "g"})
    lane = settings.replica_broker("a").event_lane_login()
    assert lane.client_id == "scgw-gateway-a-events"
