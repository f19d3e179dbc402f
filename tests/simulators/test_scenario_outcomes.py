"""Every shipped scenario, played through a gateway over a real Mosquitto, must produce the
alerts and tickets its `expect:` section declares (and nothing else where it says `only`).

The gateway runs the built-in rule pack and the ticket workflow, seeded from the same community
model the simulators use (devices, residents with their ledger tags, the safe zone). Its
ManualClock walks in step with scenario time, so a three-day scenario takes a few seconds: the
clock is moved to each message's `ts` before the message goes out, and the publisher waits for
the pipeline to catch up before letting the clock run ahead by more than a few seconds of
scenario time (a pipeline lagging behind the clock would see messages as stale and mute them, or
see devices as silent that are merely queued).

Files are discovered, not listed: a new scenario without expectations fails here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from devices import topics
from devices.catalogue import CATALOGUE
from gateway.clock import ManualClock
from gateway.residents import Resident
from gateway.service import Gateway
from simulators.clock import VirtualClock
from simulators.community.model import Community
from simulators.kinds.base import Message
from simulators.mqtt import DeviceConnections
from simulators.scenario import ScenarioRun, play
from simulators.scenario_file import (
    Expectations,
    Scenario,
    TicketExpectation,
    load_scenario,
    scenario_files,
)
from tests.support.clients import Publisher
from tests.support.mosquitto import Mosquitto

FILES = scenario_files()
IDS = [f.stem for f in FILES]

# How far (scenario seconds) the gateway clock may run ahead of what the pipeline has committed.
# Well under every rule's timers (60 s fall correlation, 180 s geofence dwell) and the 600 s
# stale-event gate, so no rule sees time pass that its messages have not yet caught up with.
MAX_LAG_S = 20.0
# Once the devices have said their last, time still runs: the clock walks on in steps of
# STEP_S (ticking the rules each time, so a timer fires near its due time rather than at one
# jump) to the scenario's end, and past it for at most POST_ROLL_S while an expected alert is
# still missing (timed rules: absences, correlations, durations).
STEP_S = 30.0
POST_ROLL_S = 3600.0
PIPELINE_TIMEOUT_S = 30.0


@dataclass
class Outcome:
    """What the gateway holds once the scenario has played out."""

    alerts: list[dict[str, Any]]
    tickets: list[dict[str, Any]]
    ticket_links: list[dict[str, Any]]


class LockStep:
    """Publishes a run's messages as their devices while the gateway clock follows scenario
    time; `play()` sees it as a DeviceConnections (it only needs publish, flush, commands)."""

    def __init__(self, connections: DeviceConnections, gw: Gateway, clock: ManualClock) -> None:
        self.connections = connections
        self.commands = connections.commands
        self.gw = gw
        self.clock = clock
        self.base = gw.pipeline.processed
        self.sent = 0
        self.synced_at = clock.time()

    def publish(self, msg: Message) -> None:
        """Move the gateway clock up to the message (catching up first if it would run too far
        ahead of the pipeline), then publish it."""
        when = msg.ts.timestamp()
        if when > self.clock.time():
            if when - self.synced_at > MAX_LAG_S:
                self.catch_up()
            self.clock.set(msg.ts)
        self.connections.publish(msg)
        self.sent += 1

    def flush(self) -> bool:
        """Wait for the broker's acknowledgements."""
        return self.connections.flush()

    def catch_up(self) -> None:
        """Block until the pipeline committed everything published so far."""
        assert self.connections.flush(), "the broker did not acknowledge every message"
        assert self.gw.pipeline.wait_processed(self.base + self.sent, PIPELINE_TIMEOUT_S), (
            f"pipeline stuck at {self.gw.pipeline.processed - self.base}/{self.sent}")
        self.synced_at = self.clock.time()


def _rule_dir(tmp_path: Path, community: Community) -> Path:
    """The operator's rule folder: the community's zones, so `{site}` names the safe zone."""
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "zones.yaml").write_text(
        yaml.safe_dump({"zones": community.zones()}, allow_unicode=True), encoding="utf-8")
    return folder


def _rota(tmp_path: Path, community: Community) -> Path:
    """Every grid worker of the model on duty round the clock, so each ticket is dispatched to
    its grid's worker and the assignee shows which grid it went to."""
    grids: dict[str, list[dict[str, str]]] = {}
    for worker in community.grid_workers():
        grids.setdefault(worker["grid"], []).append({"worker": worker["username"]})
    path = tmp_path / "rota.yaml"
    path.write_text(yaml.safe_dump({"grids": grids}), encoding="utf-8")
    return path


