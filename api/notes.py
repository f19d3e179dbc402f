"""A repair note (a stored message's `salvaged.detail`, an alert's `payload_problem`) as it is
shown to a reader who must not see a resident's values: a vendor whose device serves someone
or is installed, and everyone on a view that is not an audited read (the alert lists, the
device's event list).

The decoder's notes say what was wrong and how it was read, quoting the value:
`heart_rate_bpm '131' read as a number`, `location.lat '35.4123' read as a number`,
`systolic_mmhg 231 read as not measured`, `in_bed 'true' read as true`, `resident_id 1203
read as text` (red team round 12: a band's vendor followed an elder's heart rate, oxygen,
blood pressure, breathing in bed and GPS fix through them). Here every clause that names a
field of `WITHHELD_VALUES` (api/personal.py: the fields a vendor never sees) keeps the field
and what was done — the firmware's mistake, which the note is for — and loses the value:
`heart_rate_bpm (value withheld) read as a number`, `in_bed (value withheld) read as a
boolean`. A clause in a form this module does not know keeps only the field names it quoted
values of (fail closed). Clauses about other fields are shown as they are.
"""

from __future__ import annotations

import re
from typing import Any

from api.personal import WITHHELD_VALUES

VALUE_WITHHELD = "(value withheld)"
_QUOTES_A_VALUE = "the rest withheld: it quotes a value"
_QUOTED = re.compile(r"""(?<!\w)(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")(?!\w)""")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATH = r"(?P<path>[A-Za-z_][\w.\[\]]*)"
_READ_AS = re.compile(_PATH + r" (?P<value>.+?) read as (?P<how>.+)$", re.S)
_LEFT_OUT = re.compile(_PATH + r" (?P<value>.+?) not read: left out$", re.S)
_DROPPED = re.compile(_PATH + r" dropped \((?P<why>.*)\)$", re.S)
_CONVERTED = re.compile(_PATH + r" .+? \((?P<datum>[a-z0-9]+)\) converted to WGS-84$", re.S)
_PROBLEM = re.compile(_PATH + r": (?P<msg>.+)$", re.S)
_OVERSIZED = re.compile(r"^\d+ bytes > limit \d+: ")
_TAIL = ", the rest kept"
_MORE = re.compile(r"\s*\(\+\d+ more\)$")
# Messages that quote no value: pydantic's own (the input is never in them), a constraint's
# bound, the words a field takes.
_BOUND = re.compile(r"^Input should be (?:greater|less) than(?: or equal to)? -?\d+(?:\.\d+)?$")
_LENGTH = re.compile(r"^\w+ should have at (?:most|least) \d+ (?:characters?|items?)")
_WORDS = re.compile(r"^Input should be '[\w-]*'(?:, '[\w-]*')*(?: or '[\w-]*')?$")
_SIZE = re.compile(r"^\d+ bytes$")
# How a value was read, as shown without the value.
_HOW_KEPT = frozenset(("a number", "text", "not measured", "a percentage", "no alarm",
                       "its type", "epoch seconds"))


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _QUOTED.finditer(text)]


def clauses(text: str) -> list[str]:
    """A note's clauses (split at `; `, never inside a quoted value)."""
    spans = _quoted_spans(text)
    out, start = [], 0
    for found in re.finditer("; ", text):
        at = found.start()
        if any(a <= at < b for a, b in spans):
            continue
        out.append(text[start:at])
        start = found.end()
    out.append(text[start:])
    return out


def withheld_named(clause: str) -> list[str]:
    """The fields of `WITHHELD_VALUES` a clause names (outside its quoted values), in order."""
    bare = _QUOTED.sub(" ", clause)
    names = []
    for word in _WORD.findall(bare):
        if word in WITHHELD_VALUES and word not in names:
            names.append(word)
    return names


def names_withheld(text: str) -> bool:
    """Whether a note names a field whose value it may quote."""
    return any(withheld_named(c) for c in clauses(text))


def _value_free(text: str) -> bool:
    return not re.search(r"\d", text) and not _quoted_spans(text) and "'" not in text \
        and '"' not in text


