"""Which received messages may jump the ingest queue: the kinds' urgent events (SOS, fall …)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import orjson

from devices.base import DeviceKind
from devices.catalogue import CATALOGUE, KindCatalogue
from devices.codec import utf16_codec, wide_text
from devices.dialects.engine import DialectCodec
from devices.vendors import CodecSet
from devices.words import URGENT_DECORATIONS, URGENT_PREFIXES, urgent_type, urgent_word
from gateway.envelope import Envelope, RawMessage

_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Messages that looked urgent and were not, within a window, before a device's look is
# distrusted, and for how long (a band's press resent as copies is urgent each time).
FALSE_MARKS = 3
FALSE_WINDOW_S = 60.0
DISTRUST_S = 60.0
_DEVICES_MAX = 100_000
_TOP_READ_MAX = 65_536  # a distrusted device's message read in full to see what it names
_TOP_KEYS_MAX = 64
_SET = (1, True, "1", "true", "TRUE", "True")
_OFF = (0, False, "0", "false", "FALSE", "False", "off", "no")
# Keys saying which event or alarm a message is (the quick pattern's), and alarm flags.
_WHICH_KEY = re.compile(r"(?i)^(?:event|event[-_]?type|alarm[-_]?type|alarm[-_]?code|alarm)$")
_FLAG_KEY = re.compile(r"(?i)^(?:alarm|alert|warning|alarm[-_]?(?:state|status|flag))$")
# Readings of a lane kind (`DeviceKind.lane_readings`) go first this often per device: a
# burst, then one every two seconds. A detector reports every minute, or every second or two
# while a concentration rises — when it matters (red team round 12: with six and one per 10 s,
# a detector reporting every 1-3 s had spent its allowance, and its 40 %LEL waited 6-10 s).
LANE_READING_BURST = 20.0
LANE_READING_EVERY_S = 2.0
# An event in UTF-16 (a BOM, or `{\0"`) is read as such for its urgency up to this size.
_UTF16_MAX = 8192
# What firmware adds after an urgent word (`sos_key_alarm`), as salvage reads it.
_DECORATIONS = b"|".join(re.escape(d.encode()) for d in URGENT_DECORATIONS)
_DECORATED = rb"(?:[-_\s:!/|]*(?:" + _DECORATIONS + rb")){0,4}(?:[-_\s]*\d{1,3})?[!]?"
_PREFIXED = (rb"(?:(?:" + _DECORATIONS + b"|"
             + b"|".join(re.escape(d.encode()) for d in URGENT_PREFIXES) + rb")[-_\s:/|]*){0,2}")


class UrgencyHint:
    """Spots an urgent event from its topic and raw payload, before anything is decoded.

    Only a hint for ordering work and for the flood budget: a payload it does not recognise
    simply waits its turn (and, from a device over its budget, may be shed), and decoding
    still judges every message in full. Dialect devices are recognised by their event code
    (`"alarm": "SOS"`) where the dialect reads it from a top-level key: a flooding HX band's
    SOS was shed with its readings (red team, session 31).
    """

    def __init__(self, catalogue: KindCatalogue = CATALOGUE,
                 codecs: CodecSet | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._codecs = codecs
        self._monotonic = monotonic
        dialects = list(codecs.dialects.values()) if codecs is not None else []
        self._patterns: dict[str, re.Pattern[bytes]] = {}
        self._readings: dict[str, re.Pattern[bytes]] = {}
        self._glances: dict[str, re.Pattern[bytes]] = {}
        for kind in catalogue.kinds.values():
            if not kind.urgent:
                continue
            # Any case; `-`, a space or nothing for `_` (camelCase); the kind's aliases:
            # whatever salvage reads as urgent (devices/salvage.py) is as urgent here.
            words = [*kind.urgent, *(alias for alias, _ in kind.urgent_aliases)]
            named = (rb'(?i:' + _PREFIXED + rb'(?:'
                     + b"|".join(re.escape(w.encode()).replace(b"_", rb"[-_\s]*")
                                 for w in words) + rb')' + _DECORATED + rb')')
            # Under `type` and the other keys saying which event or alarm it is (`event`,
            # `event_type`, `alarm`, `alarm_type`, `alarm_code`), as a string or the first of a
            # list: those SOS were paged but waited behind a flood (red team round 9: 16 s).
            ours = (rb'"(?i:type|event|event[-_]?type|alarm|alarm[-_]?type|alarm[-_]?code)"'
                    rb'\s*:\s*\[?\s*"\s*' + named + rb'\s*"')
            # Dialect devices publishing on our own topics (hx_band).
            theirs = [p for d in dialects for p in _code_patterns(d, catalogue, None, kind.key)]
            self._patterns[kind.key] = re.compile(b"|".join([ours, *theirs]))
            # A reading flagging it (`"sos": 1`, `"isSos": true`, `"alarm": "sos"`), which
            # decoding reads as the event, waited 16-20 s behind a costly flood (round 9).
            flag = (rb'"(?i:is[-_]?)?' + named + rb'(?:[-_]?(?i:flag|state|status))?"'
                    rb'\s*:\s*(?:true|1(?:\.0)?\b|"\s*(?i:true|1|yes|on)\s*")')
            self._readings[kind.key] = re.compile(b"|".join([ours, flag]))
            self._glances[kind.key] = re.compile(b"|".join(re.escape(t) for t in _stems(words)))
        # Devices whose messages looked urgent and were not, and until when (monotonic) they
        # are taken for what they are, not for how they look (red team round 11: 6,000 costly
        # readings carrying a log's `"type": "forced_open"` jumped the queue ahead of another
        # building's gas reading for 46 s).
        self._false: dict[str, tuple[int, float]] = {}
        # Readings that may be the alarm themselves (a gas concentration) go first, within a
        # per-device allowance (tokens, when last counted) instead of being judged by looks.
        self._lane_kinds = frozenset(k.key for k in catalogue.kinds.values() if k.lane_readings)
        self._lane_tokens: dict[str, tuple[float, float]] = {}
        self._distrusted: dict[str, float] = {}
        # (dialect, its topic name) → the pattern of its urgent codes on that topic.
        self._dialect: dict[tuple[str, str], re.Pattern[bytes] | None] = {}
        for dialect in dialects:
            for compiled in dialect.topics:
                parts = _code_patterns(dialect, catalogue, compiled.name, None)
                self._dialect[(dialect.name, compiled.name)] = (
                    re.compile(b"|".join(parts)) if parts else None)

    def device(self, raw: RawMessage) -> str | None:
        """The sending device's id if `raw` is an urgent event, else None (also for a device
        whose urgent-looking messages lately decoded as nothing urgent, for a while)."""
        topic = raw.topic
        if self._lane_kinds and topic.endswith("/telemetry") and topic.startswith("scgw/v1/") \
                and topic[8:topic.find("/", 8)] in self._lane_kinds:
            parts = topic.split("/")  # only a lane kind's reading pays for the split
            if len(parts) == 5:
                return parts[3] if self._lane_allowance(parts[3]) else None
        found = self._looks_urgent(raw)
        if found is not None and self._distrusted:
            until = self._distrusted.get(found)
            if until is not None:
                if time.monotonic() < until:
                    # The shape is distrusted, not the device: its event whose own `type` is
                    # an urgent word still goes first (red team round 11: three of a band's
                    # `{"alarm_type": "sos", "alarm": 0}` made its next SOS wait 46 s).
                    return found if _urgent_at_top(raw) else None
                del self._distrusted[found]
        return found

    def _lane_allowance(self, device_id: str) -> bool:
        """Spend one of the device's lane-reading tokens, if it has one left."""
        now = self._monotonic()
        tokens, since = self._lane_tokens.get(device_id, (LANE_READING_BURST, now))
        tokens = min(LANE_READING_BURST, tokens + (now - since) / LANE_READING_EVERY_S)
        if len(self._lane_tokens) > _DEVICES_MAX:
            self._lane_tokens.clear()
        if tokens < 1.0:
            self._lane_tokens[device_id] = (tokens, now)
            return False
        self._lane_tokens[device_id] = (tokens - 1.0, now)
        return True

    def false_mark(self, device_id: str) -> None:
        """A message of the device that looked urgent decoded as nothing urgent: past
        `FALSE_MARKS` of them within `FALSE_WINDOW_S`, its messages wait their turn for
        `DISTRUST_S` (a real alarm of it is still read in full, only not first)."""
        now = time.monotonic()
        count, since = self._false.get(device_id, (0, now))
        if now - since > FALSE_WINDOW_S:
            count, since = 0, now
        count += 1
        if len(self._false) > _DEVICES_MAX or len(self._distrusted) > _DEVICES_MAX:
            self._false.clear()
            self._distrusted.clear()
        if count >= FALSE_MARKS:
            self._false.pop(device_id, None)
            self._distrusted[device_id] = now + DISTRUST_S
        else:
            self._false[device_id] = (count, since)

    def _looks_urgent(self, raw: RawMessage) -> str | None:
        topic = raw.topic
        if not topic.startswith("scgw/"):
            return self._dialect_device(raw) if self._dialect else None
        payload = raw.payload
        if topic.endswith("/event"):
            patterns = self._patterns
        elif topic.endswith("/telemetry"):
            patterns = self._readings
        else:
            return None
        parts = topic.split("/")  # scgw/v1/{kind}/{device_id}/event
        if len(parts) != 5:
            return None
        pattern = patterns.get(parts[2])
        if pattern is None:
            return None
        # Every reading passes here: a glance for the words' stems first (the pattern costs
        # ~8 µs on a plain reading, the glance ~1 µs) — not at UTF-16 or UTF-32 without a mark.
        if patterns is self._readings and payload.isascii() and payload[1:2] != b"\0" \
                and payload[:1] != b"\0" \
                and self._glances[parts[2]].search(payload.lower()) is None:
            return None
        if pattern.search(payload) is None:
            codec = utf16_codec(payload) if len(payload) <= _UTF16_MAX else None
            try:
                text = wide_text(payload, codec) if codec is not None else None
            except UnicodeDecodeError:
                text = None
            if text is None or pattern.search(text.encode("utf-8", "replace")) is None:
                return None
        return parts[3]

    def _dialect_device(self, raw: RawMessage) -> str | None:
        route = self._codecs.route(raw.topic) if self._codecs is not None else None
        if route is None or not route.match.device_id:
            return None
        pattern = self._dialect.get((route.codec.name, route.topic.name))
        if pattern is None or pattern.search(raw.payload) is None:
            return None
        return route.match.device_id


