"""Urgent events read out of messages that broke the contract: our JSON, a dialect's own
format, or a reading on the wrong channel (devices/salvage.py does the repairs)."""

from __future__ import annotations

import base64
import binascii

import orjson

from devices import topics
from devices.alarm_words import names_a_test, names_no_alarm, names_urgent, urgent_named
from devices.base import Channel, DeviceKind
from devices.catalogue import CATALOGUE
from devices.codec import object_members, utf16_codec
from devices.dialects.engine import DialectCodec
from devices.dialects.topics import CompiledTopic
from devices.repair import ALARM_KEYS, is_quiet
from devices.salvage import Salvaged, salvage_unreadable, salvage_urgent
from devices.words import budgeted, own_type, urgent_type, urgent_word
from gateway.alarm_records import (
    EVENT_AGE_S,
    READING_AGE_S,
    older_than,
    over,
    past_key,
    report_ms,
)
from gateway.envelope import RawMessage
from gateway.urgency import may_name_urgent


@budgeted
def misplaced_urgent(kind: DeviceKind, codec: object, raw: RawMessage,
                     channel: str = "telemetry") -> Salvaged | None:
    """An urgent event published on `…/telemetry` (an SOS with its readings, say) or on a
    channel of its own (`…/events`, `…/alarm`): someone pressed the button, and refusing it
    over the channel muted them (vendor round 3). Read as our v1 JSON only, and only when it
    names one of the kind's urgent types."""
    if isinstance(codec, DialectCodec):
        return None
    note = f"sent on …/{channel[:40]}: events go on …/event (this one was taken as an event)"
    if b"type" in raw.payload.lower() or utf16_codec(raw.payload) is not None:
        found = salvage_urgent(kind, raw.payload, raw.received_at, [note])
        if found is not None:
            return found
    return flagged_event(kind, raw, [note], event=channel.startswith(("event", "alarm")))


# Nested objects searched for an alarm flag: a vendor cloud's or a carrier platform's
# envelope (`{"msgType": "report", "data": {"alarm": "sos"}}`, CTWing's
# `payload.serviceData`, OneNET's `msg.value` holding the device's JSON as text) — a few
# levels and a few dozen objects, not a whole tree.
_NESTED_KEYS_MAX = 256
_NESTED_DEPTH = 3
_NESTED_MAX = 32
_TEXT_MAX = 8192


