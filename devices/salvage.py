"""Salvaging an urgent event whose payload breaks the contract, so the emergency still pages.

An SOS with a malformed optional field (a location without `accuracy_m`, a `battery_pct` the
event does not carry), a timestamp in epoch seconds or without an offset, or `"type": "SOS"`
in capitals is still someone pressing the button. Refusing it whole would mute the
emergency for a mistake in its decoration. What can be read is kept: the type, the time
when it is usable (otherwise the gateway's receipt time), the `seq`, and every other field
that is valid on its own; each repair is named, for the operator and the vendor.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from devices.base import CommandAck, DeviceKind, Event, no_fix, urgent_type, urgent_word
from devices.codec import Members, object_members

# Epoch seconds between 2000 and 2200: the commonest unit mistake for `ts`.
_MIN_EPOCH_S = 946_684_800
_MAX_EPOCH_S = 7_258_118_400
# Values tried, in order, for a required field that is missing or unusable (a fence
# intrusion's zone, a falling object's confidence): the event still pages, named as repaired.
_PLACEHOLDERS: tuple[object, ...] = ("unknown", 0.0, 0, False)


@dataclass(frozen=True)
class Salvaged:
    """The urgent event that could be read, and what was dropped or replaced to read it."""

    event: Event
    repairs: tuple[str, ...]
    ts_from_receipt: bool = False  # the device's ts was unusable: the time of receipt stands in


def salvage_urgent(kind: DeviceKind, payload: bytes, received_at: float,
                   prior: Sequence[str] = ()) -> Salvaged | None:
    """The kind's urgent event in `payload` with its faults repaired, or None when the
    payload is not a JSON object naming one of the kind's urgent types. `prior`: repairs
    made before (a dialect's fields that could not be mapped)."""
    read = _read_object(payload)
    if read is None:
        return None
    pairs, read_repairs = read
    repairs = [*prior, *read_repairs]
    # Keys in any case (`Type`, `TS`): the first `type` naming an urgent event wins, so two
    # `type` keys (a template's default left in) cannot turn an SOS into a `worn`.
    said_types = [v for k, v in pairs if k.strip().lower() == "type" and isinstance(v, str)]
    urgent = [(t, w) for t in said_types if (w := urgent_type(kind, t)) is not None]
    if not urgent:
        return None
    said, word = urgent[0]
    model = next((m for m in kind.events if m.model_fields["type"].default == word), None)
    if model is None:
        return None
    if len(said_types) > 1:
        repairs.append(f"type given {len(said_types)} times; {word!r} kept")
    obj = _named_as_model(pairs, model, repairs)
    if said != word:
        repairs.append(f"type {said[:40]!r} read as {word!r}")
    ts, from_receipt = _usable_ts(model, {"type": word}, obj.get("ts"), received_at, repairs)
    fields: dict[str, Any] = {"type": word, "ts": ts}
    unknown: list[str] = []
    for name, value in obj.items():
        if name in ("type", "ts"):
            continue
        if name not in model.model_fields:
            # Not validated one by one: a payload of thousands of junk keys must not cost
            # the writer a validation each.
            unknown.append(name)
            continue
        if name == "confidence" and type(value) in (int, float) and 1 < value <= 100:
            # A percentage where a fraction is due: dropped, it stood in as 0.0 — "certainly
            # not an object" on a falling object (vendor round 2).
            repairs.append(f"confidence {value} read as a percentage")
            value = round(value / 100, 4)
        problem = _problem(model, {**fields, name: value}, name)
        if problem is not None and type(value) is int \
                and _problem(model, {**fields, name: str(value)}, name) is None:
            # Controllers number their doors and zones: door 2 is door "2" (vendor round 4:
            # dropped, it fell back to the default "main" and the guards went there).
            repairs.append(f"{name[:40]} {value} read as text")
            value, problem = str(value), None
        if problem is None:
            fields[name] = value
            continue
        default = model.model_fields[name].default
        if isinstance(default, str) and default and \
                _problem(model, {**fields, name: "unknown"}, name) is None:
            # A value the device sent but we cannot read is not the default (a door dropped
            # became "main": it looked like data).
            fields[name] = "unknown"
            repairs.append(f"{name[:40]} unreadable, 'unknown' put in its place ({problem})")
        else:
            repairs.append(f"{name[:40]} dropped ({problem})")
    if unknown:
        what = "a field" if len(unknown) == 1 else "fields"
        repairs.append(f"{_listed(unknown)} dropped (not {what} of {word})")
    for name, info in model.model_fields.items():
        if info.is_required() and name not in fields:
            for placeholder in _PLACEHOLDERS:
                if _problem(model, {**fields, name: placeholder}, name) is None:
                    fields[name] = placeholder
                    repairs.append(f"{name} missing: {placeholder!r} put in its place")
                    break
    try:
        event = model.model_validate_json(orjson.dumps(fields))
    except (ValidationError, orjson.JSONEncodeError):
        return None
    return Salvaged(event, tuple(repairs), from_receipt)


# `"type": "sos"` as the first type a payload names, read off its bytes: quotes single or
# double, the key quoted or not (hand-written JSON, a buffer cut short).
_TYPE_WORD = re.compile(rb"""["']?type["']?\s*:\s*["']\s*([^"'\\]{1,40}?)\s*["']""",
                        re.IGNORECASE)


def salvage_unreadable(kind: DeviceKind, payload: bytes, received_at: float) -> Salvaged | None:
    """The last resort for an urgent event that is not even a JSON object any reader takes
    (a trailing comma, single quotes, a buffer cut off, two objects in one publish): when
    the first `type` it names is one of the kind's urgent types, that event at the time of
    receipt and nothing else — someone pressed the button, and the rest cannot be trusted."""
    found = _TYPE_WORD.search(payload[:4096])
    if found is None:
        return None
    said = found.group(1).decode("utf-8", errors="replace")
    word = urgent_type(kind, said)
    if word is None:
        return None
    minimal = orjson.dumps({"type": word})
    return salvage_urgent(kind, minimal, received_at, prior=[
        f"payload unreadable as a JSON object: only its type {said[:40]!r} was read"])


def salvage_ack(payload: bytes, received_at: float) -> tuple[CommandAck, list[str]] | None:
    """A command ack whose `id` and `ok` are readable, its other faults repaired (a `ts` in
    epoch seconds or without an offset, a `result` that is not JSON-able): the command was
    carried out, and refusing the ack turned it into a `timeout` an operator would retry —
    opening a compartment twice. None when `id` or `ok` cannot be read."""
    read = _read_object(payload)
    if read is None:
        return None
    pairs, repairs = read
    obj = _named_as_model(pairs, CommandAck, repairs)
    ok = _ack_ok(obj, repairs)
    if ok is None or _problem(CommandAck, {"id": obj.get("id"), "ok": ok}, "id") is not None:
        return None
    obj.pop("code", None)
    fields: dict[str, Any] = {"id": obj["id"], "ok": ok}
    fields["ts"], _ = _usable_ts(CommandAck, fields, obj.get("ts"), received_at, repairs)
    for name, value in obj.items():
        if name in fields:
            continue
        if name not in CommandAck.model_fields:
            repairs.append(f"{name[:40]} dropped (not a field of a command ack)")
            continue
        problem = _problem(CommandAck, {**fields, name: value}, name)
        if problem is None:
            fields[name] = value
        else:
            repairs.append(f"{name[:40]} dropped ({problem})")
    try:
        return CommandAck.model_validate_json(orjson.dumps(fields)), repairs
    except (ValidationError, orjson.JSONEncodeError):
        return None


def _ack_ok(obj: dict[str, Any], repairs: list[str]) -> bool | None:
    """Whether an ack says the command was carried out: `ok` as a boolean, or as firmware
    writes it (`1`/`0`, `"true"`, `"success"`), or a result `code` of 0 (vendor round 4:
    each such ack ended as a timeout, and the operator retried an unlock)."""
    ok = obj.get("ok")
    if type(ok) is bool:
        return ok
    read: bool | None = None
    if type(ok) is int and ok in (0, 1):
        read = ok == 1
    elif isinstance(ok, str) and ok.strip().lower() in _OK_WORDS:
        read = _OK_WORDS[ok.strip().lower()]
    elif ok is None and type(obj.get("code")) is int:
        read = obj["code"] == 0
        repairs.append(f"code {obj['code']} read as ok={read}")
        return read
    if read is not None:
        repairs.append(f"ok {str(ok)[:20]!r} read as {read}")
    return read


_OK_WORDS = {"true": True, "false": False, "ok": True, "success": True, "succeeded": True,
             "fail": False, "failed": False, "error": False, "1": True, "0": False}


def trim_to_fit(payload: bytes, limit: int) -> tuple[bytes, list[str]] | None:
    """An event over the size limit with its largest fields dropped until it fits (a camera's
    snapshot and long track), and what was dropped; None when it is no JSON object or cannot
    be made to fit. For urgent events only: the alarm matters more than its attachments."""
    read = _read_object(payload)
    if read is None:
        return None
    obj = dict(read[0])
    try:
        # Each member's encoded size once (`"key":value`), the object's by subtraction:
        # re-encoding after each drop cost 14 s for 40,000 tiny members (red team round 3).
        member = {k: len(orjson.dumps(k)) + 1 + len(orjson.dumps(v)) for k, v in obj.items()}
        total = 2 + sum(member.values()) + max(len(member) - 1, 0)
        sizes = sorted(((size, k) for k, size in member.items()
                        if k.strip().lower() not in ("type", "ts", "seq")), reverse=True)
        dropped: list[tuple[str, int]] = []
        for size, name in sizes:
            if total <= limit:
                break
            del obj[name]
            total -= size + 1
            dropped.append((name, size))
        encoded = orjson.dumps(obj)
    except orjson.JSONEncodeError:  # lone surrogates, integers past 64 bits
        return None
    if len(encoded) > limit:
        return None
    said = [f"{name[:40]} dropped ({size} bytes)" for name, size in dropped[:_LISTED_MAX]]
    if len(dropped) > _LISTED_MAX:
        rest = dropped[_LISTED_MAX:]
        said.append(f"and {len(rest)} more fields dropped ({sum(n for _, n in rest)} bytes)")
    return encoded, said


# Names listed in a repair before the rest are only counted (a payload of thousands of junk
# keys must not make a detail text of thousands of names).
_LISTED_MAX = 10


def _listed(names: Sequence[str]) -> str:
    """Names for a repair's text: the first few, then how many more."""
    shown = ", ".join(name[:40] for name in names[:_LISTED_MAX])
    return shown if len(names) <= _LISTED_MAX else f"{shown} and {len(names) - _LISTED_MAX} more"


def _read_object(payload: bytes) -> tuple[Members, list[str]] | None:
    """The top-level members of a JSON object, read leniently (a byte-order mark, bytes
    that are not UTF-8, `NaN`), with what was forgiven; None when it is no JSON object."""
    repairs: list[str] = []
    if payload.startswith(b"\xef\xbb\xbf"):
        payload = payload[3:]
        repairs.append("byte-order mark ignored")
    if payload.endswith(b"\x00"):  # C firmware sending its string's terminator
        payload = payload.rstrip(b"\x00")
        repairs.append("trailing NUL bytes ignored")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload.decode("utf-8", errors="replace")
        repairs.append("bytes that are not UTF-8 (GBK text?) replaced")
    members = object_members(text)
    return (members, repairs) if members is not None else None


def _named_as_model(pairs: Members, model: type[BaseModel], repairs: list[str]
                    ) -> dict[str, Any]:
    """The members by the model's field names: `Ts` or `SEQ` read as `ts`, `seq`."""
    fields = {name.lower(): name for name in model.model_fields}
    obj: dict[str, Any] = {}
    for key, value in pairs:
        name = key if key in model.model_fields else fields.get(key.strip().lower(), key)
        if name != key:
            repairs.append(f"key {key[:40]!r} read as {name!r}")
        obj[name] = value
    return obj


def _usable_ts(model: type[BaseModel], base: dict[str, Any], ts: object, received_at: float,
               repairs: list[str]) -> tuple[Any, bool]:
    """(ts, whether it is the time of receipt): the device's `ts` when valid beside `base`
    (the fields already read); read as epoch seconds when it plainly is; else the time of
    receipt."""
    if ts is not None and _problem(model, {**base, "ts": ts}, "ts") is None:
        return ts, False
    number = type(ts) in (int, float) and math.isfinite(ts)  # type: ignore[arg-type]
    if number and _MIN_EPOCH_S <= ts <= _MAX_EPOCH_S:  # type: ignore[operator]
        repairs.append("ts read as epoch seconds")
        return round(ts * 1000), False  # type: ignore[operator]
    repairs.append("ts unusable: the gateway's time of receipt used instead")
    return round(received_at * 1000), True


def _problem(model: type[BaseModel], fields: dict[str, Any], name: str) -> str | None:
    """Why field `name` makes `fields` an invalid event of `model`, or None (errors of other
    fields, a required one still missing say, are not its problem)."""
    try:
        model.model_validate_json(orjson.dumps(fields))
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            if error["loc"] and error["loc"][0] == name:
                return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
    except orjson.JSONEncodeError as exc:  # integers past 64 bits
        return str(exc)
    return None


# What firmware puts in a reading for "not measured": a band that measures SpO2 or blood
# pressure every few hours sends 0 in between, a step counter not started sends -1 (vendor
# round 3: each such reading was refused whole, its position and `worn` flag with it).
_NOT_MEASURED: tuple[object, ...] = (0, -1)


def without_placeholders(kind: DeviceKind, payload: bytes) -> tuple[bytes, list[str]] | None:
    """A reading with its "not measured" placeholders left out — fields valued 0 or -1 that
    its model refuses (a vital of 0, a blood-pressure pair 0/0) — and what was left out; None
    when it has none, or is still refused without them (then it is refused as it came)."""
    members = object_members(payload)
    if members is None:
        return None
    obj = dict(members)
    dropped = [name for name, value in obj.items()
               if name not in ("ts", "seq") and type(value) in (int, float)
               and value in _NOT_MEASURED
               and _problem(kind.telemetry, {"ts": obj.get("ts"), name: value}, name)]
    if no_fix(obj.get("location")):
        dropped.append("location")  # a GPS without satellites: no position, the rest kept
    if not dropped:
        return None
    pairs = {"systolic_mmhg": "diastolic_mmhg", "diastolic_mmhg": "systolic_mmhg"}
    dropped += [pairs[n] for n in dropped if n in pairs and pairs[n] in obj
                and pairs[n] not in dropped]
    kept = {k: v for k, v in obj.items() if k not in dropped}
    try:
        encoded = orjson.dumps(kept)
        kind.telemetry.model_validate_json(encoded)
    except (ValidationError, orjson.JSONEncodeError):
        return None
    return encoded, [f"{name} {obj[name]!r} read as not measured" if name != "location" else
                     "location lat 0, lon 0 read as no fix (leave `location` out)"
                     for name in dropped]


def respelled_type(kind: DeviceKind, payload: bytes) -> tuple[bytes, list[str]] | None:
    """The event with its `type` as the kind's own word when it was one in another case or
    spelling (`FIRE_LANE_CLEARED`, `fireLaneCleared`), and the repair; None otherwise."""
    read = _read_object(payload)
    if read is None:
        return None
    pairs, repairs = read
    words = {urgent_word(w): w for w in kind.vocabulary()}
    obj: dict[str, Any] = {}
    said = None
    for key, value in pairs:
        if key == "type" and isinstance(value, str) and said is None:
            said = value
            value = words.get(urgent_word(value), value)
        obj.setdefault(key, value)
    if said is None or obj["type"] == said:
        return None
    try:
        return orjson.dumps(obj), [*repairs, f"type {said[:40]!r} read as {obj['type']!r}"]
    except orjson.JSONEncodeError:
        return None
