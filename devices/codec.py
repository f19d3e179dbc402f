"""Codecs turn payload bytes into typed models; `json` is our contract, vendors add their own."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Protocol

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from devices.base import Channel, CommandAck, DeviceKind, Status
from devices.catalogue import CATALOGUE, KindCatalogue
from devices.errors import PayloadError

RANGE_ERRORS = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "out_of_range"}
)
_STATUS = TypeAdapter(Status)
_CMD_ACK = TypeAdapter(CommandAck)
_PLAIN_STATUS = {b"online": Status(state="online"), b"offline": Status(state="offline")}


class Codec(Protocol):
    """Decodes one message of a device's kind on one channel."""

    name: str

    def decode(self, kind: DeviceKind, channel: Channel, payload: bytes) -> BaseModel:
        """Return the typed payload or raise PayloadError with a dead-letter reason."""
        ...


def classify(exc: ValidationError) -> PayloadError:
    """Map a pydantic error to a dead-letter reason and a short, readable message."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    etype = first["type"]
    if etype == "json_invalid":
        return PayloadError(f"malformed JSON: {first['msg']}", reason="malformed_json")
    if etype == "union_tag_not_found" and first["loc"] in ((), ("type",)):
        # No `type` at all is a missing field, not a word outside the vocabulary.
        return PayloadError("type: Field required (an event names its type)",
                            reason="schema_invalid")
    if etype == "union_tag_invalid" and first["loc"] in ((), ("type",)):
        ctx = first.get("ctx") or {}
        return PayloadError(f"type {ctx.get('tag', '?')!r} is not an event of this kind "
                            f"(one of: {ctx.get('expected_tags', '?')})",
                            reason="unknown_event_type")
    if all(e["type"] in RANGE_ERRORS for e in errors):
        return PayloadError(_describe(first, errors), reason="out_of_range")
    # The detail leads with an error of the reason it gives, not with an out-of-range value
    # that came first (the device would fix that one and be refused again, for the other).
    lead = next(e for e in errors if e["type"] not in RANGE_ERRORS)
    return PayloadError(_describe(lead, errors), reason="schema_invalid")


def _describe(error: Any, errors: list[Any]) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "payload"
    text = f"{where}: {error['msg']}"
    hint = _unit_hint(str(error["loc"][-1]) if error["loc"] else "", error.get("input"))
    if hint:
        text += f" ({hint})"
    if len(errors) > 1:
        text += f" (+{len(errors) - 1} more)"
    return text


def _unit_hint(field: str, value: Any) -> str | None:
    """What an out-of-range value most likely is, for the unit mistakes firmware makes
    (vendor round 3: a generic "less than or equal to 100" left them guessing)."""
    if type(value) not in (int, float):
        return None
    if field == "battery_pct" and 1000 <= value <= 5000:
        return "looks like millivolts: send the charge in percent"
    if field in ("lat", "lon") and 100 <= abs(value) <= 18_100:
        degrees, minutes = divmod(abs(value), 100)
        if minutes < 60:
            sign = "-" if value < 0 else ""
            return (f"looks like NMEA ddmm.mmmm: {degrees:.0f}°{minutes:g}′ is "
                    f"{sign}{degrees + minutes / 60:.6f} degrees")
    if field == "body_temp_c" and 300 <= value <= 450:
        return "looks like tenths of a degree: send °C (365 → 36.5)"
    return None


class JsonCodec:
    """Our v1 JSON contract, validated straight from bytes by pydantic."""

    name = "json"

    def __init__(self, catalogue: KindCatalogue = CATALOGUE) -> None:
        self._catalogue = catalogue

    def decode(self, kind: DeviceKind, channel: Channel, payload: bytes) -> BaseModel:
        """Validate `payload` against the model of the kind and channel."""
        if channel == "status":
            # `ONLINE` too, and a JSON string `"online"` (vendor round 4)
            plain = _PLAIN_STATUS.get(payload.strip().strip(b'"').strip().lower())
            if plain is not None:
                return plain
        if channel == "event" and payload.count(b'"type"') > 1:
            _refuse_repeated_type(payload)
        try:
            return self._adapter(kind, channel).validate_json(payload)
        except ValidationError as exc:
            lenient = _lenient_status(payload) if channel == "status" else None
            if lenient is None:
                raise classify(exc) from exc
            return lenient

    def decode_object(self, kind: DeviceKind, channel: Channel, obj: dict[str, Any]) -> BaseModel:
        """Validate an already-parsed object (vendor codecs translate into this)."""
        try:
            return self._adapter(kind, channel).validate_python(obj)
        except ValidationError as exc:
            raise classify(exc) from exc

    def _adapter(self, kind: DeviceKind, channel: Channel) -> TypeAdapter[Any]:
        if channel == "telemetry":
            return self._catalogue.telemetry_adapter(kind.key)
        if channel == "event":
            return self._catalogue.event_adapter(kind.key)
        if channel == "status":
            return _STATUS
        return _CMD_ACK


def _lenient_status(payload: bytes) -> Status | None:
    """A status object read leniently: `"state"` in any case, other fields the device added
    (`"reason": "power"` in its will) ignored, a `ts` or `seq` that is not valid left out. A
    will refused over an extra field never showed its device offline (vendor round 2)."""
    members = object_members(payload)
    if members is None:
        return None
    fields = {key.strip().lower(): value for key, value in members}
    # `{"status": "online"}` is the same word under another name (vendor round 4).
    state = fields.get("state", fields.get("status"))
    flag = fields.get("online")
    if state is None and type(flag) in (bool, int) and flag in (0, 1):
        state = "online" if flag else "offline"  # `{"online": true}` (vendor round 4)
    if not isinstance(state, str) or state.strip().lower() not in ("online", "offline"):
        return None
    found: dict[str, Any] = {"state": state.strip().lower()}
    for name in ("ts", "seq"):
        if name in fields:
            try:
                Status.model_validate_json(orjson.dumps({**found, name: fields[name]}))
            except (ValidationError, orjson.JSONEncodeError):
                continue
            found[name] = fields[name]
    try:
        return Status.model_validate_json(orjson.dumps(found))
    except (ValidationError, orjson.JSONEncodeError):
        return None


class Members(list[tuple[str, Any]]):
    """A JSON object's members in order, duplicates kept."""