def _safe_message(msg: str) -> bool:
    """Whether an error message quotes no value (pydantic's own, a bound, the words)."""
    msg = _MORE.sub("", msg.strip())
    return _value_free(msg) or bool(_BOUND.match(msg) or _LENGTH.match(msg)
                                    or _WORDS.match(msg))


def _how(how: str) -> str:
    """What a value was read as, without the value."""
    how = how.strip()
    if how in _HOW_KEPT:
        return how
    if how in ("true", "false"):
        return "a boolean"
    if how.startswith("no fix") and _value_free(how):
        return how
    if how.startswith("floor "):
        return "a floor number"
    if how.startswith("unknown"):
        return "unknown (the radius such fixes have)"
    if re.match(r"^\d{4}-\d{2}-\d{2}$", how):
        return "a date"
    if _QUOTED.fullmatch(how):
        return "one of the contract's words"
    return "the contract's form"


def _clause(clause: str) -> str:
    """One clause without the values of the withheld fields it names."""
    names = withheld_named(clause)
    if not names or _value_free(clause):
        return clause
    head = ""
    if (found := _OVERSIZED.match(clause)) is not None:
        head, clause = found.group(), clause[found.end():]
    if (m := _READ_AS.match(clause)) is not None:
        return f"{head}{m['path']} {VALUE_WITHHELD} read as {_how(m['how'])}"
    if (m := _LEFT_OUT.match(clause)) is not None:
        return f"{head}{m['path']} {VALUE_WITHHELD} not read: left out"
    if (m := _CONVERTED.match(clause)) is not None:
        return f"{head}{m['path']} in {m['datum']} converted to WGS-84"
    if (m := _DROPPED.match(clause)) is not None:
        why = m["why"]
        inner = _PROBLEM.match(why)
        if _SIZE.match(why) or _value_free(why) or (
                inner is not None and _safe_message(inner["msg"])):
            return head + clause
        return f"{head}{m['path']} dropped ({_QUOTES_A_VALUE})"
    if (m := _PROBLEM.match(clause)) is not None and _safe_message(m["msg"]):
        return head + clause
    if m is not None:
        more = _MORE.search(m["msg"])
        msg = _MORE.sub("", m["msg"])
        known = msg.split(" (", 1)[0]  # pydantic's words, then a hint on the unit
        if known != msg and _safe_message(known):
            said = f"{known} ({_QUOTES_A_VALUE})"
        else:
            unnamed = [n for n in names if n not in _WORD.findall(m["path"])]
            said = f"not valid ({', '.join(unnamed) + ': ' if unnamed else ''}"\
                f"{_QUOTES_A_VALUE})"
        return f"{head}{m['path']}: {said}" + (more.group() if more else "")
    return f"{head}{', '.join(names)}: {VALUE_WITHHELD}"


def redact_note(text: str) -> str:
    """A repair note without the values of withheld fields (field names and what was done
    kept)."""
    if not isinstance(text, str) or not text:
        return text
    tail = ""
    if text.endswith(_TAIL):
        text, tail = text[:-len(_TAIL)], _TAIL
    return "; ".join(_clause(c) for c in clauses(text)) + tail


def redact_salvaged(data: Any) -> Any:
    """A stored message's data (or any JSON value) with every `salvaged.detail` in it
    redacted, at any depth."""
    if isinstance(data, dict):
        out = {k: redact_salvaged(v) for k, v in data.items()}
        note = out.get("salvaged")
        if isinstance(note, dict) and isinstance(note.get("detail"), str):
            out["salvaged"] = {**note, "detail": redact_note(note["detail"])}
        return out
    if isinstance(data, list):
        return [redact_salvaged(v) for v in data]
    return data


def holds_withheld_note(data: Any) -> bool:
    """Whether a stored message's `salvaged.detail` names a withheld field (a reading of which
    nothing but the note says a value: `systolic_mmhg 231 read as not measured`)."""
    if isinstance(data, dict):
        note = data.get("salvaged")
        if isinstance(note, dict) and isinstance(note.get("detail"), str) \
                and names_withheld(note["detail"]):
            return True
        return any(holds_withheld_note(v) for v in data.values())
    if isinstance(data, list):
        return any(holds_withheld_note(v) for v in data)
    return False