@budgeted
def flagged_event(kind: DeviceKind, raw: RawMessage, notes: list[str], *,
                  event: bool) -> Salvaged | None:
    """The urgent event a message flags in a field of its own rather than in `type`.

    One-topic firmware flags its alarm in a field (`"alarm": "sos"`): a message naming an
    urgent type there is that event (vendor round 3 recheck) — in any spelling of the key, as
    a list or an object of its own, or as a flag named after the alarm (`"sos": true`), in a
    message of any size the gateway takes (red team round 4: a watch's 5 KB Wi-Fi scan with
    `"alarm": "sos"` was refused), and inside envelopes up to three levels down (`"data":
    {…}`, red team round 4 re-check), JSON, base64 or hex text included (vendor round 6: a
    smoke alarm forwarded by CTWing or OneNET was refused, never paged).

    `event`: the message came as an event (`…/event`), which is the alarm: an element there
    saying it is over or recent past does not veto it as it does in a reading."""
    members = object_members(raw.payload)
    if members is None:
        return None
    top = dict(members)
    other = _names_other_word(kind, top)
    # Its first keys: a real payload has a few dozen; thousands of made-up flag keys held
    # the writer 85 ms a message (red team round 7). Those naming one of the kind's urgent
    # words first: made-up flags before them spent the message's word searches (round 9).
    first = _urgent_named_first(kind, members[:_NESTED_KEYS_MAX])
    # `{"alarm_type": "sos", "alarm": 0}`: which alarm the device reports, and that it is not
    # on (red team round 8: every such report paged). `null` says nothing (a serializer
    # writing every field of a struct), and only "which alarm" keys are vetoed: an `event`
    # or a `type` naming the SOS is the SOS (round 9: `{"event": "sos", "alarm": null}` lost).
    off = any(urgent_word(k) in _ALARM_FLAGS and v is not None and is_quiet(v)
              for k, v in first)
    for key, value in first:
        word = flag_word(kind, key, value)
        if word is not None and other and urgent_word(key) in ALARM_KEYS and _is_set(value):
            # `{"type": "fault", "alarm": 1}`: the object model's flag for any alarm, and
            # the message says which — not the fire, leak or entrapment (red team round 7:
            # faults, self-tests and `alarm_cleared` paged critical).
            word = None
        if word is not None and off and not _is_set(value) and urgent_word(key) in _WHICH_ALARM:
            word = None  # an alarm named, with the flag beside it off
        if word is not None:
            rest = {k: v for k, v in top.items() if k != key}
            return salvage_urgent(kind, orjson.dumps({**rest, "type": word}), raw.received_at,
                                  [*notes, f"{key[:20]!r} {str(value)[:40]!r} read as its type"])
    sent = report_ms(top.get("ts"), raw.received_at * 1000)
    for path, inner in _envelopes(top, event, sent):
        for name, value in inner.items():
            word = flag_word(kind, name, value) or (
                urgent_named(kind, value) if urgent_word(name) == "type"
                and isinstance(value, str) else None)
            if word is not None:
                outer = path.split(".", 1)[0].split("[", 1)[0]
                rest = {k: v for k, v in top.items() if k != outer}
                fields = {k: v for k, v in inner.items()
                          if k != name and not isinstance(v, dict | list)}
                return salvage_urgent(
                    kind, orjson.dumps({**rest, **fields, "type": word}), raw.received_at,
                    [*notes, f"{path[:40]}.{name[:20]} {str(value)[:40]!r} read as its type"])
    return None


# Keys that flag "an alarm" without naming one (not `status` or `event`: `"status": 1` is
# no fire).
_ALARM_FLAGS = frozenset(urgent_word(k) for k in (
    "alarm", "alert", "warning", "alarm_state", "alarm_status", "alarm_flag"))
# Names of what a detector measures: a number under one is a reading (`"co": 1` is 1 ppm),
# only `true` a flag.
_MEASURED = frozenset(urgent_word(k) for k in (
    "co", "ch4", "methane", "gas", "lpg", "h2s", "co2", "smoke", "temperature", "temp"))
# Keys that say which event a message is.
_WHICH_KEYS = frozenset(urgent_word(k) for k in (
    "type", "event", "event_type", "alarm_type", "alarm_name", "event_name"))
# Keys that say which alarm a flag reports (not which message this is: `"type": "heartbeat"`
# beside `"alarm": 1` is a report of an alarm that is on).
_WHICH_ALARM = frozenset(urgent_word(k) for k in (
    "alarm", "alarm_type", "alarm_name", "alarm_kind", "alarm_code"))


def _urgent_named_first(kind: DeviceKind, members: list[tuple[str, object]]
                        ) -> list[tuple[str, object]]:
    """The members whose key contains one of the kind's urgent words, then the others."""
    words = _urgent_words(kind)
    named: list[tuple[str, object]] = []
    others: list[tuple[str, object]] = []
    for key, value in members:
        urgent = any(w in urgent_word(key[:64]) for w in words)
        (named if urgent else others).append((key, value))
    return named + others


_URGENT_WORDS: dict[str, tuple[str, ...]] = {}


def _urgent_words(kind: DeviceKind) -> tuple[str, ...]:
    words = _URGENT_WORDS.get(kind.key)
    if words is None:
        words = _URGENT_WORDS[kind.key] = tuple(urgent_word(w) for w in kind.urgent)
    return words


