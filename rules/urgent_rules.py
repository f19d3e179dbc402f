"""Rules that page on urgent events (SOS, falls, fire, gas …) or critical: what no single click
may mute.

Switching such a rule off is for an admin (gateway/rule_admin.py). A silence is the other
click that could mute every SOS (red team round 4: an operator's 30-day silence on
`wristband.sos`, or on a whole site, left every press confirmed `stored` and paged nobody),
so a silence mutes an urgent rule's alert only when it names both the device and the rule,
for at most URGENT_SILENCE_MAX_S: a band that keeps raising false alarms can be quietened
while it is fetched, and nothing broader ever mutes a person's call for help.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from devices.base import DeviceKind
from rules.conditions.alarm import AlarmCondition
from rules.conditions.correlation import CorrelationCondition
from rules.conditions.event import EventCondition
from rules.conditions.repeating import RepeatingCondition
from rules.conditions.schedule import ScheduleCondition
from rules.model import Rule

URGENT_SILENCE_MAX_S = 3600.0
# Silences of urgent rules running at once, across the control room (a few bands raising
# false alarms at a time; not a loop over every band).
URGENT_SILENCES_MAX = 3


def trigger_events(cond: object) -> set[str]:
    """The event types that make a condition fire (or start the wait that fires it)."""
    if isinstance(cond, EventCondition | AlarmCondition | RepeatingCondition):
        return {cond.event} if isinstance(cond.event, str) else set(cond.event)
    if isinstance(cond, CorrelationCondition):
        return {cond.first.event} if cond.first.event is not None else set()
    if isinstance(cond, ScheduleCondition):
        return trigger_events(cond.condition)
    return set()


def fires_on_urgent(rule: Rule, kinds: Mapping[str, DeviceKind]) -> bool:
    """Whether the rule fires on an urgent event of one of its kinds (an SOS, a fall and
    the lack of movement after it, a smoke alarm …)."""
    events = trigger_events(rule.condition)
    return bool(events) and any(events & set(kinds[k].urgent)
                                for k in rule.kinds(tuple(kinds)) if k in kinds)


def pages_critical(rule: Rule) -> bool:
    """Whether the rule raises a critical alert, for everyone or for some residents (a lone
    elder's long stay in the bathroom, a gas reading over the line)."""
    return rule.severity == "critical" or "critical" in (rule.severity_by_tag or {}).values()


def urgent_rule_ids(rules: Iterable[Rule], kinds: Mapping[str, DeviceKind]) -> frozenset[str]:
    """The ids of the rules no broad silence mutes: those that fire on urgent events, and
    those that page critical (red team round 10: a 30-day site "maintenance" silence muted
    a lone elder's radar long stay, a gas reading at 40 %LEL and CO, with no job opened)."""
    return frozenset(r.id for r in rules if fires_on_urgent(r, kinds) or pages_critical(r))
