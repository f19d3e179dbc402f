"""The engine: a validated dialect compiled into a codec that maps vendor payloads onto ours.

Compilation checks everything that can be checked before a message arrives (kinds, our field
names, JMESPath syntax, event words against the kind's closed vocabulary) and turns each
mapping into a small closure, so a message costs a JSON parse, a few dict lookups and the same
pydantic validation as our own contract. The decoded models are the kind's own models with
one more field, `extra`, holding the vendor fields the dialect did not map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, Field, ValidationError, create_model

from devices.base import Channel, CommandAck, DeviceKind, Event, Status, no_fix
from devices.catalogue import CATALOGUE, KindCatalogue
from devices.codec import GBK_NOTE, JsonCodec, classify, object_members, payload_text
from devices.dialects.codegen import Builder, compile_fields, field_roots
from devices.dialects.errors import DialectError, Loc
from devices.dialects.expr import ALL, ExpressionError, compile_condition, compile_getter, roots
from devices.dialects.model import Dialect, FieldSpec, MessageRule
from devices.dialects.topics import CompiledTopic
from devices.errors import IgnoredCodeError, PayloadError
from devices.words import urgent_type, urgent_word


@cache
def with_extra(model: type[BaseModel]) -> type[BaseModel]:
    """The kind's own model plus `extra` (vendor fields the dialect did not map)."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{model.__name__}ViaDialect", __base__=model,
        extra=(dict[str, Any] | None,
               Field(None, description="Vendor fields the dialect did not map, as sent")))


def channel_of(payload: BaseModel) -> Channel:
    """Which of our channels a decoded payload belongs to."""
    if isinstance(payload, Event):
        return "event"
    if isinstance(payload, Status):
        return "status"
    if isinstance(payload, CommandAck):
        return "cmd_ack"
    return "telemetry"


def _expr(text: str, loc: Loc, make: Callable[[str], Any]) -> Any:
    try:
        return make(text)
    except ExpressionError as exc:
        raise DialectError(str(exc), loc=loc) from exc


@dataclass(frozen=True, slots=True)
class _Target:
    """What a rule produces for one kind (and, for events, one event word)."""

    model: type[BaseModel]
    build: Builder
    consumed: frozenset[str]
    validate: Callable[[Any], BaseModel]
    # Each field on its own (built on first use), for salvaging an urgent event field by field.
    fields: dict[str, FieldSpec]
    loc: Loc


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    channel: Channel
    topic: str | None
    kinds: frozenset[str]
    when: Callable[[Any], bool] | None
    code: Callable[[Any], Any] | None
    # kind → target (telemetry, status, cmd_ack) or kind → {event word → target}
    targets: dict[str, Any]
    table: dict[str, str]
    ignore: frozenset[str] = frozenset()


