"""Turn a raw MQTT message into an Envelope, or a RejectError carrying its dead-letter reason."""

from __future__ import annotations

from devices import topics
from devices.base import CommandAck, Event, Status
from devices.catalogue import CATALOGUE, KindCatalogue
from devices.errors import DecodeError
from devices.vendors import get_codec
from gateway.envelope import Envelope, RawMessage
from gateway.registry import DeviceRegistry
from gateway.settings import LimitSettings

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
    "internal_error",
)

_TOPIC_CACHE = 1_000_000  # ~4 topics × 250k devices; cleared (not grown) beyond


class OwnPublishError(Exception):
    """A message on a gateway → device channel: our own publish, come back (no dead letter)."""


class RejectError(Exception):
    """A message refused by the pipeline, with its reason and the device if one was found."""

    def __init__(self, reason: str, detail: str, device_id: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.device_id = device_id


class Decoder:
    """Checks size, topic, device, kind, payload and timestamp, in that order."""

    def __init__(
        self,
        registry: DeviceRegistry,
        limits: LimitSettings,
        catalogue: KindCatalogue = CATALOGUE,
        *,
        auto_register_unknown: bool = False,
    ) -> None:
        self._registry = registry
        self._limits = limits
        self._catalogue = catalogue
        self._auto_register = auto_register_unknown
        # Topics repeat (a few per device): parse each once. Only valid ones are kept.
        self._topics: dict[str, topics.TopicParts] = {}

    def decode(self, raw: RawMessage, now: float) -> Envelope:
        """Return the envelope, or raise RejectError (or OwnPublishError)."""
        size = len(raw.payload)
        if size > self._limits.max_payload_bytes:
            raise RejectError(
                "oversized", f"{size} bytes > limit {self._limits.max_payload_bytes}",
                _device_of(raw.topic),
            )
        parts = self._topics.get(raw.topic)
        if parts is None:
            if topics.is_outbound(raw.topic):
                raise OwnPublishError(raw.topic)
            try:
                parts = topics.parse(raw.topic)
            except DecodeError as exc:
                raise RejectError(exc.reason, str(exc), _device_of(raw.topic)) from exc
            if len(self._topics) >= _TOPIC_CACHE:
                self._topics.clear()
            self._topics[raw.topic] = parts
        kind_key, device_id, channel = parts
        kind = self._catalogue.get(kind_key)
        if kind is None:
            raise RejectError("unknown_kind", f"no device kind {kind_key!r}", device_id)
        if raw.retain and channel != "status":
            # Delivered because the broker stored it, not because it just happened.
            raise RejectError("retained", f"{channel} messages must not be retained (only "
                              "status is); this one was replayed by the broker", device_id)
        device = self._registry.get(device_id)
        if device is None:
            if self._auto_register:
                self._registry.register_pending(device_id, kind_key)
                raise RejectError(
                    "device_pending", "registered as pending; awaiting approval", device_id
                )
            raise RejectError(
                "unknown_device", f"device {device_id!r} is not registered", device_id
            )
        if device.status != "active":
            reason = "device_pending" if device.status == "pending" else "device_disabled"
            raise RejectError(reason, f"device {device_id!r} is {device.status}", device_id)
        if device.kind != kind_key:
            raise RejectError(
                "kind_mismatch",
                f"device {device_id!r} is a {device.kind}, topic says {kind_key}",
                device_id,
            )
        try:
            payload = get_codec(device.codec).decode(kind, channel, raw.payload)
        except DecodeError as exc:
            raise RejectError(exc.reason, str(exc), device_id) from exc

        type_ = _type_of(payload)
        # An urgent event pages whatever the device's clock says: it is never refused or
        # flagged for its timestamp (the skew is measured and shown instead).
        urgent = channel == "event" and type_ in kind.urgent
        device_ts = getattr(payload, "ts", None)
        skew = None
        if device_ts is not None:
            ts = device_ts.timestamp()
            skew = ts - raw.received_at
        else:
            ts = raw.received_at
        if ts > now + self._limits.future_skew_s and not urgent:
            raise RejectError(
                "future_timestamp",
                f"ts is {ts - now:.0f} s ahead of the gateway clock "
                f"(limit {self._limits.future_skew_s} s)",
                device_id,
            )
        seq = getattr(payload, "seq", None)
        return Envelope(
            raw=raw,
            device=device,
            channel=channel,
            payload=payload,
            ts=ts,
            seq=seq,
            received_at=raw.received_at,
            stale=not urgent and now - ts > self._limits.stale_after_s,
            type=type_,
            device_id=device_id,
            kind=kind_key,
            urgent=urgent,
            skew_s=skew,
        )


def _device_of(topic: str) -> str | None:
    """The device id segment of a topic under our prefix, when it is a valid id."""
    parts = topic.split("/", 4)
    if len(parts) >= 4 and parts[0] == "scgw" and topics.valid_id(parts[3]):
        return parts[3]
    return None


def _type_of(payload: object) -> str:
    if isinstance(payload, Event):
        return payload.type
    if isinstance(payload, Status):
        return payload.state
    if isinstance(payload, CommandAck):
        return "cmd_ack"
    return "telemetry"
