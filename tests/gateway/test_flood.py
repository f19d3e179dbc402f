"""One device flooding the broker cannot hold up another device's SOS: beyond its budget its
messages are shed (acknowledged, counted, summarised in a `rate_limited` dead letter)."""

from __future__ import annotations

import base64

import orjson
import pytest

from gateway import batches
from gateway.envelope import RawMessage
from gateway.flood import THOROUGH_BURST, DeviceBudget
from gateway.urgency import UrgencyHint
from tests.conftest import T0
from tests.gateway.test_confirmations import Listener
from tests.support.offline import offline_gateway
from tests.support.waiting import wait_for

MS = int(T0 * 1000)


def _msg(device: str, at: float, *, sos: bool = False) -> RawMessage:
    channel, body = ("event", b'{"type": "sos"}') if sos else ("telemetry", b"{}")
    return RawMessage(f"scgw/v1/wristband/{device}/{channel}", body, received_at=T0 + at,
                      arrived=1000.0 + at)


def _budget(rate: float = 10, burst: int = 100) -> DeviceBudget:
    return DeviceBudget(rate, burst, 1.0, 3, UrgencyHint().device, cost=batches.size)


def test_a_burst_passes_whole_and_then_the_sustained_rate_applies():
    budget = _budget()
    admitted, shed, opened = budget.split([_msg("WB-1", 0.0) for _ in range(150)])
    assert (len(admitted), len(shed), opened) == (100, 50, True)
    # Two seconds later twenty more tokens (10/s); another device has its own bucket.
    admitted, shed, opened = budget.split([_msg("WB-1", 2.0) for _ in range(30)]
                                          + [_msg("WB-2", 2.0) for _ in range(30)])
    assert (len(admitted), len(shed), opened) == (20 + 30, 10, False)
    [tally] = budget.take_tallies()
    assert (tally.device_id, tally.count, tally.urgent) == ("WB-1", 60, 0)
    assert tally.sample.received_at == T0 and not budget.has_tallies


def test_an_sos_from_a_device_over_its_budget_passes_but_an_sos_flood_does_not():
    budget = _budget()
    budget.split([_msg("WB-1", 0.0) for _ in range(100)])  # the burst spent on readings
    admitted, shed, _ = budget.split([_msg("WB-1", 0.0, sos=True) for _ in range(10)])
    assert (len(admitted), len(shed)) == (3, 7)  # the urgent burst, then shed
    [tally] = budget.take_tallies()
    assert tally.urgent == 7
    # A second later ten tokens (10/s) came back, and one urgent token (1/s).
    admitted, _, _ = budget.split([_msg("WB-1", 1.0, sos=True) for _ in range(15)])
    assert len(admitted) == 10 + 1


def test_a_queue_of_readings_in_one_message_costs_what_it_carries():
    # Messages carrying arrays are split into their elements (gateway/batches.py): counted as
    # one, a band's 100-reading arrays would pass 100 times its budget.
    budget = _budget()
    queue = RawMessage("scgw/v1/wristband/WB-1/telemetry",
                       orjson.dumps([{"ts": MS + n, "seq": n} for n in range(60)]),
                       received_at=T0, arrived=1000.0)
    admitted, shed, _ = budget.split([queue, queue, queue])
    assert (len(admitted), len(shed)) == (2, 1)  # 100 tokens: 60, then 60 on credit
    assert budget.take_tallies()[0].count == 60  # what was shed: the readings, not a message
    admitted, _, _ = budget.split([_msg("WB-1", 1.0)])
    assert admitted == []  # in debt (-20 + 10 a second) until the budget refills


