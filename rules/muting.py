"""Silences (by device, rule, site; with expiry, author, reason) and inhibitions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rules.errors import AlertError
from rules.model import Inhibition
from rules.records import Alert
from rules.urgent_rules import URGENT_SILENCE_MAX_S, URGENT_SILENCES_MAX

if TYPE_CHECKING:
    from rules.ports import SilenceStore



@dataclass(slots=True, frozen=True)
class Silence:
    """Mutes matching alerts from `starts_at` until `expires_at`; every given field must match."""

    id: int
    device_id: str | None
    rule_id: str | None
    site: str | None
    starts_at: float
    expires_at: float
    author: str
    reason: str

    def covers(self, alert: Alert, now: float) -> bool:
        """Whether the silence mutes `alert` at time `now`."""
        return (
            self.starts_at <= now < self.expires_at
            and (self.device_id is None or self.device_id == alert.device_id)
            and (self.rule_id is None or self.rule_id == alert.rule_id)
            and (self.site is None or self.site == alert.site)
        )


    def names_one(self, alert: Alert) -> bool:
        """Whether the silence names the alert's device and rule, for at most an hour."""
        return (self.device_id == alert.device_id and self.rule_id == alert.rule_id
                and self.expires_at - self.starts_at <= URGENT_SILENCE_MAX_S + 1)


class Silences:
    """The silences that have not ended, kept in memory and in the `silences` table."""

    def __init__(self) -> None:
        self.active: dict[int, Silence] = {}

    def load(self, store: SilenceStore, now: float) -> None:
        """Read the silences that have not expired or been ended."""
        self.active = {s.id: s for s in store.active(now)}

    def add(self, store: SilenceStore, *, device_id: str | None, rule_id: str | None,
            site: str | None, starts_at: float, expires_at: float, author: str, reason: str,
            now: float, urgent_rules: frozenset[str] = frozenset()) -> Silence:
        """Create a silence (one naming a rule that pages on urgent events must also name a
        device and last at most an hour: rules/urgent_rules.py)."""
        if device_id is None and rule_id is None and site is None:
            raise AlertError("a silence needs a device, a rule or a site")
        if rule_id in urgent_rules:
            self._check_urgent(device_id, rule_id, starts_at, expires_at, urgent_rules)
        if expires_at <= starts_at:
            raise AlertError("a silence must expire after it starts")
        if not author.strip() or not reason.strip():
            raise AlertError("a silence needs an author and a reason")
        silence_id = store.add(device_id=device_id, rule_id=rule_id, site=site,
                               starts_at=starts_at, expires_at=expires_at, author=author,
                               reason=reason, now=now)
        silence = Silence(silence_id, device_id, rule_id, site, starts_at, expires_at, author,
                          reason)
        self.active[silence.id] = silence
        return silence

    def _check_urgent(self, device_id: str | None, rule_id: str, starts_at: float,
                      expires_at: float, urgent_rules: frozenset[str]) -> None:
        """A silence of a rule that pages on urgent events: one device, at most an hour, not
        renewed while it runs (its end pages what it muted), and only a few at once — one
        per band in a loop, renewed hourly, muted every SOS (red team round 4 re-check)."""
        if device_id is None or expires_at - starts_at > URGENT_SILENCE_MAX_S + 1:
            raise AlertError(
                f"{rule_id} pages critical or on urgent events (SOS, falls …): a silence of "
                f"it must name one device and last at most {URGENT_SILENCE_MAX_S / 3600:g} h; "
                "silences of "
                "a site, of a rule or longer ones never mute urgent alerts")
        running = [s for s in self.active.values()
                   if s.rule_id in urgent_rules and s.expires_at > starts_at]
        same = [s for s in running if s.device_id == device_id and s.rule_id == rule_id]
        if same:
            raise AlertError(
                f"{device_id} already has silence {same[0].id} of {rule_id}: it is not "
                "renewed while it runs (when it ends, what it muted pages)")
        if len(running) >= URGENT_SILENCES_MAX:
            raise AlertError(
                f"{len(running)} silences of urgent rules already run: at most "
                f"{URGENT_SILENCES_MAX} at once (any staff member may end one: silences "
                f"{', '.join(str(s.id) for s in running)}; who set them is in the admin audit)")

    def end(self, store: SilenceStore, silence_id: int, actor: str, now: float) -> None:
        """End a silence early."""
        if self.active.pop(silence_id, None) is None:
            raise AlertError(f"no active silence {silence_id}")
        store.end(silence_id, actor, now)

    def expire(self, store: SilenceStore, now: float) -> list[Silence]:
        """Drop silences past their expiry; return them."""
        gone = [s for s in self.active.values() if s.expires_at <= now]
        for silence in gone:
            del self.active[silence.id]
            store.end(silence.id, "expiry", silence.expires_at)
        return gone

    def covering(self, alert: Alert, now: float, *, urgent: bool = False) -> Silence | None:
        """The first silence that mutes `alert` now (`urgent`: an alert of a rule that pages
        on urgent events, which only a short silence naming its device and rule mutes)."""
        for silence in self.active.values():
            if silence.covers(alert, now) and (not urgent or silence.names_one(alert)):
                return silence
        return None


class Inhibitor:
    """Mutes target alerts while a source alert with equal labels is open (or just cleared)."""

    def __init__(self, inhibitions: Iterable[Inhibition]) -> None:
        self.inhibitions = list(inhibitions)
        self._by_target: dict[str, list[Inhibition]] = {}
        for inh in self.inhibitions:
            for rule_id in inh.target_rules:
                self._by_target.setdefault(rule_id, []).append(inh)
        self.sources = {r for inh in self.inhibitions for r in inh.source_rules}
        self._recent: list[tuple[Alert, float]] = []  # cleared sources still in their grace

    def targets(self, rule_id: str) -> bool:
        """Whether any inhibition can mute alerts of this rule."""
        return rule_id in self._by_target

    def source_cleared(self, alert: Alert, at: float) -> None:
        """Remember a cleared source for its grace period."""
        if alert.rule_id in self.sources:
            self._recent.append((alert, at))

    def covering(self, alert: Alert, open_by_rule: dict[str, dict[str, Alert]],
                 now: float) -> Inhibition | None:
        """The inhibition that mutes `alert` now, if any."""
        for inh in self._by_target.get(alert.rule_id, ()):
            for rule_id in inh.source_rules:
                for source in open_by_rule.get(rule_id, {}).values():
                    if _equal(inh, source, alert):
                        return inh
            for source, cleared_at in self._recent:
                if (source.rule_id in inh.source_rules and now < cleared_at + inh.grace_s
                        and _equal(inh, source, alert)):
                    return inh
        return None

    def prune(self, now: float) -> bool:
        """Forget cleared sources past every grace; True when some were dropped."""
        longest = max((inh.grace_s for inh in self.inhibitions), default=0.0)
        before = len(self._recent)
        self._recent = [(a, t) for a, t in self._recent if now < t + longest]
        return len(self._recent) != before


def _equal(inh: Inhibition, source: Alert, target: Alert) -> bool:
    return all(source.label(name) == target.label(name) for name in inh.equal)
