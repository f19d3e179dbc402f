"""Plugs the rules engine into the pipeline: messages in, alerts out, operator actions, timers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from devices.catalogue import CATALOGUE
from gateway.clock import Clock
from gateway.clock_watch import ClockWatch
from gateway.coherence import GLOBAL, DeviceCoherence
from gateway.envelope import Envelope, RawMessage
from gateway.pipeline import Pipeline
from gateway.refusal_watch import OTHER, RefusalWatch
from gateway.registry import DeviceRegistry
from gateway.rejections import RejectError, refused_type
from gateway.residents import ResidentRepository
from gateway.settings import Settings
from gateway.storage.common import SqlStore
from gateway.storage.records import DeviceRecord, Twin
from gateway.storage.tx import StoreTx
from rules.alerts import AlertPolicy
from rules.engine import Engine, EngineConfig
from rules.loader import load_rules, rule_files
from rules.ports import Message, Subject
from rules.records import Listener
from rules.system import DEVICE_REFUSED

log = logging.getLogger(__name__)

T = TypeVar("T")
OPERATION_TIMEOUT_S = 10.0


class RegistryDirectory:
    """Device subjects from the registry, cached per registration record."""

    def __init__(self, registry: DeviceRegistry) -> None:
        self._registry = registry
        self._cache: dict[str, tuple[DeviceRecord, Subject]] = {}

    def for_record(self, record: DeviceRecord) -> Subject:
        """The subject of a registration (re-built only when the record object changes)."""
        hit = self._cache.get(record.id)
        if hit is not None and hit[0] is record:
            return hit[1]
        subject = Subject(record.id, record.kind, record.site, record.building, record.unit,
                          record.grid, record.resident_id, record.offline_timeout_s)
        self._cache[record.id] = (record, subject)
        return subject

    def record(self, device_id: str) -> DeviceRecord | None:
        """A registered device's record, or None."""
        return self._registry.get(device_id)

    def subject(self, device_id: str) -> Subject | None:
        """The subject of a registered device, or None."""
        record = self._registry.get(device_id)
        return self.for_record(record) if record is not None else None


def engine_config(settings: Settings) -> EngineConfig:
    """Engine settings from the gateway's."""
    r = settings.rules
    return EngineConfig(
        timezone=settings.timezone,
        stale_event_limit_s=r.stale_event_limit_s,
        offline_timeout_s={k: float(v) for k, v in settings.offline_timeout_s.items()},
        outage_min_devices=r.outage_min_devices,
        outage_fraction=r.outage_fraction,
        policy=AlertPolicy(ack_timeout_s=r.ack_timeout_s, flap_threshold=r.flap_threshold,
                           flap_window_s=r.flap_window_s, flap_quiet_s=r.flap_quiet_s),
    )


