"""`absence`: no message (or no event of given types) from a device for T seconds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from devices.base import DeviceKind
from rules.conditions.base import (
    ANY,
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
)
from rules.ports import Message, Subject

if TYPE_CHECKING:
    from rules.model import Rule


class AbsenceCondition(ConditionModel):
    """Fires when the device has been silent (or the events have not come) for `for_s`."""

    type: Literal["absence"] = "absence"
    of: Literal["message", "event"] = Field(
        "message", description="`message`: any message; `event`: only the listed events count"
    )
    events: list[str] = Field(default_factory=list, description="Event types that count (of=event)")
    where: Where = Field(default_factory=dict, description="Payload field filters (of=event)")
    readings: Where = Field(
        default_factory=dict, description="Readings whose fields match count as the events do "
        "(of=event): a door contact that reports `door_open: true` rather than a `door_opened` "
        "event")
    for_s: float | None = Field(
        None, gt=0, le=90 * 86_400,
        description="Silence that fires it; default: the kind's offline timeout",
    )

    @model_validator(mode="after")
    def _events_given(self) -> AbsenceCondition:
        if self.of == "event" and not self.events:
            raise ValueError("of=event needs events")
        if self.of == "message" and (self.events or self.where or self.readings):
            raise ValueError("events/where/readings only apply with of=event")
        return self


class AbsenceEvaluator(Evaluator):
    """State: `last` activity and `on`; the timer sits at last + T.

    For `of: message` the activity refresh is not written per message: the device twin already
    stores `last_seen` in the same transaction, and `seed` restores from it after a restart.
    """

    cond: AbsenceCondition

    def __init__(self, cond: AbsenceCondition, rule: Rule, fx: Effects, env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        self._where = compile_where(cond.where)
        self._readings = compile_where(cond.readings)
        self._events = frozenset(cond.events)
        self.tracks_activity = cond.of == "message"

    def keys(self, kind: DeviceKind) -> set[str]:
        """Every message, or the listed events."""
        if self.cond.for_s is None and kind.key not in self.env.offline_timeout_s:
            raise ConditionError("for_s", f"no offline timeout known for {kind.key}")
        if self.cond.of == "message":
            return {ANY}
        check_where_fields(self.cond.where, event_models(kind, self.cond.events), "where")
        event_keys(kind, self.cond.events, "events")  # validates the vocabulary
        check_where_fields(self.cond.readings, [kind.telemetry], "readings")
        # Every message: the first one of any type starts the wait for the events.
        return {ANY}

    def _counts(self, msg: Message) -> bool:
        """Whether a message is one of the listed events (or readings) that count."""
        if msg.type in self._events:
            return self._where is None or self._where(msg)
        return (self._readings is not None and msg.channel == "telemetry"
                and self._readings(msg))

    def _timeout(self, subject: Subject) -> float:
        # A rule's own `for_s`, else the device's registered timeout, else its kind's.
        return (self.cond.for_s or subject.offline_timeout_s
                or self.env.offline_timeout_s[subject.kind])

    def on_message(self, msg: Message, now: float) -> None:
        """Activity: move the deadline, clear if it had fired."""
        if msg.channel == "status" and msg.type == "offline":
            return  # a will message is not a sign of life
        st = self.states.get(msg.device_id)
        if not self.tracks_activity and not self._counts(msg):
            if st is None:  # start watching from the device's first message
                st = self.state(msg.device_id)
                st.data.update(on=False, last=now)
                st.due = now + self._timeout(msg.subject)
                self.fx.persist(self.rule, st)
                self.fx.wake(self.rule, st)
            return
        if st is None:
            st = self.state(msg.device_id)
            st.data["on"] = False
        st.data["last"] = now
        st.due = now + self._timeout(msg.subject)
        if st.data["on"]:
            st.data["on"] = False
            self.fx.persist(self.rule, st)
            if self.rule.options.auto_clear:
                self.fx.clear(self.rule, msg.device_id, now, "heard from again")
        elif not self.tracks_activity or self.persist_always:
            self.fx.persist(self.rule, st)
        self.fx.wake(self.rule, st)

    def on_timer(self, st: State, now: float) -> None:
        """The silence reached T."""
        st.due = None
        if st.data.get("on"):
            return
        st.data["on"] = True
        self.fx.persist(self.rule, st)
        last = st.data.get("last")
        self.fx.fire(self.rule, st.device_id, now,
                     detail={"last_seen": last, "silent_s": None if last is None else now - last})

    def seed(self, subject: Subject, last_seen: float, now: float) -> None:
        """Restart: the twin's last_seen is the truth for `of: message`."""
        if not self.tracks_activity:
            return
        st = self.state(subject.device_id)
        last = max(float(st.data.get("last") or 0.0), last_seen)
        st.data["last"] = last
        st.data.setdefault("on", False)
        if not st.data["on"]:
            st.due = last + self._timeout(subject)
            self.fx.wake(self.rule, st)
