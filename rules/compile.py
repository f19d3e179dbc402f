"""Building the engine's tables from a rule set: one evaluator per rule, indexed by device
kind and message key, with the rule's selectors compiled to one predicate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from devices.base import DeviceKind
from rules.conditions import CompileEnv, Evaluator, build_evaluator
from rules.conditions.base import ConditionError, Effects
from rules.errors import RuleError, RuleSetError
from rules.kind_index import Entry, KindIndex
from rules.loader import RuleSet
from rules.model import Selectors
from rules.ports import ResidentDirectory, Subject
from rules.tuning import Tunable, find_tunables


@dataclass
class Compiled:
    """What the engine runs: evaluators by rule id and the indexes that reach them."""

    evaluators: dict[str, Evaluator] = field(default_factory=dict)
    index: dict[str, KindIndex] = field(default_factory=dict)
    activity: dict[str, list[Entry]] = field(default_factory=dict)  # kind → absence watchers
    tunables: dict[str, list[Tunable]] = field(default_factory=dict)


def compile_rules(ruleset: RuleSet, fx: Effects, env: CompileEnv,
                  kinds: dict[str, DeviceKind], residents: ResidentDirectory) -> Compiled:
    """Every enabled rule built; RuleSetError lists every rule that could not be."""
    out = Compiled()
    errors: list[RuleError] = []
    known = tuple(kinds)
    for rule in ruleset.rules:
        if not rule.enabled:
            continue
        path = ruleset.files.get(rule.id, "?")
        try:
            ev = build_evaluator(rule.condition, rule, fx, env)
            selector = selector_of(rule.match, residents)
            for kind_key in rule.kinds(known):
                keys = ev.keys(kinds[kind_key])
                entry: Entry = (ev, selector)
                slot = out.index.setdefault(kind_key, KindIndex())
                for key in sorted(keys):
                    slot.add(key, entry)
                if ev.tracks_activity:
                    out.activity.setdefault(kind_key, []).append(entry)
            for kind_key, keys in ev.extra_keys().items():
                slot = out.index.setdefault(kind_key, KindIndex())
                for key in sorted(keys):
                    slot.add(key, (ev, None))  # the other device: rule selectors do not apply
        except ConditionError as exc:
            errors.append(RuleError(path, rule.id, f"condition.{exc.field}", str(exc)))
            continue
        out.evaluators[rule.id] = ev
        out.tunables[rule.id] = find_tunables(rule, ev)
    if errors:
        raise RuleSetError(errors)
    return out


def selector_of(match: Selectors, residents: ResidentDirectory,
                ) -> Callable[[Subject], bool] | None:
    """A rule's `match` as one predicate on the subject (None: every device)."""
    if match.empty():
        return None
    sites, buildings = frozenset(match.sites), frozenset(match.buildings)
    grids, devices = frozenset(match.grids), frozenset(match.devices)
    tags = frozenset(match.resident_tags)

    def selected(s: Subject) -> bool:
        return ((not sites or s.site in sites) and (not buildings or s.building in buildings)
                and (not grids or s.grid in grids) and (not devices or s.device_id in devices)
                and (not tags or (s.resident_id is not None
                                  and tags <= residents.tags(s.resident_id))))

    return selected
