"""How a device's word for an event is read: case, separators, full width, decorations around
it and other words for it (`SOS_KEY_ALARM`, `sosAlarm`, `疑似跌倒`, `elevator_trapped`)."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devices.base import DeviceKind

# What the firmware of any alarm button calls a press (a pole's, an elevator car's).
BUTTON_WORDS = ("sos", "alarm", "emergency", "help", "alarm_button", "emergency_button",
                "一键报警", "一键求助", "报警", "求助", "求救", "紧急")


def aliases(meant: str, *words: str) -> tuple[tuple[str, str], ...]:
    """`urgent_aliases` pairs: each of `words` read as the urgent type `meant`."""
    return tuple((word, meant) for word in words)


# Between the letters of a word: `-`, `_`, spaces, dots (`S.O.S`) and the punctuation
# firmware puts around one (`sos:alarm`, `SOS!`).
_SEPARATORS = re.compile(r"[-_.\s:;,!?~*#'\"/|\\]+")
_NUMBERED = re.compile(r"^(.*?[^\d])\d{1,3}$")  # `sos1`, `SOS_2`: a button's number


def urgent_word(text: str) -> str:
    """A type as salvage compares it: no case, no spaces, no `-` or `_` — `Button-Pressed`,
    `SMOKE_ALARM` and the camelCase `smokeAlarm` Chinese firmware often sends all read as
    `buttonpressed` / `smokealarm` (vendor round 3: `smokeAlarm` was refused unpaged)."""
    if not text.isascii():
        # What an input method types (full-width `ＳＯＳ`) and invisible characters (a
        # zero-width space) are the same word (red team round 5).
        text = "".join(c for c in unicodedata.normalize("NFKC", text)
                       if unicodedata.category(c) != "Cf")
    return _SEPARATORS.sub("", text.strip().lower())


# What firmware adds after an urgent word: `sos_key_alarm`, `smoke_alarm_report`,
# `gas_alarm_high`, `摔倒报警`, `烟雾告警`, `紧急呼叫` (vendor round 5: 36 such words refused,
# never paged), `fall_suspected`, `疑似跌倒` (vendor round 6: a fall radar's words) — or before
# it (`alarm_sos`, `key_sos`). Not `confirmed`: `alarm_confirmed` (报警确认) is an operator's
# acknowledgement, not an alarm (red team round 6 re-check).
URGENT_DECORATIONS = ("alarm", "alert", "event", "report", "warning", "detected", "high", "low",
                      "key", "call", "suspected", "code",
                      "报警", "告警", "警报", "事件", "呼叫", "预警", "疑似", "一级", "二级")
# What firmware puts only before one: who or what it happened to (`person_fall`, `人员跌倒`,
# `elevator_trapped`, `电梯报警`: vendor and red team round 6), or that it is sure (`确认跌倒`).
URGENT_PREFIXES = ("person", "human", "people", "elevator", "lift", "人员", "有人", "老人",
                   "电梯", "确认")
# Decorations never read before a word: `low_alarm` on a smoke detector is its battery, not a
# fire (a gas detector's `low_alarm` is an alias of its own).
_SUFFIX_ONLY = frozenset(("low", "high"))
_BEFORE = tuple(d for d in (*URGENT_DECORATIONS, *URGENT_PREFIXES) if d not in _SUFFIX_ONLY)
_STRIP_DEPTH = 4
_KNOWN: dict[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], dict[str, str]] = {}


def _known(kind: DeviceKind) -> dict[str, str]:
    """The kind's urgent types and aliases as urgent words (built once per kind: the lookup
    runs for every element of a long queue)."""
    key = (kind.key, kind.urgent, kind.urgent_aliases)
    known = _KNOWN.get(key)
    if known is None:
        known = {urgent_word(name): name for name in kind.urgent}
        known.update((urgent_word(alias), meant) for alias, meant in kind.urgent_aliases)
        _KNOWN[key] = known
    return known


def urgent_type(kind: DeviceKind, said: str) -> str | None:
    """The kind's urgent type that `said` names, directly, by an alias, or either with
    decorations around it; None otherwise."""
    known = _known(kind)
    words = [urgent_word(said)]
    seen: set[str] = set()
    for _ in range(_STRIP_DEPTH + 1):
        found = next((known[w] for w in words if w in known), None)
        if found is not None:
            return found
        # Every way of taking one decoration, prefix or button number off, and the rest
        # looked up again (`elevator_alarm`: `elevator` off, not `alarm`, finds the word).
        seen.update(words)
        words = [w for w in {n for word in words for n in _stripped(word)} if w not in seen]
        if not words:
            return None
    return None


def _stripped(word: str) -> list[str]:
    out = [word[:-len(d)] for d in URGENT_DECORATIONS if word.endswith(d) and len(word) > len(d)]
    out += [word[len(d):] for d in _BEFORE if word.startswith(d) and len(word) > len(d)]
    if (numbered := _NUMBERED.match(word)) is not None:
        out.append(numbered.group(1))
    return out