# A string literal, or a bare non-finite number as C's printf writes one (`nan`, `-nan`,
# `inf`, `-infinity`; a GPS without a fix): outside strings the latter is read as null. A
# string never closed runs to the end of the text: matched once, not rescanned from every
# later quote (that was quadratic — a 64 KB status froze the whole process for 18 s while the
# C regex held the interpreter lock, red team round 3).
_NON_FINITE = re.compile(
    r'("(?:\\.|[^"\\])*(?:"|\\?\Z))|(?<![\w.])[-+]?(?i:nan|inf(?:inity)?)(?![\w.])')
_MAY_BE_NON_FINITE = re.compile(r"(?i)nan|inf")


def _non_finite_as_null(match: re.Match[str]) -> str:
    return match.group(1) if match.group(1) is not None else "null"


_TRAILING_COMMA = re.compile(r",(?=\s*[}\]])")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _int_or_float(text: str) -> int | float | str:
    # Python refuses integers past 4,300 digits (a ValueError that sank a whole SOS), and
    # what is read is written again (stored, salvaged): past 64 bits — an ICCID sent as a
    # number — no encoder writes it (red team round 8: the SOS beside it was lost). Such a
    # number is kept as its digits.
    if len(text) < 19:
        return int(text)
    value = int(text) if len(text) <= 4000 else None
    return value if value is not None and -2**63 <= value < 2**64 else text


GBK_NOTE = "text in GBK (GB18030) rather than UTF-8: read as GBK (send UTF-8)"
UTF16_NOTE = "text in UTF-16 rather than UTF-8: read as UTF-16 (send UTF-8)"


# What a JSON text in a wide encoding may start with: an object, a list, a string holding
# the object (a cloud rule engine's), after whitespace (red team round 9).
_WIDE_FIRST = frozenset(b'{["\t\n\r ')


def utf16_codec(payload: bytes) -> str | None:
    """The wide codec (UTF-16, or UTF-32 by its mark) a payload is written in — by its
    byte-order mark, also after a UTF-8 one, or a JSON text's first character with a NUL
    after or before it — or None."""
    head = payload[3:7] if payload[:3] == b"\xef\xbb\xbf" else payload[:4]
    if head in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "utf-32"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    if len(head) == 4 and head[1] == 0 == head[3] and head[0] in _WIDE_FIRST:
        return "utf-16-le"
    if len(head) == 4 and head[0] == 0 == head[2] and head[1] in _WIDE_FIRST:
        return "utf-16-be"
    return None


def wide_text(payload: bytes, codec: str) -> str:
    """A wide payload's text: without a UTF-8 mark before it, and without what C firmware
    leaves after it (a wide NUL terminator, `wcslen + 1`; a fixed buffer's padding; a lone NUL
    byte). Raises UnicodeDecodeError when it is not that codec after all."""
    if payload[:3] == b"\xef\xbb\xbf":
        payload = payload[3:]
    unit = 4 if codec == "utf-32" else 2
    extra = len(payload) % unit
    if extra and not payload[-extra:].strip(b"\x00"):
        payload = payload[:-extra]
    return payload.decode(codec).rstrip("\x00\t\n\r ")


