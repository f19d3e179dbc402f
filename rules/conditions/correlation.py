"""`correlation`: event A, then no B from the same device (or resident) within T seconds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from devices.base import DeviceKind
from rules.conditions.base import (
    CompileEnv,
    ConditionError,
    ConditionModel,
    Effects,
    Evaluator,
    State,
    Where,
    check_where_fields,
    compile_where,
    event_keys,
    event_models,
    signal_keys,
)
from rules.ports import Message

if TYPE_CHECKING:
    from rules.model import Rule

_ONE = "_"  # the pending key when A is not keyed by a payload field


class Match(ConditionModel):
    """One side of a correlation: an event type, or a telemetry signal (optionally rising)."""

    event: str | list[str] | None = Field(
        None, description="Event type (B: one or a list, any of which answers)")
    signal: str | None = Field(None, description="Telemetry field (B only)")
    rises: bool = Field(
        False, description="B only: the signal must exceed its value when A happened"
    )
    where: Where = Field(default_factory=dict, description="Payload field filters")
    kind: str | None = Field(
        None, description="B only: a different device kind (needs by=resident)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> Match:
        if (self.event is None) == (self.signal is None):
            raise ValueError("give exactly one of event or signal")
        if self.rises and self.signal is None:
            raise ValueError("rises needs a signal")
        return self


class CorrelationCondition(ConditionModel):
    """Fires when B has not followed A within `within_s`; a late B clears it (if auto-clear)."""

    type: Literal["correlation"] = "correlation"
    first: Match = Field(description="A: the event that starts the wait")
    then_not: Match = Field(description="B: what must follow in time")
    within_s: float = Field(gt=0, le=30 * 86_400, description="How long B may take, seconds")
    by: Literal["device", "resident"] = Field(
        "device", description="B must come from the same device, or concern the same resident"
    )
    key_field: str | None = Field(
        None, description="Payload field pairing A with B on one device, e.g. parcel_id"
    )

    @model_validator(mode="after")
    def _shape(self) -> CorrelationCondition:
        if not isinstance(self.first.event, str) or self.first.kind is not None \
                or self.first.rises:
            raise ValueError("first must be one event type of the rule's kind")
        if self.then_not.kind is not None and self.by != "resident":
            raise ValueError("then_not.kind needs by=resident")
        return self


class CorrelationEvaluator(Evaluator):
    """State per A-device: `pending` {key: [deadline, baseline, resident, A's device time]}
    (entries written before the time was kept have three), `late` keys, `on`."""

    cond: CorrelationCondition

    def __init__(self, cond: CorrelationCondition, rule: Rule, fx: Effects,
                 env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        self._a_where = compile_where(cond.first.where)
        self._b_where = compile_where(cond.then_not.where)
        self._a_type = cond.first.event
        self._by_resident: dict[str, set[str]] = {}  # resident → A-devices waiting on them

    def _side_keys(self, kind: DeviceKind, side: Match, field: str) -> set[str]:
        if side.event is not None:
            events = [side.event] if isinstance(side.event, str) else side.event
            check_where_fields(side.where, event_models(kind, events), f"{field}.where")
            return event_keys(kind, events, f"{field}.event")
        return signal_keys(kind, side.signal or "", f"{field}.signal")

    def keys(self, kind: DeviceKind) -> set[str]:
        """A's key, and B's when B comes from the same kind."""
        keys = self._side_keys(kind, self.cond.first, "first")
        if self.cond.then_not.kind is None:
            keys |= self._side_keys(kind, self.cond.then_not, "then_not")
        return keys

    def extra_keys(self) -> dict[str, set[str]]:
        """B's key on its own kind."""
        other = self.cond.then_not.kind
        if other is None:
            return {}
        kind = self.env.kinds.get(other)
        if kind is None:
            raise ConditionError("then_not.kind", f"unknown device kind {other!r}")
        return {other: self._side_keys(kind, self.cond.then_not, "then_not")}

    def restore(self, device_id: str, data: dict[str, Any], due: float | None) -> State:
        """Put back the state and the resident index."""
        st = super().restore(device_id, data, due)
        self._reschedule(st)
        return st

    def on_message(self, msg: Message, now: float) -> None:
        """A starts a wait; B ends the waits it answers."""
        if msg.type == self._a_type and msg.channel == "event":
            if self._a_where is None or self._a_where(msg):
                self._start(msg, now)
            return
        if self._b_where is not None and not self._b_where(msg):
            return
        if self.cond.by == "device":
            st = self.states.get(msg.device_id)
            if st is not None:
                self._answer(st, msg, now)
            return
        resident = msg.resident_id
        for device_id in list(self._by_resident.get(resident or "", ())):
            st = self.states.get(device_id)
            if st is not None:
                self._answer(st, msg, now)

    def _key(self, msg: Message) -> str:
        if self.cond.key_field is None:
            return _ONE
        return str(msg.value(self.cond.key_field) or _ONE)

    def _start(self, msg: Message, now: float) -> None:
        st = self.state(msg.device_id)
        baseline = None
        if self.cond.then_not.rises and msg.last_values is not None:
            baseline = msg.last_values.get(self.cond.then_not.signal or "")
        resident = msg.resident_id
        pending = st.data.setdefault("pending", {})
        # A's device time too: a B the device sent before A (readings buffered, or queued
        # behind a flood while A came on the event lane) must not answer it (red team).
        # A repeated A leaves the wait already running: a band re-raising its suspected fall
        # every 40 s pushed the critical page back for as long as it did (red team round 11).
        pending.setdefault(self._key(msg), [now + self.cond.within_s, baseline, resident, msg.ts])
        if resident and self.cond.by == "resident":
            self._by_resident.setdefault(resident, set()).add(msg.device_id)
        self._reschedule(st)
        self.fx.persist(self.rule, st)

    def _answer(self, st: State, msg: Message, now: float) -> None:
        pending: dict[str, list] = st.data.get("pending", {})
        late: list[str] = st.data.get("late", [])
        keys = list(pending) + late if self.cond.key_field is None else [self._key(msg)]
        answered = False
        moved = False
        for key in keys:
            entry = pending.get(key)
            if entry is not None and len(entry) > 3 and msg.ts < entry[3]:
                moved |= self._before_a(msg, entry)
                continue
            if entry is not None and not self._b_counts(msg, entry[1]):
                continue
            if entry is None and key not in late:
                continue
            pending.pop(key, None)
            if key in late:
                late.remove(key)
            answered = True
        if not answered:
            if moved:
                self.fx.persist(self.rule, st)
            return
        self._reschedule(st)
        self.fx.persist(self.rule, st)
        if st.data.get("on") and not late:
            st.data["on"] = False
            if self.rule.options.auto_clear:
                self.fx.clear(self.rule, st.device_id, now, f"{msg.type} followed")

    def _before_a(self, msg: Message, entry: list) -> bool:
        """A message the device sent before A, arriving after it: what it says is the
        baseline (the last reading before the fall), not an answer; whether it moved it."""
        if not self.cond.then_not.rises:
            return False
        value = msg.value(self.cond.then_not.signal or "")
        if value is None or (entry[1] is not None and value <= entry[1]):
            return False
        entry[1] = value
        return True

    def _b_counts(self, msg: Message, baseline: float | None) -> bool:
        if not self.cond.then_not.rises:
            return True
        value = msg.value(self.cond.then_not.signal or "")
        return value is not None and (baseline is None or value > baseline)

    def on_timer(self, st: State, now: float) -> None:
        """Waits that ran out become late and fire."""
        pending: dict[str, list] = st.data.get("pending", {})
        late: list[str] = st.data.setdefault("late", [])
        for key, (deadline, _, resident, *_a_ts) in sorted(pending.items(),
                                                           key=lambda kv: kv[1][0]):
            if deadline > now:
                continue
            del pending[key]
            late.append(key)
            st.data["on"] = True
            self.fx.fire(self.rule, st.device_id, now, resident_id=resident,
                         detail={"key": None if key == _ONE else key, "waited_s":
                                 self.cond.within_s})
        self._reschedule(st)
        self.fx.persist(self.rule, st)

    def forget(self, device_id: str) -> None:
        """Drop the state and its place in the resident index."""
        super().forget(device_id)
        for waiting in self._by_resident.values():
            waiting.discard(device_id)

    def _reschedule(self, st: State) -> None:
        pending = st.data.get("pending", {})
        st.due = min((entry[0] for entry in pending.values()), default=None)
        self.fx.wake(self.rule, st)
        if self.cond.by == "resident":
            for _, _, resident, *_a_ts in pending.values():
                if resident:
                    self._by_resident.setdefault(resident, set()).add(st.device_id)
