"""The alert lifecycle: one open alert per (rule, device); ack ≠ clear; flapping; muting; audit."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from rules import records
from rules.errors import AlertError
from rules.evidence import merge_evidence, new_places
from rules.model import SEVERITY_RANK, Rule
from rules.muting import Inhibitor, Silences
from rules.ports import Subject, Tx
from rules.records import Action, Alert, AlertChange, AlertState, Listener
from rules.system import DEVICE_REFUSED

SYSTEM = "system"


@dataclass(frozen=True)
class AlertPolicy:
    """Lifecycle settings shared by every rule (rules may override the ack timeout)."""

    ack_timeout_s: float = 1800.0  # 0 disables
    flap_threshold: int = 3
    flap_window_s: float = 1800.0
    flap_quiet_s: float = 600.0


class AlertBook:
    """Open alerts in memory (by key and id), every change written and audited in the same tx."""

    def __init__(self, policy: AlertPolicy, inhibitor: Inhibitor) -> None:
        self.policy = policy
        self.inhibitor = inhibitor
        self.silences = Silences()
        self.open: dict[tuple[str, str], Alert] = {}
        self.open_by_rule: dict[str, dict[str, Alert]] = {}
        self._last_cleared: dict[tuple[str, str], float] = {}
        self._listeners: list[Listener] = []
        # Recent changes for pollers and tests (listeners get them live); bounded, oldest dropped.
        self.changes: deque[AlertChange] = deque(maxlen=10_000)
        self._by_id: dict[int, Alert] = {}
        # Open alerts that fired again in this batch, not yet written: id → (alert, last at).
        self._repeats: dict[int, tuple[Alert, float]] = {}
        # Devices whose alerts changed since the host last asked; None: nobody asks (a
        # single process). Replicas bump those devices' versions.
        self.touched: set[str] | None = None
        # Rules that page on urgent events: only a short silence of one device mutes them.
        self.urgent_rules: frozenset[str] = frozenset()

    # -- wiring --------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(change, tx)` for every change, inside the transaction that made it."""
        self._listeners.append(listener)

    def load(self, tx: Tx, now: float) -> None:
        """Read open alerts and active silences (start-up)."""
        self.open.clear()
        self.open_by_rule.clear()
        self._by_id.clear()
        for alert in tx.alerts.load_open():
            self._index(alert)
        self.silences.load(tx.silences, now)

    def reload_devices(self, tx: Tx, device_ids: set[str]) -> None:
        """Replace the open alerts of some devices with the stored ones (another replica
        changed them)."""
        for by_device in self.open_by_rule.values():
            for device_id in device_ids:
                alert = by_device.pop(device_id, None)
                if alert is not None:
                    del self.open[alert.key]
                    self._by_id.pop(alert.id, None)
                    self._repeats.pop(alert.id, None)
        for alert in tx.alerts.load_open_for(sorted(device_ids)):
            self._index(alert)

    def drain(self) -> list[AlertChange]:
        """Changes collected since the last drain (tests and pollers; listeners get them live)."""
        out = list(self.changes)
        self.changes.clear()
        return out

    def get(self, alert_id: int) -> Alert | None:
        """An open alert by id."""
        return self._by_id.get(alert_id)

    # -- from the engine -----------------------------------------------------------------

    def raise_alert(self, tx: Tx, rule: Rule, subject: Subject, at: float, *, severity: str,
                    resident_id: str | None, detail: dict[str, Any] | None, stale: bool,
                    clock_skew_s: float | None = None, urgent: bool = False) -> None:
        """The rule fired for the device: open an alert, or count a repeat on the open one
        (`urgent`: fired by an urgent event, a new press of an SOS button say)."""
        key = (rule.id, subject.device_id)
        alert = self.open.get(key)
        handed_over = (alert is not None and subject.resident_id is not None
                       and resident_id == subject.resident_id
                       and alert.resident_id not in (None, resident_id))
        if handed_over and alert is not None:
            # The band now serves someone else: the previous wearer's alert closes, and this
            # one is the new wearer's (their address, their family, their ticket) — it was
            # merged into the old one and sent staff to the previous wearer.
            self._settle(tx, alert)
            self._clear(tx, alert, SYSTEM, at, "the device now serves another resident")
            alert = None
        if alert is not None:
            if clock_skew_s is not None:
                alert.clock_skew_s = clock_skew_s
            places = self._repeat(tx, alert, at, severity, detail, stale)
            if urgent and not stale and (alert.state == "acknowledged" or places):
                # Pressed again after an operator took it: news, perhaps worse news — it pages
                # now, not when the ack times out (a muted second SOS, red team session 31).
                # Another door forced while the first is being seen to pages too: the guards
                # sent to door 1 do not know of door 3 (vendor round 4).
                self._settle(tx, alert)
                self._reescalate(tx, alert, at, "another place: " + ", ".join(places)
                                 if places else "pressed again after acknowledgement")
            return
        cleared = self._last_cleared.get(key)
        if not handed_over and cleared is not None and at < cleared + rule.options.cooldown_s:
            return  # Traccar-style duplicate suppression right after a clear
        alert = Alert(
            id=0, rule_id=rule.id, device_id=subject.device_id, kind=subject.kind,
            site=subject.site, building=subject.building, unit=subject.unit, grid=subject.grid,
            resident_id=resident_id, severity=severity, category=rule.category, state="active",
            opened_at=at, first_seen=at, last_seen=at, detail=dict(detail or {}), updated_at=at,
            clock_skew_s=clock_skew_s,
        )
        alert.muted = "stale" if stale else self._mute_reason(alert, at)
        alert.id = tx.alerts.insert(alert)
        self._index(alert)
        self._emit(tx, alert, "opened", SYSTEM, at, None, alert.muted or "")

    def _repeat(self, tx: Tx, alert: Alert, at: float, severity: str,
                detail: dict[str, Any] | None, stale: bool) -> list[str]:
        """Count a repeat; returns the places (`door door-3`) it named that the alert had not."""
        places: list[str] = []
        if self.touched is not None:
            self.touched.add(alert.device_id)
        alert.count += 1
        alert.last_seen = max(alert.last_seen, at)
        alert.updated_at = at
        if detail:
            before = alert.detail.get("event")
            alert.detail.update(detail)
            if "event" in detail and "payload_problem" not in detail:
                # A clean report after a faulty one: the operator saw "faulty payload" on a
                # good report (vendor round 9). The problem follows the latest event.
                alert.detail.pop("payload_problem", None)
            if "event" in detail and "payload_claim" not in detail:
                alert.detail.pop("payload_claim", None)
            if isinstance(before, dict) and isinstance(detail.get("event"), dict):
                alert.detail["event"] = merge_evidence(before, detail["event"])
                places = new_places(before, alert.detail["event"])
        action: Action = "repeated"
        if alert.clear_due is not None:
            alert.clear_due = None  # still flapping: postpone the settle-down clear
        if SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]:
            alert.severity = severity
            action = "escalated"
            if alert.muted is not None and alert.muted.startswith("silence:"):
                # A silence that covered it at its old severity may not at the new one (a
                # major device.refused is silenced only device by device).
                alert.muted = self._mute_reason(alert, at)
        if alert.muted == "stale" and not stale:
            alert.muted = self._mute_reason(alert, at)
            if alert.muted is None:
                action = "unmuted"
        if action == "repeated":
            # Coalesced: written and told once per batch (settle_repeats), however often the
            # condition fired in it; anything else that happens to the alert settles it first.
            self._repeats[alert.id] = (alert, at)
            return places
        tx.alerts.update(alert)
        self._emit(tx, alert, action, SYSTEM, at, alert.state)
        return places

    @property
    def has_repeats(self) -> bool:
        """Whether repeated firings wait to be written."""
        return bool(self._repeats)

    def settle_repeats(self, tx: Tx) -> None:
        """Write the batch's repeated firings (one row write and one change per alert)."""
        if not self._repeats:
            return
        pending, self._repeats = self._repeats, {}
        tx.alerts.update_many([alert for alert, _ in pending.values()])
        for alert, at in pending.values():
            self._emit(tx, alert, "repeated", SYSTEM, at, alert.state, audit=False)

    def annotate(self, tx: Tx, rule_id: str, device_id: str, at: float,
                 detail: dict[str, Any]) -> bool:
        """Facts for the open alert that are no firing of its rule (a pole's picture sent a
        few seconds after its press): they go onto it, its count stays; whether one was
        open. The evidence's links (`…_ref`) replace the older ones, as on a repeat."""
        alert = self.open.get((rule_id, device_id))
        if alert is None:
            return False
        self._settle(tx, alert)
        links = {k: v for k, v in detail.items() if k.endswith("_ref")}
        alert.detail.update(detail)
        event = alert.detail.get("event")
        if links and isinstance(event, dict):
            alert.detail["event"] = merge_evidence(event, links)
        alert.updated_at = at
        tx.alerts.update(alert)
        self._emit(tx, alert, "annotated", SYSTEM, at, alert.state, ", ".join(sorted(detail)))
        return True

    def _reescalate(self, tx: Tx, alert: Alert, at: float, note: str) -> None:
        """An acknowledged alert is active again, and pages (an active one pages again)."""
        before = alert.state
        alert.state = "active"
        alert.escalations += 1
        alert.ack_due = None
        alert.updated_at = at
        tx.alerts.update(alert)
        self._emit(tx, alert, "reescalated", SYSTEM, at, before, note)

    def _settle(self, tx: Tx, alert: Alert) -> None:
        pending = self._repeats.pop(alert.id, None)
        if pending is not None:
            tx.alerts.update(alert)
            self._emit(tx, alert, "repeated", SYSTEM, pending[1], alert.state, audit=False)

    def resolve(self, tx: Tx, rule_id: str, device_id: str, at: float, reason: str) -> None:
        """The condition stopped holding: clear the open alert, unless it is flapping."""
        alert = self.open.get((rule_id, device_id))
        if alert is None:
            return
        if alert.clear_due is not None:
            return
        p = self.policy
        # Flap damping holds a paging alert; one shown muted as reported late pages nobody.
        if p.flap_threshold > 0 and alert.muted != "stale":
            opened = tx.alerts.openings_since(rule_id, device_id,
                                            at - p.flap_window_s)
            if opened >= p.flap_threshold:
                self._settle(tx, alert)
                alert.clear_due = at + p.flap_quiet_s
                alert.updated_at = at
                newly = not alert.flapping
                alert.flapping = True
                tx.alerts.update(alert)
                if newly:
                    self._emit(tx, alert, "flapping", SYSTEM, at, alert.state,
                               f"opened {opened} times in {p.flap_window_s:.0f} s")
                return
        self._clear(tx, alert, SYSTEM, at, reason)

    # -- from operators ------------------------------------------------------------------

    def ack(self, tx: Tx, alert_id: int, actor: str, at: float, note: str = "",
            ack_timeout_s: float | None = None) -> Alert:
        """Acknowledge: someone is on it. The alert stays open until cleared."""
        alert = self._require(alert_id)
        if alert.state != "active":
            raise AlertError(f"alert {alert_id} is {alert.state}, not active")
        timeout = self.policy.ack_timeout_s if ack_timeout_s is None else ack_timeout_s
        alert.state = "acknowledged"
        alert.acked_at, alert.acked_by = at, actor
        alert.ack_due = at + timeout if timeout > 0 else None
        alert.updated_at = at
        tx.alerts.update(alert)
        self._emit(tx, alert, "acknowledged", actor, at, "active", note)
        return alert

    def clear(self, tx: Tx, alert_id: int, actor: str, at: float, reason: str = "") -> Alert:
        """An operator clears the alert (the condition may still hold; it will not re-page
        until it stops and starts again)."""
        alert = self._require(alert_id)
        self._clear(tx, alert, actor, at, reason or "cleared by operator")
        return alert

    def silence(self, tx: Tx, *, device_id: str | None = None, rule_id: str | None = None,
                site: str | None = None, starts_at: float, expires_at: float, author: str,
                reason: str, now: float) -> int:
        """Create a silence and mute the open alerts it covers; returns its id."""
        silence = self.silences.add(
            tx.silences, device_id=device_id, rule_id=rule_id, site=site,
            starts_at=starts_at, expires_at=expires_at, author=author, reason=reason, now=now,
            urgent_rules=self.urgent_rules,
        )
        self.refresh_mutes(tx, now, actor=author)
        return silence.id

    def unsilence(self, tx: Tx, silence_id: int, actor: str, now: float) -> None:
        """End a silence early; alerts it muted page again."""
        self.silences.end(tx.silences, silence_id, actor, now)
        self.refresh_mutes(tx, now, actor=actor)

    # -- timers --------------------------------------------------------------------------

    def tick(self, tx: Tx, now: float) -> None:
        """Ack timeouts, settled flapping alerts, expired silences, ended inhibitions."""
        for alert in list(self.open.values()):
            if alert.state == "acknowledged" and alert.ack_due is not None \
                    and alert.ack_due <= now:
                self._reescalate(tx, alert, now,
                                 f"not cleared {now - (alert.acked_at or now):.0f} s after ack")
            if alert.clear_due is not None and alert.clear_due <= now:
                self._clear(tx, alert, SYSTEM, now, "settled after flapping")
        expired = self.silences.expire(tx.silences, now)
        pruned = self.inhibitor.prune(now)
        if expired or pruned or any(a.muted for a in self.open.values()):
            self.refresh_mutes(tx, now)

    def refresh_mutes(self, tx: Tx, now: float, actor: str = SYSTEM) -> None:
        """Re-decide muting of every open alert (after silences or inhibition sources change)."""
        for alert in list(self.open.values()):
            if alert.muted == "stale":
                continue
            muted = self._mute_reason(alert, now)
            if muted != alert.muted:
                alert.muted = muted
                alert.updated_at = now
                tx.alerts.update(alert)
                self._emit(tx, alert, "unmuted" if muted is None else "muted", actor, now,
                           alert.state, muted or "")

    # -- internals -----------------------------------------------------------------------

    def _require(self, alert_id: int) -> Alert:
        alert = self.get(alert_id)
        if alert is None:
            raise AlertError(f"no open alert {alert_id}")
        return alert

    def _mute_reason(self, alert: Alert, now: float) -> str | None:
        # A device whose alarm events are refused (`device.refused`, major) may have an SOS
        # nobody hears: silenced like the urgent rules, only device by device and briefly
        # (red team round 4 re-check: one site-wide silence hid every such device).
        urgent = alert.rule_id in self.urgent_rules or (
            alert.rule_id == DEVICE_REFUSED and alert.severity in ("major", "critical"))
        silence = self.silences.covering(alert, now, urgent=urgent)
        if silence is not None:
            return f"silence:{silence.id}"
        if self.inhibitor.targets(alert.rule_id):
            inh = self.inhibitor.covering(alert, self.open_by_rule, now)
            if inh is not None:
                return f"inhibited:{inh.id}"
        return None

    def _clear(self, tx: Tx, alert: Alert, actor: str, at: float, reason: str) -> None:
        before: AlertState = alert.state
        alert.state = "cleared"
        alert.cleared_at, alert.cleared_by, alert.clear_reason = at, actor, reason
        alert.ack_due = alert.clear_due = None
        alert.updated_at = at
        tx.alerts.update(alert)
        del self.open[alert.key]
        del self._by_id[alert.id]
        self.open_by_rule[alert.rule_id].pop(alert.device_id, None)
        self._last_cleared[alert.key] = at
        self._emit(tx, alert, "cleared", actor, at, before, reason)
        if alert.rule_id in self.inhibitor.sources:
            self.inhibitor.source_cleared(records.snapshot(alert), at)
            self.refresh_mutes(tx, at)

    def _index(self, alert: Alert) -> None:
        self.open[alert.key] = alert
        self._by_id[alert.id] = alert
        self.open_by_rule.setdefault(alert.rule_id, {})[alert.device_id] = alert

    def _emit(self, tx: Tx, alert: Alert, action: Action, actor: str, at: float,
              from_state: AlertState | None, note: str = "", *, audit: bool = True) -> None:
        if action != "repeated" and self._repeats:
            self._settle(tx, alert)  # listeners hear the repeats before what followed them
        if self.touched is not None:
            self.touched.add(alert.device_id)
        change = AlertChange(records.snapshot(alert), action, actor, at, from_state, note)
        if audit:
            tx.alerts.audit(change)
        self.changes.append(change)
        for listener in self._listeners:
            listener(change, tx)
        if action == "opened" and alert.rule_id in self.inhibitor.sources:
            self.refresh_mutes(tx, at)