def test_a_queue_of_sos_on_the_urgent_budget_costs_what_it_carries():
    # Red team round 8: a band over its budget sent arrays of 1,000 SOS; each passed on one
    # urgent token, and 45,000 SOS were stored and confirmed in 15 s.
    budget = _budget()
    budget.split([_msg("WB-1", 0.0) for _ in range(100)])  # the normal burst spent
    queue = RawMessage("scgw/v1/wristband/WB-1/event", orjson.dumps(
        [{"ts": MS + n, "seq": n, "type": "sos"} for n in range(1_000)]),
        received_at=T0, arrived=1000.0)
    admitted, shed, _ = budget.split([queue, queue, _msg("WB-1", 0.0, sos=True)])
    # The first on credit; then the urgent budget is 997 in debt: the second queue and a
    # lone SOS are shed (counted, summarised) until the budgets refill.
    assert (len(admitted), len(shed)) == (1, 2)


def test_an_sos_the_quick_pattern_misses_is_read_in_full_before_it_is_shed():
    # Red team round 5 re-check: from a band over its budget, an SOS in a spelling salvage
    # reads but the quick pattern does not (full width, an envelope, a flag in a reading)
    # was shed. Such messages are read in full — a few a second per device, not a flood's.
    from gateway.urgent_salvage import urgent_when_read

    reads: list[RawMessage] = []
    budget = DeviceBudget(10, 100, 1.0, 3, UrgencyHint().device,
                          thorough=lambda raw: reads.append(raw) or urgent_when_read(raw))
    budget.split([_msg("WB-1", 0.0) for _ in range(100)])  # the burst spent on readings
    odd = [RawMessage("scgw/v1/wristband/WB-1/event", b'{"ts": %d, "type": "\xef\xbc\xb3'
                      b'\xef\xbc\xaf\xef\xbc\xb3"}' % MS, received_at=T0, arrived=1000.0),
           RawMessage("scgw/v1/wristband/WB-1/telemetry", orjson.dumps(
               {"ts": MS, "data": {"alarm": "sos"}}), received_at=T0, arrived=1000.0)]
    admitted, shed, _ = budget.split(odd)
    assert (len(admitted), len(shed)) == (2, 0)
    # A flood of readings is read in full only a few times, then shed unread.
    admitted, shed, _ = budget.split([_msg("WB-1", 0.0) for _ in range(50)])
    assert (len(admitted), len(shed)) == (0, 50)
    assert len(reads) == THOROUGH_BURST


def test_a_flood_of_readings_does_not_spend_the_reads_a_spelled_sos_needs():
    # Red team round 6: every shed reading spent the allowance of thorough reads, so the
    # `S.O.S`, `ＳＯＳ` and zero-width-space SOS a flooding band sent after them were shed.
    from gateway.urgent_salvage import may_be_urgent, urgent_when_read

    budget = DeviceBudget(10, 100, 1.0, 8, UrgencyHint().device, thorough=urgent_when_read,
                          glance=may_be_urgent)
    budget.split([_msg("WB-1", 0.0) for _ in range(100)])  # the burst spent on readings
    readings = [RawMessage("scgw/v1/wristband/WB-1/telemetry", orjson.dumps(
        {"ts": MS, "seq": n, "heart_rate_bpm": 80, "battery_pct": 50, "worn": True,
         "location": {"lat": 35.41, "lon": 116.58, "accuracy_m": 10}}),
        received_at=T0, arrived=1000.0) for n in range(500)]
    admitted, shed, _ = budget.split(readings)
    assert (len(admitted), len(shed)) == (0, 500)
    spelled = [b"S.O.S", "\uff33\uff2f\uff33".encode(), "s\u200bos".encode()]
    odd = [RawMessage("scgw/v1/wristband/WB-1/event", b'{"ts": %d, "seq": %d, "type": "%s"}'
                      % (MS, n, word), received_at=T0, arrived=1000.0)
           for n, word in enumerate(spelled)]
    # Red team round 7: an SOS in a carrier platform's envelope, as base64 or hex text.
    inner = orjson.dumps({"ts": MS, "seq": 9, "type": "sos"})
    odd += [RawMessage("scgw/v1/wristband/WB-1/event", orjson.dumps(
        {"deviceId": "WB-1", "payload": {"APPdata": text}}), received_at=T0, arrived=1000.0)
        for text in (base64.b64encode(inner).decode(), inner.hex(),
                     base64.b64encode(b"\n" + inner).decode(), " " + inner.hex(),
                     base64.b64encode(b'{"type":"sos"}').decode())]
    spelled += [b"base64", b"hex", b"base64 of a line", b"hex with a space", b"short"]
    admitted, shed, _ = budget.split(odd)
    assert (len(admitted), len(shed)) == (len(spelled), 0)


