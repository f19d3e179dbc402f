"""Thresholds administrators may move while the engine runs: where a rule's comparisons are
(numbered depth-first in file order), and a checked change waiting to be applied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rules.conditions.base import Comparison, ConditionModel, Evaluator, ThresholdError

if TYPE_CHECKING:
    from rules.model import Rule


@dataclass(frozen=True, slots=True)
class Tunable:
    """One comparison of a running rule, addressed by its index among the rule's comparisons
    (depth-first, in file order: a schedule's inner threshold is #0 of its rule)."""

    rule_id: str
    index: int
    path: str  # where it sits in the condition: "" or "condition." (inside a schedule)
    declared: Comparison  # as the rule file wrote it
    evaluator: Evaluator

    @property
    def current(self) -> Comparison:
        """The comparison the engine runs now (the file's, or an administrator's change)."""
        return self.evaluator.cond  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Retune:
    """A checked threshold change, not yet applied."""

    tunable: Tunable
    before: Comparison
    after: Comparison

    @property
    def override(self) -> dict[str, float]:
        """The operands that differ from the rule file (empty: back to the file's values)."""
        declared = self.tunable.declared.operands()
        return {k: v for k, v in self.after.operands().items() if v != declared[k]}


def comparisons(cond: ConditionModel, path: str = "") -> list[tuple[str, Comparison]]:
    """The comparisons in a condition, depth-first in field order, with their paths."""
    found: list[tuple[str, Comparison]] = []
    if isinstance(cond, Comparison):
        found.append((path, cond))
    for name in type(cond).model_fields:
        value = getattr(cond, name)
        if isinstance(value, ConditionModel) and "type" in type(value).model_fields:
            found += comparisons(value, f"{path}{name}.")
    return found


def find_tunables(rule: Rule, ev: Evaluator) -> list[Tunable]:
    """The rule's comparisons, each with the evaluator that runs it (a schedule's inner one)."""
    by_cond: dict[int, Evaluator] = {}
    stack = [ev]
    while stack:
        node = stack.pop()
        by_cond[id(node.cond)] = node
        stack.extend(node.children())
    return [Tunable(rule.id, i, path, cmp, by_cond[id(cmp)])
            for i, (path, cmp) in enumerate(comparisons(rule.condition))
            if id(cmp) in by_cond]


def plan_retune(rule_id: str, found: list[Tunable], index: int, changes: dict[str, float],
                signal: str | None) -> Retune:
    """Check a threshold change to one of a running rule's comparisons (`found`) against
    the bounds its file declared; ThresholdError (saying why) for a change that is refused."""
    if not found:
        raise ThresholdError(f"rule {rule_id} has no threshold to change")
    if not 0 <= index < len(found):
        raise ThresholdError(f"rule {rule_id} has no threshold #{index} "
                             f"(it has {len(found)})")
    tunable = found[index]
    if signal is not None and signal != tunable.declared.signal:
        raise ThresholdError(f"threshold #{index} of rule {rule_id} is on "
                             f"{tunable.declared.signal}, not {signal}")
    before = tunable.current
    # Bounds come from the file, whatever an earlier change did.
    after = before.model_copy(update={"bounds": tunable.declared.bounds}).retuned(changes)
    return Retune(tunable, before, after)
