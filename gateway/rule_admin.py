"""Rule administration with its history and audit row, in one transaction: switching a rule
on or off, and moving a threshold within the bounds its rule file declares.

The rows are written before the engine's in-memory state changes, so a refused write leaves
the engine as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devices.catalogue import CATALOGUE
from rules.conditions.base import ThresholdError
from rules.tuning import Retune
from rules.urgent_rules import fires_on_urgent

if TYPE_CHECKING:
    from gateway.service import Gateway

__all__ = ["RuleNotRunningError", "RuleSwitchRefusedError", "ThresholdChange",
           "ThresholdError", "pages_urgent_events", "retune_rule", "switch_rule"]


class RuleNotRunningError(LookupError):
    """No running rule has this id (unknown, or disabled in its file)."""


class RuleSwitchRefusedError(PermissionError):
    """Only an admin may switch off a rule that pages on an urgent event (SOS, fall …)."""


def pages_urgent_events(engine: Any, rule_id: str) -> bool:
    """Whether the rule fires on an urgent event of one of its kinds: switching it off
    silences every SOS (or fall, forced door …) while each is still confirmed as stored."""
    rule = next((r for r in engine.ruleset.rules if r.id == rule_id), None)
    return rule is not None and fires_on_urgent(rule, CATALOGUE.kinds)


def _engine(gw: Gateway, rule_id: str) -> Any:
    if gw.alerting is None or rule_id not in gw.alerting.engine.evaluators:
        raise RuleNotRunningError(f"no running rule {rule_id!r}")
    return gw.alerting.engine


def switch_rule(gw: Gateway, rule_id: str, enabled: bool, *, actor: str, role: str,
                reason: str, client_addr: str) -> None:
    """Switch a rule (its open alerts clear when it goes off); history and audit included.
    An operator may not switch off a rule that pages on an urgent event (one click muted
    every SOS: red team, session 31); an admin may, with the reason on record."""
    engine = _engine(gw, rule_id)
    if not enabled and role != "admin" and pages_urgent_events(engine, rule_id):
        raise RuleSwitchRefusedError(
            f"{rule_id} pages on urgent events (SOS, falls …): only an admin may switch it "
            "off — silence a device or a site instead")
    change = "enabled" if enabled else "disabled"

    def run(now: float, tx: Any) -> None:
        tx.admin.record_rule_change(rule_id=rule_id, change=change, detail="", reason=reason,
                                    actor=actor, role=role, at=now)
        tx.audit.record_admin(at=now, actor=actor, role=role, action=f"rule_{change[:-1]}",
                              target=rule_id, detail=reason, client_addr=client_addr)
        engine.switch(tx, rule_id, enabled, actor, reason)

    gw.pipeline.call("rule_switch", run, gw.clock.time())


@dataclass(frozen=True)
class ThresholdChange:
    """What a threshold change did: the operands before and after, in words for history."""

    rule_id: str
    index: int
    signal: str
    before: dict[str, float]
    after: dict[str, float]

    @property
    def detail(self) -> str:
        """E.g. `heart_rate_bpm high 120→100` (only the operands that moved)."""
        moved = [f"{k} {self.before[k]:g}→{v:g}" for k, v in self.after.items()
                 if v != self.before[k]]
        return f"{self.signal} {', '.join(moved) or 'unchanged'}"


def retune_rule(gw: Gateway, rule_id: str, index: int, changes: dict[str, float], *,
                signal: str | None, actor: str, role: str, reason: str,
                client_addr: str) -> ThresholdChange:
    """Move one threshold of a running rule within its declared bounds, on the pipeline
    thread; its stored override, history line and admin-audit row share one transaction.

    Raises RuleNotRunningError for an unknown rule and ThresholdError (saying why) when the
    threshold is not editable or the numbers are refused; nothing changes then.
    """
    engine = _engine(gw, rule_id)
    planned: list[Retune] = []

    def run(now: float, tx: Any) -> ThresholdChange:
        plan = engine.plan_retune(rule_id, index, changes, signal=signal)
        planned.append(plan)
        done = ThresholdChange(rule_id, index, plan.tunable.declared.signal,
                               plan.before.operands(), plan.after.operands())
        detail = f"#{index} {done.detail}"
        tx.admin.record_rule_change(rule_id=rule_id, change="threshold", detail=detail,
                                    reason=reason, actor=actor, role=role, at=now)
        tx.audit.record_admin(at=now, actor=actor, role=role, action="rule_threshold",
                              target=rule_id, detail=f"{detail} · {reason}",
                              client_addr=client_addr)
        engine.apply_retune(tx, plan, actor, reason)
        if gw.coherence is not None:
            gw.coherence.touch_global()  # the other replicas re-read the thresholds
        return done

    try:
        return gw.pipeline.call("rule_retune", run, gw.clock.time())
    except (ThresholdError, KeyError, TimeoutError):
        raise  # refused before anything changed, or still queued: nothing to undo
    except Exception:
        # The transaction did not commit: the engine must not keep running on the change.
        if planned:
            gw.pipeline.call("rule_retune_undo",
                             lambda now, tx: engine.undo_retune(planned[0]), gw.clock.time())
        raise