def _stems(words: list[str]) -> tuple[bytes, ...]:
    """The ASCII stems one of `words` always shows in a key naming it, lower case: each
    word's part before its first `_` (the pattern reads `_` as any separator or none), those
    holding another dropped."""
    stems = {w.split("_", 1)[0].lower().encode() for w in words if w.isascii() and w}
    return tuple(sorted(s for s in stems if not any(o != s and o in s for o in stems)))


def _code_patterns(dialect: DialectCodec, catalogue: KindCatalogue, topic: str | None,
                   kind: str | None) -> list[bytes]:
    """Patterns of a dialect's urgent event codes read from a top-level key, for the rules of
    one of its topics (None: our own topics) — a rule naming no topic serves them all — and,
    when given, one kind."""
    out: list[bytes] = []
    for rule in dialect.dialect.messages:
        if rule.channel != "event" or rule.event is None or rule.topic not in (None, topic):
            continue
        kinds = rule.kinds if rule.kinds is not None else dialect.dialect.kinds
        if kind is not None and kind not in kinds:
            continue
        if not _SIMPLE_KEY.match(rule.event.code):
            continue
        urgent = {w for k in kinds if (c := catalogue.get(k)) is not None for w in c.urgent}
        codes = [code for code, word in rule.event.table.items() if word in urgent]
        if not codes:
            continue
        # The codes of the table and the urgent words themselves, in any case: salvage
        # reads `"sos"` for `SOS` (devices/dialects/engine.py).
        words = b"|".join(re.escape(w.encode()) for w in sorted({*codes, *urgent}))
        out.append(rb'"' + re.escape(rule.event.code.encode()) + rb'"\s*:\s*"?\s*(?i:'
                   + words + rb')\b')
    return out