def test_a_device_nobody_installed_has_a_smaller_budget():
    # Red team round 2: a hostile vendor's 2,000 warehouse devices, each within the full
    # budget, could queue millions of messages ahead of an installed band's SOS.
    budget = DeviceBudget(10, 100, 1.0, 3, UrgencyHint().device,
                          installed=lambda device_id: device_id == "WB-1",
                          uninstalled_rate_per_s=1, uninstalled_burst=10)
    admitted, shed, _ = budget.split([_msg(d, 0.0) for d in ("WB-1", "WB-9") for _ in range(50)])
    assert [m.topic.split("/")[3] for m in admitted].count("WB-1") == 50
    assert [m.topic.split("/")[3] for m in admitted].count("WB-9") == 10
    assert len(shed) == 40
    # Its SOS keeps the urgent budget of its own.
    admitted, shed, _ = budget.split([_msg("WB-9", 0.1, sos=True)])
    assert len(admitted) == 1 and not shed
    # Its shed report names the budget it has, not the full one (vendor round 4).
    [tally] = budget.take_tallies()
    said = budget.describe(tally)
    assert "budget of 1/s after a burst of 10 (not installed yet" in said


def test_a_rate_of_zero_limits_nobody():
    budget = DeviceBudget(0, 1, 0, 1, UrgencyHint().device)
    raws = [_msg("WB-1", 0.0) for _ in range(50_000)]
    assert budget.split(raws) == (raws, [], False)


def test_a_flooding_device_is_shed_and_another_bands_sos_is_confirmed(make_gateway, publisher,
                                                                      mosquitto, clock):
    gw = make_gateway(limits={"device_burst": 300, "device_rate_per_s": 5})
    rogue = "scgw/v1/wristband/WB-1002"
    listener = Listener(mosquitto.port, ["scgw/v1/wristband/WB-1001/event/ack",
                                         f"{rogue}/errors"])
    try:
        flood = 4000
        for n in range(flood):
            publisher.publish_nowait(f"{rogue}/telemetry", orjson.dumps(
                {"ts": MS - 60_000 + n, "seq": n + 1, "heart_rate_bpm": 70}))
        publisher.publish("scgw/v1/wristband/WB-1001/event", orjson.dumps(
            {"ts": MS, "seq": 5, "type": "sos"}))
        assert wait_for(lambda: any(t.endswith("/event/ack") for t, _ in listener.got), 10)
        assert gw.pipeline.wait_processed(flood + 1, 10)
        stored = gw.store.query("SELECT count(*) AS n FROM telemetry")[0]["n"]
        shed = gw.metrics.value("scgw_messages_shed_total")
        assert stored + shed == flood
        assert 300 <= stored < 300 + 200  # the burst, and what the rate refilled meanwhile
        # Within a second of the scheduler's time, one dead letter says what was shed.
        clock.advance(1.5)
        assert wait_for(lambda: gw.store.query(
            "SELECT detail FROM dead_letters WHERE reason = 'rate_limited'"), 5)
        [row] = gw.store.query("SELECT device_id, detail FROM dead_letters")
        assert row["device_id"] == "WB-1002"
        assert row["detail"].startswith(f"{int(shed)} messages shed")
        assert wait_for(lambda: any(body.get("reason") == "rate_limited"
                                    for _, body in listener.got), 5)
    finally:
        listener.close()


