"""What every condition kind shares: per-device state, the effects API, the evaluator base."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devices.base import DeviceKind
from rules.ports import Message, NoResidents, ResidentDirectory, Subject

if TYPE_CHECKING:
    from rules.model import Rule, Zone

ANY = "any"  # index key: every message of the kind
STATUS = "status"  # index key: presence messages


def event_key(event_type: str) -> str:
    """Index key of an event type."""
    return f"evt:{event_type}"


def signal_key(signal: str) -> str:
    """Index key of a telemetry field."""
    return f"sig:{signal}"


class ConditionError(ValueError):
    """A condition that validates on its own but not against the device kind (unknown signal)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ConditionModel(BaseModel):
    """Base of the declared condition models; each subclass fixes `type` to a Literal."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Scalar = str | int | float | bool


class FieldTest(ConditionModel):
    """A test on one payload field; give one or more operators."""

    eq: Scalar | None = Field(None, description="Equal to")
    ne: Scalar | None = Field(None, description="Not equal to")
    in_: list[Scalar] | None = Field(None, alias="in", description="One of")
    gt: float | None = Field(None, description="Greater than")
    ge: float | None = Field(None, description="Greater than or equal")
    lt: float | None = Field(None, description="Less than")
    le: float | None = Field(None, description="Less than or equal")

    @model_validator(mode="after")
    def _some_test(self) -> FieldTest:
        if not self.model_fields_set:
            raise ValueError("give at least one of eq, ne, in, gt, ge, lt, le")
        return self

    def compile(self) -> Callable[[Any], bool]:
        """A predicate over the field's value (a missing value never matches)."""
        checks: list[Callable[[Any], bool]] = []
        if self.eq is not None:
            checks.append(lambda v, x=self.eq: v == x)
        if self.ne is not None:
            checks.append(lambda v, x=self.ne: v != x)
        if self.in_ is not None:
            checks.append(lambda v, x=frozenset(self.in_): v in x)
        for name in ("gt", "ge", "lt", "le"):
            bound = getattr(self, name)
            if bound is not None:
                op = getattr(operator, name)
                checks.append(lambda v, op=op, b=bound: isinstance(v, int | float) and op(v, b))
        return lambda v: v is not None and all(c(v) for c in checks)


Where = dict[str, FieldTest | Scalar]


def compile_where(where: Where) -> Callable[[Message], bool] | None:
    """One predicate for all field filters of a condition, or None when there are none."""
    if not where:
        return None
    tests = [
        (name, test.compile() if isinstance(test, FieldTest) else (lambda v, x=test: v == x))
        for name, test in where.items()
    ]
    return lambda msg: all(test(msg.value(name)) for name, test in tests)


def check_where_fields(where: Where, models: list[type[BaseModel]], field: str) -> None:
    """Every filtered field must exist on at least one of the payload models."""
    known = {name for model in models for name in model.model_fields}
    for name in where:
        if name not in known:
            raise ConditionError(f"{field}.{name}", f"no payload field {name!r}; known: "
                                 f"{sorted(known - {'ts', 'seq'})}")


@dataclass(slots=True)
class State:
    """Condition state of one (rule, device); `data` is persisted as JSON, `due` is its timer."""

    device_id: str
    data: dict[str, Any] = field(default_factory=dict)
    due: float | None = None
    queued: float | None = None  # the due time the engine's timer heap holds for it


class Effects(Protocol):
    """What an evaluator may do; the engine implements it (a schedule gate wraps it)."""

    def fire(self, rule: Rule, device_id: str, at: float, *, msg: Message | None = None,
             detail: dict[str, Any] | None = None, resident_id: str | None = None,
             late_s: float | None = None, quiet: bool = False) -> None:
        """The condition holds (or an event occurred) for the device (`late_s`: how late the
        event that fired was reported, when it fires without its message; `quiet`: shown
        muted, never paged — an alarm reported after it was over)."""
        ...

    def clear(self, rule: Rule, device_id: str, at: float, reason: str) -> None:
        """The condition stopped holding for the device."""
        ...

    def persist(self, rule: Rule, st: State) -> None:
        """Write the state row in the current transaction (call on material changes only)."""
        ...

    def annotate(self, rule: Rule, device_id: str, at: float,
                 detail: dict[str, Any]) -> bool:
        """Add facts to the rule's open alert for the device without counting a firing;
        whether one was open."""
        ...

    def wake(self, rule: Rule, st: State) -> None:
        """`st.due` was set or moved; make sure the timer heap will reach it."""
        ...


