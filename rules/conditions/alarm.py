"""`alarm`: an event raises an alarm, carrying payload facts onto the alert, optionally only
when a state of other devices in the same place holds (or does not): a smoke alarm while a fire
lane of the building is blocked. Rules for the levels of one alarm exclude each other through
`context.holds` and `unless_tags`, so one alarm opens one alert and one ticket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

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
    signal_key,
)
from rules.ports import Message, Subject

if TYPE_CHECKING:
    from rules.model import Rule

_ONE = "_"  # the state key when the context is not keyed by a payload field


class Context(ConditionModel):
    """A state of devices of another kind in the same place: begun by `event`, ended by
    `until` (or forgotten after `max_age_s`)."""

    kind: str = Field(description="Device kind whose state counts, e.g. camera")
    event: str = Field(description="Event type that begins the state, e.g. fire_lane_blocked")
    until: list[str] = Field(default_factory=list, description="Event types that end it")
    key_field: str | None = Field(
        None, description="One state per value of this payload field (a camera's lanes: zone)")
    scope: Literal["building", "site"] = Field(
        "building", description="Same site and building (a device without a building counts "
        "for its whole site), or the same site")
    max_age_s: float = Field(
        86_400, gt=0, le=30 * 86_400, description="A state never ended is forgotten after this")
    holds: bool = Field(
        True, description="true: only while the state holds (also when it begins during the "
        "alarm); false: only while it does not")


class AlarmCondition(ConditionModel):
    """Fires on each matching event (a repeat raises the count), with `detail` fields copied
    onto the alert; `clear_on` ends the alarm (and clears the alert with auto-clear)."""

    type: Literal["alarm"] = "alarm"
    event: str | list[str] = Field(description="Event type(s) of the kind's vocabulary")
    where: Where = Field(default_factory=dict, description="Payload field filters")
    clear_on: list[str] = Field(default_factory=list, description="Event types that end it")
    clear_on_reading: str | None = Field(
        None, description="A yes/no reading of the kind whose `false`, in a reading dated at or "
        "after the alarm, ends it too — a sensor that reports its state rather than an end "
        "event (Zigbee2MQTT's `smoke: false`, `water_leak: false`)")
    detail: list[str] = Field(
        default_factory=list, description="Payload fields copied onto the alert, e.g. "
        "snapshot_ref (the ticket attaches it)")
    unless_tags: list[str] = Field(
        default_factory=list, description="Not for a resident carrying any of these tags (the "
        "rule for them is another, e.g. with match.resident_tags)")
    context: Context | None = Field(None, description="A state of other devices it needs")
    active_s: float = Field(
        3600, gt=0, le=7 * 86_400, description="How long an alarm not ended by `clear_on` "
        "counts as going on, for a context that begins later")
    attach_on: list[str] = Field(
        default_factory=list, description="Event types whose `detail` fields go onto the open "
        "alert without counting another alarm (a picture sent after the press); one that "
        "comes first waits ATTACH_WAIT_S for its alarm")

    late_wait_s: float = Field(
        30, ge=0, le=600, description="An alarm reported later than the stale-event limit (a "
        "buffer uploaded after an outage) whose end may follow it (`clear_on`, "
        "`clear_on_reading`) waits this long on the gateway's clock for that end: ended in the "
        "same upload, it is shown muted and pages nobody; 0 pages it at once")

    def events(self) -> list[str]:
        """The event types as a list."""
        return [self.event] if isinstance(self.event, str) else list(self.event)


# How long facts that came before their alarm (a pole's picture uploaded first) wait for it.
ATTACH_WAIT_S = 120.0


def _same_place(scope: str, alarm: dict[str, Any], ctx: dict[str, Any]) -> bool:
    if alarm.get("site") != ctx.get("site"):
        return False
    return scope == "site" or not ctx.get("building") or ctx["building"] == alarm.get("building")


def _json(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


class AlarmEvaluator(Evaluator):
    """State of an alarming device: `alarm` (since), `fired`, its place (only when the context
    must hold: a later context raises it). State of a context device: `ctx` {key: since}."""

    cond: AlarmCondition

    def __init__(self, cond: AlarmCondition, rule: Rule, fx: Effects, env: CompileEnv) -> None:
        super().__init__(cond, rule, fx, env)
        self._where = compile_where(cond.where)
        self._fire_types = frozenset(cond.events())
        self._clear_types = frozenset(cond.clear_on)
        self._clear_reading = cond.clear_on_reading
        self._attach_types = frozenset(cond.attach_on)
        self._unless = frozenset(cond.unless_tags)
        # site → device ids with a context state, and with an alarm waiting for one.
        self._contexts: dict[str, set[str]] = {}
        self._alarms: dict[str, set[str]] = {}

    # -- compiling -----------------------------------------------------------------------

    def keys(self, kind: DeviceKind) -> set[str]:
        """The alarm's events and those that end it."""
        ctx = self.cond.context
        if ctx is not None and ctx.kind == kind.key:
            raise ConditionError("context.kind", f"the context must be another kind than "
                                 f"{kind.key}")
        models = event_models(kind, self.cond.events())
        keys = event_keys(kind, self.cond.events())
        check_where_fields(self.cond.where, models, "where")
        check_where_fields(dict.fromkeys(self.cond.detail, True), models, "detail")
        keys |= event_keys(kind, self.cond.clear_on, "clear_on")
        if self._clear_reading is not None:
            if self._clear_reading not in kind.signals():
                raise ConditionError("clear_on_reading",
                                     f"{kind.key} readings have no {self._clear_reading!r}")
            keys.add(signal_key(self._clear_reading))
        return keys | event_keys(kind, self.cond.attach_on, "attach_on")

    def extra_keys(self) -> dict[str, set[str]]:
        """The context's events on its own kind."""
        ctx = self.cond.context
        if ctx is None:
            return {}
        kind = self.env.kinds.get(ctx.kind)
        if kind is None:
            raise ConditionError("context.kind", f"unknown device kind {ctx.kind!r}")
        keys = event_keys(kind, [ctx.event, *ctx.until], "context.event")
        if ctx.key_field is not None:
            check_where_fields({ctx.key_field: True}, event_models(kind, [ctx.event]),
                               "context.key_field")
        return {ctx.kind: keys}

    def restore(self, device_id: str, data: dict[str, Any], due: float | None) -> State:
        """Put back the state and the place index."""
        st = super().restore(device_id, data, due)
        self._index(st)
        return st

    def forget(self, device_id: str) -> None:
        """Drop the state and its place in the index."""
        super().forget(device_id)
        for index in (self._contexts, self._alarms):
            for devices in index.values():
                devices.discard(device_id)

    def _index(self, st: State) -> None:
        site = str(st.data.get("site", ""))
        for index, present in ((self._contexts, bool(st.data.get("ctx"))),
                               (self._alarms, "alarm" in st.data)):
            if present:
                index.setdefault(site, set()).add(st.device_id)
            else:
                index.get(site, set()).discard(st.device_id)

    # -- messages ------------------------------------------------------------------------

    def on_message(self, msg: Message, now: float) -> None:
        """An alarm, its end, or a context event from the other kind."""
        ctx = self.cond.context
        if ctx is not None and msg.subject.kind == ctx.kind:
            self._context(msg, now)
        elif msg.type in self._fire_types:
            if self._where is None or self._where(msg):
                self._alarm(msg, now)
        elif msg.type in self._clear_types:
            self._end(msg, now)
        elif self._clear_reading is not None and msg.channel == "telemetry":
            self._reading(msg, now)
        elif msg.type in self._attach_types:
            self._attach(msg, now)

    def _facts(self, msg: Message) -> dict[str, Any]:
        return {name: _json(value) for name in self.cond.detail
                if (value := msg.value(name)) is not None}

    def _attach(self, msg: Message, now: float) -> None:
        """Facts for the alarm that are no alarm (vendor round 5: a pole's picture sent after
        its press was refused, or counted as a second press): onto the open alert, or kept
        for an alarm that comes within ATTACH_WAIT_S."""
        facts = self._facts(msg)
        if not facts or self.fx.annotate(self.rule, msg.device_id, now, facts):
            return
        st = self.state(msg.device_id)
        st.data["early"] = [now, facts]
        self.fx.persist(self.rule, st)

    def _alarm(self, msg: Message, now: float) -> None:
        resident = msg.resident_id
        if self._unless and resident and self._unless & self.env.residents.tags(resident):
            return
        detail = self._facts(msg)
        early = self.states.get(msg.device_id)
        if early is not None and "early" in early.data:
            at, facts = early.data.pop("early")
            if now - at <= ATTACH_WAIT_S:
                detail = {**facts, **detail}
            self.fx.persist(self.rule, early)
        over = self._ended_before(msg, now)
        self._release(msg.device_id, now)  # a held alarm with no end before the next one
        if self._clear_reading is not None and not over:
            st = self.state(msg.device_id)
            st.data["began"] = msg.ts  # for a reading that ends it (`clear_on_reading`)
            self.fx.persist(self.rule, st)
        ctx = self.cond.context
        if ctx is None and not over and self._holds(msg, now):
            st = self.state(msg.device_id)
            st.data["held"] = {"ts": msg.ts, "late_s": now - msg.current_at,
                               "detail": {**detail, "event": msg.evidence()},
                               "resident": msg.resident_id, "problem": msg.salvaged,
                               "claim": msg.claim}
            st.due = now + self.cond.late_wait_s
            self.fx.wake(self.rule, st)
            self.fx.persist(self.rule, st)
            return
        if ctx is None:
            self.fx.fire(self.rule, msg.device_id, now, msg=msg, detail=detail or None)
            if over and self.rule.options.auto_clear:
                self.fx.clear(self.rule, msg.device_id, now, "its end came first")
            return
        place = _place(msg.subject)
        found = self._active(place, now)
        fires = bool(found) == ctx.holds
        if fires:
            if found:
                detail[ctx.event] = found
            self.fx.fire(self.rule, msg.device_id, now, msg=msg, detail=detail or None)
        if over and fires and self.rule.options.auto_clear:
            self.fx.clear(self.rule, msg.device_id, now, "its end came first")
        if ctx.holds and not over:  # remembered: a context beginning later still raises it
            st = self.state(msg.device_id)
            fired = fires or (bool(st.data.get("fired")) and self._going_on(st, now))
            st.data.update(place, alarm=now, fired=fired)
            self._index(st)
            self.fx.persist(self.rule, st)

    def _reading(self, msg: Message, now: float) -> None:
        """A reading saying the alarm's condition is gone ends an alarm it was dated after
        (vendor round 9: a Zigbee smoke sensor's `smoke: false` never ended its fire, and a
        lane blocked later raised a second critical alert). Only the first such reading after
        an alarm: the sensor repeats its state in every report."""
        if msg.value(self._clear_reading or "") is not False:
            return
        st = self.states.get(msg.device_id)
        began = st.data.get("began") if st is not None else None
        if st is None or began is None or msg.ts < began:
            return  # no alarm to end, or a reading from before it (a backlog)
        del st.data["began"]
        self._end(msg, now)

    def _holds(self, msg: Message, now: float) -> bool:
        """Whether the alarm waits for its end: reported late (an upload of what a device
        buffered through an outage), with an end that may be in the same upload (red team
        round 9: a radar's night of bed exits, each ended 4 minutes later, paged four
        critical alerts 15-20 h after the elder was back in bed)."""
        if msg.urgent or self.cond.late_wait_s <= 0:
            return False
        if not (self._clear_types or self._clear_reading):
            return False
        return now - msg.current_at > self.env.stale_event_limit_s

    def _fire_held(self, device_id: str, held: dict[str, Any], now: float,
                   ended_by: str | None) -> None:
        detail = dict(held["detail"])
        if held.get("problem"):
            detail["payload_problem"] = held["problem"]
        if held.get("claim"):
            detail["payload_claim"] = held["claim"]
        self.fx.fire(self.rule, device_id, now, detail=detail, resident_id=held["resident"],
                     late_s=held["late_s"], quiet=ended_by is not None)
        if ended_by is not None and self.rule.options.auto_clear:
            self.fx.clear(self.rule, device_id, now, f"reported late, with its end: {ended_by}")

    def _release(self, device_id: str, now: float) -> None:
        """Page a held alarm now (another alarm came before any end of it)."""
        st = self.states.get(device_id)
        held = st.data.pop("held", None) if st is not None else None
        if st is None or held is None:
            return
        st.due = None
        self.fx.persist(self.rule, st)
        self._fire_held(device_id, held, now, None)

    def on_timer(self, st: State, now: float) -> None:
        """A held alarm's wait is over and no end came: it pages, saying how late it is."""
        if "held" not in st.data:
            st.due = None
            self.fx.persist(self.rule, st)
        self._release(st.device_id, now)

    def _end(self, msg: Message, now: float) -> None:
        st = self.state(msg.device_id)
        held = st.data.get("held")
        if held is not None and msg.ts >= held["ts"]:
            del st.data["held"]
            st.due = None
            self._fire_held(msg.device_id, held, now, msg.type)
        if "alarm" in st.data:
            st.data.clear()
            self._index(st)
        # Remembered: the alarm it ends may come after it (a carrier platform forwarding
        # out of order: vendor round 5 — the alarm then counted as sounding, and a lane
        # blocked later raised a second critical alert for a fire already reported over).
        # Never later than its receipt: a reading dated minutes ahead (accepted within the
        # clock skew allowed) made the next alarm "already over" (red team round 10).
        st.data["ended"] = [min(msg.ts, now), now]
        self.fx.persist(self.rule, st)
        if self.rule.options.auto_clear:
            self.fx.clear(self.rule, msg.device_id, now, f"event {msg.type}")

    def _ended_before(self, msg: Message, now: float) -> bool:
        """Whether the device already said this alarm was over: an end received lately
        (within `active_s`) dated after it, by no more than `active_s`."""
        st = self.states.get(msg.device_id)
        ended = st.data.get("ended") if st is not None else None
        if not ended:
            return False
        ended_ts, received = ended
        span = self.cond.active_s
        return now - received <= span and 0 <= ended_ts - msg.ts <= span

    def _context(self, msg: Message, now: float) -> None:
        ctx = self.cond.context
        assert ctx is not None
        key = str(msg.value(ctx.key_field) or _ONE) if ctx.key_field else _ONE
        st = self.states.get(msg.device_id)
        if msg.type == ctx.event:
            st = st or self.state(msg.device_id)
            states: dict[str, float] = st.data.setdefault("ctx", {})
            began = key not in states or now - states[key] > ctx.max_age_s
            states[key] = now
            st.data.update(_place(msg.subject))
            self._index(st)
            self.fx.persist(self.rule, st)
            if began and ctx.holds:
                self._raise_waiting(st, now)
        elif st is not None and key in st.data.get("ctx", {}):
            del st.data["ctx"][key]
            if not st.data["ctx"]:
                st.data.clear()
            self._index(st)
            self.fx.persist(self.rule, st)

    def _raise_waiting(self, ctx_state: State, now: float) -> None:
        """A context began: alarms going on in its place that it did not raise yet fire now."""
        ctx = self.cond.context
        assert ctx is not None
        for device_id in sorted(self._alarms.get(str(ctx_state.data.get("site", "")), ())):
            st = self.states.get(device_id)
            if st is None or st.data.get("fired") or not self._going_on(st, now):
                continue
            if not _same_place(ctx.scope, st.data, ctx_state.data):
                continue
            st.data["fired"] = True
            self.fx.persist(self.rule, st)
            self.fx.fire(self.rule, device_id, now,
                         detail={ctx.event: self._active(st.data, now)})

    def _going_on(self, st: State, now: float) -> bool:
        return now - float(st.data.get("alarm", 0.0)) <= self.cond.active_s

    def _active(self, place: dict[str, Any], now: float) -> list[str]:
        """The context states holding now for a place, as `device` or `device:key`."""
        ctx = self.cond.context
        assert ctx is not None
        found = []
        for device_id in sorted(self._contexts.get(str(place.get("site", "")), ())):
            st = self.states.get(device_id)
            if st is None or not _same_place(ctx.scope, place, st.data):
                continue
            for key, since in sorted(st.data.get("ctx", {}).items()):
                if now - since <= ctx.max_age_s:
                    found.append(device_id if key == _ONE else f"{device_id}:{key}")
        return found


def _place(subject: Subject) -> dict[str, str]:
    return {"site": subject.site, "building": subject.building}
