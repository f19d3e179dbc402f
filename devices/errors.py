"""Errors raised while turning a raw MQTT message into a typed payload."""

from __future__ import annotations


class DecodeError(Exception):
    """A payload the gateway cannot accept; `reason` is the dead-letter reason code."""

    reason: str = "schema_invalid"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class TopicError(DecodeError):
    """The topic does not follow the `scgw/v1/{kind}/{device_id}/{channel}` contract."""

    reason = "bad_topic"


class PayloadError(DecodeError):
    """The payload bytes are not a valid message for the device's kind and channel."""


class IgnoredCodeError(DecodeError):
    """A vendor event code the device's dialect declares it does not map (a camera
    platform's routine motion events): acknowledged and counted by the device's `kind`,
    neither stored nor refused."""

    reason = "ignored"

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class UnknownCodecError(KeyError):
    """A device names a codec that no module declares."""
