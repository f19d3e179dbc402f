"""What travels through the pipeline: the raw MQTT message and the decoded envelope."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson
from pydantic import BaseModel

from devices.base import Channel
from gateway.storage.records import DeviceRecord


@dataclass(slots=True)
class RawMessage:
    """An MQTT message as the network thread received it (never changed afterwards).

    Not a frozen dataclass: a frozen `__init__` sets each field through `object.__setattr__`,
    which costs more than the rest of the message's trip through the MQTT client.
    """

    topic: str
    payload: bytes
    qos: int = 1
    mid: int = 0
    dup: bool = False
    retain: bool = False
    received_at: float = 0.0
    generation: int = 0  # which connection delivered it; acks go back on the same one
    arrived: float = 0.0  # time.monotonic() at receipt, for the latency histogram


@dataclass(slots=True)
class Envelope:
    """A decoded, validated message and everything the pipeline needs to place it."""

    raw: RawMessage
    device: DeviceRecord
    channel: Channel
    payload: BaseModel
    ts: float
    seq: int | None
    received_at: float
    stale: bool
    type: str
    # The device's id and kind key, copied from `device` (read several times per message).
    device_id: str
    kind: str
    # An event of the kind's urgent list (SOS, fall, …): never refused or muted for its time.
    urgent: bool = False
    # Device time minus gateway receipt time, seconds (None without a device timestamp).
    skew_s: float | None = None
    # An urgent event kept although its payload broke the contract (devices/salvage.py):
    # (the refusal reason it would have had, what was wrong and what was repaired).
    salvaged: tuple[str, str] | None = None
    # Salvaged with the gateway's time of receipt for an unusable `ts`: a resend has another.
    ts_replaced: bool = False
    # For staff only (the alert's payload problem, the ticket's head), never the device: the
    # payload named another registered device, and where that one is (gateway/device_claims.py;
    # red team round 11: told on the sender's own `…/event/ack`, it mapped other fleets).
    claim: str | None = None
    # The readings of a report that also flagged the alarm (`"alarm": 1` beside the
    # battery): stored as a reading of their own with the event (vendor round 5, V5-N7).
    companion: Envelope | None = None


def stored_data(env: Envelope) -> str:
    """The JSON text a message is stored as."""
    if env.channel == "status":
        return orjson.dumps({"state": env.type, "source": "status"}).decode()
    if env.salvaged is not None:
        # What was read, with what was wrong: the raw bytes broke the contract.
        data = env.payload.model_dump(mode="json", exclude_none=True)
        data["salvaged"] = {"reason": env.salvaged[0], "detail": env.salvaged[1][:500],
                            "digest": payload_digest(env.raw.payload)}
        return orjson.dumps(data).decode()
    if env.device.codec == "json" and not getattr(env.payload, "STORED_AS_READ", False):
        # Our own contract: the bytes just validated are the record; no need to re-serialise.
        return env.raw.payload.decode("utf-8")
    return env.payload.model_dump_json(exclude_none=True)


def payload_digest(payload: bytes) -> str:
    """A short fingerprint of a payload's bytes: a resend (the same bytes) of an urgent event
    whose time was replaced is told from another press by it."""
    return hashlib.blake2b(payload, digest_size=8).hexdigest()