def device_of(topic: str) -> str:
    """The device id segment of a device topic ("" when the topic has none)."""
    parts = topic.split("/", 4)
    return parts[3] if len(parts) > 3 else ""


_ASCII_WORDS: dict[str, re.Pattern[bytes]] = {}


# A JSON object carried as base64 or hex text — a carrier platform's transparent payload
# (CTWing's `APPdata`, OneNET's `msg.value`), which salvage reads: any quoted run of 16 or
# more base64 or hex characters with a letter among them may be one (red team round 7
# re-check: matching only `eyJ…`/`7b…`, a short one, or one of a leading line break or
# space, was missed).
_ENCODED_OBJECT = re.compile(rb'"\s*(?=[0-9+/]*[A-Za-z])[A-Za-z0-9+/]{16,}={0,2}\s*"')


def may_name_urgent(kind: DeviceKind, payload: bytes) -> bool:
    """Whether raw bytes may hold one of the kind's urgent words (any non-ASCII text may: a
    Chinese word, a full-width `ＳＯＳ`; so may a JSON object in base64 or hex text) — a
    glance, not a reading."""
    if not payload.isascii() or _ENCODED_OBJECT.search(payload) is not None:
        return True
    pattern = _ASCII_WORDS.get(kind.key)
    if pattern is None:
        words = {urgent_word(w) for w in (*kind.urgent, *(a for a, _ in kind.urgent_aliases))
                 if w.isascii()}
        pattern = _ASCII_WORDS[kind.key] = re.compile(b"|".join(
            rb"[-_.\s]*".join(re.escape(c.encode()) for c in w) for w in sorted(words)),
            re.IGNORECASE)
    return pattern.search(payload) is not None


