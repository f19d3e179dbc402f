"""Rules fixtures: a gateway with the built-in pack over a real Mosquitto, and helpers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.clock import ManualClock
from gateway.residents import Resident
from gateway.service import Gateway
from rules.records import AlertChange
from tests.conftest import STANDARD_DEVICES, device
from tests.support.clients import Publisher

# A lone elder's own flat door, and a second unit door in the same building.
EXTRA_DEVICES = [
    device("AC-2002", "access", site="jining-renmin", building="3", unit="2", grid="G-01",
           resident_id="R-yang"),
]
RESIDENTS = [
    Resident("R-yang", "杨大爷", frozenset({"lives_alone", "elderly"}), "jining-renmin"),
    Resident("R-li", "李阿姨", frozenset({"elderly"}), "jining-renmin"),
]
_SEQ = itertools.count(1)  # shared by every rig: a restarted gateway remembers seen seqs
HOME = (35.4151, 116.5872)  # centre of the compound's safe zone

ZONES_YAML = f"""
zones:
  - name: jining-renmin
    circle: {{lat: {HOME[0]}, lon: {HOME[1]}, radius_m: 400}}
"""

EXTRA_RULES_YAML = """
rules:
  - id: test.denied_burst
    name: {zh: 多次开门失败, en: Repeated denied entries}
    kind: access
    condition: {type: repeating, event: denied, count: 3, within_s: 60}
    severity: minor
    category: access
"""


class Rig:
    """Drives one gateway: publish as devices, move the clock, read alerts."""

    def __init__(self, gw: Gateway, publisher: Publisher, clock: ManualClock) -> None:
        self.gw = gw
        self.pub = publisher
        self.clock = clock
        self.sent = 0
        self.changes: list[AlertChange] = []
        assert gw.alerting is not None
        self.alerting = gw.alerting
        self.alerting.subscribe(lambda change, tx: self.changes.append(change))

    # -- devices -------------------------------------------------------------------------

    def send(self, device_id: str, channel: str, body: dict[str, Any],
             ts: float | None = None) -> None:
        """Publish one message as the device and wait until the pipeline committed it."""
        record = self.gw.registry.get(device_id)
        assert record is not None, device_id
        when = self.clock.time() if ts is None else ts
        payload = {"ts": int(when * 1000), "seq": next(_SEQ), **body}
        self.pub.publish(f"scgw/v1/{record.kind}/{device_id}/{channel}", orjson.dumps(payload))
        self.sent += 1
        assert self.gw.pipeline.wait_processed(self.sent, 10), "pipeline did not catch up"

    def event(self, device_id: str, type_: str, ts: float | None = None, **fields: Any) -> None:
        """An event message."""
        self.send(device_id, "event", {"type": type_, **fields}, ts)

    def telemetry(self, device_id: str, **fields: Any) -> None:
        """A telemetry message."""
        self.send(device_id, "telemetry", fields)

    def fix(self, device_id: str, lat: float, lon: float, accuracy_m: float = 8.0) -> None:
        """A wristband position fix."""
        self.telemetry(device_id, location={"lat": lat, "lon": lon, "accuracy_m": accuracy_m})

    # -- time ----------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the clock and run the rules' timers to completion."""
        self.clock.advance(seconds)
        self.sync()

    def sync(self) -> None:
        """Run a rules tick on the pipeline thread now and wait for it (a barrier too)."""
        self.alerting.call("test_tick", lambda tx: self.alerting.tick(self.clock.time(), tx))

    # -- reading -------------------------------------------------------------------------

    def alerts(self, rule_id: str, device_id: str | None = None) -> list[dict[str, Any]]:
        """Every alert row of the rule (optionally one device), oldest first."""
        sql = "SELECT * FROM alerts WHERE rule_id = ?"
        args: tuple[Any, ...] = (rule_id,)
        if device_id is not None:
            sql += " AND device_id = ?"
            args += (device_id,)
        return self.gw.store.query(sql + " ORDER BY id", args)

    def open(self, rule_id: str, device_id: str) -> dict[str, Any] | None:
        """The open alert of (rule, device), asserting there is at most one."""
        rows = [r for r in self.alerts(rule_id, device_id) if r["state"] != "cleared"]
        assert len(rows) <= 1, rows
        return rows[0] if rows else None

    def audit(self, alert_id: int) -> list[tuple[str, str, str]]:
        """(action, actor, to_state) of an alert's audit trail."""
        rows = self.gw.store.query(
            "SELECT action, actor, to_state FROM alert_audit WHERE alert_id = ? ORDER BY id",
            (alert_id,))
        return [(r["action"], r["actor"], r["to_state"]) for r in rows]

    def dead_letters(self) -> list[dict[str, Any]]:
        """Messages the gateway refused (tests expect none)."""
        return self.gw.store.query("SELECT reason, detail FROM dead_letters")


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """The operator's rule folder: the compound's safe zone and one extra rule."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "zones.yaml").write_text(ZONES_YAML, encoding="utf-8")
    (folder / "extra.yaml").write_text(EXTRA_RULES_YAML, encoding="utf-8")
    return folder


@pytest.fixture
def make_rig(make_gateway: Callable[..., Gateway], publisher: Publisher, clock: ManualClock,
             rules_dir: Path) -> Iterator[Callable[..., Rig]]:
    """Build gateways with the built-in pack plus the test folder; stop them afterwards."""
    rigs: list[Rig] = []

    def _make(**overrides: Any) -> Rig:
        rules = {"extra_dir": str(rules_dir), "tick_s": 60.0, **overrides.pop("rules", {})}
        devices = overrides.pop("devices", STANDARD_DEVICES + EXTRA_DEVICES)
        gw = make_gateway(devices=devices, rules=rules, **overrides)
        assert gw.alerting is not None
        gw.alerting.residents.upsert(RESIDENTS)
        rig = Rig(gw, publisher, clock)
        rigs.append(rig)
        return rig

    yield _make
    for rig in rigs:
        if rig.gw.alerting is not None and rig.gw.scheduler._thread is not None:  # still running
            assert rig.dead_letters() == [], "a test message was refused"


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    """One gateway with the built-in pack."""
    return make_rig()