def test_devices_on_a_dialects_own_topics_each_have_their_own_budget(tmp_path):
    # `owntracks/<id>/<phone>` and `watch/<imei>/up` name the device elsewhere than our
    # topics do: they must not all count against one shared budget (nor one per phone name).
    from gateway.clock import ManualClock
    from gateway.service import Gateway
    from gateway.settings import Settings

    gw = Gateway(Settings(broker={"url": "mqtt://127.0.0.1:1"},
                          database={"url": f"sqlite:///{tmp_path / 'b.db'}"}, log_json=False,
                          limits={"device_burst": 50}), clock=ManualClock(T0))
    raws = [RawMessage(f"owntracks/OT-{n % 3}/phone-{n}", b"{}", arrived=1.0)
            for n in range(150)]
    admitted, shed, _ = gw.pipeline.budget.split(raws)
    assert (len(admitted), len(shed)) == (150, 0)  # 50 each for three devices
    admitted, shed, _ = gw.pipeline.budget.split([RawMessage("owntracks/OT-1/other", b"{}",
                                                             arrived=1.0)])
    assert (len(admitted), len(shed)) == (0, 1)  # OT-1's budget, whatever the phone
    gw.store.close()


def test_a_dialect_devices_sos_is_not_shed_with_its_readings(tmp_path):
    # A flooding HX band (its own JSON on our topics) or 4G watch (`watch/<imei>/up`): its
    # SOS, `"alarm": "SOS"`, was not recognised as urgent and was shed (red team, session 31).
    from devices.vendors import builtin_codecs

    budget = DeviceBudget(10, 100, 1.0, 3, UrgencyHint(codecs=builtin_codecs()).device)
    imei = "865028041234567"
    flood = ([RawMessage("scgw/v1/wristband/HX-1/telemetry", b'{"t": 1, "hr": 70}', arrived=1.0)
              for _ in range(200)]
             + [RawMessage(f"watch/{imei}/up", b'{"cmd": "health", "hr": 70}', arrived=1.0)
                for _ in range(200)])
    budget.split(flood)  # both bursts spent
    urgent = [RawMessage("scgw/v1/wristband/HX-1/event", b'{"t": 1, "n": 9, "alarm": "SOS"}',
                         arrived=1.0),
              RawMessage(f"watch/{imei}/up", b'{"imei": "%s", "cmd": "alarm", "alarm": "sos"}'
                         % imei.encode(), arrived=1.0)]
    readings = [RawMessage("scgw/v1/wristband/HX-1/event", b'{"t": 1, "alarm": "ON"}',
                           arrived=1.0)]
    admitted, shed, _ = budget.split(urgent + readings)
    assert admitted == urgent and shed == readings


def test_a_hub_inventing_child_names_and_long_topics_share_one_budget(tmp_path):
    # Red team round 3: a Zigbee2MQTT hub naming a new child in each message got a fresh
    # budget each time (200,000 dead letters, none shed), and every long topic kept its own
    # bucket and cache entry in memory. Children nobody registered share the hub's budget; a
    # registered child keeps its own; topics over 256 characters share one and are refused.
    from gateway.rejections import RejectError
    from tests.conftest import device

    gw = offline_gateway(tmp_path, T0)
    gw.registry.register([device("H1", "wristband"),
                          device("H1-sos_button", "alarm_pole", codec="zigbee2mqtt")])
    budget = gw.pipeline.budget
    invented = [RawMessage(f"zigbee2mqtt/H1/n{n}", b"{}", arrived=1.0) for n in range(1000)]
    admitted, shed, _ = budget.split(invented)
    burst = gw.settings.limits.uninstalled_device_burst
    assert (len(admitted), len(shed)) == (burst, 1000 - burst)
    # The registered child still has a budget of its own.
    admitted, _, _ = budget.split([RawMessage("zigbee2mqtt/H1/sos_button", b"{}", arrived=1.0)])
    assert len(admitted) == 1
    long_topics = [RawMessage("owntracks/OT-1/" + "x" * 300 + str(n), b"{}", arrived=1.0)
                   for n in range(1000)]
    admitted, shed, _ = budget.split(long_topics)
    assert (len(admitted), len(shed)) == (burst, 1000 - burst)
    assert len(budget._buckets) <= 3
    # Refused before any cache or lookup, the refusal naming the length.
    with pytest.raises(RejectError, match="bad_topic: topic of 316 characters"):
        gw.decoder.decode(long_topics[0], T0)
    for raw in invented[:50]:
        with pytest.raises(RejectError, match="unknown_device"):
            gw.decoder.decode(raw, T0)
    assert not any(t.startswith("zigbee2mqtt/H1/n") for t in gw.decoder._vendor_topics)
    gw.store.close()


