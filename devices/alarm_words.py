"""Whether a device's own word says an alarm, no alarm, or a test: the calm words beside an
alarm flag (`自检`, `lowBattery`), comparisons and negations that turn them round
(`超出正常范围`, `not_a_test`), and the urgent stems of an event word a kind does not know
(`卫生间跌倒`, `烟雾浓度超标`)."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from devices.words import (
    SEARCH_MAX,
    URGENT_DECORATIONS,
    calm_word,
    known_words,
    own_type,
    urgent_type,
)

if TYPE_CHECKING:
    from devices.base import DeviceKind

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
    if not kind.urgent or len(said) > SEARCH_MAX or not said.strip():
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
    if not kind.urgent or calm_word(kind, said) or own_type(kind, said) is not None:
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
    known = known_words(kind)
    text = unicodedata.normalize("NFKC", text)
    for token in _latin_tokens(text):
        found = known.get(token)
        if found in _PERSON_ALARMS and len(token) >= 3 and token not in _GENERAL:
            return found
    if not text.isascii():
        for word, meant in known.items():
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
