"""The rules engine: rules indexed by kind and signal, timers on a heap, state kept in SQLite."""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from devices.base import DeviceKind
from devices.catalogue import CATALOGUE
from rules import outages
from rules.alerts import AlertBook, AlertPolicy
from rules.compile import compile_rules
from rules.conditions import CompileEnv, Evaluator
from rules.conditions.base import State
from rules.engine_controls import EngineControls
from rules.kind_index import Entry, KindIndex
from rules.loader import RuleSet
from rules.model import SEVERITY_RANK, Rule
from rules.muting import Inhibitor
from rules.ports import (
    Clock,
    DeviceDirectory,
    Message,
    NoResidents,
    ResidentDirectory,
    StateRow,
    Subject,
    Tx,
)
from rules.records import Alert
from rules.tuning import Tunable
from rules.urgent_rules import urgent_rule_ids

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class EngineConfig:
    """Engine settings (the gateway fills them from its `rules` settings section)."""

    timezone: str = "Asia/Shanghai"
    stale_event_limit_s: float = 600.0
    # A critical alarm reported later than `stale_event_limit_s` still pages, with how late,
    # up to this age: a lone elder's long stay in the bathroom, sent by a radar whose clock
    # is 11 minutes slow, was shown muted and sent nobody (vendor round 8).
    critical_late_limit_s: float = 86_400.0
    offline_timeout_s: dict[str, float] = field(
        default_factory=lambda: {k: float(v.offline_timeout_s) for k, v in CATALOGUE.kinds.items()}
    )
    outage_min_devices: int = 3
    outage_fraction: float = 0.6  # 0 disables building-outage detection
    policy: AlertPolicy = field(default_factory=AlertPolicy)


