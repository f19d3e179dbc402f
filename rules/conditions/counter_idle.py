"""`counter_idle`: a cumulative counter (a water meter's litres) has not risen for T, counting
only the time inside daily windows — no water used in 12 daytime hours, where a quiet night
counts for nothing. A counter that goes down (meter replaced, reset, rolled over) is a new
starting point, never use: it neither clears the alert nor starts anything."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from devices.base import DeviceKind
from rules.conditions.base import (
    CompileEnv,
    ConditionModel,
    Effects,
    Evaluator,
    State,
    signal_keys,
)
from rules.conditions.schedule import DAYS, Window
from rules.ports import Message

if TYPE_CHECKING:
    from rules.model import Rule

_MAX_DAYS = 3660  # a deadline further than ten years away (a one-minute weekly window) is none


class CounterIdleCondition(ConditionModel):
    """Fires when `counter` has not risen by `min_rise` for `for_s` seconds of window time;
    the next reading that shows use clears it."""

    type: Literal["counter_idle"] = "counter_idle"
    counter: str = Field(description="Telemetry field of a counter that rises with use")
    min_rise: float = Field(0, ge=0, description="Rise that counts as use (smaller is noise)")
    for_s: float = Field(gt=0, le=30 * 86_400, description="Idle time that fires, seconds")
    windows: list[Window] = Field(
        default_factory=list, description="When idle time counts (local); empty: all day")
    fresh_s: float = Field(
        7200, gt=0, le=7 * 86_400, description="At the deadline the latest reading must be at "
        "most this old (a meter that stopped reporting is offline, not idle); otherwise the "
        "next reading decides")


def _clock(text: str) -> tuple[int, int]:
    hours, _, minutes = text.partition(":")
    return int(hours), int(minutes)


def _intervals(day: date, windows: list[Window], tz: ZoneInfo) -> list[tuple[float, float]]:
    """The windows starting on a local day, as epoch-second intervals, in start order."""
    out = []
    for w in windows:
        if DAYS[day.weekday()] not in w.days:
            continue
        (sh, sm), (eh, em) = _clock(w.start), _clock(w.end)
        start = datetime.combine(day, time(sh, sm), tz)
        end_day = day if eh * 60 + em > sh * 60 + sm else day + timedelta(days=1)
        end = datetime.combine(end_day, time(0, 0), tz) + timedelta(hours=eh, minutes=em)
        out.append((start.timestamp(), end.timestamp()))
    return sorted(out)


def idle_deadline(start: float, for_s: float, windows: list[Window],
                  tz: ZoneInfo) -> float | None:
    """When `for_s` seconds of window time will have passed since `start` (None: never)."""
    if not windows:
        return start + for_s
    remaining = for_s
    cursor = start  # overlapping windows count once
    day = datetime.fromtimestamp(start, tz).date() - timedelta(days=1)
    for _ in range(_MAX_DAYS):
        for begin, end in _intervals(day, windows, tz):
            begin = max(begin, cursor)
            if end <= begin:
                continue
            if end - begin >= remaining:
                return begin + remaining
            remaining -= end - begin
            cursor = end
        day += timedelta(days=1)
    return None


class CounterIdleEvaluator(Evaluator):
    """State: `base` (the counter at the last use), `since` (when), `last`/`seen` (the latest
    reading), `deadline`, `on`; the timer sits at the deadline."""

    cond: CounterIdleCondition

    def __init__(self, cond: CounterIdleCondition, rule: Rule, fx: Effects,
                 env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        self._counter = cond.counter

    def keys(self, kind: DeviceKind) -> set[str]:
        """Messages carrying the counter."""
        return signal_keys(kind, self._counter, "counter")

    def on_message(self, msg: Message, now: float) -> None:
        """Use moves the start of the idle time; no use past the deadline fires."""
        value = msg.value(self._counter)
        if not isinstance(value, int | float):
            return
        st = self.states.get(msg.device_id)
        if st is None:
            st = self.state(msg.device_id)
            st.data.update(base=value, last=value, seen=now, on=False)
            self._restart(st, now)
            return
        data = st.data
        # `last`/`seen` change with every reading but are written only with a material change:
        # after a restart an older `seen` only means waiting for the next reading.
        if value < data["last"]:
            data.update(base=value, last=value, seen=now, resets=data.get("resets", 0) + 1)
            self.fx.persist(self.rule, st)
            return
        data.update(last=value, seen=now)
        rise = value - data["base"]
        if rise > 0 and rise >= self.cond.min_rise:
            was_on = data.get("on", False)
            data.update(base=value, on=False)
            self._restart(st, now)
            if was_on and self.rule.options.auto_clear:
                self.fx.clear(self.rule, msg.device_id, now,
                              f"{self._counter} rose by {rise:g}")
            return
        deadline = data.get("deadline")
        if not data.get("on") and deadline is not None and now >= deadline:
            self._fire(st, now, msg)

    def on_timer(self, st: State, now: float) -> None:
        """The idle time is reached: fire if a recent reading confirms it."""
        st.due = None
        data = st.data
        seen = data.get("seen")
        if not data.get("on") and seen is not None and now - seen <= self.cond.fresh_s:
            self._fire(st, now, None)
        self.fx.persist(self.rule, st)

    def _restart(self, st: State, now: float) -> None:
        st.data["since"] = now
        st.data["deadline"] = st.due = idle_deadline(now, self.cond.for_s, self.cond.windows,
                                                     self.env.tz)
        self.fx.persist(self.rule, st)
        self.fx.wake(self.rule, st)

    def _fire(self, st: State, now: float, msg: Message | None) -> None:
        data = st.data
        data["on"] = True
        st.due = None
        self.fx.persist(self.rule, st)
        self.fx.fire(self.rule, st.device_id, now, msg=msg,
                     detail={"idle_since": data.get("since"), self._counter: data.get("last")})
