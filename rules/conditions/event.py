"""`event`: an event type (plus field filters) occurred; optionally cleared by another event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from devices.base import DeviceKind
from rules.conditions.base import (
    CompileEnv,
    ConditionError,
    ConditionModel,
    Effects,
    Evaluator,
    Where,
    check_where_fields,
    compile_where,
    event_keys,
    event_models,
)
from rules.ports import Message

if TYPE_CHECKING:
    from rules.model import Rule


class EventCondition(ConditionModel):
    """Fires on every matching event; each repeat raises the open alert's count."""

    type: Literal["event"] = "event"
    event: str | list[str] = Field(description="Event type(s) of the kind's vocabulary")
    where: Where = Field(
        default_factory=dict, description="Payload field filters: value, or {eq, in, gt, ...}"
    )
    clear_on: list[str] = Field(
        default_factory=list, description="Event types that clear the alert (auto-clear)"
    )
    clear_per: str | None = Field(
        None, description="A field of both the events and the clearing events (a camera's "
        "`zone`): the alert clears only once every value that fired has been cleared — one "
        "camera watching two lanes stays alerted while either is blocked",
    )

    note_on: list[str] = Field(
        default_factory=list, description="Event types noted on the open alert (as "
        "`<type>_ts`, their device time) without counting a firing or clearing it: a "
        "wearer's `fall_cancelled` after a confirmed fall — someone still checks")

    def events(self) -> list[str]:
        """The event types as a list."""
        return [self.event] if isinstance(self.event, str) else list(self.event)


class EventEvaluator(Evaluator):
    """Stateless: a match fires, a `clear_on` event clears."""

    cond: EventCondition

    def __init__(self, cond: EventCondition, rule: Rule, fx: Effects, env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        self._where = compile_where(cond.where)
        self._fire_types = frozenset(cond.events())
        self._note_types = frozenset(cond.note_on)

    def keys(self, kind: DeviceKind) -> set[str]:
        """The event types, and those that clear."""
        keys = event_keys(kind, self.cond.events())
        check_where_fields(self.cond.where, event_models(kind, self.cond.events()), "where")
        per = self.cond.clear_per
        if per is not None:
            for model in event_models(kind, [*self.cond.events(), *self.cond.clear_on]):
                if per not in model.model_fields:
                    raise ConditionError("clear_per", f"{model.__name__} has no field {per!r}")
        return (keys | event_keys(kind, self.cond.clear_on, "clear_on")
                | event_keys(kind, self.cond.note_on, "note_on"))

    def on_message(self, msg: Message, now: float) -> None:
        """Fire on a match, clear on a `clear_on` event (with `clear_per`, once the last
        value that fired is cleared)."""
        per = self.cond.clear_per
        if msg.type in self._fire_types:
            if self._where is None or self._where(msg):
                if per is not None:
                    self._mark(msg, per, still=True)
                self.fx.fire(self.rule, msg.device_id, now, msg=msg)
        elif msg.type in self._note_types:
            self.fx.annotate(self.rule, msg.device_id, now, {f"{msg.type}_ts": msg.ts})
        elif self.rule.options.auto_clear:
            if per is not None and self._mark(msg, per, still=False):
                return  # another value (lane) is still on
            self.fx.clear(self.rule, msg.device_id, now, f"event {msg.type}")

    def _mark(self, msg: Message, per: str, *, still: bool) -> bool:
        """Note the message's `per` value as on or off; whether any value is still on."""
        value = str(getattr(msg.payload, per, ""))
        st = self.state(msg.device_id)
        on = set(st.data.get("on", []))
        before = set(on)
        (on.add if still else on.discard)(value)
        if on != before:
            st.data = {"on": sorted(on)} if on else {}
            self.fx.persist(self.rule, st)
        return bool(on)