@dataclass(frozen=True)
class CompileEnv:
    """What evaluators are built against: device kinds, named zones, the community time zone."""

    kinds: dict[str, DeviceKind]
    zones: dict[str, Zone]
    tz: ZoneInfo
    offline_timeout_s: dict[str, float]
    residents: ResidentDirectory = field(default_factory=NoResidents)
    stale_event_limit_s: float = 600.0  # how late a message may be before it counts as late


class Evaluator:
    """Base of the evaluators: owns the states of one rule, keyed by device id."""

    # Whether it tracks "no message at all" (absence); those are seeded from device activity.
    tracks_activity: bool = False
    # Whether every change of state is written, even the ones a restart can rebuild from the
    # twins (an absence deadline): replicas read each other's timers from the table.
    persist_always: bool = False

    def __init__(self, cond: Any, rule: Rule, fx: Effects, env: CompileEnv) -> None:
        self.cond = cond
        self.rule = rule
        self.fx = fx
        self.env = env
        self.states: dict[str, State] = {}

    def keys(self, kind: DeviceKind) -> set[str]:
        """Index keys of the messages of `kind` that can matter to this condition."""
        raise NotImplementedError

    def state(self, device_id: str) -> State:
        """The device's state, created on first use."""
        st = self.states.get(device_id)
        if st is None:
            st = self.states[device_id] = State(device_id)
        return st

    def restore(self, device_id: str, data: dict[str, Any], due: float | None) -> State:
        """Put back a persisted state (start-up) and re-arm its timer."""
        st = self.state(device_id)
        st.data = data
        st.due = due
        self.fx.wake(self.rule, st)
        return st

    def forget(self, device_id: str) -> None:
        """Drop a device's state and what indexes it (another replica changed it: the stored
        state is restored next)."""
        self.states.pop(device_id, None)

    def extra_keys(self) -> dict[str, set[str]]:
        """Keys on kinds other than the rule's own (a correlation's second event), by kind."""
        return {}

    def children(self) -> tuple[Evaluator, ...]:
        """Evaluators of nested conditions (a schedule's inner condition), in file order."""
        return ()

    def retune(self, cond: Comparison) -> None:
        """Run on with a changed comparison, keeping every device's state (threshold kinds)."""
        raise ThresholdError(f"a {type(self.cond).__name__} has no threshold to change")

    def on_message(self, msg: Message, now: float) -> None:
        """A message under one of this evaluator's index keys."""
        raise NotImplementedError

    def on_timer(self, st: State, now: float) -> None:
        """`st.due` has been reached."""

    def seed(self, subject: Subject, last_seen: float, now: float) -> None:
        """Restore timing from the device's last activity (absence of messages only)."""


Op = Literal["gt", "ge", "lt", "le", "outside", "inside"]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class ThresholdError(ValueError):
    """A threshold change refused: not editable, outside the declared bounds, or inconsistent."""


class Bounds(ConditionModel):
    """How far an administrator may move a comparison's numbers at run time (inclusive)."""

    min: Finite = Field(description="Lowest value, low or high an administrator may set")
    max: Finite = Field(description="Highest value, low or high an administrator may set")

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min >= self.max:
            raise ValueError("bounds need min < max")
        return self

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.min <= value <= self.max