class DialectCodec:
    """A compiled dialect; the codec devices name by the dialect's name."""

    def __init__(self, dialect: Dialect, catalogue: KindCatalogue = CATALOGUE) -> None:
        self.dialect = dialect
        self.name = dialect.dialect
        self.source: Path | None = None  # the file it came from
        self._catalogue = catalogue
        self._json = JsonCodec(catalogue)
        for i, key in enumerate(dialect.kinds):
            if catalogue.get(key) is None:
                raise DialectError(f"no device kind {key!r}; known: {sorted(catalogue.kinds)}",
                                   loc=("kinds", i))
        self.kinds = frozenset(dialect.kinds)
        self.topics = tuple(CompiledTopic(t, ("topics", i)) for i, t in enumerate(dialect.topics))
        self._id_check = (None if dialect.device_id_check is None else
                          _expr(dialect.device_id_check, ("device_id_check",), compile_getter))
        self._id_roots = (roots(dialect.device_id_check) if dialect.device_id_check
                          else frozenset())
        self._rules = tuple(self._compile(rule, ("messages", i))
                            for i, rule in enumerate(dialect.messages))
        self._refuse_unmapped = dialect.unmapped == "refuse"
        # (topic name, channel, kind) → the rules that can apply, in order; filled lazily.
        self._candidates: dict[tuple[str | None, str | None, str], tuple[_Rule, ...]] = {}
        self.single_kind = dialect.kinds[0] if len(dialect.kinds) == 1 else None
        self._passthrough = frozenset(dialect.passthrough)
        # (target, field) → that field's mapping alone, compiled when a salvage first needs it.
        self._single: dict[tuple[int, str], Builder] = {}

    def serves(self, kind: str) -> bool:
        """Whether devices of this kind can use the dialect."""
        return kind in self.kinds

    # -- compiling -----------------------------------------------------------------------

    def _compile(self, rule: MessageRule, loc: Loc) -> _Rule:
        kinds = rule.kinds if rule.kinds is not None else list(self.dialect.kinds)
        for i, key in enumerate(kinds):
            if key not in self.kinds:
                raise DialectError(f"kind {key!r} is not one the dialect serves",
                                   loc=(*loc, "kinds", i))
        fields = {name: (spec, field_roots(spec, (*loc, "fields", name)))
                  for name, spec in rule.fields.items()}
        base = set(rule.ignore) | self._id_roots
        when = None
        if rule.when is not None:
            when = _expr(rule.when, (*loc, "when"), compile_condition)
            base |= roots(rule.when)
        targets: dict[str, Any] = {}
        code = None
        table: dict[str, str] = {}
        ignore: frozenset[str] = frozenset()
        if rule.event is not None:
            code = _expr(rule.event.code, (*loc, "event", "code"), compile_getter)
            base |= roots(rule.event.code)
            table = dict(rule.event.table)
            ignore = frozenset(rule.event.ignore)
            self._check_ignored(rule, kinds, loc)
        for key in kinds:
            kind = self._catalogue.kinds[key]
            if rule.channel == "event":
                targets[key] = self._event_targets(kind, rule, fields, base, loc)
            else:
                model = self._model(kind, rule.channel)
                self._check_fields(model, fields, loc, kind)
                targets[key] = _target(model, fields, base, loc)
        return _Rule(rule.name, rule.channel, rule.topic, frozenset(kinds), when, code, targets,
                     table, ignore)

    def _check_ignored(self, rule: MessageRule, kinds: list[str], loc: Loc) -> None:
        """An ignored code is neither in the table nor any spelling of an urgent type: a
        dialect may drop a camera's motion events, never an SOS."""
        assert rule.event is not None
        for code in rule.event.ignore:
            if code in rule.event.table:
                raise DialectError(f"{code!r} is both mapped and ignored",
                                   loc=(*loc, "event", "ignore"))
            for key in kinds:
                meant = urgent_type(self._catalogue.kinds[key], code)
                if meant is not None:
                    raise DialectError(
                        f"{code!r} reads as the urgent type {meant!r} of {key}: an urgent "
                        "event is never ignored", loc=(*loc, "event", "ignore"))

    def _model(self, kind: DeviceKind, channel: str) -> type[BaseModel]:
        base = {"telemetry": kind.telemetry, "status": Status, "cmd_ack": CommandAck}[channel]
        return with_extra(base)

    def _event_targets(self, kind: DeviceKind, rule: MessageRule,
                       fields: dict[str, tuple[FieldSpec, frozenset[str]]],
                       base: set[str], loc: Loc) -> dict[str, _Target]:
        assert rule.event is not None
        models = {m.model_fields["type"].default: m for m in kind.events}
        out: dict[str, _Target] = {}
        for code, word in rule.event.table.items():
            model = models.get(word)
            if model is None:
                raise DialectError(
                    f"{word!r} is not a {kind.key} event; its vocabulary is "
                    f"{list(kind.vocabulary())}", loc=(*loc, "event", "table", code))
            accepted = {n: f for n, f in fields.items() if n in model.model_fields}
            out[word] = _target(with_extra(model), accepted, base, loc)
        everywhere = set().union(*(set(m.model_fields) for m in kind.events))
        for name in fields:
            if name not in everywhere or name in ("type", "extra"):
                raise DialectError(f"no {kind.key} event has a field {name!r}",
                                   loc=(*loc, "fields", name))
        return out

    @staticmethod
    def _check_fields(model: type[BaseModel], fields: dict[str, Any], loc: Loc,
                      kind: DeviceKind) -> None:
        for name in fields:
            if name not in model.model_fields or name == "extra":
                known = [f for f in model.model_fields if f != "extra"]
                raise DialectError(f"{model.__name__} of {kind.key} has no field {name!r}; "
                                   f"it has {known}", loc=(*loc, "fields", name))

    # -- decoding ------------------------------------------------------------------------

    def decode(self, kind: DeviceKind, channel: Channel, payload: bytes) -> BaseModel:
        """A message on our own `scgw/v1/…/{channel}` topic (codec protocol)."""
        return self.decode_message(kind, payload, channel=channel)

    def decode_message(self, kind: DeviceKind, payload: bytes, *, channel: Channel | None,
                       topic: CompiledTopic | None = None, device_id: str | None = None,
                       received_at: float = 0.0) -> BaseModel:
        """Decode one message; `topic` is the vendor topic it came on (None: ours)."""
        return self.decode_routed(kind, payload, channel, topic, device_id, received_at)[1]

    def decode_routed(self, kind: DeviceKind, payload: bytes, channel: Channel | None,
                      topic: CompiledTopic | None, device_id: str | None,
                      received_at: float) -> tuple[Channel, BaseModel]:
        """(channel, payload) of one message: the decoder's per-message entry point."""
        if topic is None and channel in self._passthrough:
            return channel, self._json.decode(kind, channel, payload)
        rules = self._rules_for(kind, channel, topic)
        obj = self._object(payload, topic)
        if self._id_check is not None and device_id is not None:
            claimed = self._id_check(obj)
            if claimed is None or str(claimed) != device_id:
                raise PayloadError(
                    f"{self.dialect.device_id_check}={str(claimed)[:40]!r} is not the device "
                    f"{device_id!r} of the topic", reason="schema_invalid")
        rule = _first_matching(rules, obj)
        if rule is not None:
            return rule.channel, self._apply(rule, kind.key, obj, round(received_at * 1000))
        raise PayloadError(f"dialect {self.name}: no message rule matches this "
                           f"{channel or 'message'}", reason="schema_invalid")

    def _rules_for(self, kind: DeviceKind, channel: Channel | None,
                   topic: CompiledTopic | None) -> tuple[_Rule, ...]:
        topic_name = topic.name if topic is not None else None
        key = (topic_name, channel, kind.key)
        rules = self._candidates.get(key)
        if rules is None:
            if kind.key not in self.kinds:
                raise PayloadError(f"dialect {self.name} does not serve {kind.key} devices",
                                   reason="schema_invalid")
            rules = self._candidates[key] = tuple(
                r for r in self._rules if (r.topic is None or r.topic == topic_name)
                and (channel is None or r.channel == channel) and kind.key in r.kinds)
        return rules

    def _object(self, payload: bytes, topic: CompiledTopic | None) -> Any:
        if topic is None or not topic.text:
            try:
                obj = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                text, how = payload_text(payload)
                if how != GBK_NOTE:
                    raise PayloadError(f"malformed JSON: {exc}",
                                       reason="malformed_json") from exc
                try:  # old Chinese firmware's GBK text (vendor round 7)
                    obj = orjson.loads(text)
                except orjson.JSONDecodeError as again:
                    raise PayloadError(f"malformed JSON: {again}",
                                       reason="malformed_json") from again
            if type(obj) is not dict:
                raise PayloadError("payload must be a JSON object", reason="schema_invalid")
            return obj
        return self._parse(payload, topic)

    def urgent_as_contract(self, kind: DeviceKind, payload: bytes, channel: Channel | None,
                           topic: CompiledTopic | None, received_at: float,
                           ) -> tuple[bytes, list[str]] | None:
        """An urgent event this dialect could not decode, rewritten as our v1 JSON for
        `devices.salvage`: every field the mapping can read on its own, the vendor's event
        code matched without case. None when the payload names no urgent event of `kind`.

        A muted SOS is worse than a badly decorated one: a watch's `sn` as text, a time in
        another format, `"alarm": "sos"` in lower case each refused the whole alarm."""
        try:
            obj = self._object(payload, topic)
        except PayloadError:
            # Read as leniently as our own contract's urgent events: `NaN`, C's `nan`, a
            # 400-digit number (an HX band's SOS with `"hr": nan` was lost, red team).
            members = object_members(payload) if topic is None or not topic.text else None
            if members is None:
                return None
            obj = dict(members)
        try:
            rules = self._rules_for(kind, channel, topic)
        except PayloadError:
            return None
        repairs: list[str] = []
        rule = _first_matching(rules, obj)
        found = _urgent_code(rule, kind, obj) if rule is not None else None
        if found is None:
            # No rule's `when` fits (firmware v2 sends `cmd` where the dialect tests `Cmd`):
            # an event rule whose code still reads as an urgent type salvages it (vendor
            # round 3: a fall was lost as "no message rule matches").
            for other in rules:
                if other is not rule and (found := _urgent_code(other, kind, obj)) is not None:
                    rule = other
                    repairs.append(f"no message rule matched; read by the rule for "
                                   f"{found[1]!r} events")
                    break
        if found is None or rule is None:
            return None
        key, word = found
        if rule.table.get(key) != word:
            repairs.append(f"vendor event code {key[:40]!r} read as {word!r}")
        target: _Target = rule.targets[kind.key][word]
        out: dict[str, Any] = {}
        now_ms = round(received_at * 1000)
        for name, spec in target.fields.items():
            build = self._single.get((id(target), name))
            if build is None:
                build = self._single[(id(target), name)] = compile_fields({name: spec},
                                                                          target.loc)
            try:
                out.update(build(obj, now_ms))
            except PayloadError as exc:
                repairs.append(f"{name} dropped ({exc})")
        out["type"] = word
        return orjson.dumps(out, default=str), repairs

    @staticmethod
    def _parse(payload: bytes, topic: CompiledTopic | None) -> Any:
        # Plain text, or (newer firmware of the same vendor) a JSON object.
        if topic is not None and topic.text and payload.lstrip()[:1] != b"{":
            try:
                return {"text": payload.decode("utf-8").strip()}
            except UnicodeDecodeError as exc:
                raise PayloadError("payload is not UTF-8 text", reason="malformed_json") from exc
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"malformed JSON: {exc}", reason="malformed_json") from exc
        if type(obj) is not dict:
            raise PayloadError("payload must be a JSON object", reason="schema_invalid")
        return obj

    def _apply(self, rule: _Rule, kind: str, obj: dict[str, Any], now_ms: int) -> BaseModel:
        target = rule.targets[kind]
        word = None
        if rule.code is not None:
            key = _code_key(rule.code(obj))
            word = rule.table.get(key)
            if word is None and key in rule.ignore:
                raise IgnoredCodeError(f"vendor event code {key[:40]!r} is one dialect "
                                       f"{self.name} ignores", kind=kind)
            if word is None:
                raise PayloadError(f"vendor event code {key[:40]!r} is not in dialect "
                                   f"{self.name}'s table", reason="unknown_event_type")
            target = target[word]
        out = target.build(obj, now_ms)
        if word is not None:
            out["type"] = word
        consumed = target.consumed
        if ALL not in consumed:
            unmapped = obj.keys() - consumed  # a set operation in C: usually small
            if unmapped:
                if self._refuse_unmapped:
                    raise PayloadError(f"fields {sorted(unmapped)[:8]} are not in dialect "
                                       f"{self.name} (unmapped: refuse)", reason="schema_invalid")
                out["extra"] = {k: obj[k] for k in unmapped}
        if no_fix(out.get("location")):
            # A watch's 0, 0 without satellites is no position, not a reading to refuse:
            # refused, the reading lost its steps, battery and heart rate (vendor round 3).
            del out["location"]
        try:
            return target.validate(out)
        except ValidationError as exc:
            raise classify(exc) from exc