def _urgent_at_top(raw: RawMessage) -> bool:
    """Whether a message names one of its kind's urgent words as its own top-level `type`, or
    sets a top-level flag named after one."""
    parts = raw.topic.split("/")
    kind = CATALOGUE.get(parts[2]) if len(parts) == 5 and parts[4] in ("event", "telemetry") \
        else None
    if kind is None or len(raw.payload) > _TOP_READ_MAX:
        return False
    try:
        obj = orjson.loads(raw.payload)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(obj, dict):
        return False
    said = obj.get("type")
    if isinstance(said, str) and urgent_type(kind, said) is not None:
        return True
    members = list(obj.items())[:_TOP_KEYS_MAX]
    # … or, in a reading, a set flag named after one (`{"sos": 1}`; red team round 11) …
    if any(value in _SET and urgent_type(kind, str(key)[:64]) is not None
           for key, value in members):
        return True
    # … or a key saying which event or alarm naming one, with no alarm flag beside it off:
    # `{"alarm_type": "sos", "alarm": 1}` or `{"event": "sos"}` — the shape a band's own
    # `{"alarm_type": "sos", "alarm": 0}` status reports had distrusted (red team round 12).
    named = any(isinstance(value, str) and _WHICH_KEY.match(str(key))
                and urgent_type(kind, value[:64]) is not None for key, value in members)
    return named and not any(_FLAG_KEY.match(str(key)) and value in _OFF
                             for key, value in members)


def confirmed_event(env: Envelope) -> bool:
    """An event its kind confirms though it is not urgent (a band's suspected fall): it looks
    urgent to the quick pattern (`fall_warning`), and that is no false look."""
    if env.channel != "event":
        return False
    kind = CATALOGUE.get(env.kind)
    return kind is not None and env.type in kind.confirmed


def rightly_first(env: Envelope) -> bool:
    """Whether a message that went to the front of the queue deserved it (else its device's
    looks are distrusted a while): an urgent event; an event its kind confirms though it is
    not urgent (a band's suspected fall, which looks urgent to the quick pattern); a reading
    of a kind whose readings alone may be the alarm (they go first by allowance, not looks)."""
    if env.urgent or confirmed_event(env):
        return True
    kind = CATALOGUE.get(env.kind)
    return kind is not None and env.channel == "telemetry" and kind.lane_readings
