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
_SEARCH_MAX = 48
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
    if found is not None or len(word) > _SEARCH_MAX or word in table.calm:
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
    if len(word) > _SEARCH_MAX:
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


# What firmware writes beside its alarm flag for a report that is no alarm: self-tests,
# tests, tamper, faults, low battery, heartbeats, mute, back to normal. Read as whole words
# (a token, or tokens run together, at its start): `normal` is no veto inside `abnormal`,
# nor `fault` inside `default`, nor `test` inside `latest` (red team round 11: each muted a
# gas alarm).
# Not a silenced sounder (`muted`, `消音`): the hush button silences the beeper, not the fire
# (red team round 12: `smoke_alarm_muted` beside a set flag was refused, never paged).
_CALM_LATIN = ("selftest", "selfcheck", "test", "tamper", "dismantle", "fault", "error",
               "lowbattery", "heartbeat", "restore", "normal")
_CALM_CJK = ("自检", "测试", "防拆", "拆除", "故障", "低电", "电量低", "欠压", "心跳", "恢复",
             "正常")
# Before a calm word, these turn it round: 不正常, 非正常, 未恢复 (not normal, not restored).
_NEGATIONS = frozenset("不非未无没")
# A word that says the reading is out of bounds is an alarm whatever else it says — also
# one comparing with the calm word (`超出正常范围`, `above_normal`, `restore_failed`: red
# team round 12, each muted a gas alarm).
_ANOMALY_CJK = ("异常", "超标", "超限", "泄漏", "泄露", "过高", "浓度高", "超出", "超过", "高于",
                "低于", "偏离", "偏高", "偏低", "大于", "失败")
_ANOMALY_LATIN = frozenset(("above", "over", "exceed", "exceeds", "exceeded", "exceeding",
                            "beyond", "higher", "greater", "outside", "out", "fail", "failed",
                            "failure", "abnormal", "anomaly"))
_LATIN_TOKENS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_CALM_AFTER = {"低电": "平"}  # 低电平报警: a low-level-triggered alarm input, no battery


# An event word the kind does not know that holds one of its urgent stems (`kind.urgent_stems`)
# is that urgent event — `烟雾浓度超标`, `卫生间跌倒`, `高空坠物`, `throw_detected` — unless
# it says the alarm is over or no alarm. A weak stem (`烟雾`, `smoke`) names a thing, not an
# alarm: it needs a word of alarm beside it (`烟雾浓度上报` is a reading report).
_ENDINGS_CJK = ("解除", "恢复", "取消", "结束", "消除", "清除", "复位", "起身", "撤销", "消失",
                "离开", "停止", "关闭", "上报", "查询", "数据")
_ENDINGS_LATIN = frozenset(("clear", "cleared", "clears", "recover", "recovered", "recovery",
                            "restore", "restored", "cancel", "cancelled", "canceled", "end",
                            "ended", "reset", "off", "stop", "stopped", "gone", "left", "report",
                            "data", "status", "state", "query", "info", "value", "level"))
_ALARM_CJK = ("报警", "告警", "警报", "预警", "触发", "超标", "超限", "检测到", "发现", "异常",
              "过高", "超出", "超过", "浓度高", "危险", "泄漏", "泄露", "漏气")
_ALARM_LATIN = frozenset(("alarm", "alert", "warning", "warn", "detected", "detect",
                          "detection", "trigger", "triggered", "high", "abnormal", "exceed",
                          "exceeded", "danger", "emergency", "leak", "leakage", "leaking"))
# Two characters before a word that turn it round: 无法恢复 (cannot recover), 不是测试 (is not
# a test), 跌倒后未起身 (did not get up) — red team round 12.
_NEGATION_PAIRS = frozenset(("无法", "不能", "未能", "没有", "不是", "并非", "尚未", "仍未",
                             "还未", "未曾", "不会"))


def _said(text: str, stems: tuple[str, ...]) -> bool:
    """Whether `text` holds one of the CJK `stems` not turned round by a negation before it."""
    for stem in stems:
        at = text.find(stem)
        while at >= 0:
            if (at == 0 or text[at - 1] not in _NEGATIONS) \
                    and text[max(at - 2, 0):at] not in _NEGATION_PAIRS \
                    and _CALM_AFTER.get(stem) != text[at + len(stem):at + len(stem) + 1]:
                return True
            at = text.find(stem, at + 1)
    return False


def _latin_tokens(text: str) -> list[str]:
    return [t.lower() for t in _LATIN_TOKENS.findall(text)]