class Engine(EngineControls):
    """Evaluates messages and timers against the rules; implements the evaluators' Effects."""

    def __init__(self, ruleset: RuleSet, config: EngineConfig, *, clock: Clock,
                 devices: DeviceDirectory, residents: ResidentDirectory | None = None,
                 kinds: dict[str, DeviceKind] | None = None) -> None:
        self.ruleset = ruleset
        self.config = config
        self._clock = clock
        self._devices = devices
        self._residents = residents or NoResidents()
        self._kinds = kinds or CATALOGUE.kinds
        self.env = CompileEnv(self._kinds, ruleset.zones, ZoneInfo(config.timezone),
                              dict(config.offline_timeout_s), self._residents,
                              config.stale_event_limit_s)
        self.book = AlertBook(config.policy, Inhibitor(ruleset.inhibitions))
        self.book.urgent_rules = urgent_rule_ids(ruleset.rules, self._kinds)
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = itertools.count()
        self._dirty: dict[tuple[str, str], State] = {}
        self._tx: Tx | None = None
        self._now = 0.0
        self._deferred: list[tuple[Rule, str, float, dict[str, Any]]] | None = None
        self._outage_dirty = True
        # Devices whose rule state changed since `take_touched`; None until a host that runs
        # beside other replicas asks for them (`track_touched`).
        self.touched: set[str] | None = None
        # The pipeline sets this and calls `end_batch` before its commit: one write of the
        # changed rule states per batch instead of one per message.
        self.defer_flush = False
        # Rules an operator switched off: still evaluated (so switching back on resumes with
        # current state), but they neither open nor repeat alerts.
        self.switched_off: set[str] = set()
        built = compile_rules(ruleset, self, self.env, self._kinds, self._residents)
        self.evaluators: dict[str, Evaluator] = built.evaluators
        self.index: dict[str, KindIndex] = built.index
        self._activity: dict[str, list[Entry]] = built.activity  # kind → absence watchers
        self._tunables: dict[str, list[Tunable]] = built.tunables
        self._activity_rules = frozenset(
            ev.rule.id for entries in self._activity.values() for ev, _ in entries
        )

    def start(self, tx: Tx, activity: Iterable[tuple[str, float]] = ()) -> None:
        """Restore rule state and open alerts; seed absence timers from devices' last activity."""
        now = self._clock.time()
        self._begin(tx, now)
        restored = 0
        for rule_id, device_id, data, due in tx.rule_state.load():
            ev = self.evaluators.get(rule_id)
            if ev is not None:
                ev.restore(device_id, data, due)
                restored += 1
        self._seed_activity(activity, now)
        self.switched_off = {
            rule_id for rule_id, enabled in tx.rule_state.switches().items()
            if not enabled and rule_id in self.evaluators
        }
        self._apply_stored_thresholds(tx)
        self.book.load(tx, now)
        self._flush()
        log.info("rules engine started", extra={"rules": len(self.evaluators),
                                                "states": restored,
                                                "open_alerts": len(self.book.open)})

    # -- evaluation ----------------------------------------------------------------------

    def on_message(self, msg: Message, tx: Tx) -> None:
        """Evaluate the rules indexed for the message's kind and shape."""
        idx = self.index.get(msg.subject.kind)
        if idx is None:
            return
        self._tx = tx
        now = self._now = self._clock.time()
        subject = msg.subject
        for ev, selector in idx.any:
            if selector is None or selector(subject):
                ev.on_message(msg, now)
        channel = msg.channel
        if channel == "telemetry":
            signals = idx.signals
            if signals and msg.payload is not None:
                for name in msg.payload.model_fields_set:
                    entries = signals.get(name)
                    if entries:
                        for ev, selector in entries:
                            if selector is None or selector(subject):
                                ev.on_message(msg, now)
        elif channel == "event":
            for ev, selector in idx.events.get(msg.type, ()):
                if selector is None or selector(subject):
                    ev.on_message(msg, now)
        elif channel == "status":
            for ev, selector in idx.status:
                if selector is None or selector(subject):
                    ev.on_message(msg, now)
        if (self._dirty or self.book.has_repeats) and not self.defer_flush:
            self._flush()

    def end_batch(self, tx: Tx) -> None:
        """Write the rule states and alert repeats of a batch (inside its transaction)."""
        if self._dirty or self.book.has_repeats:
            self._tx = tx
            self._flush()

    def tick(self, tx: Tx, now: float | None = None) -> None:
        """Run due timers, building-outage detection and the alert lifecycle timers."""
        now = self._clock.time() if now is None else now
        self._begin(tx, now)
        self._deferred = []
        try:
            heap = self._heap
            while heap and heap[0][0] <= now:
                due, _, rule_id, device_id = heapq.heappop(heap)
                ev = self.evaluators.get(rule_id)
                st = ev.states.get(device_id) if ev is not None else None
                if ev is None or st is None or st.queued != due:
                    continue  # superseded by an earlier push
                st.queued = None
                if st.due is None:
                    continue
                if st.due > now:
                    self.wake(ev.rule, st)
                    continue
                ev.on_timer(st, now)
            deferred, self._deferred = self._deferred, None
            self._detect_outages(now)
            for rule, device_id, at, kwargs in deferred:
                self.fire(rule, device_id, at, **kwargs)
        finally:
            self._deferred = None
        self.book.tick(tx, now)
        self._flush()

    def _begin(self, tx: Tx, now: float) -> None:
        self._tx = tx
        self._now = now

    def _activity_evaluators(self) -> list[Evaluator]:
        return [ev for entries in self._activity.values() for ev, _ in entries]

    def _detect_outages(self, now: float) -> None:
        cfg = self.config
        if cfg.outage_fraction <= 0 or not self._outage_dirty:
            return
        self._outage_dirty = False
        outages.judge(self._activity_evaluators(), self._devices, self.book,
                      self._require_tx(), now, min_devices=cfg.outage_min_devices,
                      fraction=cfg.outage_fraction)

    # -- Effects (called by evaluators) --------------------------------------------------

    def fire(self, rule: Rule, device_id: str, at: float, *, msg: Message | None = None,
             detail: dict[str, Any] | None = None, resident_id: str | None = None,
             late_s: float | None = None, quiet: bool = False) -> None:
        """Raise (or repeat) the rule's alert for the device."""
        if rule.id in self.switched_off:
            return
        if rule.id in self._activity_rules:
            self._outage_dirty = True
        if self._deferred is not None and msg is None:
            self._deferred.append((rule, device_id, at, {
                "detail": detail, "resident_id": resident_id, "late_s": late_s,
                "quiet": quiet}))
            return
        if msg is not None:
            subject = msg.subject
            resident = resident_id or msg.resident_id
        else:
            subject = self._devices.subject(device_id) or Subject(device_id, "unknown")
            resident = resident_id or subject.resident_id
        severity = rule.severity
        if rule.severity_by_tag and resident:
            tags = self._residents.tags(resident)
            for tag, level in rule.severity_by_tag.items():
                if tag in tags and SEVERITY_RANK[level] > SEVERITY_RANK[severity]:
                    severity = level
        if late_s is None:
            late_s = 0.0 if msg is None or msg.urgent else self._now - msg.current_at
        limit = self.config.stale_event_limit_s
        if severity == "critical":
            limit = max(limit, self.config.critical_late_limit_s)
        stale = quiet or (late_s > limit and not rule.options.page_stale)
        if late_s > self.config.stale_event_limit_s:
            detail = {**(detail or {}), "reported_late_s": round(late_s)}
        skew = round(msg.skew_s, 1) if msg is not None and msg.urgent and msg.skew_s is not None \
            else None
        if msg is not None:
            # The operator sees what the event said (a floor, a zone, a door) and whether the
            # device's message was faulty (a missing location, say); a repeat replaces both.
            event = msg.evidence()
            if event is not None:
                detail = {**(detail or {}), "event": event}
            if msg.salvaged:
                detail = {**(detail or {}), "payload_problem": msg.salvaged}
            if msg.claim:
                detail = {**(detail or {}), "payload_claim": msg.claim}
        self.book.raise_alert(self._require_tx(), rule, subject, at, severity=severity,
                              resident_id=resident, detail=detail, stale=stale,
                              clock_skew_s=skew, urgent=msg is not None and msg.urgent)

    def annotate(self, rule: Rule, device_id: str, at: float,
                 detail: dict[str, Any]) -> bool:
        """Add facts to the rule's open alert for the device (no firing counted)."""
        if rule.id in self.switched_off:
            return False
        return self.book.annotate(self._require_tx(), rule.id, device_id, at, detail)

    def clear(self, rule: Rule, device_id: str, at: float, reason: str) -> None:
        """Auto-clear the rule's open alert for the device."""
        if rule.id in self._activity_rules:
            self._outage_dirty = True
        self.book.resolve(self._require_tx(), rule.id, device_id, at, reason)

    def persist(self, rule: Rule, st: State) -> None:
        """Queue the state row; written once per message or tick."""
        self._dirty[(rule.id, st.device_id)] = st
        if self.touched is not None:
            self.touched.add(st.device_id)

    def wake(self, rule: Rule, st: State) -> None:
        """Make sure the heap holds an entry no later than `st.due`."""
        due = st.due
        if due is not None and (st.queued is None or due < st.queued):
            st.queued = due
            heapq.heappush(self._heap, (due, next(self._seq), rule.id, st.device_id))

    def _require_tx(self) -> Tx:
        if self._tx is None:
            raise RuntimeError("the rules engine was called outside a transaction")
        return self._tx

    def _flush(self) -> None:
        tx = self._require_tx()
        self.book.settle_repeats(tx)
        upserts: list[StateRow] = []
        deletes: list[tuple[str, str]] = []
        for (rule_id, device_id), st in self._dirty.items():
            if not st.data and st.due is None:
                deletes.append((rule_id, device_id))
            else:
                upserts.append((rule_id, device_id, st.data, st.due))
        self._dirty.clear()
        if upserts or deletes:
            tx.rule_state.save(upserts, deletes, self._now)

    # -- operator actions (run them on the pipeline thread, in a transaction) ------------

    def ack(self, tx: Tx, alert_id: int, actor: str, note: str = "") -> None:
        """Acknowledge an alert; the rule's ack timeout overrides the default."""
        alert = self.book.get(alert_id)
        rule = self.ruleset.get(alert.rule_id) if alert is not None else None
        timeout = rule.options.ack_timeout_s if rule is not None else None
        self.book.ack(tx, alert_id, actor, self._clock.time(), note, ack_timeout_s=timeout)

    def clear_alert(self, tx: Tx, alert_id: int, actor: str, reason: str = "") -> Alert:
        """Clear an alert by hand; returns it."""
        return self.book.clear(tx, alert_id, actor, self._clock.time(), reason)

    def rule_count(self, kind: str) -> int:
        """Index entries a message of `kind` could reach (benchmarks, diagnostics)."""
        idx = self.index.get(kind)
        return idx.size() if idx is not None else 0

    # -- replicas: another process may have changed a device's state ------------------------

    def reload_devices(self, tx: Tx, device_ids: set[str]) -> None:
        """Replace some devices' rule states and open alerts with the stored ones; their
        timers are re-armed from the stored due times (older heap entries are ignored)."""
        for ev in self.evaluators.values():
            for device_id in device_ids:
                ev.forget(device_id)
        for rule_id, device_id, data, due in tx.rule_state.load_for(sorted(device_ids)):
            ev = self.evaluators.get(rule_id)
            if ev is not None:
                ev.restore(device_id, data, due)
        self.book.reload_devices(tx, device_ids)
        self._outage_dirty = True

    def restore_devices(self, tx: Tx, device_ids: set[str],
                        activity: Iterable[tuple[str, float]] = ()) -> None:
        """After a failed transaction: the devices' rule states and open alerts as stored,
        dropping what the failed attempt changed in memory (its retry starts from what the
        database holds); absence timers that follow activity are seeded again from the
        devices' last activity, which the table does not keep for every message."""
        for key in [k for k in self._dirty if k[1] in device_ids]:
            del self._dirty[key]
        self.reload_devices(tx, device_ids)
        self._seed_activity(activity, self._clock.time())

    def _seed_activity(self, activity: Iterable[tuple[str, float]], now: float) -> None:
        """Absence timers that follow activity start from each device's last activity."""
        for device_id, last_seen in activity:
            subject = self._devices.subject(device_id)
            if subject is None or last_seen is None:
                continue
            for ev, selector in self._activity.get(subject.kind, ()):
                if selector is None or selector(subject):
                    ev.seed(subject, last_seen, now)

    def reload_settings(self, tx: Tx, now: float) -> None:
        """Re-read rule switches, threshold changes and silences (another replica changed
        them)."""
        self.switched_off = {
            rule_id for rule_id, enabled in tx.rule_state.switches().items()
            if not enabled and rule_id in self.evaluators
        }
        self._apply_stored_thresholds(tx)
        self.book.silences.load(tx.silences, now)

    def due_devices(self, now: float) -> set[str]:
        """Devices this process holds a timer for that is due at `now`."""
        return {device_id for due, _, _, device_id in self._heap if due <= now}

    def outage_suspects(self) -> set[str]:
        """Devices to revalidate before judging building outages (see rules/outages.py)."""
        return outages.suspects(self._activity_evaluators(), self._devices)

    def track_touched(self, *, persist_always: bool = True) -> None:
        """Start recording which devices' state or alerts change (`take_touched`), and (with
        `persist_always`, for replicas) write every state change: other replicas read the
        timers from the table."""
        self.touched, self.book.touched = set(), set()
        if not persist_always:
            return
        pending = list(self.evaluators.values())
        while pending:
            ev = pending.pop()
            ev.persist_always = True
            pending.extend(ev.children())

    def take_touched(self) -> set[str]:
        """Devices whose rule state or alerts changed since the last call."""
        touched = (self.touched or set()) | (self.book.touched or set())
        if self.touched is not None:
            self.touched, self.book.touched = set(), set()
        return touched