def payload_text(payload: bytes) -> tuple[str, str | None]:
    """A payload's text and, when it was not UTF-8, how it was read: as GB18030 (GBK's
    superset), which old Chinese firmware sends (vendor round 7: a band's `求救` in GBK was
    refused as malformed, its SOS lost), as UTF-16 (a Windows or Java stack's default:
    red team round 8), or with the bytes neither reads replaced."""
    utf16 = utf16_codec(payload)
    if utf16 is not None:
        try:
            return wide_text(payload, utf16), UTF16_NOTE
        except UnicodeDecodeError:
            pass
    try:
        return payload.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    lenient = payload.decode("utf-8", errors="replace")
    # UTF-8 text with a stray byte (`36.5\xb0C` beside `求救`) stays UTF-8: text is GBK only
    # when what does not read as UTF-8 outweighs what does (GBK pairs sometimes form a valid
    # UTF-8 character by chance) (red team round 7 re-check: read as GB18030, the `求救`
    # became other characters, and the SOS was refused).
    bad = lenient.count("\ufffd")
    if sum(1 for c in lenient if ord(c) > 127) - bad >= bad:
        return lenient, "bytes that are not UTF-8 replaced"
    try:
        return payload.decode("gb18030"), GBK_NOTE
    except UnicodeDecodeError:
        return lenient, "bytes that are neither UTF-8 nor GBK replaced"


def object_members(text: str | bytes) -> Members | None:
    """The top-level members of a JSON object (nested objects as dicts, the last of their
    duplicate keys winning), or None when it is no JSON object. The standard parser: it
    reads NaN, Infinity and lone surrogate escapes, which the strict one refuses whole; and
    on a second try C's `nan`/`inf` tokens (as null) and integers of any length."""
    if isinstance(text, bytes):
        text = payload_text(text)[0]
    if text.count('"type"') <= 1:
        # The fast parser first (a 27 KB camera event: 10 ms with the standard one): it agrees
        # wherever it reads the text at all, and duplicate keys matter only for `type`.
        try:
            fast = orjson.loads(text)
        except orjson.JSONDecodeError:
            fast = None
        if isinstance(fast, dict):
            return Members(fast.items())
    top: Any = None
    for attempt in _attempts(text):
        try:
            top = json.loads(attempt, object_pairs_hook=Members, parse_int=_int_or_float)
            break
        except (ValueError, RecursionError):
            continue
    if not isinstance(top, Members):
        return None
    try:
        return Members((_text(key), _plain(value)) for key, value in top)
    except RecursionError:
        # Nested deeper than any device writes (600 levels crashed this, red team round 3b):
        # no object any reader takes; an urgent one still pages by its type (salvage).
        return None


def _attempts(text: str) -> Iterator[str]:
    """The text, then (only if needed and only if it may hold any) with C's non-finite
    tokens read as null, then without commas before a closing brace or bracket (firmware
    that writes `,` after every member: red team round 8, an SOS flag in such a reading)."""
    yield text
    if _MAY_BE_NON_FINITE.search(text):
        text = _NON_FINITE.sub(_non_finite_as_null, text)
        yield text
    if _TRAILING_COMMA.search(text):
        yield _TRAILING_COMMA.sub("", text)


def _plain(value: Any) -> Any:
    if isinstance(value, Members):
        return {_text(key): _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return _text(value)
    return value


def _text(text: str) -> str:
    """`text` with its lone surrogates (a `\\ud83d` escape cut from its pair: an emoji in an
    SSID cut at a buffer's end) as U+FFFD, so it can be written again as UTF-8 (red team
    round 8: the SOS beside one was lost)."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _refuse_repeated_type(payload: bytes) -> None:
    """An event naming its `type` twice is ambiguous: a parser keeps the last one, so
    `{"type": "sos", …, "type": "worn"}` was stored as a `worn` without a word."""
    top = object_members(payload)
    if top is None:
        return  # not JSON: the validation says so
    said = [value for key, value in top if key == "type"]
    if len(said) > 1:
        raise PayloadError(f"type given {len(said)} times ({', '.join(map(repr, said))[:200]}); "
                           "name an event's type once", reason="schema_invalid")


def load_object(payload: bytes) -> dict[str, Any]:
    """Parse JSON bytes that must hold an object (for vendor codecs)."""
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"malformed JSON: {exc}", reason="malformed_json") from exc
    if not isinstance(obj, dict):
        raise PayloadError("payload must be a JSON object", reason="schema_invalid")
    return obj