class Comparison(ConditionModel):
    """A numeric test on a signal with hysteresis: `gt`/`ge`/`lt`/`le` a value, or a range."""

    signal: str = Field(description="Telemetry (or event) field name, e.g. heart_rate_bpm")
    op: Op = Field(description="gt, ge, lt, le (use `value`); outside, inside (use low/high)")
    value: Finite | None = Field(None, description="Threshold for gt/ge/lt/le")
    low: Finite | None = Field(None, description="Lower bound for outside/inside")
    high: Finite | None = Field(None, description="Upper bound for outside/inside")
    hysteresis: float = Field(
        0, ge=0, description="How far back past the threshold a value must go to clear"
    )
    bounds: Bounds | None = Field(
        None, description="Range within which administrators may change value/low/high while "
        "the gateway runs; without it the threshold is fixed by this file")

    @model_validator(mode="after")
    def _operands(self) -> Comparison:
        if self.op in ("outside", "inside"):
            if self.low is None or self.high is None or self.low >= self.high:
                raise ValueError(f"op {self.op!r} needs low < high")
        elif self.value is None:
            raise ValueError(f"op {self.op!r} needs value")
        if self.bounds is not None:
            for name, number in self.operands().items():
                if number not in self.bounds:
                    raise ValueError(f"{name} {number:g} lies outside bounds "
                                     f"[{self.bounds.min:g}, {self.bounds.max:g}]")
        return self

    def operands(self) -> dict[str, float]:
        """The numbers the op uses: {value} or {low, high}."""
        if self.op in ("outside", "inside"):
            return {"low": float(self.low or 0.0), "high": float(self.high or 0.0)}
        return {"value": float(self.value or 0.0)}

    def retuned(self, changes: dict[str, float]) -> Comparison:
        """A copy with some operands changed, checked against the declared bounds.

        Raises ThresholdError saying why when the comparison declares no bounds, a name is not
        an operand of its op, a number lies outside the bounds, the range is empty, or the
        range is too narrow for the hysteresis to ever release.
        """
        if self.bounds is None:
            raise ThresholdError(f"threshold on {self.signal} is not editable: its rule file "
                                 "declares no bounds")
        current = self.operands()
        unknown = sorted(set(changes) - set(current))
        if unknown or not changes:
            raise ThresholdError(f"op {self.op!r} on {self.signal} takes "
                                 f"{' and '.join(current)}, not {', '.join(unknown) or 'nothing'}")
        merged = current | {k: float(v) for k, v in changes.items()}
        for name, number in merged.items():
            if number not in self.bounds:
                raise ThresholdError(f"{name} {number:g} lies outside the declared bounds "
                                     f"[{self.bounds.min:g}, {self.bounds.max:g}] of "
                                     f"{self.signal}")
        if "low" in merged:
            if merged["low"] >= merged["high"]:
                raise ThresholdError(f"low {merged['low']:g} must be below high "
                                     f"{merged['high']:g}")
            if self.op == "outside" and merged["high"] - merged["low"] <= 2 * self.hysteresis:
                raise ThresholdError(f"low and high must be more than twice the hysteresis "
                                     f"({self.hysteresis:g}) apart, or it would never clear")
        return self.model_copy(update=merged)

    def predicates(self) -> tuple[Callable[[float], bool], Callable[[float], bool]]:
        """(holds, released): released applies the hysteresis so values near the line hold."""
        h = self.hysteresis
        v, lo, hi = self.value or 0.0, self.low or 0.0, self.high or 0.0
        table: dict[str, tuple[Callable[[float], bool], Callable[[float], bool]]] = {
            "gt": (lambda x: x > v, lambda x: x <= v - h),
            "ge": (lambda x: x >= v, lambda x: x < v - h),
            "lt": (lambda x: x < v, lambda x: x >= v + h),
            "le": (lambda x: x <= v, lambda x: x > v + h),
            "outside": (lambda x: x < lo or x > hi, lambda x: lo + h <= x <= hi - h),
            "inside": (lambda x: lo <= x <= hi, lambda x: x < lo - h or x > hi + h),
        }
        return table[self.op]


def signal_keys(kind: DeviceKind, signal: str, field: str = "signal") -> set[str]:
    """Keys of the messages of `kind` that carry `signal`: telemetry and events with the field."""
    keys = set()
    if signal in kind.signals():
        keys.add(signal_key(signal))
    for model in kind.events:
        if signal in model.model_fields:
            keys.add(event_key(model.model_fields["type"].default))
    if not keys:
        raise ConditionError(
            field, f"{kind.key} has no signal {signal!r}; known: {list(kind.signals())}"
        )
    return keys


def event_keys(kind: DeviceKind, events: list[str], field: str = "event") -> set[str]:
    """Keys of event types, checked against the kind's closed vocabulary."""
    vocabulary = kind.vocabulary()
    for name in events:
        if name not in vocabulary:
            raise ConditionError(
                field, f"{kind.key} has no event {name!r}; vocabulary: {list(vocabulary)}"
            )
    return {event_key(name) for name in events}


def event_models(kind: DeviceKind, events: list[str]) -> list[type[BaseModel]]:
    """Payload models of the named event types of `kind`."""
    wanted = set(events)
    return [m for m in kind.events if m.model_fields["type"].default in wanted]
