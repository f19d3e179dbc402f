"""The condition kinds: each declares a pydantic model and an evaluator; the union derives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from rules.conditions import (
    absence,
    alarm,
    correlation,
    counter_idle,
    event,
    geofence,
    repeating,
    schedule,
    threshold,
)
from rules.conditions.base import CompileEnv, ConditionModel, Effects, Evaluator

if TYPE_CHECKING:
    from rules.model import Rule


@dataclass(frozen=True)
class Declaration:
    """One condition kind: its model (with `type: Literal[...]`) and its evaluator class."""

    model: type[ConditionModel]
    evaluator: type[Evaluator]

    @property
    def type(self) -> str:
        """The discriminator value."""
        return str(self.model.model_fields["type"].default)


# The one list of condition kinds. A new kind is a module plus one line here.
DECLARED: tuple[Declaration, ...] = (
    Declaration(event.EventCondition, event.EventEvaluator),
    Declaration(threshold.ThresholdCondition, threshold.ThresholdEvaluator),
    Declaration(threshold.DurationCondition, threshold.DurationEvaluator),
    Declaration(repeating.RepeatingCondition, repeating.RepeatingEvaluator),
    Declaration(geofence.GeofenceCondition, geofence.GeofenceEvaluator),
    Declaration(absence.AbsenceCondition, absence.AbsenceEvaluator),
    Declaration(schedule.ScheduleCondition, schedule.ScheduleEvaluator),
    Declaration(correlation.CorrelationCondition, correlation.CorrelationEvaluator),
    Declaration(alarm.AlarmCondition, alarm.AlarmEvaluator),
    Declaration(counter_idle.CounterIdleCondition, counter_idle.CounterIdleEvaluator),
)

_BY_MODEL: dict[type[ConditionModel], type[Evaluator]] = {d.model: d.evaluator for d in DECLARED}

Condition = Annotated[
    Union[tuple(d.model for d in DECLARED)],  # type: ignore[valid-type]  # noqa: UP007
    Field(discriminator="type"),
]

# `schedule` nests any condition, itself included.
schedule.ScheduleCondition.model_rebuild(_types_namespace={"Condition": Condition})


def build_evaluator(cond: ConditionModel, rule: Rule, fx: Effects, env: CompileEnv) -> Evaluator:
    """The evaluator declared for the condition's model."""
    return _BY_MODEL[type(cond)](cond, rule, fx, env)


__all__ = ["DECLARED", "CompileEnv", "Condition", "Declaration", "Evaluator", "build_evaluator"]
