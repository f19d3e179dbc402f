"""Whether an alarm found nested in a message is one from before (a log, an old record) or
one that is over, rather than an alarm now — for the salvage of flagged alarms."""

from __future__ import annotations

import re
from datetime import datetime

from devices.repair import is_quiet
from devices.words import urgent_word
from gateway.batches import WRAPPERS

# Words of a key that lists what happened before whatever its value holds: `alarm_history`,
# `alarmHis`, `fault_log`, `sos_records`, `recent_alarms`, `past_events`, `journal`, `历史报警`,
# `告警日志` (red team rounds 8 and 9: a heartbeat repeating its log paged each old fire).
_LOG_TOKENS = frozenset(("history", "histories", "hist", "his", "log", "logs", "journal",
                         "records", "past", "old", "recent"))
_LOG_CJK = ("历史", "日志")
# Words that make a log only of a list: `record`, `alarmRecord`, `lastEvent` holding one
# object are how Chinese platforms push the alarm now (red team round 9); `报警记录: […]`,
# `last_alarms: […]` are logs.
_LIST_TOKENS = frozenset(("record", "last", "prev", "previous"))
_LIST_CJK = ("记录", "上次", "最近")
_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")

# An element saying its alarm is over: `cleared: true`, `is_cleared`, `clear_ts: …`,
# `status: "handled"`, `已解除: true`.
_OVER_WORDS = frozenset(urgent_word(w) for w in (
    "clear", "cleared", "handled", "recovered", "resolved", "restored", "ended", "closed",
    "cancelled", "canceled", "已处理", "已恢复", "已解除", "已结束", "已取消"))
_STATE_KEYS = frozenset(urgent_word(w) for w in (
    "status", "state", "alarm_status", "alarm_state", "处理状态", "状态"))
_TIME_SUFFIXES = ("ts", "at", "time")
_TIME_KEYS = frozenset(urgent_word(w) for w in (
    "ts", "time", "timestamp", "event_time", "alarm_time", "occur_time", "时间"))

# How much older than its message a nested alarm may be and still be one now: in a reading
# (a routine report carrying a record), a quarter of an hour; in an event, a day — the
# longest a critical alarm still pages late (`rules.critical_late_limit_s`).
READING_AGE_S = 900.0
EVENT_AGE_S = 86_400.0


def past_key(key: object, value: object) -> bool:
    """Whether a field, by its name (and a list value), holds a log of earlier alarms. The
    contract's queue wrappers (`records`, `recordList` …) hold messages now, and one object
    carrying its own time is judged by that time (`older_than`), whatever its name (red
    team round 10: `recentAlarm`, `eventLog` holding an SOS dated now were dropped)."""
    text = str(key)[:64]
    if urgent_word(text) in _QUEUE_WRAPPERS:
        return False
    if isinstance(value, dict) and any(urgent_word(str(k)[:32]) in _TIME_KEYS for k in value):
        return False
    tokens = {t.lower() for t in _TOKEN.findall(text)}
    if tokens & _LOG_TOKENS or any(w in text for w in _LOG_CJK):
        return True
    return isinstance(value, list) and bool(
        tokens & _LIST_TOKENS or any(w in text for w in _LIST_CJK))


# The contract's names of a queue of messages now (gateway/batches.py), `history` aside:
# a history is a log, whatever else reads it as a queue.
_QUEUE_WRAPPERS = WRAPPERS - {urgent_word("history")}
# What serializers write for a marker that is not set: `clear_time: ""`, `cleared: "N"`.
_UNSET = frozenset(("", "n", "no", "none", "null", "nil", "f", "0"))


def over(obj: dict[str, object]) -> bool:
    """Whether a nested element says its alarm is over (at most `_NESTED_KEYS_MAX` keys)."""
    for key, value in obj.items():
        word = urgent_word(str(key)[:32])
        if word in _STATE_KEYS and isinstance(value, str):
            if urgent_word(value[:32]) in _OVER_WORDS:
                return True
            continue
        base = word[2:] if word.startswith("is") and len(word) > 4 else word
        for suffix in _TIME_SUFFIXES:
            if base.endswith(suffix) and base[:-len(suffix)] in _OVER_WORDS:
                base = base[:-len(suffix)]
        if base in _OVER_WORDS and value is not None and not is_quiet(value) and not (
                isinstance(value, str) and value.strip().lower() in _UNSET):
            return True
    return False


def older_than(obj: dict[str, object], message_ms: float, limit_s: float) -> bool:
    """Whether a nested element carries its own time, more than `limit_s` before its
    message's. A time no clock that was ever set writes (0, 2000-01-01, a press's duration,
    microseconds) is no time: an NB-IoT detector without network time reports such inside
    the envelope its platform stamps, and its fire was dropped as an old record (red team
    round 10)."""
    for key, value in obj.items():
        if urgent_word(str(key)[:32]) in _TIME_KEYS:
            at = plausible_ms(epoch_ms(value))
            if at is not None:
                return message_ms - at > limit_s * 1000
            return False
    return False


# Times a set clock writes: from 2001 (an unset one says 1970 or 2000) to 2200.
_PLAUSIBLE_MS = (978_307_200_000.0, 7_258_118_400_000.0)


def plausible_ms(ms: float | None) -> float | None:
    """`ms` when a clock that was set could have written it, else None."""
    return ms if ms is not None and _PLAUSIBLE_MS[0] <= ms <= _PLAUSIBLE_MS[1] else None


def report_ms(value: object, received_ms: float, ahead_s: float = 300.0) -> float:
    """The time a report's elements are judged against: its own `ts` when a set clock wrote
    it and it is not ahead of the gateway, else the time of receipt."""
    at = plausible_ms(epoch_ms(value))
    return at if at is not None and at <= received_ms + ahead_s * 1000 else received_ms


def epoch_ms(value: object) -> float | None:
    """A timestamp as the contract allows it (epoch ms, epoch s, RFC 3339), or None."""
    if type(value) in (int, float):
        number = float(value)  # type: ignore[arg-type]
        return number if number > 1e11 else number * 1000
    if isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return None  # no zone: too uncertain to call anything old
        return parsed.timestamp() * 1000
    return None
