"""Running a dialect's examples, and decoding one sample message without a gateway."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel

from devices import topics
from devices.catalogue import CATALOGUE, KindCatalogue
from devices.dialects.engine import DialectCodec, channel_of
from devices.dialects.model import Example
from devices.errors import DecodeError, PayloadError, TopicError

# The receipt time examples are decoded at (for dialects whose payloads carry no time).
EXAMPLE_RECEIVED_AT = 1_795_233_600.0  # 2026-11-21T04:00:00Z


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one sample message became: a channel and payload, or a dead-letter reason."""

    channel: str | None
    payload: dict[str, Any] | None
    reason: str | None = None
    detail: str = ""
    device_id: str | None = None


def _bytes(payload: dict[str, Any] | str | bytes) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return orjson.dumps(payload)


def decode_sample(codec: DialectCodec, topic: str, payload: dict[str, Any] | str | bytes, *,
                  kind: str | None = None, received_at: float = EXAMPLE_RECEIVED_AT,
                  catalogue: KindCatalogue = CATALOGUE) -> Outcome:
    """Decode one message as the gateway would for a device of this dialect (nothing stored)."""
    body = _bytes(payload)
    kind_decl = catalogue.get(kind or codec.dialect.kinds[0])
    if kind_decl is None:
        return Outcome(None, None, "unknown_kind", f"no device kind {kind!r}")
    try:
        if topic.startswith(topics.PREFIX + "/"):
            parts = topics.parse(topic)
            if parts.kind != kind_decl.key:
                return Outcome(None, None, "kind_mismatch",
                               f"topic says {parts.kind}, device is a {kind_decl.key}")
            model = codec.decode_message(kind_decl, body, channel=parts.channel,
                                         device_id=parts.device_id, received_at=received_at)
            device_id = parts.device_id
        else:
            compiled = next((t for t in codec.topics if t.match(topic.split("/"))), None)
            if compiled is None:
                raise TopicError(f"topic {topic!r} fits none of dialect {codec.name}'s topics")
            found = compiled.match(topic.split("/"))
            assert found is not None
            if not found.device_id:
                raise TopicError(f"topic {topic!r} names no valid device id")
            device_id = found.device_id
            model = codec.decode_message(kind_decl, body, channel=compiled.channel,
                                         topic=compiled, device_id=device_id,
                                         received_at=received_at)
    except DecodeError as exc:
        return Outcome(None, None, exc.reason, str(exc))
    return Outcome(channel_of(model), dump(model), device_id=device_id)


def dump(model: BaseModel) -> dict[str, Any]:
    """A decoded payload as JSON-ready data (what is stored)."""
    return model.model_dump(mode="json", exclude_none=True)


def _same(expected: Any, actual: Any, key: str) -> bool:
    if key == "ts" and isinstance(expected, int) and isinstance(actual, str):
        return round(datetime.fromisoformat(actual).timestamp() * 1000) == expected
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _same(v, actual[k], k) for k, v in expected.items())
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return abs(expected - actual) <= 1e-9 * max(1.0, abs(expected))
    return bool(expected == actual)


def check_example(codec: DialectCodec, example: Example,
                  catalogue: KindCatalogue = CATALOGUE) -> str | None:
    """None when the example decodes as it says, else what went differently."""
    outcome = decode_sample(codec, example.topic, example.payload, kind=example.kind,
                            catalogue=catalogue)
    if example.reject is not None:
        if outcome.reason == example.reject:
            return None
        got = outcome.reason or f"accepted as {outcome.channel}"
        return f"expected refusal {example.reject}, got {got} {outcome.detail}".strip()
    assert example.expect is not None
    if outcome.reason is not None:
        return f"refused: {outcome.reason}: {outcome.detail}"
    expect = dict(example.expect)
    channel = expect.pop("channel", None)
    if channel is not None and channel != outcome.channel:
        return f"expected channel {channel}, got {outcome.channel}"
    if not _same(expect, outcome.payload, ""):
        return f"expected {orjson.dumps(expect).decode()}, got " \
               f"{orjson.dumps(outcome.payload).decode()}"
    return None


def run_examples(codec: DialectCodec,
                 catalogue: KindCatalogue = CATALOGUE) -> list[tuple[str, str | None]]:
    """(example name, None or what failed) for each example of the dialect."""
    return [(ex.name, check_example(codec, ex, catalogue)) for ex in codec.dialect.examples]


__all__ = ["EXAMPLE_RECEIVED_AT", "Outcome", "PayloadError", "check_example", "decode_sample",
           "dump", "run_examples"]