def _target(model: type[BaseModel], fields: dict[str, tuple[FieldSpec, frozenset[str]]],
            base: set[str], loc: Loc) -> _Target:
    consumed = set(base)
    for _, used in fields.values():
        consumed |= used
    specs = {n: spec for n, (spec, _) in fields.items()}
    build = compile_fields(specs, loc)
    return _Target(model, build, frozenset(consumed), model.__pydantic_validator__.validate_python,
                   specs, loc)


def _urgent_code(rule: _Rule, kind: DeviceKind, obj: Any) -> tuple[str, str] | None:
    """(the vendor's code, the urgent type it names) when `rule` is an event rule whose code
    in `obj` names one of the kind's urgent types — by the dialect's table, that table without
    case, or as our contract reads urgent words (any spelling, the kind's aliases)."""
    if rule.channel != "event" or rule.code is None or kind.key not in rule.targets:
        return None
    try:
        key = _code_key(rule.code(obj))
    except (PayloadError, KeyError, TypeError, IndexError):
        return None
    word = rule.table.get(key)
    if word is None:
        folded = urgent_word(key)
        word = next((w for c, w in rule.table.items() if urgent_word(c) == folded),
                    urgent_type(kind, key))
    if word not in kind.urgent or word not in rule.targets[kind.key]:
        return None
    return key, word


def _first_matching(rules: tuple[_Rule, ...], obj: Any) -> _Rule | None:
    """The first rule whose `when` holds (rules are tried in the dialect's order)."""
    return next((r for r in rules if r.when is None or r.when(obj)), None)


def _code_key(code: Any) -> str:
    """A vendor event code as the dialect's table keys it (`true`/`false` for booleans)."""
    return ("true" if code else "false") if type(code) is bool else str(code)
