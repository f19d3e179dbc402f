"""Turn a raw MQTT message into an Envelope, or a RejectError carrying its dead-letter reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from devices import topics
from devices.base import Channel, CommandAck, DeviceKind, Event, Status, clock_hint
from devices.catalogue import CATALOGUE, KindCatalogue
from devices.codec import utf16_codec
from devices.dialects.engine import DialectCodec
from devices.errors import DecodeError, IgnoredCodeError, UnknownCodecError
from devices.vendors import CodecSet, VendorRoute, builtin_codecs
from gateway.decode_salvage import Salvaging
from gateway.envelope import Envelope, RawMessage
from gateway.registry import DeviceRegistry
from gateway.rejections import OwnPublishError, RejectError
from gateway.settings import LimitSettings
from gateway.storage.records import DeviceRecord
from gateway.urgency import UrgencyHint
from gateway.urgent_salvage import misplaced_urgent, salvage_event

# An urgent event dated further back than this comes from a clock that is not set (a reboot
# to 2000-01-01 or to the firmware's build date), not from a clock that drifted or a band that
# buffered its alarm for a few days: the time of receipt stands in.
CLOCK_UNSET_S = 30 * 86_400
# Any other event this far back: a locker's `tamper` after a reboot to 2000-01-01 was muted as
# stale, and the next boot's (same `seq`, same default time) swallowed as a resend (vendor
# round 2). A year, not a month: a device may upload weeks of buffered events honestly.
CLOCK_UNSET_ANY_EVENT_S = 365 * 86_400
# An urgent event dated further ahead than this: a clock that came back from a reboot at its
# RTC's garbage value (2106-02-07, the uint32 limit; 2038-01-19, the int32 one) — not a fast
# clock. Taken at receipt too, so a second press after the same reboot is not a "resend" of
# the first (red team round 3: it was confirmed `duplicate` and never paged).
CLOCK_UNSET_AHEAD_S = 86_400
# A topic longer than this names no device (ids have at most 64 characters; our topics and
# the dialects' are far shorter): refused before any cache, route or device lookup — each long
# topic a hub or a phone invented stayed in the caches (red team round 3).
TOPIC_MAX = 256
_TOPIC_CACHE = 1_000_000  # ~4 topics × 250k devices; cleared (not grown) beyond


class Decoder(Salvaging):
    """Checks size, topic, device, kind, payload and timestamp, in that order."""

    def __init__(
        self,
        registry: DeviceRegistry,
        limits: LimitSettings,
        catalogue: KindCatalogue = CATALOGUE,
        *,
        auto_register_unknown: bool = False,
        codecs: CodecSet | None = None,
        urgency: UrgencyHint | None = None,
    ) -> None:
        self._registry = registry
        self._limits = limits
        self._catalogue = catalogue
        self._auto_register = auto_register_unknown
        # A stand-in registry (the vendor dry run's) may not carry codecs: the built-in ones.
        self.codecs = codecs if codecs is not None else getattr(
            registry, "codecs", None) or builtin_codecs()
        # Topics repeat (a few per device): parse each once. Only valid ones are kept.
        self._topics: dict[str, topics.TopicParts] = {}
        self._vendor_topics: dict[str, VendorRoute] = {}
        # Compiled once per gateway: the pipeline's inbox and budget use the same patterns.
        self.urgency = urgency or UrgencyHint(catalogue, self.codecs)

    def oversized(self, raw: RawMessage, size: int) -> RejectError:
        """The refusal of a message over the size limit, naming its device (and, on a
        dialect's own topic, the registered device's kind)."""
        device_id = _device_of(raw.topic)
        kind_of = None
        if device_id is None:  # a dialect's own topic: the kind is the registered one's
            device_id = self._vendor_device(raw.topic)
            known = self._registry.get(device_id) if device_id else None
            kind_of = known.kind if known is not None else None
        return RejectError("oversized", f"{size} bytes > limit {self._limits.max_payload_bytes}",
                           device_id, kind_of)

    def decode(self, raw: RawMessage, now: float) -> Envelope:
        """Return the envelope, or raise RejectError (or OwnPublishError)."""
        if len(raw.topic) > TOPIC_MAX:
            raise RejectError("bad_topic", f"topic of {len(raw.topic)} characters (at most "
                              f"{TOPIC_MAX}): {raw.topic[:80]!r}…")
        if raw.payload[-1:] == b"\x00" and utf16_codec(raw.payload) is None:
            # C firmware sending `strlen + 1` bytes: the string's NUL is no part of the JSON
            # (vendor round 4: every reading refused, "trailing characters at column 54").
            raw = replace(raw, payload=raw.payload.rstrip(b"\x00"))
        size = len(raw.payload)
        if size > self._limits.max_payload_bytes:
            trimmed = self._oversized_trimmed(raw, now)
            if trimmed is not None:
                return trimmed
            raise self.oversized(raw, size)
        parts = self._topics.get(raw.topic)
        if parts is None:
            route = self._vendor_topics.get(raw.topic)
            if route is not None or not raw.topic.startswith("scgw/"):
                return self._decode_vendor(raw, route, now)
            if topics.is_outbound(raw.topic):
                raise OwnPublishError(raw.topic)
            try:
                parts = topics.parse(raw.topic)
            except DecodeError as exc:
                kept = self._urgent_off_channel(raw, now, exc)
                if kept is not None:
                    return kept
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
        device = self._device(device_id, kind_key, None)
        if device.kind != kind_key:
            raise RejectError(
                "kind_mismatch",
                f"device {device_id!r} is a {device.kind}, topic says {kind_key}",
                device_id,
            )
        try:
            codec = self.codecs.get(device.codec)
            if isinstance(codec, DialectCodec):
                payload = codec.decode_routed(kind, raw.payload, channel, None, device_id,
                                              raw.received_at)[1]
            else:
                payload = codec.decode(kind, channel, raw.payload)
        except IgnoredCodeError:
            raise  # the dialect's declared choice: counted by the pipeline, not refused
        except UnknownCodecError as exc:
            raise RejectError("schema_invalid", f"device {device_id!r} names codec "
                              f"{device.codec!r}, which this gateway has not loaded",
                              device_id) from exc
        except DecodeError as exc:
            if channel == "cmd_ack" and not isinstance(codec, DialectCodec):
                return self._salvaged_ack(raw, now, kind, device, exc)
            salvaged = salvage_event(kind, codec, raw, channel, None) if channel == "event" \
                else misplaced_urgent(kind, codec, raw) if channel == "telemetry" else None
            if salvaged is None:
                kept = (self._without_attachment(raw, now, kind, device, channel, codec, exc)
                        or self._repaired(raw, now, kind, device, channel, codec, exc))
                if kept is not None:
                    return kept
                raise RejectError(exc.reason, str(exc), device_id) from exc
            env = self._salvaged_envelope(raw, now, kind, device, salvaged, exc)
            if channel == "telemetry":
                env.companion = self._readings_beside(raw, now, kind, device, codec)
            return env
        return self._envelope(raw, now, kind, device, channel, payload)

    def _device(self, device_id: str, kind_key: str | None, codec: str | None) -> DeviceRecord:
        """The registered, active device, or the refusal (unknown, pending, disabled)."""
        device = self._registry.get(device_id)
        if device is None:
            if self._auto_register and kind_key is not None:
                self._registry.register_pending(device_id, kind_key, codec=codec or "json")
                raise RejectError(
                    "device_pending", "registered as pending; awaiting approval", device_id
                )
            raise RejectError(
                "unknown_device", f"device {device_id!r} is not registered", device_id
            )
        if device.status != "active":
            reason = "device_pending" if device.status == "pending" else "device_disabled"
            raise RejectError(reason, f"device {device_id!r} is {device.status}", device_id)
        return device

    def _vendor_device(self, topic: str) -> str | None:
        route = self.codecs.route(topic) if not topic.startswith("scgw/") else None
        return route.match.device_id or None if route is not None else None

    def _decode_vendor(self, raw: RawMessage, route: VendorRoute | None, now: float,
                       ) -> Envelope:
        """A message on a dialect's own topic (`owntracks/…`, `watch/…/up`)."""
        if route is None:
            route = self.codecs.route(raw.topic)
            if route is None:
                raise RejectError("bad_topic", f"topic {raw.topic[:200]!r} is neither under "
                                  f"{topics.PREFIX}/ nor any dialect's topic")
            if not route.match.device_id:
                raise RejectError("bad_topic", f"topic {raw.topic[:200]!r} names no valid "
                                  f"device id for dialect {route.codec.name}")
        codec = route.codec
        device_id = route.match.device_id
        device = self._device(device_id, codec.single_kind, codec.name)
        if raw.topic not in self._vendor_topics:
            # Kept only once a registered device was found: a hub naming a new child in each
            # message filled this cache with topics that name nobody.
            if len(self._vendor_topics) >= _TOPIC_CACHE:
                self._vendor_topics.clear()
            self._vendor_topics[raw.topic] = route
        if device.codec != codec.name:
            raise RejectError("bad_topic", f"device {device_id!r} speaks {device.codec}, not "
                              f"dialect {codec.name} of this topic", device_id, device.kind)
        kind = self._catalogue.get(device.kind)
        if kind is None:
            raise RejectError("unknown_kind", f"no device kind {device.kind!r}", device_id)
        try:
            channel, payload = codec.decode_routed(kind, raw.payload, route.topic.channel,
                                                   route.topic, device_id, raw.received_at)
        except IgnoredCodeError:
            raise  # the dialect's declared choice: counted by the pipeline, not refused
        except DecodeError as exc:
            salvaged = salvage_event(kind, codec, raw, route.topic.channel, route.topic)
            if salvaged is None or raw.retain:
                raise RejectError(exc.reason, str(exc), device_id, kind.key) from exc
            return self._salvaged_envelope(raw, now, kind, device, salvaged, exc)
        if raw.retain and channel != "status":
            raise RejectError("retained", f"{channel} messages must not be retained (only "
                              "status is); this one was replayed by the broker", device_id,
                              kind.key)
        return self._envelope(raw, now, kind, device, channel, payload)

    def _envelope(self, raw: RawMessage, now: float, kind: DeviceKind, device: DeviceRecord,
                  channel: Channel, payload: object) -> Envelope:
        """Time checks, then the envelope the pipeline places."""
        device_id = device.id
        kind_key = kind.key
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
                f"ts is ahead of the gateway clock by more than the "
                f"{self._limits.future_skew_s} s allowed: {clock_hint(ts - now)}",
                device_id, kind_key, skew,
            )
        replaced = None
        unset = CLOCK_UNSET_S if urgent else CLOCK_UNSET_ANY_EVENT_S
        if channel == "event" and skew is not None and (
                -skew > unset or (urgent and skew > CLOCK_UNSET_AHEAD_S)):
            # A band back from a reboot reports its default clock (2000-01-01, its firmware's
            # build date) and restarts its `seq`: its next press would carry the same `seq` and
            # `ts` as the last one and be swallowed as a resend. Taken at the time of receipt
            # (matched to resends by its bytes) and said, as for any salvaged event.
            when = device_ts.isoformat()  # type: ignore[union-attr]
            side = "before" if skew < 0 else "after"
            replaced = ("out_of_range", f"ts {when} is {abs(skew) / 86_400:.1f} days {side} "
                        "receipt: the device's clock looks unset (after a reboot?); the "
                        "gateway's time of receipt used instead")
            ts = raw.received_at
            payload = payload.model_copy(  # type: ignore[attr-defined]
                update={"ts": datetime.fromtimestamp(ts, UTC)})
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
            salvaged=replaced,
            ts_replaced=replaced is not None,
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
