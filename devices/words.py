"""How a device's word for an event is read: case, separators, full width, decorations around
it and other words for it (`SOS_KEY_ALARM`, `sosAlarm`, `疑似跌倒`, `elevator_trapped`)."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from devices.base import DeviceKind

# What the firmware of any alarm button calls a press (a pole's, an elevator car's).
BUTTON_WORDS = ("sos", "alarm", "emergency", "help", "alarm_button", "emergency_button",
                "一键报警", "一键求助", "报警", "求助", "求救", "紧急")


def aliases(meant: str, *words: str) -> tuple[tuple[str, str], ...]:
    """`urgent_aliases` pairs: each of `words` read as the urgent type `meant`."""
    return tuple((word, meant) for word in words)


def stems(meant: str, strong: tuple[str, ...] = (), weak: tuple[str, ...] = ()
          ) -> tuple[tuple[str, str, bool], ...]:
    """`urgent_stems` entries: parts of an event word naming the urgent type `meant` — a
    strong one by itself (`跌倒`), a weak one only beside a word of alarm (`烟雾` + `超标`).
    A Latin stem is a whole token of the word (`throw` in `throw_detected`, `HighThrow`)."""
    return (*((w, meant, True) for w in strong), *((w, meant, False) for w in weak))


# Between the letters of a word: `-`, `_`, spaces, dots (`S.O.S`) and the punctuation
# firmware puts around one (`sos:alarm`, `SOS!`).
# Control characters too: a C buffer's NUL padding (`"sos\u0000\u0000"`, red team round 8).
_SEPARATORS = re.compile(r"[-_.\s:;,!?~*#'\"/|\\\x00-\x1f\x7f]+")
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
                      "key", "call", "suspected", "code", "pressed", "press",
                      "报警", "告警", "警报", "事件", "呼叫", "预警", "疑似", "一级", "二级",
                      "按下")
# What firmware puts only before one: who or what it happened to (`person_fall`, `人员跌倒`,
# `elevator_trapped`, `电梯报警`: vendor and red team round 6), or that it is sure (`确认跌倒`).
URGENT_PREFIXES = ("person", "human", "people", "passenger", "elevator", "lift", "人员", "有人",
                   "老人", "乘客", "电梯", "确认", "紧急")
# Decorations never read before a word: `low_alarm` on a smoke detector is its battery, not a
# fire (a gas detector's `low_alarm` is an alias of its own).
_SUFFIX_ONLY = frozenset(("low", "high"))
_BEFORE = tuple(d for d in (*URGENT_DECORATIONS, *URGENT_PREFIXES) if d not in _SUFFIX_ONLY)
_STRIP_DEPTH = 4
# A word longer than this is looked up as it is, never searched for decorations: a real
# alarm word with its decorations is far shorter, and the search costs with the length.
SEARCH_MAX = 48
_MEMO_MAX = 4096
SEARCHES_PER_MESSAGE = 64
# By the kind's identity (the kind is kept with its table, so the id is never reused): a key
# of its words and aliases cost half of each lookup to hash.
_KNOWN: dict[int, tuple[DeviceKind, _Table]] = {}
# Searches one message may still make (see `search_budget`); per thread, as each thread
# reads its own message.
_budget = threading.local()
P = ParamSpec("P")
R = TypeVar("R")


class _Table:
    """A kind's urgent words, the pattern any decorated form of one must fit (a cheap
    refusal of the many words that fit none), and the answers already worked out."""

    def __init__(self, known: dict[str, str], calm: dict[str, str]) -> None:
        self.known = known
        # The kind's own words for what is no alarm, whatever decorations they seem to
        # carry (a band's `fall_warning`: `warning` around `fall` — vendor round 9).
        self.calm = calm
        before = "|".join(sorted((re.escape(d) for d in _BEFORE), key=len, reverse=True))
        after = "|".join(sorted((re.escape(d) for d in URGENT_DECORATIONS), key=len,
                                reverse=True))
        words = "|".join(sorted((re.escape(w) for w in known if w), key=len, reverse=True))
        self.shape = re.compile(
            rf"(?:{before}){{0,{_STRIP_DEPTH}}}(?:{words})(?:{after}|\d{{1,3}}){{0,{_STRIP_DEPTH}}}")
        self.memo: dict[str, str | None] = {}


def _known(kind: DeviceKind) -> _Table:
    """The kind's urgent types and aliases as urgent words (built once per kind: the lookup
    runs for every element of a long queue)."""
    held = _KNOWN.get(id(kind))
    if held is not None and held[0] is kind:
        return held[1]
    known = {urgent_word(name): name for name in kind.urgent}
    known.update((urgent_word(alias), meant) for alias, meant in kind.urgent_aliases)
    urgent = set(kind.urgent)
    calm = {urgent_word(w): w for w in kind.vocabulary() if w not in urgent}
    calm.update((urgent_word(other), meant) for other, meant in kind.other_words
                if meant not in urgent)
    table = _Table(known, {w: meant for w, meant in calm.items() if w not in known})
    _KNOWN[id(kind)] = (kind, table)
    return table


@contextmanager
def search_budget(searches: int) -> Iterator[None]:
    """Within the block (the outermost, when nested), at most `searches` words are searched
    for decorations on this thread; past that, words are only looked up as they are. A
    message of thousands of made-up keys (`"alarmkeycallcode00001": 1`) held the writer
    85 ms (red team round 7)."""
    if getattr(_budget, "left", None) is not None:
        yield  # within a message's budget already: it is not refilled
        return
    _budget.left = searches
    try:
        yield
    finally:
        _budget.left = None


def budgeted(read: Callable[P, R]) -> Callable[P, R]:
    """`read` runs within one message's search budget (SEARCHES_PER_MESSAGE)."""
    @wraps(read)
    def within(*args: P.args, **kwargs: P.kwargs) -> R:
        with search_budget(SEARCHES_PER_MESSAGE):
            return read(*args, **kwargs)
    return within


