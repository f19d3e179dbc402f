"""Repairs of a reading or event that has one plain reading in another form: `"zone": 2` for
`"2"`, `"floor": "12F"` for 12, `"confidence": 95` for 0.95, `"heart_rate_bpm": "71"`.

A refused message loses everything in it — a refused `fire_lane_cleared` kept a lane blocked,
a refused heartbeat showed a pole offline (vendor rounds 3 and 4) — so a value whose meaning
is not in doubt is read in the form the contract asks for, and every such repair is named to
the vendor (`…/errors`, `"salvaged": true`) so the firmware can still be fixed. Unknown
fields stay refused: a typo must not vanish silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any, get_args

import orjson
from pydantic import BaseModel, ValidationError

from devices.base import DeviceKind, Location, no_fix
from devices.codec import Members, object_members, payload_text, utf16_codec
from devices.extremes import at_bound
from devices.fix_repair import datum_problem, in_wgs84, positioning, real_radius
from devices.repair_words import PERSONAL, SAME_AS, VALUE_WORDS
from devices.timestamps import usable_ts
from devices.words import budgeted, own_type, urgent_type, urgent_word

# What firmware puts in a reading for "not measured": a band that measures SpO2 or blood
# pressure every few hours sends 0 in between, a step counter not started sends -1 (vendor
# round 3: each such reading was refused whole, its position and `worn` flag with it).
_NOT_MEASURED: tuple[object, ...] = (0, -1)
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)$")
# "12F", "12/F", "F12", "12层", "12楼", "B2" (basement 2 is floor -2).
_FLOOR = re.compile(
    r"^(?:(?P<b>[Bb-])\s*)?(?:[Ff]\s*)?(?P<n>\d{1,3})\s*(?:/?[Ff]|层|楼|th|st|nd|rd)?$")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
# A date as Chinese firmware writes it: 2030/05/01, 2030.5.1, 2030年5月1日, 20300501; and a
# label with the month only (2030-05, 2030年5月), which means to the month's end.
_DATE = re.compile(r"^(\d{4})(?:[-/.年]\s*(\d{1,2})(?:[-/.月]\s*(\d{1,2})日?|月)?|(\d{2})(\d{2}))$")
_NESTED_KEYS_MAX = 64  # a list item or object with more keys than this is not repaired
# Repairs cost validations: a message larger than this, or a list longer, is not repaired
# (red team round 5 re-check: 64 KB camera events cost 147 ms each, and an SOS waited 13 s).
REPAIR_MAX_BYTES = 16_384
_ITEMS_MAX = 64


def field_problem(model: type[BaseModel], fields: dict[str, Any], name: str) -> str | None:
    """Why field `name` makes `fields` an invalid `model`, or None (errors of other fields,
    a required one still missing say, are not its problem)."""
    try:
        model.model_validate_json(orjson.dumps(fields))
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            if error["loc"] and error["loc"][0] == name:
                return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
    except orjson.JSONEncodeError as exc:  # integers past 64 bits
        return str(exc)
    return None


def read_object(payload: bytes) -> tuple[Members, list[str]] | None:
    """The top-level members of a JSON object, read leniently (a byte-order mark, bytes
    that are not UTF-8, `NaN`), with what was forgiven; None when it is no JSON object."""
    repairs: list[str] = []
    if payload.startswith(b"\xef\xbb\xbf"):
        payload = payload[3:]
        repairs.append("byte-order mark ignored")
    if payload.endswith(b"\x00") and utf16_codec(payload) is None:  # a C string's terminator
        payload = payload.rstrip(b"\x00")
        repairs.append("trailing NUL bytes ignored")
    text, how = payload_text(payload)
    if how is not None:
        repairs.append(how)
    members = object_members(text)
    if members is None and text.lstrip().startswith('"'):
        # The whole object sent as a JSON string (a cloud rule engine that stringified the
        # device's JSON: red team round 8, an SOS refused).
        try:
            inner = orjson.loads(text)
        except orjson.JSONDecodeError:
            inner = None
        if isinstance(inner, str) and inner.lstrip().startswith("{"):
            members = object_members(inner)
            if members is not None:
                repairs.append("the object was sent as a JSON string: read inside it")
    return (members, repairs) if members is not None else None


def coerced(model: type[BaseModel], fields: dict[str, Any], name: str,
            value: Any) -> tuple[Any, str] | None:
    """`value` in the form field `name` of `model` takes beside `fields`, and the repair's
    text, when it has one plain reading in that form; None otherwise."""
    for candidate, how in _candidates(model, name, value):
        if field_problem(model, {**fields, name: candidate}, name) is None:
            return candidate, how
    return None


def _candidates(model: type[BaseModel], name: str,
                value: Any) -> Iterator[tuple[Any, str]]:
    shown = f"{name[:40]} {str(value)[:40]!r}"
    if name == "confidence" and type(value) in (int, float) and 1 < value <= 100:
        # A percentage where a fraction is due: dropped, it stood in as 0.0 — "certainly
        # not an object" on a falling object (vendor round 2).
        yield round(value / 100, 4), f"confidence {value} read as a percentage"
    if type(value) is int:
        # Controllers number their doors, zones and compartments: door 2 is door "2".
        yield str(value), f"{name[:40]} {value} read as text"
        if value in (0, 1):
            yield bool(value), f"{shown} read as {str(bool(value)).lower()}"
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.match(text):
            yield (float(text) if "." in text else int(text)), f"{shown} read as a number"
        floor = _FLOOR.match(text) if name == "floor" else None
        if floor is not None:
            number = int(floor["n"]) * (-1 if floor["b"] else 1)
            yield number, f"{shown} read as floor {number}"
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            yield lowered in _TRUE, f"{shown} read as {str(lowered in _TRUE).lower()}"
        if lowered != value:
            yield lowered, f"{shown} read as {lowered!r}"
        word = VALUE_WORDS.get(urgent_word(text)) or (
            positioning(text) if name == "source" else None)
        if word is not None:
            yield word, f"{shown} read as {word!r}"
        day = _as_date(text)
        if day is not None:
            yield day, f"{shown} read as {day}"
    inner = _inner_model(model, name)
    if inner is not None and isinstance(value, dict):
        fixed = _repaired_object(inner, value, name)
        if fixed is not None:
            yield fixed
    if inner is not None and isinstance(value, list) and 0 < len(value) <= _ITEMS_MAX \
            and all(isinstance(item, dict) for item in value):
        items = [_repaired_object(inner, item, name) for item in value]
        if all(item is not None for item in items):
            notes = sorted({note for _, note in items if note})  # type: ignore[misc]
            yield [item for item, _ in items], "; ".join(notes)  # type: ignore[misc]
    # Past its range the way its field declares dangerous: the alarm, kept at the bound
    # (devices/extremes.py; red team round 12: a pile at 250 °C was refused, 110 °C paged).
    kept = at_bound(model, name, value)
    if kept is not None:
        yield kept


def _named_as_ours(fields: dict[str, Any], obj: dict[str, Any]
                   ) -> tuple[dict[str, Any], list[str]]:
    """`obj` with each field under another name (SAME_AS) under ours, where the model has
    ours and `obj` does not already, and the names so taken."""
    same: dict[str, str] = {}
    for key in obj:
        ours = SAME_AS.get(key)
        if key not in fields and ours in fields and ours not in obj \
                and ours not in same.values():  # the first of two other names takes it
            same[key] = ours
    if not same:
        return obj, []
    return {same.get(key, key): value for key, value in obj.items()}, list(same.values())


def _as_date(text: str) -> str | None:
    """`text` as YYYY-MM-DD when it is a date in another common spelling; None otherwise."""
    found = _DATE.match(text)
    if found is None:
        return None
    year, month, day, compact_month, compact_day = found.groups()
    month = month or compact_month
    if month is None:
        return None
    try:
        if day is None and compact_day is None:  # to the month's end
            first_next = date(int(year) + int(month) // 12, int(month) % 12 + 1, 1)
            return (first_next - timedelta(days=1)).isoformat()
        return date(int(year), int(month), int(day or compact_day)).isoformat()
    except ValueError:
        return None


def _repaired_object(model: type[BaseModel], obj: dict[str, Any],
                     where: str) -> tuple[dict[str, Any], str] | None:
    """A nested object (a location, a track point) with its fields repaired and the keys its
    model does not know left out (a track point's `w`, `h`); None when that does not make it
    valid."""
    if len(obj) > _NESTED_KEYS_MAX:
        return None
    notes: list[str] = []
    if model is Location:
        obj = in_wgs84(obj, where, notes)
        if obj is None:
            return None
    fixed: dict[str, Any] = {}
    fields = model.model_fields
    obj, renamed = _named_as_ours(fields, obj)  # a socket's `temp` is its `temperature_c`
    notes.extend(f"{where}.{name} read from its other name" for name in renamed)
    unknown = [key for key in obj if key not in fields]
    for key, value in obj.items():
        if key in unknown:
            continue
        if field_problem(model, {key: value}, key) is not None:
            found = coerced(model, {}, key, value)
            if found is None and not fields[key].is_required():
                # A label nothing reads (a fix's `source: "mixed"`) goes, not the position.
                notes.append(f"{where}.{key} {str(value)[:40]!r} not read: left out")
                continue
            if found is None:
                return None
            value = found[0]
            notes.append(f"{where}.{found[1]}")
        fixed[key] = value
    if unknown:
        notes.append(f"{where}: {', '.join(k[:20] for k in unknown[:8])} ignored")
    if model is Location:
        real_radius(fixed, where, notes)
    try:
        model.model_validate_json(orjson.dumps(fixed))
    except (ValidationError, orjson.JSONEncodeError):
        return None
    return fixed, "; ".join(dict.fromkeys(notes))


def ts_valid(model: type[BaseModel], base: dict[str, Any]) -> Callable[[object], bool]:
    """Whether a `ts` is valid for `model` beside the `type` already read."""
    fields = {"type": base["type"]} if "type" in base else {}
    return lambda ts: field_problem(model, {**fields, "ts": ts}, "ts") is None


def _optional_date(model: type[BaseModel], name: str) -> bool:
    """Whether field `name` is a date the model can do without."""
    info = model.model_fields[name]
    # (`Annotated[date, …]`: a date read through a validator of its own.)
    kinds = [get_args(a)[0] if get_args(a) and a is not date else a
             for a in get_args(info.annotation)]
    return not info.is_required() and date in kinds


def _inner_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model a field nests (`Location`, the items of `list[TrackPoint]`), or None."""
    info = model.model_fields.get(name)
    stack = [info.annotation] if info is not None else []
    while stack:
        annotation = stack.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
        stack.extend(get_args(annotation))
    return None


@budgeted
def _drop_personal(fields: dict[str, Any], obj: dict[str, Any], repairs: list[str]) -> None:
    """Leave out who a person is (a name, an ID number, a phone) where the model has no
    such field."""
    for name in [n for n in obj if n not in fields and urgent_word(n) in PERSONAL]:
        del obj[name]
        repairs.append(f"{name[:40]} left out (personal data the gateway does not keep)")


def repaired(kind: DeviceKind, channel: str, payload: bytes,
             received_at: float | None = None) -> tuple[bytes, list[str]] | None:
    """The reading or event with its plain repairs made — a kind's word in another case or
    spelling (`FIRE_LANE_CLEARED`), "not measured" placeholders left out, values in another
    form read in ours — and what was repaired; None when nothing could be repaired or the
    result is still refused (then the message is refused as it came)."""
    if len(payload) > REPAIR_MAX_BYTES:
        return None
    read = read_object(payload)
    if read is None:
        return None
    pairs, repairs = read
    obj: dict[str, Any] = {}
    if channel == "event":
        model = _event_model(kind, pairs, obj, repairs)
        if model is None:
            return None
    elif channel == "telemetry":
        model = kind.telemetry
        obj.update(pairs)
        _drop_placeholders(model, obj, repairs)
        _drop_quiet_flags(kind, model, obj, repairs)
    else:
        return None
    fields = model.model_fields  # a class property pydantic rebuilds on every access
    _drop_personal(fields, obj, repairs)
    if model.model_config.get("extra") == "forbid" and any(
            name not in fields and SAME_AS.get(name) not in fields for name in obj):
        return None  # a key no repair takes away: refused as it came, with no more work
    if channel == "event" and received_at is not None \
            and field_problem(model, {"type": obj.get("type"), "ts": obj.get("ts")}, "ts"):
        # An event from a clock never set (epoch seconds, no offset, no `ts`) is news all the
        # same: a leak from such a device was refused, and three made a "device fault" at a
        # lone elder's home (vendor round 10). As urgent events' salvage does.
        obj["ts"], _ = usable_ts(obj.get("ts"), received_at, repairs, ts_valid(model, obj))
    base = {key: obj[key] for key in ("ts", "type") if key in obj}
    named, renamed = _named_as_ours(fields, obj)
    if renamed:
        obj.clear()
        obj.update(named)
        repairs.extend(f"{name} read from its other name" for name in renamed)
    for name, value in list(obj.items()):
        if name in ("ts", "type", "seq") or name not in fields \
                or field_problem(model, {**base, name: value}, name) is None:
            continue
        found = coerced(model, base, name, value)
        if found is not None:
            obj[name] = found[0]
            repairs.append(found[1])
        elif _inner_model(model, name) is Location and not fields[name].is_required():
            # A fix nothing places (a datum nothing converts) goes, not the reading.
            problem = datum_problem(value) or field_problem(model, {**base, name: value}, name)
            del obj[name]
            repairs.append(f"{name} dropped ({problem})")
        elif _optional_date(model, name):
            # An impossible expiry (an unset clock's 0001-01-01) loses the date, not the
            # pressure and bracket readings beside it (red team round 4 re-check).
            problem = field_problem(model, {**base, name: value}, name)
            del obj[name]
            repairs.append(f"{name} dropped ({problem})")
    try:
        encoded = orjson.dumps(obj)
        model.model_validate_json(encoded)
    except (ValidationError, orjson.JSONEncodeError):
        return None
    return (encoded, repairs) if repairs else None


def _event_model(kind: DeviceKind, pairs: Members, obj: dict[str, Any],
                 repairs: list[str]) -> type[BaseModel] | None:
    """Fill `obj` from `pairs` with `type` as the kind's own word when it was one in another
    case or spelling (`fireLaneCleared`: a refused clear left a lane blocked, vendor round
    4), and return that event's model; None when the type is none of the kind's words."""
    words = {urgent_word(w): w for w in kind.vocabulary()}
    words.update((urgent_word(other), word) for other, word in kind.other_words)
    said = None
    for key, value in pairs:
        if key == "type" and isinstance(value, str) and said is None:
            said = value
            value = words.get(urgent_word(value)) or own_type(kind, value) or value
        obj.setdefault(key, value)
    if said is None:
        return None
    if obj["type"] != said:
        repairs.append(f"type {said[:40]!r} read as {obj['type']!r}")
    return next((m for m in kind.events if m.model_fields["type"].default == obj["type"]), None)


# Fields firmware uses to flag an alarm in a reading (compared as urgent words are), besides
# a field named after the alarm itself (`"sos": true`). Set, it is the alarm (gateway/
# urgent_salvage.py reads it first); saying "no alarm" (`"alarm": false`, `"0"`, `"normal"`),
# it is nothing to read and no reason to refuse the report (vendor round 5 re-check: the
# device never showed online).
ALARM_KEYS = frozenset(urgent_word(k) for k in (
    "alarm", "alert", "event", "event_type", "alarm_type", "warning", "status", "alarms",
    "alerts", "events", "alarm_code", "alarm_name", "event_code", "event_name",
    "alarm_status", "alarm_state", "alarm_flag"))
_QUIET = frozenset(("false", "0", "normal", "none", "ok", "no", "off", "clear", "cleared",
                    "正常", "无"))


def is_quiet(value: object) -> bool:
    """A flag that says there is no alarm: false, 0, "0", "normal", "正常" …"""
    return value is False or value is None or (type(value) in (int, float) and value == 0) or (
        isinstance(value, str) and value.strip().lower() in _QUIET)


_QUIET_KEYS_MAX = 64
# Repairs named one by one; past this, one line says how many more.
_REPAIRS_LISTED = 8


def _drop_quiet_flags(kind: DeviceKind, model: type[BaseModel], obj: dict[str, Any],
                      repairs: list[str]) -> None:
    """Leave out alarm flags that say there is no alarm."""
    # Its first keys (red team round 7 re-check: 400 readings of made-up keys valued false,
    # each key searched for an urgent word, held another family's SOS 16 s).
    fields = model.model_fields
    for name in [k for k in obj if k not in fields][:_QUIET_KEYS_MAX]:
        value = obj[name]
        if is_quiet(value) and (urgent_word(name) in ALARM_KEYS
                                or urgent_type(kind, name) is not None):
            del obj[name]
            repairs.append(f"{name[:40]} {str(value)[:20]!r} read as no alarm")


def _drop_placeholders(model: type[BaseModel], obj: dict[str, Any], repairs: list[str]) -> None:
    """Leave out a reading's "not measured" placeholders: fields valued 0 or -1 that its
    model refuses (a vital of 0, a blood-pressure pair 0/0), and a GPS's no-fix 0, 0."""
    # A key the model does not have is refused whatever its value where the model forbids
    # others: no validation needed to know it. Validating each cost 10-15 µs, and a 16 KiB
    # reading of 2,000 keys valued 0 held the single writer 20-30 ms (red team round 8).
    foreign = model.model_config.get("extra") == "forbid"
    fields = model.model_fields
    dropped = [name for name, value in obj.items()
               if name not in ("ts", "seq") and type(value) in (int, float)
               and value in _NOT_MEASURED
               and (foreign if name not in fields
                    else field_problem(model, {"ts": obj.get("ts"), name: value}, name))]
    for name in dropped[:_REPAIRS_LISTED]:
        repairs.append(f"{name} {obj.pop(name)!r} read as not measured")
    if len(dropped) > _REPAIRS_LISTED:
        for name in dropped[_REPAIRS_LISTED:]:
            del obj[name]
        repairs.append(f"and {len(dropped) - _REPAIRS_LISTED} more fields valued 0 or -1 "
                       "read as not measured")
    if no_fix(obj.get("location")):
        del obj["location"]  # a GPS without satellites: no position, the rest kept
        repairs.append("location lat 0, lon 0 read as no fix (leave `location` out)")
