"""One hostile message costs the gateway time in proportion to its size, never more: a
payload crafted against the lenient reader or the urgent-event trimming froze every thread of
the process for seconds to minutes, delaying every other band's SOS (red team round 3, H2/H3).
Bounds are generous (a linear pass takes milliseconds; the quadratic ones took 18 s at 64 KB
and would take minutes at the broker's 320 KB)."""

from __future__ import annotations

import time

import orjson
import pytest

from devices.codec import object_members
from gateway.envelope import RawMessage
from tests.conftest import T0
from tests.gateway.test_salvage import DEVICE_OF, MS, gateway  # noqa: F401  (fixture)

BAND = DEVICE_OF["wristband"]
LIMIT_S = 3.0


def _timed(gw, topic: str, payload: bytes) -> float:
    started = time.perf_counter()
    gw.pipeline.process_batch([RawMessage(topic, payload, received_at=T0)])
    return time.perf_counter() - started


@pytest.mark.parametrize("shape", [
    '{"state":"' + '\\"' * 150_000,  # escaped quotes in a string never closed
    '{"type":"sos","note":"' + '"x' * 150_000,  # a quote every other byte
    '{"type":"sos","v":nan,"s":"' + '\\"\\' * 100_000,  # with a C `nan` to read leniently
])
def test_the_lenient_reader_is_linear(shape: str):
    started = time.perf_counter()
    assert object_members(shape.encode()) is None
    assert time.perf_counter() - started < LIMIT_S


def test_a_huge_unreadable_status_or_sos_is_refused_in_bounded_time(gateway):  # noqa: F811
    status = ('{"state":"' + '\\"' * 150_000).encode()
    assert _timed(gateway, f"scgw/v1/wristband/{BAND}/status", status) < LIMIT_S
    sos = ('{"type":"sos","seq":1,"ts":' + str(MS) + ',"note":"' + '"x' * 140_000).encode()
    assert _timed(gateway, f"scgw/v1/wristband/{BAND}/event", sos) < LIMIT_S
    reasons = [r["reason"] for r in gateway.store.query("SELECT reason FROM dead_letters")]
    assert len(reasons) + len(gateway.store.query(
        "SELECT id FROM events WHERE type = 'sos'")) == 2, reasons


def test_an_sos_of_forty_thousand_tiny_fields_is_trimmed_in_bounded_time(gateway):  # noqa: F811
    names = (f"k{i:05d}" for i in range(40_000))
    body = {"type": "sos", "ts": MS, "seq": 7, **dict.fromkeys(names, 0)}
    payload = orjson.dumps(body)
    assert len(payload) > 4 * gateway.settings.limits.max_payload_bytes
    assert _timed(gateway, f"scgw/v1/wristband/{BAND}/event", payload) < LIMIT_S
    # Still someone pressing a button: stored and paged, and the repair text stays short.
    [row] = gateway.store.query("SELECT data FROM events WHERE type = 'sos'")
    detail = orjson.loads(row["data"])["salvaged"]["detail"]
    assert "more" in detail and len(detail) < 2_000
    assert gateway.store.query("SELECT rule_id FROM alerts") == [{"rule_id": "wristband.sos"}]


@pytest.mark.parametrize("depth", [600, 3000])
@pytest.mark.parametrize("nest", [b'{"a":', b"["])
def test_an_sos_nested_deeper_than_any_device_writes_still_pages(gateway, nest,  # noqa: F811
                                                                 depth):
    # Red team round 3b: 600 levels of valid JSON crashed the lenient reader (an
    # internal_error dead letter: the SOS was neither salvaged, confirmed nor paged).
    close = b"}" if nest.startswith(b"{") else b"]"
    payload = (b'{"type": "sos", "ts": %d, "seq": 3, "x": ' % MS + nest * depth + b"1"
               + close * depth + b"}")
    gateway.pipeline.process_batch([RawMessage(f"scgw/v1/wristband/{BAND}/event", payload,
                                               received_at=T0)])
    assert gateway.store.query("SELECT reason FROM dead_letters WHERE reason = "
                               "'internal_error'") == []
    assert gateway.store.query("SELECT rule_id FROM alerts") == [{"rule_id": "wristband.sos"}]


def test_a_reading_of_thousands_of_zero_keys_costs_no_validation_per_key(gateway,  # noqa: F811
                                                                         monkeypatch):
    # Red team round 8: 16 KiB readings of ~2,000 made-up keys valued 0 (one budget token)
    # were each validated as a "not measured" placeholder: 20-30 ms of the writer apiece, and
    # 2,500 of them delayed another family's SOS 33-43 s.
    from devices import repair
    from devices.catalogue import CATALOGUE

    calls = []
    real = repair.field_problem

    def counted(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(repair, "field_problem", counted)
    body = {"ts": MS, "seq": 11, "heart_rate_bpm": 0, **{f"a{i}": 0 for i in range(1_700)}}
    gateway.pipeline.process_batch([RawMessage(f"scgw/v1/wristband/{BAND}/telemetry",
                                               orjson.dumps(body), received_at=T0)])
    assert len(calls) <= len(CATALOGUE.get("wristband").telemetry.model_fields)
    # Still read as before: the made-up zeros left out as not measured, in one short note.
    [row] = gateway.store.query("SELECT data FROM telemetry")
    assert "heart_rate_bpm" not in orjson.loads(row["data"])


def test_a_long_batch_leaves_its_rest_for_the_next_when_an_urgent_event_waits(
        gateway, monkeypatch):  # noqa: F811
    # Red team round 8: a batch of 2,000 costly messages was never interrupted; an SOS that
    # arrived meanwhile waited for all of them.
    from gateway import pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "DECODE_SLICE_S", 0.0)
    inbox = gateway.pipeline._inbox
    monkeypatch.setattr(inbox, "urgent_waiting", lambda: True)
    returned: list[list[RawMessage]] = []
    monkeypatch.setattr(inbox, "put_back", returned.append)
    batch = [RawMessage(f"scgw/v1/wristband/{BAND}/telemetry",
                        orjson.dumps({"ts": MS, "seq": 100 + i, "heart_rate_bpm": 70}),
                        received_at=T0) for i in range(100)]
    gateway.pipeline.process_batch(batch)
    [rest] = returned
    assert rest == batch[32:]  # decoded up to the first check, the rest handed back unread
    assert len(gateway.store.query("SELECT seq FROM telemetry")) == 32

    # Red team round 9: queues count by what they carry — 31 queues of 1,000 elements were
    # decoded before the first look at the clock. Here the first queue of 40 is the check.
    returned.clear()
    queues = [RawMessage(f"scgw/v1/wristband/{BAND}/telemetry", orjson.dumps(
        [{"ts": MS, "seq": 1000 + 100 * q + i, "heart_rate_bpm": 70} for i in range(40)]),
        received_at=T0) for q in range(3)]
    gateway.pipeline.process_batch(queues)
    [rest] = returned
    assert rest == queues[1:]
    assert len(gateway.store.query("SELECT seq FROM telemetry WHERE seq >= 1000")) == 40
