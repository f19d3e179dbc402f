"""Explicit conversions of vendor values: text numbers, percent text, words, times, scales.

Our v1 contract refuses a text number or a word boolean; a dialect converts them on purpose,
and each conversion refuses what it cannot convert exactly (NaN, "abc", 1.5 as an integer).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from devices.dialects.model import FieldRule
from devices.errors import PayloadError

Convert = Callable[[Any], Any]
_DECIMAL = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_TRUE = frozenset({"true", "1", "on", "yes", "open", "y", "t"})
_FALSE = frozenset({"false", "0", "off", "no", "closed", "close", "n", "f"})
_UNIT_MS = {"s": 1000, "ms": 1, "us": 0.001}
_LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
MS_SINCE_2000 = 946_684_800_000  # epoch milliseconds of 2000-01-01 and 2200-01-01
_MS_BEFORE_2200 = 7_258_118_400_000


def _bad(what: str, value: Any) -> PayloadError:
    return PayloadError(f"{what}: cannot convert {str(value)[:40]!r}", reason="schema_invalid")


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def to_number(value: Any) -> int | float:
    """A JSON number, or decimal text; NaN and infinities refused."""
    if type(value) is int:
        return value
    if type(value) is float:
        if not math.isfinite(value):
            raise _bad("number", value)
        return value
    # Python's int() and float() also take "1_000", "nan", "inf" and non-ASCII digits;
    # a vendor's text number is plain ASCII decimal, and anything else is refused.
    if type(value) is str and value.isascii() and "_" not in value:
        try:
            if "." in value or "e" in value or "E" in value:
                # On ASCII without "_", float() takes decimal literals and the spellings of
                # NaN and infinity only; the finiteness test refuses the latter.
                number = float(value)
                if math.isfinite(number):
                    return number
            else:
                return int(value)
        except ValueError:
            pass
    raise _bad("number", value)


def to_integer(value: Any) -> int:
    """A number or decimal text that is a whole number."""
    number = to_number(value)
    if type(number) is float:
        if not number.is_integer():
            raise _bad("integer", value)
        return int(number)
    return number


def to_boolean(value: Any) -> bool:
    """true/false, 1/0, and the usual words (on/off, yes/no, open/closed)."""
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if type(value) is str:
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _bad("boolean", value)


def to_percent(value: Any) -> int | float:
    """85, "85" or "85%"."""
    if type(value) is str and value.strip().endswith("%"):
        value = value.strip()[:-1]
    return to_number(value)


def to_text(value: Any) -> str:
    """Text as is; numbers written out (an IMEI sent as a number, say)."""
    if type(value) is str:
        return value
    if _is_number(value) and not (type(value) is float and not math.isfinite(value)):
        return str(value)
    raise _bad("text", value)


def _offset(text: str | None) -> timezone:
    if text is None:
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def time_converter(rule: FieldRule) -> Convert:
    """Epoch numbers in the rule's unit, or text, to epoch milliseconds (an int)."""
    factor = _UNIT_MS[rule.unit]
    tz = _offset(rule.utc_offset)
    fmt = rule.format

    def convert(value: Any) -> int:
        if type(value) is bool:
            raise _bad("time", value)
        if _is_number(value) or (type(value) is str and fmt is None and _DECIMAL.match(value)):
            number = to_number(value)
            if factor > 1 and MS_SINCE_2000 <= number <= _MS_BEFORE_2200:
                # Milliseconds where the dialect says seconds (a firmware change): refused as
                # out of range like any time past 2200, with what was probably meant.
                raise PayloadError(
                    f"time {str(value)[:40]!r} read as {rule.unit} is past 2200; it looks like "
                    f"epoch milliseconds (this dialect reads epoch {rule.unit})",
                    reason="out_of_range")
            return round(number * factor)
        if type(value) is not str:
            raise _bad("time", value)
        try:
            if fmt == _LOCAL_FORMAT and len(value) == 19 and value[10] == " ":
                parsed = datetime.fromisoformat(value)  # the same format, ten times faster
            else:
                parsed = (datetime.strptime(value, fmt) if fmt is not None
                          else datetime.fromisoformat(value))
        except ValueError as exc:
            raise _bad("time", value) from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        try:
            return round(parsed.timestamp() * 1000)
        except (OverflowError, ValueError) as exc:
            raise _bad("time", value) from exc

    return convert


def _table(table: dict[str, Any]) -> Convert:
    def lookup(value: Any) -> Any:
        key = ("true" if value else "false") if type(value) is bool else str(value)
        try:
            return table[key]
        except KeyError:
            raise PayloadError(f"value {key[:40]!r} is not in the dialect's table "
                               f"{sorted(table)[:8]}", reason="schema_invalid") from None
    return lookup


def _split(separator: str, part: int) -> Convert:
    def pick(value: Any) -> str:
        if type(value) is not str:
            raise _bad(f"split at {separator!r}", value)
        pieces = value.split(separator)
        if part >= len(pieces):
            raise _bad(f"split at {separator!r}", value)
        return pieces[part].strip()
    return pick


_TYPES: dict[str, Convert] = {"number": to_number, "integer": to_integer, "boolean": to_boolean,
                              "text": to_text, "percent": to_percent}


def converter(rule: FieldRule) -> Convert | None:
    """The chain split → table → convert → scale/offset/round of a rule (None: as is)."""
    steps: list[Convert] = []
    if rule.split is not None:
        steps.append(_split(rule.split, rule.part))
    if rule.table is not None:
        steps.append(_table(rule.table))
    if rule.convert == "time":
        steps.append(time_converter(rule))
    elif rule.convert is not None:
        steps.append(_TYPES[rule.convert])
    if rule.scale is not None or rule.offset is not None or rule.digits is not None:
        if rule.convert is None and rule.table is None:
            steps.append(to_number)  # arithmetic on a value needs a number first
        steps.append(_arithmetic(rule.scale, rule.offset, rule.digits,
                                 integer=rule.convert == "integer"))
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:  # the usual pair (split → integer, percent → scale): no loop
        first, second = steps
        return lambda value: second(first(value))

    def chain(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value
    return chain


def _arithmetic(scale: float | None, offset: float | None, digits: int | None, *,
                integer: bool) -> Convert:
    fixed_point = scale is not None and 0 < abs(scale) < 1
    def apply(value: Any) -> Any:
        if not _is_number(value):
            raise _bad("scale", value)
        if fixed_point and value != int(value):
            # Units of 1e-6 degree or 0.1 °C come as whole numbers: a fraction means the
            # device sent plain units (35.41421 read as 0.000035° put an SOS at sea).
            raise PayloadError(f"scale: {str(value)[:40]} has a fraction, but this field "
                               f"comes in whole units of {scale:g}", reason="schema_invalid")
        out = value * scale if scale is not None else value
        if offset is not None:
            out += offset
        if digits is not None:
            out = round(out, digits)
        if integer:
            return round(out)
        # A whole result of a float computation stays a float (strict ints refuse it anyway
        # for fields that want ints, so a dialect asks for `integer` there).
        return out
    return apply