def _clear_retained(url: str, community: Community) -> None:
    """Retained status left by an earlier test's devices would reach this gateway from a
    different time (the module's broker is shared)."""
    cleaner = Publisher(url)
    for spec in community.devices:
        cleaner.publish(topics.topic(spec.kind, spec.id, "status"), b"", retain=True)
    cleaner.close()


def _seed_residents(gw: Gateway, community: Community) -> None:
    """Residents with their ledger tags: lives_alone drives selectors and severities."""
    assert gw.alerting is not None
    gw.alerting.residents.upsert([
        Resident(r["id"], r["name"], frozenset(r["tags"]), r["site"])
        for r in community.resident_records()])


def _tick(gw: Gateway, clock: ManualClock) -> None:
    """Run the rules' timers and the workflow's (a minor alert's ticket opens when its grace
    ends) now on the pipeline thread and wait for them: a barrier. Left to the scheduler's
    own thread, the last step's workflow tick could come after the outcome was read."""
    alerting = gw.alerting
    assert alerting is not None
    alerting.call("scenario_tick", lambda tx: alerting.tick(clock.time(), tx))
    gw.pipeline.call("scenario_workflow_tick", gw.workflow.tick, clock.time())


def _alerts_met(expect: Expectations, alerts: list[dict[str, Any]]) -> bool:
    """Every expected alert exists, in its expected end state where one is declared."""
    for want in expect.alerts:
        rows = [a for a in alerts
                if a["rule_id"] == want.rule and a["device_id"] == want.device]
        if not rows or (want.state is not None and rows[-1]["state"] != want.state):
            return False
    return True


def _play(scenario: Scenario, path: Path, community: Community, mosquitto: Mosquitto,
          make_gateway: Callable[..., Gateway], tmp_path: Path) -> Outcome:
    """Play the scenario through a fresh gateway and return what it recorded."""
    run = ScenarioRun(scenario, community=community)
    _clear_retained(mosquitto.url, community)
    clock = ManualClock(run.start)
    gw = make_gateway(
        devices=[CATALOGUE.device_config_adapter.validate_python(r)
                 for r in community.devices_for_registry()],
        gw_clock=clock, rules={"extra_dir": str(_rule_dir(tmp_path, community))},
        workflow={"rota_file": str(_rota(tmp_path, community))},
        timezone=community.site.timezone)
    _seed_residents(gw, community)
    connections = DeviceConnections(mosquitto.url, run.wills(), client_prefix=f"{path.stem}-")
    connections.connect()
    lockstep = LockStep(connections, gw, clock)
    try:
        play(run, lockstep, VirtualClock(run.start))  # type: ignore[arg-type]
        lockstep.catch_up()
    finally:
        # A clean disconnect: no will, so nothing arrives after the scenario's last message.
        connections.close()
    assert gw.store.query("SELECT reason, topic, detail FROM dead_letters") == []

    end = run.end.timestamp()
    horizon = end + POST_ROLL_S
    _tick(gw, clock)
    while True:
        now = clock.time()
        if now >= end and (now >= horizon or _alerts_met(scenario.expect, _alerts(gw))):
            break
        clock.advance(min(STEP_S, (end if now < end else horizon) - now))
        _tick(gw, clock)
    return Outcome(_alerts(gw), gw.store.query("SELECT * FROM tickets ORDER BY id"),
                   gw.store.query("SELECT * FROM ticket_alerts"))


def _alerts(gw: Gateway) -> list[dict[str, Any]]:
    """Every alert row, oldest first."""
    return gw.store.query("SELECT * FROM alerts ORDER BY id")


def _show(rows: list[dict[str, Any]], *fields: str) -> list[tuple[Any, ...]]:
    """Rows cut down to the fields a failure message needs."""
    return [tuple(r[f] for f in fields) for r in rows]


