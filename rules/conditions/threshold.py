"""`threshold` (a signal crosses a line, with hysteresis) and `duration` (held for at least T)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from devices.base import DeviceKind
from rules.conditions.base import (
    Comparison,
    CompileEnv,
    ConditionError,
    Effects,
    Evaluator,
    State,
    ThresholdError,
    Where,
    check_where_fields,
    compile_where,
    signal_key,
    signal_keys,
)
from rules.ports import Message

if TYPE_CHECKING:
    from rules.model import Rule


class ThresholdCondition(Comparison):
    """Fires when the signal crosses the threshold; clears once it is back past the hysteresis."""

    type: Literal["threshold"] = "threshold"
    readings_only: bool = Field(
        False, description="Judge the signal in telemetry only, not in the events that carry "
        "it too (an extinguisher's `discharged` has its pressure: the event's own rule says it)")


class DurationCondition(Comparison):
    """Fires when the threshold has held for `for_s` seconds (sample-and-hold between readings)."""

    type: Literal["duration"] = "duration"
    for_s: float = Field(gt=0, le=30 * 86_400, description="How long it must hold, seconds")
    min_samples: int = Field(
        1, ge=1, le=1000, description="Readings that must agree before it fires"
    )
    when: Where = Field(
        default_factory=dict, description="Readings count only while these fields match "
        "(a sleep belt's breathing while `in_bed: true`); one that does not match breaks the "
        "hold and clears the alert as a reading back in range does. A reading that leaves a "
        "field out is judged by the device's last stated value of it (a pad says `in_bed` on "
        "change)")


class ThresholdEvaluator(Evaluator):
    """State: `on` while the signal is past the line."""

    cond: ThresholdCondition

    def __init__(self, cond: Comparison, rule: Rule, fx: Effects, env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        self._signal = cond.signal
        self._holds, self._released = cond.predicates()

    def keys(self, kind: DeviceKind) -> set[str]:
        """Telemetry and events that carry the signal (telemetry only: `readings_only`)."""
        keys = signal_keys(kind, self._signal)
        if getattr(self.cond, "readings_only", False):
            keys &= {signal_key(self._signal)}
            if not keys:
                raise ConditionError("signal", f"{kind.key} readings have no {self._signal!r}")
        return keys

    def retune(self, cond: Comparison) -> None:
        """New line(s), same signal: the predicates change, every device's state stays (an
        alert already open clears only once a reading is back past the new line)."""
        if cond.signal != self._signal or cond.op != self.cond.op:
            raise ThresholdError("a retune changes numbers, never the signal or the op")
        self.cond = cond  # type: ignore[assignment]
        self._holds, self._released = cond.predicates()

    def on_message(self, msg: Message, now: float) -> None:
        """Fire on crossing, clear on return (never on a reading older than the latest one
        that held)."""
        value = msg.value(self._signal)
        if value is None:
            return
        st = self.states.get(msg.device_id)
        on = st is not None and st.data.get("on", False)
        if on and st is not None and msg.ts > st.data.get("at", 0.0) and self._holds(value):
            # In memory only (no write per reading): after a restart the firing reading's
            # time is the line, which errs towards keeping the alert.
            st.data["at"] = msg.ts
        if not on and self._holds(value):
            st = st or self.state(msg.device_id)
            st.data["on"] = True
            st.data["at"] = msg.ts
            self.fx.persist(self.rule, st)
            self.fx.fire(self.rule, msg.device_id, now, msg=msg,
                         detail={self._signal: value})
        elif on and st is not None and self._released(value):
            if msg.ts < st.data.get("at", msg.ts):
                # A reading from before the latest one that held: a backlog uploaded oldest
                # first, yesterday's 60 % cleared today's 9 % (vendor round 9).
                return
            st.data["on"] = False
            self.fx.persist(self.rule, st)
            if self.rule.options.auto_clear:
                self.fx.clear(self.rule, msg.device_id, now, f"{self._signal}={value}")


class DurationEvaluator(ThresholdEvaluator):
    """State: `since` the signal first held, sample count `n`, `on` once fired; timer at since+T."""

    cond: DurationCondition  # type: ignore[assignment]

    def __init__(self, cond: Comparison, rule: Rule, fx: Effects, env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        self._when = compile_where(getattr(cond, "when", {}))
        self._when_fields = tuple(getattr(cond, "when", {}))

    def keys(self, kind: DeviceKind) -> set[str]:
        """As the threshold's; the `when` fields must be the kind's."""
        check_where_fields(self.cond.when, [kind.telemetry], "when")
        # Readings stating a `when` field alone (a pad's `in_bed` on change) count too.
        return super().keys(kind) | {signal_key(name) for name in self.cond.when}

    def on_message(self, msg: Message, now: float) -> None:
        """Start, extend or break the hold."""
        seen = self._as_stated(msg) if self._when is not None else msg
        value = msg.value(self._signal)
        if value is None:
            return
        st = self.states.get(msg.device_id)
        if self._when is not None and not self._when(seen):
            if st is not None:
                self._release(st, msg, now, value)
            return
        holds = self._holds(value)
        if not holds and st is not None and st.data.get("since") is not None:
            # Inside the hysteresis band a hold in progress continues (and the reading counts).
            holds = not self._released(value)
        if st is None:
            if not holds:
                return  # the common healthy case costs no state at all
            st = self.state(msg.device_id)
        data = st.data
        if holds:
            # The device time of the newest reading that held: an older one uploaded later
            # (a meter's memory, a band's backlog oldest first) neither breaks the hold nor
            # clears its alert (vendor round 11: a 2-h-old 6.2 mmol/L cleared a standing
            # hypoglycaemia, a 1-h-old 70 bpm a heart-rate alert).
            if msg.ts > data.get("at", 0.0):
                data["at"] = msg.ts
            if data.get("since") is None:
                data.update(since=now, n=1, v=value)
                st.due = now + self.cond.for_s
                self.fx.persist(self.rule, st)
                self.fx.wake(self.rule, st)
            elif not data.get("on"):
                data["n"] = data.get("n", 0) + 1
                data["v"] = value
                if data["n"] <= self.cond.min_samples:
                    self.fx.persist(self.rule, st)
            self._maybe_fire(st, now, msg)
        elif self._released(value):
            self._release(st, msg, now, value)

    def _as_stated(self, msg: Message) -> _Stated:
        """The message with each `when` field it leaves out read as the device last stated
        it: a bed pad says `in_bed` when it changes, not in every breath reading (red team
        round 12: 90 s of `breath_rpm: 0` raised nothing when only the first reading said
        `in_bed: true`). Kept in the rule state, written when it changes, so a restart
        keeps it too (red team round 12 again)."""
        st = self.states.get(msg.device_id)
        stated: dict[str, Any] = st.data.get("when", {}) if st is not None else {}
        said = {name: v for name in self._when_fields if (v := msg.value(name)) is not None}
        if said and any(stated.get(name) != v for name, v in said.items()):
            st = self.state(msg.device_id)
            stated = st.data["when"] = {**stated, **said}
            self.fx.persist(self.rule, st)
        return _Stated(msg, stated)

    def _release(self, st: State, msg: Message, now: float, value: object) -> None:
        """Break the hold and clear the alert (not for a reading older than the newest that
        held)."""
        data = st.data
        if (data.get("since") is None and not data.get("on")) or msg.ts < data.get("at", msg.ts):
            return
        was_on = data.get("on", False)
        when = data.get("when")
        data.clear()
        if when:
            data["when"] = when  # what the device last stated stays (`in_bed`)
        st.due = None
        self.fx.persist(self.rule, st)
        if was_on and self.rule.options.auto_clear:
            self.fx.clear(self.rule, msg.device_id, now, f"{self._signal}={value}")

    def on_timer(self, st: State, now: float) -> None:
        """The hold reached T."""
        st.due = None
        self._maybe_fire(st, now, None)
        self.fx.persist(self.rule, st)

    def _maybe_fire(self, st: State, now: float, msg: Message | None) -> None:
        data = st.data
        since = data.get("since")
        if data.get("on") or since is None or now < since + self.cond.for_s:
            return
        if data.get("n", 0) < self.cond.min_samples:
            return  # wait for the next reading to confirm
        data["on"] = True
        st.due = None
        self.fx.persist(self.rule, st)
        self.fx.fire(self.rule, st.device_id, now, msg=msg,
                     detail={self._signal: data.get("v"), "since": since})



class _Stated:
    """A message read through its device's last stated `when` fields."""

    __slots__ = ("_msg", "_stated")

    def __init__(self, msg: Message, stated: dict[str, Any]) -> None:
        self._msg = msg
        self._stated = stated

    def value(self, name: str) -> Any:
        """The message's field, or the device's last stated value of it."""
        found = self._msg.value(name)
        return found if found is not None else self._stated.get(name)