def _names_other_word(kind: DeviceKind, top: dict[str, object]) -> bool:
    """Whether the message names one of the kind's words that is not urgent (`fault`,
    `self_test`, `released`), or says its alarm is over, under a key saying which event it
    is."""
    calm = _calm_words(kind)
    for key, value in top.items():
        if isinstance(value, str) and urgent_word(key) in _WHICH_KEYS:
            word = urgent_word(value)
            if (word in calm and urgent_type(kind, value) is None) or word in _OVER:
                # (Another kind's calm word may be this kind's alarm: a gas detector's
                # `leakage`, a leak detector's own word; red team round 11.)
                return True
            if (urgent_word(key) in _WHICH_ALARM and word not in _WITH_AN_ALARM
                    and urgent_type(kind, value) is None
                    and (own_type(kind, value) not in (None, _SILENCED)
                         or (names_a_test(value) if names_urgent(kind, value) is not None
                             else names_no_alarm(value)))):
                # `{"alarm": 1, "alarm_type": "自检"}`: a self-test, a tamper, a fault, low
                # battery in the vendor's own words — paged as a fire (vendor round 9). Only
                # words known to say so: an unknown one (`可燃气体超标`, `烟雾浓度超标`, `E01`)
                # is the flag's alarm in the vendor's words, and was lost (red team round 10).
                return True
    return False


_CALM: dict[str, frozenset[str]] = {}


# What comes with an alarm rather than instead of one: a gas detector closing its valve on
# a leak (red team round 7 re-check: `{"alarm": 1, "event": "valve_closed"}` was vetoed).
_WITH_AN_ALARM = frozenset(("valve_closed", "snapshot", "call_connected"))
# So does a detector's own silenced sounder: its `hushed` beside a set flag is still in alarm
# (red team round 12: `{"alarm": 1, "alarm_type": "hush"}` was refused, never paged) — on
# another kind the word still says which message it is.
_SILENCED = "hushed"


def _calm_words(kind: DeviceKind) -> frozenset[str]:
    """Words of any kind's vocabulary that are no alarm: `fault`, `self_test`, `tamper`,
    `alarm_cleared` … (a smoke detector saying `tilt` beside `alarm: 1` is not on fire)."""
    words = _CALM.get(kind.key)
    if words is None:
        every = {w for k in CATALOGUE.kinds.values() for w in k.vocabulary()}
        urgent = {w for k in CATALOGUE.kinds.values() for w in k.urgent}
        urgent |= {alias for alias, _ in kind.urgent_aliases}
        own = {_SILENCED} & set(kind.vocabulary())
        words = _CALM[kind.key] = frozenset(
            urgent_word(w) for w in every - urgent - _WITH_AN_ALARM - own)
    return words


# Keys a carrier platform or a forwarder wraps the device's own message in: on `…/event`
# what is inside is the event sent now, whatever the device's clock says (red team round
# 11: an SOS in `data` dated 30 h back by a wrong clock was dropped; unwrapped it paged).
_CARRIERS = frozenset(("data", "payload", "body", "value", "msg", "message", "content",
                       "params", "appdata", "properties", "info", "detail", "result"))


def _envelopes(top: dict[str, object], event: bool, sent_ms: float
               ) -> list[tuple[str, dict[str, object]]]:
    """The objects nested in a message, breadth first, with their paths: objects, and text
    that is a JSON object — plain, base64 or hex (a carrier platform's transparent payload).
    Not logs of earlier alarms, nor elements older than the message (`sent_ms`) or, in a
    reading, saying they are over (gateway/alarm_records.py)."""
    age_s = EVENT_AGE_S if event else READING_AGE_S
    out: list[tuple[str, dict[str, object]]] = []
    level: list[tuple[str, dict[str, object]]] = [("", top)]
    for _ in range(_NESTED_DEPTH):
        deeper: list[tuple[str, dict[str, object]]] = []
        for path, obj in level:
            for key, value in obj.items():
                if past_key(key, value):
                    continue  # a log of earlier alarms, not one now (red team round 8)
                name = f"{path}.{key}" if path else str(key)
                # A list of objects counts by its first few (`"data": [{"type": "sos"}]`).
                found = ([(f"{name}[{i}]", v) for i, v in enumerate(value[:4])]
                         if isinstance(value, list) else [(name, value)])
                for where, one in found:
                    inner = one if isinstance(one, dict) else _object_in_text(one)
                    if (inner is None or len(inner) > _NESTED_KEYS_MAX
                            or (not (event and urgent_word(str(key)[:32]) in _CARRIERS)
                                and older_than(inner, sent_ms, age_s))
                            or (not event and over(inner))):
                        continue
                    deeper.append((where, inner))
                    if len(out) + len(deeper) >= _NESTED_MAX:
                        return out + deeper
        out += deeper
        level = deeper
    return out