def _check_alerts(name: str, expect: Expectations, outcome: Outcome) -> None:
    """Each expected alert: exactly one episode, right severity and end state, paging (not
    muted) and with its ticket; with `only`, nothing else; never two open per (rule, device)."""
    alerts = outcome.alerts
    seen = _show(alerts, "rule_id", "device_id", "severity", "state", "muted")
    linked_alerts = {link["alert_id"] for link in outcome.ticket_links}
    for want in expect.alerts:
        rows = [a for a in alerts if a["rule_id"] == want.rule and a["device_id"] == want.device]
        assert rows, f"{name}: no {want.rule} alert on {want.device}; alerts: {seen}"
        # One episode: a second alert of the same (rule, device) would page people twice.
        assert len(rows) == 1, f"{name}: {want.rule} on {want.device} opened {len(rows)}×"
        alert = rows[0]
        if want.severity is not None:
            assert alert["severity"] == want.severity, (
                f"{name}: {want.rule} severity {alert['severity']}, want {want.severity}")
        if want.state is not None:
            assert alert["state"] == want.state, (
                f"{name}: {want.rule} ended {alert['state']}, want {want.state}")
        # A muted alert (stale, silenced, inhibited) pages nobody and opens no ticket.
        assert alert["muted"] is None, f"{name}: {want.rule} muted ({alert['muted']})"
        assert alert["id"] in linked_alerts, f"{name}: {want.rule} opened no ticket"

    open_keys = Counter((a["rule_id"], a["device_id"]) for a in alerts if a["state"] != "cleared")
    assert [k for k, n in open_keys.items() if n > 1] == [], f"{name}: doubled alerts {seen}"

    if expect.only:
        wanted = {(w.rule, w.device) for w in expect.alerts}
        extra = [a for a in seen if (a[0], a[1]) not in wanted]
        assert extra == [], f"{name} must raise no other alert, got {extra}"


def _ticket_mismatches(ticket: dict[str, Any], want: TicketExpectation,
                       workers: dict[str, set[str]]) -> list[str]:
    """How a ticket differs from an expected one (empty: it is the one)."""
    wrong = []
    if ticket["source"] != "alert":
        wrong.append(f"source {ticket['source']}")
    if want.resident is not None and ticket["resident_id"] != want.resident:
        wrong.append(f"resident {ticket['resident_id']}")
    if want.grid is not None:
        if ticket["grid"] != want.grid:
            wrong.append(f"grid {ticket['grid']}")
        # "The grid it must be dispatched to": the rota gave it to that grid's worker.
        if ticket["assignee"] not in workers.get(want.grid, set()):
            wrong.append(f"assignee {ticket['assignee']}")
    return wrong


def _check_tickets(name: str, expect: Expectations, outcome: Outcome,
                   community: Community) -> None:
    """Each expected ticket exists (category, device, resident, grid and its worker); with
    `only`, no other; and never two tickets for one alert episode."""
    tickets = outcome.tickets
    shown = _show(tickets, "category", "device_id", "resident_id", "grid", "assignee")
    workers: dict[str, set[str]] = {}
    for worker in community.grid_workers():
        workers.setdefault(worker["grid"], set()).add(worker["username"])
    for want in expect.tickets:
        candidates = [t for t in tickets if t["category"] == want.category
                      and (want.device is None or t["device_id"] == want.device)]
        assert candidates, f"{name}: no {want.category} ticket; tickets: {shown}"
        problems = [_ticket_mismatches(t, want, workers) for t in candidates]
        assert [] in problems, f"{name}: {want.category} ticket differs: {problems}"

    if expect.only:
        wanted = {(w.category, w.device) for w in expect.tickets}
        extra = [t for t in shown if (t[0], t[1]) not in wanted and (t[0], None) not in wanted]
        assert extra == [], f"{name} must open no other ticket, got {extra}"

    # One ticket per alert episode: a repeat or a retry never opens a second one (an alert
    # links one ticket). A ticket links several alerts only when they are about one resident
    # and one category: grouped (workflow.group_window_s), like a fall and its no-movement.
    linked = Counter(link["ticket_id"] for link in outcome.ticket_links)
    from_alerts = [t["id"] for t in tickets if t["source"] == "alert"]
    assert sorted(linked) == sorted(from_alerts), f"{name}: unlinked tickets {shown}"
    by_id = {a["id"]: a for a in outcome.alerts}
    for ticket_id, n in linked.items():
        about = {(by_id[link["alert_id"]]["resident_id"], by_id[link["alert_id"]]["category"])
                 for link in outcome.ticket_links if link["ticket_id"] == ticket_id}
        assert n == 1 or (len(about) == 1 and None not in next(iter(about))), (
            f"{name}: doubled tickets {shown}")


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_scenario_produces_its_expected_alerts_and_tickets(
        path: Path, community: Community, make_gateway: Callable[..., Gateway],
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    # A scenario that expects nothing and does not say so ("only") tests nothing.
    assert scenario.expect.alerts or scenario.expect.only, f"{path.name}: no expectations"
    outcome = _play(scenario, path, community, mosquitto, make_gateway, tmp_path)
    _check_alerts(path.name, scenario.expect, outcome)
    _check_tickets(path.name, scenario.expect, outcome, community)