def urgent_type(kind: DeviceKind, said: str) -> str | None:
    """The kind's urgent type that `said` names, directly, by an alias, or either with
    decorations around it; None otherwise."""
    table = _known(kind)
    word = urgent_word(said)
    found = table.known.get(word)
    if found is not None or len(word) > SEARCH_MAX or word in table.calm:
        return found
    memo = table.memo
    if word in memo:
        return memo[word]
    if not _spend():
        return None
    hit = _search(table, word) if table.shape.fullmatch(word) else None
    found = hit[0] if hit is not None and hit[1] else None
    if len(memo) >= _MEMO_MAX:
        # The oldest word goes, not all of them: clearing the memo whole let one device's
        # made-up keys push another family's decorated SOS past its budget (red team round 9).
        del memo[next(iter(memo))]
    memo[word] = found
    return found


def _spend() -> bool:
    """Take one search from this message's budget; whether there was one left."""
    left = getattr(_budget, "left", None)
    if left is not None:
        if left <= 0:
            return False
        _budget.left = left - 1
    return True


def own_type(kind: DeviceKind, said: str) -> str | None:
    """The kind's word for what is no alarm that `said` names with decorations around it
    (`疑似跌倒报警`: a band's `fall_warning`), or None — for a type nothing else read."""
    table = _known(kind)
    word = urgent_word(said)
    if len(word) > SEARCH_MAX:
        return None
    if not _spend():
        return None
    hit = _search(table, word)
    return hit[0] if hit is not None and not hit[1] else None


def _search(table: _Table, word: str) -> tuple[str, bool] | None:
    """Every way of taking one decoration, prefix or button number off, and the rest looked
    up again (`elevator_alarm`: `elevator` off, not `alarm`, finds the word): the word found
    and whether it is urgent. An urgent word found at a depth wins over a calm one there;
    a calm one ends the search (`疑似跌倒报警` is a suspected fall, not a fall)."""
    known, calm = table.known, table.calm
    words = [word]
    seen: set[str] = set()
    for _ in range(_STRIP_DEPTH + 1):
        found = next((known[w] for w in words if w in known), None)
        if found is not None:
            return found, True
        found = next((calm[w] for w in words if w in calm), None)
        if found is not None:
            return found, False
        seen.update(words)
        words = [w for w in {n for one in words for n in _stripped(one)} if w not in seen]
        if not words:
            return None
    return None


def _stripped(word: str) -> list[str]:
    out = [word[:-len(d)] for d in URGENT_DECORATIONS if word.endswith(d) and len(word) > len(d)]
    out += [word[len(d):] for d in _BEFORE if word.startswith(d) and len(word) > len(d)]
    if (numbered := _NUMBERED.match(word)) is not None:
        out.append(numbered.group(1))
    return out


def known_words(kind: DeviceKind) -> dict[str, str]:
    """The kind's urgent words and aliases as `urgent_word` writes them, each with its type."""
    return _known(kind).known


def calm_word(kind: DeviceKind, said: str) -> bool:
    """Whether `said` is one of the kind's own words for what is no alarm, as it is."""
    return urgent_word(said) in _known(kind).calm


# What of a device's own words an operator reads: letters, digits, `_`, `-`, `.` of any
# script — no brackets, punctuation or spaces to dress it as the gateway's note (red team
# round 12: `【系统】设备已恢复 无需处理` and a room `】误报已核实 无需上门【` read as ours).
_NOT_SHOWN = re.compile(r"[^\w\-.]+")


def shown_text(text: str, limit: int) -> str:
    """A device's own word as a ticket or an alert quotes it."""
    return _NOT_SHOWN.sub("", text)[:limit]