def test_a_hub_inventing_child_names_writes_its_rows_of_the_hour_then_summaries(tmp_path):
    # Red team round 12: the dead-letter rows of the hour were counted per named child, so a
    # hub naming a new unregistered child in each message had a full row (and 4 KiB of
    # payload) for every one — 166 rows in 40 s. They count against the hub, as the budget.
    from tests.conftest import device

    gw = offline_gateway(tmp_path, T0, limits={"dead_letter_rows_per_hour": 5})
    gw.registry.register([device("H1", "wristband")])
    gw.start(connect=False)
    try:
        gw.pipeline.submit([RawMessage(f"zigbee2mqtt/H1/n{n}", b'{"smoke": false}',
                                       received_at=T0, arrived=1.0) for n in range(40)])
        assert gw.pipeline.wait_processed(40, 10)
        rows = gw.store.query("SELECT topic FROM dead_letters")
        assert len(rows) == 5, len(rows)
        assert gw.metrics.value("scgw_messages_rejected_total", reason="unknown_device") == 40
        gw.pipeline.stop()  # a clean stop writes the rest summed up, one row
        [summary] = gw.store.query("SELECT detail FROM dead_letters ORDER BY id DESC LIMIT 1")
        assert summary["detail"].startswith("35 refusals (unknown_device)")
    finally:
        gw.stop()


def test_refusals_summed_up_hold_only_the_bytes_their_row_keeps(tmp_path):
    # Red team round 12: each (device, channel, reason) summed up held its first refused
    # message whole for a minute — 300 bands' five 65-KB refusals, 104 MB.
    from tests.conftest import device

    gw = offline_gateway(tmp_path, T0, limits={"dead_letter_rows_per_hour": 1})
    gw.registry.register([device("WB-R1", "wristband", grid="G-01")])
    gw.start(connect=False)
    try:
        big = b'{"ts": 1, "seq": "x", "pad": "' + b"x" * 60_000 + b'"}'
        gw.pipeline.submit([RawMessage("scgw/v1/wristband/WB-R1/telemetry", big,
                                       received_at=T0, arrived=1.0) for _ in range(3)])
        assert gw.pipeline.wait_processed(3, 10)
        keep = gw.settings.limits.dead_letter_payload_bytes
        repeats = list(gw.pipeline._dead._repeats.values())
        assert repeats and all(len(r.sample.payload) <= keep for r in repeats)
        # … nor the refusal's cause (a validation error holds the payload it read).
        assert all(r.rej.__cause__ is None and r.rej.__traceback__ is None for r in repeats)
        gw.pipeline.stop()
        summary = gw.store.query("SELECT detail, payload, payload_size FROM dead_letters "
                                 "ORDER BY id DESC LIMIT 1")[0]
        assert summary["detail"].startswith("2 refusals")
        assert summary["payload_size"] == len(big) and len(bytes(summary["payload"])) <= keep
    finally:
        gw.stop()
