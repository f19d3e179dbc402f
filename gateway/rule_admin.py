"""Switching a rule on or off with its history and audit row, in one transaction.

The rows are written before the engine's in-memory switch flips, so a refused write leaves
the engine as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.service import Gateway


class RuleNotRunningError(LookupError):
    """No running rule has this id (unknown, or disabled in its file)."""


def switch_rule(gw: Gateway, rule_id: str, enabled: bool, *, actor: str, role: str,
                reason: str, client_addr: str) -> None:
    """Switch a rule (its open alerts clear when it goes off); history and audit included."""
    if gw.alerting is None or rule_id not in gw.alerting.engine.evaluators:
        raise RuleNotRunningError(f"no running rule {rule_id!r}")
    engine = gw.alerting.engine
    change = "enabled" if enabled else "disabled"

    def run(now: float, tx: Any) -> None:
        tx.admin.record_rule_change(rule_id=rule_id, change=change, detail="", reason=reason,
                                    actor=actor, role=role, at=now)
        tx.audit.record_admin(at=now, actor=actor, role=role, action=f"rule_{change[:-1]}",
                              target=rule_id, detail=reason, client_addr=client_addr)
        engine.switch(tx, rule_id, enabled, actor, reason)

    gw.pipeline.call("rule_switch", run, gw.clock.time())
