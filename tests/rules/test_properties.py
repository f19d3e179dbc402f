"""Property: whatever the interleaving of readings, events, acks, clears and time, at most one
alert per (device, rule) is open, and memory agrees with the database."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.clock import ManualClock
from rules.errors import AlertError
from tests.conftest import T0
from tests.rules.harness import Harness

RULES = """
rules:
  - id: prop.hot
    name: {zh: 热, en: Hot}
    kind: wristband
    condition: {type: threshold, signal: heart_rate_bpm, op: gt, value: 100, hysteresis: 5}
    severity: major
    category: health
  - id: prop.hot_for
    name: {zh: 持续热, en: Hot for a while}
    kind: wristband
    condition: {type: duration, signal: heart_rate_bpm, op: gt, value: 100, for_s: 30}
    severity: major
    category: health
  - id: prop.sos
    name: {zh: 求助, en: SOS}
    kind: wristband
    condition: {type: event, event: sos, clear_on: [worn]}
    severity: critical
    category: sos
"""

op = st.one_of(
    st.tuples(st.just("reading"), st.sampled_from(["WB-1", "WB-2"]),
              st.integers(min_value=60, max_value=140)),
    st.tuples(st.just("event"), st.sampled_from(["WB-1", "WB-2"]),
              st.sampled_from(["sos", "worn"])),
    st.tuples(st.just("ack"), st.integers(min_value=0, max_value=5), st.just(0)),
    st.tuples(st.just("clear"), st.integers(min_value=0, max_value=5), st.just(0)),
    st.tuples(st.just("advance"), st.just(""), st.sampled_from([1, 10, 31, 400, 700])),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=40))
def test_at_most_one_open_alert_per_device_and_rule(ops):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        (path / "rules.yaml").write_text(RULES, encoding="utf-8")
        clock = ManualClock(T0)
        h = Harness(path, [path / "rules.yaml"], clock)
        book = h.engine.book
        try:
            for name, arg, value in ops:
                if name == "reading":
                    h.telemetry(arg, heart_rate_bpm=value)
                elif name == "event":
                    h.event(arg, value)
                elif name in ("ack", "clear"):
                    ids = sorted(a.id for a in book.open.values())
                    if ids:
                        alert_id = ids[arg % len(ids)]
                        action = (h.engine.ack if name == "ack" else h.engine.clear_alert)
                        # Acking an acknowledged alert is refused and changes nothing.
                        with contextlib.suppress(AlertError):
                            h.do(lambda tx, a=alert_id, f=action: f(tx, a, "op"))
                else:
                    clock.advance(value)
                    h.tick()
                rows = h.store.query(
                    "SELECT rule_id, device_id, COUNT(*) AS n FROM alerts "
                    "WHERE state != 'cleared' GROUP BY rule_id, device_id")
                assert all(r["n"] == 1 for r in rows), rows
                assert {(r["rule_id"], r["device_id"]) for r in rows} == set(book.open)
        finally:
            h.close()
