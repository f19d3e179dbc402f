"""A refused message as a vendor may see it once its device serves (or served) a resident.

The payload a device sent is its wearer's data in whatever words the vendor chose (`hr`,
`sbp`, `lng`, a Wi-Fi scan): no list of field names can recognise all of it, so nothing of
the payload is shown, and the readable detail, which quotes values (`cannot convert
'N35.414210'`), is replaced by the reason's generic meaning and the field path, the latter
only when every part of it is one of our own field names (never a word the device chose).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from devices.catalogue import CATALOGUE
from gateway.rejections import refused_type

PREVIEW_WITHHELD = ("(withheld: this device is installed — placed by the community or bound "
                    "to a resident — so nothing it sent is shown; register a test device nobody "
                    "installed to see refused payloads)")
# The event word of an `unknown_event_type`, shown when it cannot hold a number that says who
# someone is (vendor round 11: a lift maker could not learn which of its alarm words the
# gateway did not know).
_LONG_NUMBER = re.compile(r"\d{5,}")

# The meaning of each reason, as the vendor guide's dead-letter table gives it (shortened).
REASON_TEXT: dict[str, str] = {
    "oversized": "the payload is larger than the limit",
    "bad_topic": "the topic is not one of the documented topics of the device",
    "unknown_kind": "the topic names no kind the gateway knows",
    "unknown_device": "the device id is not registered",
    "device_pending": "the device awaits approval",
    "device_disabled": "the device is disabled",
    "kind_mismatch": "the device is registered as another kind than the topic says",
    "malformed_json": "the payload is not valid JSON (or not UTF-8)",
    "schema_invalid": "a field is missing, unknown, of the wrong type or not convertible",
    "out_of_range": "a number (or the time) is outside its documented range",
    "unknown_event_type": "the event type is not in the kind's vocabulary",
    "future_timestamp": "the time is more than 5 minutes ahead of the gateway clock",
    "retained": "the message was published with the retain flag",
    "rate_limited": "the device sent more than its budget",
    "internal_error": "a gateway error; the message is kept for replay",
}
# Words of a dialect's error path that are the dialect's structure, not the device's.
_STRUCTURE = frozenset({"messages", "fields", "event", "payload"})
_PATH = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")


@cache
def own_field_names() -> frozenset[str]:
    """Every property name of every kind's telemetry and event models (and their parts)."""
    names: set[str] = set(_STRUCTURE)
    for kind in CATALOGUE.kinds.values():
        for model in (kind.telemetry, *kind.events):
            _collect(TypeAdapter(model).json_schema(), names)
    return frozenset(names)


def _collect(schema: Any, names: set[str]) -> None:
    if isinstance(schema, dict):
        names.update((schema.get("properties") or {}).keys())
        for value in schema.values():
            _collect(value, names)
    elif isinstance(schema, list):
        for item in schema:
            _collect(item, names)


def field_path(detail: str) -> str | None:
    """The field a refusal's detail names first (`location.lat: …`), when every part of it is
    our own field name or a position in a list; otherwise None."""
    head = detail.split(":", 1)[0].strip() if ":" in detail else ""
    if not head or not _PATH.match(head):
        return None
    known = own_field_names()
    parts = head.split(".")
    # A bare number first would be a value, not a position in a list.
    if parts[0] in known and all(p.isdigit() or p in known for p in parts[1:]):
        return head
    return None


def generic_detail(reason: str, detail: str) -> str:
    """The reason's meaning and, when it is safe to tell, the field it concerns."""
    text = REASON_TEXT.get(reason, "the message was refused")
    path = field_path(detail)
    if path is not None:
        text += f" (field: {path})"
    word = refused_type(reason, detail)
    if word is not None and _LONG_NUMBER.search(word) is None:
        text += f" (type: {word!r})"
    return text + "; the detail is withheld because it may quote a value the device sent"


def withheld(row: dict[str, Any]) -> dict[str, Any]:
    """A dead-letter row without the payload and with a detail that quotes none of it."""
    return {**row, "payload_preview": PREVIEW_WITHHELD,
            "detail": generic_detail(str(row.get("reason", "")), str(row.get("detail", "")))}
