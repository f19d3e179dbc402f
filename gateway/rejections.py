"""Why the gateway refuses a message: the reasons (each with its counter) and the error."""

from __future__ import annotations

import re

# Every reason a message can be refused; each has its own counter and dead-letter rows.
REJECT_REASONS: tuple[str, ...] = (
    "oversized",
    "bad_topic",
    "unknown_kind",
    "unknown_device",
    "device_pending",
    "device_disabled",
    "kind_mismatch",
    "malformed_json",
    "schema_invalid",
    "out_of_range",
    "unknown_event_type",
    "future_timestamp",
    "retained",
    "rate_limited",
    "internal_error",
)


# How an `unknown_event_type` refusal names the word (devices/codec.py writes it).
_REFUSED_TYPE = re.compile(r"^type '([^']{1,32})' is not an event")


def refused_type(reason: str, detail: str) -> str | None:
    """The event type word an `unknown_event_type` refusal names, or None."""
    found = _REFUSED_TYPE.match(detail) if reason == "unknown_event_type" else None
    return found[1] if found is not None else None


class OwnPublishError(Exception):
    """A message on a gateway → device channel: our own publish, come back (no dead letter)."""


class RejectError(Exception):
    """A message refused by the pipeline, with its reason and the device if one was found.

    `kind` is the registered device's kind when the topic does not name it (a dialect's own
    topic, `watch/{imei}/up`), so the refusal can still be reported on the device's `errors`.
    """

    def __init__(self, reason: str, detail: str, device_id: str | None = None,
                 kind: str | None = None, skew_s: float | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.device_id = device_id
        self.kind = kind
        self.skew_s = skew_s  # device time minus receipt, for a `future_timestamp`