class Alerting:
    """The pipeline hook that runs the rules; also the entry point for alert operations.

    Built in the gateway's constructor, so an invalid rule file stops start-up (RuleSetError
    names the file, rule and field).
    """

    def __init__(self, settings: Settings, *, store: SqlStore, registry: DeviceRegistry,
                 clock: Clock) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self.residents = ResidentRepository(store, clock)
        self.directory = RegistryDirectory(registry)
        files = rule_files(pack=settings.rules.pack, extra_dir=settings.rules.extra_dir)
        ruleset = load_rules(files, tuple(CATALOGUE.kinds))
        self.engine = Engine(ruleset, engine_config(settings), clock=clock,
                             devices=self.directory, residents=self.residents)
        self.engine.defer_flush = True  # flushed by on_batch_end, inside the same transaction
        self.clocks = ClockWatch(settings.limits.clock_skew_alert_s)
        self.refusals = RefusalWatch()
        # Readings refused for a fast clock, judged with the batch (they have no envelope).
        self._fast: list[tuple[str, float, float]] = []
        # Reads a refused message of an unregistered hub child for an urgent event (wired by
        # the service: it needs the dialects; gateway/hub_children.py).
        self.hub_alarm: Callable[[RawMessage], tuple[str, str, dict[str, Any]] | None] | None \
            = None
        self._unregistered: list[tuple[str, str, dict[str, Any], float]] = []
        self._pipeline: Pipeline | None = None
        self._connected: Callable[[], bool] = lambda: True
        self._coherence: DeviceCoherence | None = None
        # One process (no replicas): what the open transaction changed, so that a failed one
        # is undone in memory too (`rolled_back`). Replicas leave that to DeviceCoherence.
        self.engine.track_touched(persist_always=False)
        self._settings_changed = False
        # Touched by the messages before the current one's savepoint (careful batches).
        self._batch_touched: set[str] = set()

    def join_replicas(self, coherence: DeviceCoherence) -> None:
        """Run beside other replicas: devices are claimed before their state is used."""
        self._coherence = coherence
        self.engine.track_touched()
        coherence.participants.append(self)
        coherence.touch_sources.append(self._take_touched)

    def reload_devices(self, tx: StoreTx, device_ids: set[str]) -> None:
        """Replace some devices' rule states and open alerts with the stored ones (and the
        rule switches, thresholds and silences when another replica changed those)."""
        devices = device_ids - {GLOBAL}
        if devices:
            self.engine.reload_devices(tx, devices)
        if GLOBAL in device_ids:
            self.engine.reload_settings(tx, self._clock.time())

    def _global(self, tx: StoreTx) -> StoreTx:
        """This transaction changes rule switches, thresholds or silences (other replicas
        reload them); with a rule switch, its open alerts anywhere are claimed first."""
        if self._coherence is not None:
            self._coherence.touch_global()
        else:
            self._settings_changed = True
        return tx

    # -- one process: a failed transaction is undone in memory too ------------------------

    def _take_touched(self) -> set[str]:
        """Devices whose rule state or alerts the open transaction changed (and forget)."""
        touched = self.engine.take_touched() | self._batch_touched
        self._batch_touched = set()
        return touched

    def _restore(self, tx: StoreTx, devices: set[str]) -> None:
        activity = [(t.device_id, t.last_seen) for t in tx.load_twins_for(sorted(devices))
                    if t.last_seen is not None]
        self.engine.restore_devices(tx, devices, activity)

    def committed(self) -> None:
        """The transaction committed: what it changed in memory stands."""
        self._take_touched()
        self._settings_changed = False

    def rolled_back(self) -> None:
        """The transaction failed: the alerts, rule states and settings it changed in memory
        are read back as stored. Without this its retry took an alert it had raised for a
        stored one (an SOS counted as a repeat of an alert the database never got)."""
        devices = self._take_touched()
        settings, self._settings_changed = self._settings_changed, False
        if not devices and not settings:
            return
        with self._store.snapshot() as tx:
            if devices:
                self._restore(tx, devices)
            if settings:
                self.engine.reload_settings(tx, self._clock.time())
        log.warning("transaction failed: the rule states and alerts of %d device(s) were "
                    "read back as stored", len(devices))

    def savepoint(self, tx: StoreTx) -> None:
        """A message is about to run in a savepoint of its own (a batch retried with care):
        what the messages before it changed goes into `tx` now, so that a failure of this
        one can be undone alone."""
        self.engine.end_batch(tx)
        self._batch_touched |= self.engine.take_touched()

    def savepoint_failed(self, tx: StoreTx) -> None:
        """That message's savepoint rolled back: the devices it touched are read back from
        `tx` (which holds everything before it), and it is dead-lettered."""
        devices = self.engine.take_touched()
        if devices:
            self._restore(tx, devices)
            self._batch_touched |= devices  # replicas: still changed by this transaction

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, pipeline: Pipeline, broker_connected: Callable[[], bool]) -> None:
        """Load residents, restore rule state and alerts (call before the pipeline runs)."""
        self._pipeline = pipeline
        self._connected = broker_connected
        self.residents.load()
        activity = [(t.device_id, t.last_seen) for t in self._store.load_twins()
                    if t.last_seen is not None]
        with self._store.transaction() as tx:
            self.engine.start(tx, activity)

    def alert_name(self, alert: Any) -> str | None:
        """An alert's name in Chinese: its rule's, or the one its facts pick (`name_by`)."""
        rule = self.engine.ruleset.get(alert.rule_id)
        if rule is None:
            return None
        if rule.name_by is not None:
            event = alert.detail.get("event")
            facts = {**(event if isinstance(event, dict) else {}), **alert.detail}
            picked = rule.name_by.pick(facts)
            if picked is not None:
                return picked.zh
        return rule.name.zh

    def subscribe(self, listener: Listener) -> None:
        """Receive every alert change inside the transaction that made it (the workflow)."""
        self.engine.book.subscribe(listener)

    # -- PipelineHook --------------------------------------------------------------------

    def on_message(self, env: Envelope, twin: Twin, tx: StoreTx) -> None:
        """Evaluate the rules indexed for this message."""
        subject = self.directory.for_record(env.device)
        msg = Message(
            subject=subject,
            channel=env.channel,
            type=env.type,
            payload=env.payload,
            ts=env.ts,
            received_at=env.received_at,
            last_values=twin.last_telemetry,
            urgent=env.urgent,
            skew_s=env.skew_s,
            salvaged=env.salvaged[1] if env.salvaged is not None else None,
            claim=env.claim,
        )
        self.engine.on_message(msg, tx)
        if env.device_id in self.refusals.devices:
            self.refusals.accepted(env.device_id, env.channel)
        if env.skew_s is not None:
            verdict = self.clocks.observe(env.device_id, env.skew_s, env.received_at,
                                          live=env.urgent or env.channel == "status")
            if verdict is not None:
                skewed, skew = verdict
                self.engine.device_clock(tx, subject, skew if skewed else None)

    def on_presence(self, twin: Twin, kind: str, now: float, tx: StoreTx) -> None:
        """Presence is judged by the absence rules' own timers; nothing extra to do."""

    def on_refused(self, raw: RawMessage, rejection: RejectError) -> None:
        """A reading refused as `future_timestamp` still proves a fast clock: without this, a
        device whose clock runs ahead saw every reading refused and never got its
        `device.clock_skew` alert (only urgent events, accepted whatever their time, did).
        Every other refusal of a device counts towards its `device.refused` alert."""
        if rejection.device_id is not None \
                and self.directory.record(rejection.device_id) is not None:
            # Registered devices only: ids sprayed over bad topics must not grow the watch.
            self.refusals.refused(rejection.device_id, raw.topic, rejection.reason,
                                  refused_type(rejection.reason, rejection.detail))
        if rejection.reason == "future_timestamp" and rejection.device_id is not None \
                and rejection.skew_s is not None:
            self._fast.append((rejection.device_id, rejection.skew_s, raw.received_at))
        if rejection.reason == "unknown_device" and self.hub_alarm is not None:
            found = self.hub_alarm(raw)
            if found is not None:
                self._unregistered.append((*found, raw.received_at))

    def on_batch_end(self, tx: StoreTx) -> None:
        """Write the rule states the batch changed, before the pipeline commits."""
        fast, self._fast = self._fast, []
        unregistered, self._unregistered = self._unregistered, []
        for hub, kind, detail, at in unregistered:
            self.engine.unregistered_alarm(tx, hub, kind, detail, at)
        for device_id, skew_s, at in fast:
            verdict = self.clocks.observe(device_id, skew_s, at, live=False)
            subject = self.directory.subject(device_id) if verdict is not None else None
            if verdict is not None and subject is not None:
                skewed, skew = verdict
                self.engine.device_clock(tx, subject, skew if skewed else None)
        for device_id, broken in self.refusals.take():
            self._refused(tx, device_id, broken)
        self.engine.end_batch(tx)

    def _refused(self, tx: StoreTx, device_id: str, broken: dict[str, Any] | None) -> None:
        """Raise or clear a device's `device.refused`: only for installed devices (a vendor's
        bench is the vendor's business), major when the events of a kind with alarms are
        refused (its next alarm may not be heard), minor otherwise."""
        record = self.directory.record(device_id)
        if record is None or (broken is not None and not record.installed):
            return
        kind = CATALOGUE.get(record.kind)
        alarms_refused = broken is not None and kind is not None and bool(kind.urgent) \
            and bool({"event", OTHER} & set(broken["refused_channels"]))
        severity = "major" if alarms_refused else "minor"
        self.engine.device_refused(tx, self.directory.for_record(record), broken, severity)

    def tick(self, now: float, tx: StoreTx) -> None:
        """The scheduled job: broker state, timers, alert lifecycle."""
        self.residents.refresh()
        if self._coherence is not None:
            # Timers set on other replicas, and those held here that another replica may
            # have answered since: revalidated before any fires.
            self._coherence.claim(tx, self.engine.due_devices(now)
                                  | set(tx.rule_state.due_devices(now))
                                  | set(tx.alerts.timer_devices(now))
                                  | set(tx.alerts.system_devices())
                                  | self.engine.outage_suspects())
        self.engine.set_broker(tx, self._connected(), now)
        self.engine.tick(tx, now)

    # -- operator actions (run on the pipeline thread, in a transaction) -----------------

    def ack(self, alert_id: int, actor: str, note: str = "") -> None:
        """Acknowledge an alert."""
        self.call("alert_ack", lambda tx: self.engine.ack(
            self._claim_alert(tx, alert_id), alert_id, actor, note))

    def ack_in_tx(self, tx: StoreTx, alert_id: int, actor: str, now: float) -> None:
        """Acknowledge inside a transaction already open on the pipeline thread (the workflow
        closing a ticket); an alert that is no longer active is left as it is. No ack timeout:
        the job is done, and only a new press pages again (red team round 10: a rejected
        false SOS came back as a new urgent job every 30 minutes, with no press)."""
        self._claim_alert(tx, alert_id)
        alert = self.engine.book.get(alert_id)
        if alert is not None and alert.state == "active":
            self.engine.book.ack(tx, alert_id, actor, now, ack_timeout_s=0)

    def switch_rule(self, rule_id: str, enabled: bool, actor: str, reason: str = "") -> None:
        """Switch a rule off (clearing its open alerts) or on; survives restarts."""
        def switch(tx: StoreTx) -> None:
            if self._coherence is not None:  # its open alerts, wherever they were raised
                self._coherence.claim(tx, tx.alerts.open_devices(rule_id))
            self.engine.switch(self._global(tx), rule_id, enabled, actor, reason)

        self.call("rule_switch", switch)

    def clear(self, alert_id: int, actor: str, reason: str = "") -> None:
        """Clear an alert by hand. A `device.refused` cleared while the device still sends
        what is refused is raised again after its next run of refusals: it reported only
        turning broken, so a cleared alert stayed silent while alarms were lost (red team
        round 6)."""
        def run(tx: StoreTx) -> None:
            alert = self.engine.clear_alert(self._claim_alert(tx, alert_id), alert_id, actor,
                                            reason)
            if alert.rule_id == DEVICE_REFUSED:
                self.refusals.start_over(alert.device_id)

        self.call("alert_clear", run)

    def silence(self, *, author: str, reason: str, duration_s: float,
                device_id: str | None = None, rule_id: str | None = None,
                site: str | None = None, role: str = "", client_addr: str = "") -> int:
        """Silence by device, rule and/or site from now for `duration_s`; returns its id.
        Written to the administrative audit in the same transaction: a silence mutes pages,
        and who muted what must be on record (red team round 4 re-check)."""
        now = self._clock.time()

        def run(tx: StoreTx) -> int:
            silence_id = self.engine.book.silence(
                self._global(tx), device_id=device_id, rule_id=rule_id, site=site,
                starts_at=now, expires_at=now + duration_s, author=author, reason=reason,
                now=now)
            scope = ", ".join(f"{k}={v}" for k, v in (
                ("device", device_id), ("rule", rule_id), ("site", site)) if v)
            tx.audit.record_admin(at=now, actor=author, role=role, action="silence_create",
                                  target=f"silence {silence_id}", client_addr=client_addr,
                                  detail=f"{scope} for {duration_s:.0f} s: {reason}"[:500])
            return silence_id

        return self.call("alert_silence", run)

    def unsilence(self, silence_id: int, actor: str, role: str = "",
                  client_addr: str = "") -> None:
        """End a silence early (audited like its creation)."""
        def run(tx: StoreTx) -> None:
            now = self._clock.time()
            self.engine.book.unsilence(self._global(tx), silence_id, actor, now)
            tx.audit.record_admin(at=now, actor=actor, role=role, action="silence_end",
                                  target=f"silence {silence_id}", client_addr=client_addr)

        self.call("alert_unsilence", run)

    def _claim_alert(self, tx: StoreTx, alert_id: int) -> StoreTx:
        """Revalidate the alert's device first (another replica may have raised it)."""
        if self._coherence is not None:
            device_id = tx.alerts.device_of(alert_id)
            if device_id is not None:
                self._coherence.claim(tx, (device_id,))
        return tx

    def call(self, name: str, fn: Callable[[StoreTx], T]) -> T:
        """Run `fn(tx)` on the pipeline thread in its own transaction; return its result."""
        if self._pipeline is None:
            raise RuntimeError("alerting is not started")
        return self._pipeline.call(name, lambda now, tx: fn(tx), self._clock.time(),
                                   OPERATION_TIMEOUT_S)
