"""Salvaging an urgent event whose payload breaks the contract, so the emergency still pages.

An SOS with a malformed optional field (a location without `accuracy_m`, a `battery_pct` the
event does not carry), a timestamp in epoch seconds or without an offset, or `"type": "SOS"`
in capitals is still someone pressing the button. Refusing it whole would mute the
emergency for a mistake in its decoration. What can be read is kept: the type, the time
when it is usable (otherwise the gateway's receipt time), the `seq`, and every other field
that is valid on its own; each repair is named, for the operator and the vendor.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from devices.alarm_words import urgent_named
from devices.base import CommandAck, DeviceKind, Event
from devices.codec import Members
from devices.repair import SAME_AS, coerced, field_problem, read_object, ts_valid
from devices.timestamps import usable_ts

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
    read = read_object(payload)
    if read is None:
        return None
    pairs, read_repairs = read
    repairs = [*prior, *read_repairs]
    # Keys in any case (`Type`, `TS`): the first `type` naming an urgent event wins, so two
    # `type` keys (a template's default left in) cannot turn an SOS into a `worn`.
    said_types = [v for k, v in pairs if k.strip().lower() == "type" and isinstance(v, str)]
    urgent = [(t, w) for t in said_types if (w := urgent_named(kind, t)) is not None]
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
    ts, from_receipt = usable_ts(obj.get("ts"), received_at, repairs,
                                 ts_valid(model, {"type": word}))
    fields: dict[str, Any] = {"type": word, "ts": ts}
    level = _level_said(said) if "level" in model.model_fields and "level" not in obj else None
    if level is not None:  # `低报`, `gas_alarm_high`: the word says which alarm
        fields["level"] = level
        repairs.append(f"level {level!r} read from the type")
    unknown: list[str] = []
    for name, value in obj.items():
        if name in ("type", "ts"):
            continue
        if name not in model.model_fields:
            same = SAME_AS.get(name)
            if same in model.model_fields and same not in obj and same not in fields:
                name = same  # a picture's `image_url` is its `snapshot_ref` (vendor round 9)
                repairs.append(f"{name} read from its other name")
            else:
                # Not validated one by one: a payload of thousands of junk keys must not
                # cost the writer a validation each.
                unknown.append(name)
                continue
        problem = field_problem(model, {**fields, name: value}, name)
        found = coerced(model, fields, name, value) if problem is not None else None
        if found is not None:
            # A door numbered 2 is door "2" (vendor round 4: dropped, it fell back to the
            # default "main" and the guards went there); a confidence of 95 is 0.95.
            value, problem = found[0], None
            repairs.append(found[1])
        if problem is None:
            fields[name] = value
            continue
        default = model.model_fields[name].default
        if isinstance(default, str) and default and \
                field_problem(model, {**fields, name: "unknown"}, name) is None:
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
                if field_problem(model, {**fields, name: placeholder}, name) is None:
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
    if found is None or read_object(payload) is not None:
        # (A JSON object was read, and what it said judged: a nested log's old alarm is
        # no alarm now.)
        return None
    said = found.group(1).decode("utf-8", errors="replace")
    word = urgent_named(kind, said)
    if word is None:
        return None
    minimal = orjson.dumps({"type": word})
    return salvage_urgent(kind, minimal, received_at, prior=[
        f"payload unreadable as a JSON object: only its type {said[:40]!r} was read"])


def _level_said(said: str) -> str | None:
    """The alarm level a two-level detector's word names (`low_alarm`, `高报`), or None."""
    word = said.lower()
    low, high = "low" in word or "低" in word, "high" in word or "高" in word
    return "low" if low and not high else "high" if high and not low else None


def salvage_ack(payload: bytes, received_at: float) -> tuple[CommandAck, list[str]] | None:
    """A command ack whose `id` and `ok` are readable, its other faults repaired (a `ts` in
    epoch seconds or without an offset, a `result` that is not JSON-able): the command was
    carried out, and refusing the ack turned it into a `timeout` an operator would retry —
    opening a compartment twice. None when `id` or `ok` cannot be read."""
    read = read_object(payload)
    if read is None:
        return None
    pairs, repairs = read
    obj = _named_as_model(pairs, CommandAck, repairs)
    ok = _ack_ok(obj, repairs)
    if ok is None or field_problem(CommandAck, {"id": obj.get("id"), "ok": ok}, "id") is not None:
        return None
    obj.pop("code", None)
    fields: dict[str, Any] = {"id": obj["id"], "ok": ok}
    fields["ts"], _ = usable_ts(obj.get("ts"), received_at, repairs,
                               lambda ts: field_problem(CommandAck, {**fields, "ts": ts},
                                                        "ts") is None)
    for name, value in obj.items():
        if name in fields:
            continue
        if name not in CommandAck.model_fields:
            repairs.append(f"{name[:40]} dropped (not a field of a command ack)")
            continue
        problem = field_problem(CommandAck, {**fields, name: value}, name)
        found = coerced(CommandAck, fields, name, value) if problem is not None else None
        if problem is None or found is not None:
            fields[name] = value if found is None else found[0]
            repairs.extend(found[1:] if found is not None else ())
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
    read = read_object(payload)
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