def urgent_by_stem(kind: DeviceKind, said: str) -> str | None:
    """The urgent type an event word the kind does not know names by one of the kind's
    urgent stems, or None (also for a word saying the alarm is over, or no alarm)."""
    if not kind.urgent or len(said) > _SEARCH_MAX or not said.strip():
        return None
    text = unicodedata.normalize("NFKC", said)
    tokens = _latin_tokens(text)
    if _said(text, _ENDINGS_CJK) or any(t in _ENDINGS_LATIN for t in tokens):
        return None
    named = names_urgent(kind, text)
    if named is not None:  # `SOS低电`: the alarm, with a state beside it
        return None if names_a_test(text) else named
    if names_no_alarm(text):
        return None
    alarm = _said(text, _ALARM_CJK) or any(t in _ALARM_LATIN for t in tokens)
    for stem, meant, strong in kind.urgent_stems:
        found = stem in tokens if stem.isascii() else _said(text, (stem,))
        if found and (strong or alarm):
            return meant
    return None


def urgent_named(kind: DeviceKind, said: str) -> str | None:
    """The urgent type a word naming an event says: as `urgent_type` reads it, or by one of
    the kind's urgent stems when the word is none of the kind's own."""
    found = urgent_type(kind, said)
    if found is not None:
        return found
    if not kind.urgent or urgent_word(said) in _known(kind).calm \
            or own_type(kind, said) is not None:
        return None  # the kind's own word for what is no alarm (`疑似跌倒`: a warning)
    return urgent_by_stem(kind, said)


# What still says "no alarm" of a word that names the alarm itself (`sos_test`, `跌倒恢复`): a
# test, or the alarm over — not a state reported beside it (`SOS低电`, `心跳(SOS)`,
# `sos_fault`: red team round 12, each lost a band's SOS).
_TEST_LATIN = frozenset(("selftest", "selfcheck", "test", "restore", "restored", "normal"))
_TEST_CJK = ("自检", "测试", "恢复", "正常")


def names_a_test(text: str) -> bool:
    """Whether a word that names an alarm says it is a test, or that the alarm is over."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii() and _said(text, _TEST_CJK):
        return True
    tokens = _latin_tokens(text)
    return any(t in _TEST_LATIN and not any(n in ("not", "non", "no")
                                            for n in tokens[max(i - 2, 0):i])
               for i, t in enumerate(tokens))


# Alarms that someone needs help: a state reported beside one (low battery, a heartbeat) does
# not make it less so. Not a detector's (`smoke_low_battery` is the detector's battery).
_PERSON_ALARMS = frozenset(("sos", "fall", "button_pressed", "trapped", "emergency_call",
                            "duress"))
# Words too general to name one alarm by themselves (`低电报警` is a battery's).
_GENERAL = frozenset((*URGENT_DECORATIONS, "button", "help", "emergency", "报警", "告警", "警报",
                      "紧急", "求助"))


def names_urgent(kind: DeviceKind, text: str) -> str | None:
    """The alarm that someone needs help a word holds as one of its parts — a whole Latin
    token naming it or an alias of it (`sos` in `sos_low_battery`), or a CJK alias inside
    (`跌倒` in `跌倒报警 低电`) — or None."""
    table = _known(kind)
    text = unicodedata.normalize("NFKC", text)
    for token in _latin_tokens(text):
        found = table.known.get(token)
        if found in _PERSON_ALARMS and len(token) >= 3 and token not in _GENERAL:
            return found
    if not text.isascii():
        for word, meant in table.known.items():
            if not word.isascii() and len(word) >= 2 and word not in _GENERAL \
                    and ((meant in _PERSON_ALARMS and _said(text, (word,)))
                         or _names_the_alarm(text, word)):
                return meant
    return None


_ALARM_MARKS = ("报警", "告警", "警报", "火警")


def _names_the_alarm(text: str, word: str) -> bool:
    """Whether `text` holds a detector's alarm word itself (`烟雾报警` in `烟雾报警低电`) — not
    its thing alone (`烟雾`), nor the device (`烟雾报警器低电`: the detector's battery)."""
    if not any(mark in word for mark in _ALARM_MARKS):
        return False
    at = text.find(word)
    while at >= 0:
        if text[at + len(word):at + len(word) + 1] != "器" and _said(text[at:], (word,)) \
                and (at == 0 or text[at - 1] not in _NEGATIONS):
            return True
        at = text.find(word, at + 1)
    return False


def names_no_alarm(text: str) -> bool:
    """Whether a vendor's word beside an alarm flag says the report is no alarm (`自检`,
    `SELF_TEST`, `lowBattery`, `恢复正常`) rather than naming the alarm in its own words
    (`gas_abnormal`, `浓度不正常`, `可燃气体超标`)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        if any(marker in text for marker in _ANOMALY_CJK):
            return False
        if _said(text, _CALM_CJK):
            return True
    tokens = _latin_tokens(text)
    if any(t in _ANOMALY_LATIN for t in tokens):
        return False
    for start in range(len(tokens)):
        if any(t in ("not", "non", "no") for t in tokens[max(start - 2, 0):start]):
            continue  # not_normal, not_a_test
        run = "".join(tokens[start:start + 3])
        if any(run.startswith(stem) and (len(stem) >= len(tokens[start])
                                         or tokens[start].startswith(stem))
               for stem in _CALM_LATIN):
            return True
    return False