def _object_in_text(value: object) -> dict[str, object] | None:
    """A JSON object carried as text: as is, in base64, or in hex."""
    if not isinstance(value, str) or not 2 <= len(value) <= _TEXT_MAX:
        return None
    text = value.strip()
    candidates: list[bytes] = []
    if text.startswith("{"):
        candidates.append(text.encode())
    elif len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text):
        candidates.append(bytes.fromhex(text))
    else:
        try:
            candidates.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            return None
    for data in candidates:
        if not data.lstrip().startswith(b"{"):
            continue
        try:
            found = orjson.loads(data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(found, dict):
            return found
    return None


# Words saying an alarm is over, or no alarm at all, in a dotted method name.
_OVER = frozenset(("cleared", "clear", "end", "ended", "cancel", "cancelled", "canceled",
                   "recover", "recovered", "restore", "restored", "test", "reset", "mute"))
# Keys whose dotted value names a message by its event (IoT platforms' method names).
# Not the alarm keys: `"status": "alarm.cleared"`, `"event": "sos.cancelled"` say an alarm is
# over, and were read as the alarm (red team round 6 re-check).
_NAMING_KEYS = frozenset(urgent_word(k) for k in ("method", "identifier"))


def flag_word(kind: DeviceKind, key: str, value: object) -> str | None:
    """The urgent word a reading's field flags, or None."""
    if isinstance(value, str) and "." in value and urgent_word(key) in _NAMING_KEYS:
        # Aliyun's `"method": "thing.event.SmokeAlarm.post"`: one part names the event.
        parts = value.split(".")[:8]
        if not any(urgent_word(p) in _OVER for p in parts):
            for part in parts:
                if urgent_type(kind, part) is not None:
                    return part
    named = urgent_word(key)
    if named in ALARM_KEYS or (named == "type" and isinstance(value, list | dict)):
        # (`"type": ["sos"]`, `"type": {"name": "sos"}`: red team round 8)
        if _is_set(value):
            # `"alarm": 1` on a kind whose other word for its alarm is `alarm` (a smoke or
            # gas detector, an alarm pole: vendor round 5, every NB-IoT object model) — and
            # `alarm_state: 1`, `alarm_status`, `warning` (red team round 7).
            return urgent_type(kind, key) or (
                urgent_type(kind, "alarm") if urgent_word(key) in _ALARM_FLAGS else None)
        values = value if isinstance(value, list) else [value]
        for one in values[:32]:
            if isinstance(one, dict):  # {"type": "sos"}, {"name": "sos"}, {"sos": true}
                flag = next((k for k, v in one.items()
                             if _is_set(v) and urgent_type(kind, k) is not None), None)
                if flag is not None:
                    return flag
                one = next((v for k, v in one.items()
                            if urgent_word(k) in ("type", "name", "code")), None)
            if isinstance(one, str) and urgent_named(kind, one) is not None:
                return urgent_named(kind, one)
        return None
    if _is_set(value) and not (urgent_word(key) in _MEASURED and value is not True
                               and not (type(value) is int and urgent_word(key) == "smoke")):
        # (`"smoke": 1`, an integer, is a sensor's state, as `smoke_state: 1` is: a pile's
        # heartbeat with it was refused whole, 95 °C and all — vendor round 12; `1.0` stays a
        # measure.)
        # "sos": true — also `isSos`, `sosFlag`; not `"co": 1`, one ppm (red team round 7)
        word = urgent_word(key)
        if urgent_type(kind, word) is not None:  # Aliyun's `SmokeSensorState`, as it is
            return word
        word = word[2:] if word.startswith("is") and len(word) > 4 else word
        for suffix in ("flag", "state", "status"):  # `sosFlag`, `smoke_state` (round 5)
            word = word[:-len(suffix)] if word.endswith(suffix) and len(word) > 6 else word
        return word if urgent_type(kind, word) is not None else None
    return None


def _is_set(value: object) -> bool:
    """A flag that is on: true, 1, 1.0, "true", "1"."""
    if value is True:
        return True
    if type(value) in (int, float):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on")


def unknown_channel(topic: str) -> tuple[str, str, str] | None:
    """(kind, device id, channel) of a topic under our prefix whose channel is none of ours
    (`scgw/v1/wristband/WB-1/events`), or None."""
    levels = topic.split("/", 4)
    if len(levels) < 5 or levels[0] != "scgw" or levels[1] != "v1" \
            or not topics.valid_id(levels[3]):
        return None
    return levels[2], levels[3], levels[4]




@budgeted
def salvage_event(kind: DeviceKind, codec: object, raw: RawMessage, channel: Channel | None,
             topic: CompiledTopic | None) -> Salvaged | None:
    """An urgent event read despite its faults (devices/salvage.py): through the device's
    dialect when it speaks one — and, on our own topics, as our v1 JSON, which a dialect
    device may send too."""
    if not isinstance(codec, DialectCodec):
        return (salvage_urgent(kind, raw.payload, raw.received_at)
                or flagged_event(kind, raw, [], event=True)
                or salvage_unreadable(kind, raw.payload, raw.received_at))
    rewritten = codec.urgent_as_contract(kind, raw.payload, channel, topic, raw.received_at)
    if rewritten is not None:
        payload, repairs = rewritten
        return salvage_urgent(kind, payload, raw.received_at,
                              [f"read through dialect {codec.name}", *repairs])
    if topic is None:
        return salvage_urgent(kind, raw.payload, raw.received_at,
                              [f"not dialect {codec.name}: read as our v1 JSON"])
    return None


# Larger messages are not read in full off the ingest thread (an urgent event is small).
READ_IN_FULL_MAX = 8192


def may_be_urgent(raw: RawMessage) -> bool:
    """Whether a message could be an urgent event by a glance at its bytes: on one of our
    topics, small enough to read in full, naming one of its kind's urgent words (or holding
    any non-ASCII text). The flood budget reads in full only such messages: a band's shed
    readings spent the allowance, and its spelled SOS was shed after them (red team round 6)."""
    found = unknown_channel(raw.topic) if raw.topic.startswith("scgw/v1/") else None
    if found is None or len(raw.payload) > READ_IN_FULL_MAX:
        return False
    kind = CATALOGUE.get(found[0])
    return kind is not None and bool(kind.urgent) and may_name_urgent(kind, raw.payload)


def urgent_when_read(raw: RawMessage) -> bool:
    """Whether a message on one of our topics is an urgent event once read in full, as the
    decoder's salvage reads it (a pure check: no device is looked up). For the flood budget,
    which otherwise sheds what its quick pattern does not recognise."""
    found = unknown_channel(raw.topic) if raw.topic.startswith("scgw/v1/") else None
    if found is None or len(raw.payload) > READ_IN_FULL_MAX:
        return False
    kind = CATALOGUE.get(found[0])
    if kind is None or not kind.urgent:
        return False
    read = salvage_event(kind, None, raw, "event", None) if found[2] == "event" \
        else misplaced_urgent(kind, None, raw, found[2])
    return read is not None
