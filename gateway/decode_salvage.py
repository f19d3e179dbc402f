"""The decoder's second chances: a message that broke the contract but can still be read —
an urgent event salvaged, trimmed to fit or sent on the wrong channel, a reading with plain
repairs, an event without its faulty picture, a command ack whose `id` and `ok` are clear."""

from __future__ import annotations

from dataclasses import replace

import orjson

from devices import topics
from devices.base import Channel, DeviceKind
from devices.catalogue import KindCatalogue
from devices.codec import object_members
from devices.dialects.engine import DialectCodec
from devices.errors import DecodeError, UnknownCodecError
from devices.repair import repaired
from devices.repair_words import SAME_AS
from devices.salvage import Salvaged, salvage_ack, trim_to_fit
from devices.timestamps import RECEIPT_TS
from devices.vendors import CodecSet
from devices.words import urgent_word
from gateway.batches import DEVICE_KEYS
from gateway.device_claims import claim_note
from gateway.envelope import Envelope, RawMessage
from gateway.registry import DeviceRegistry
from gateway.rejections import RejectError
from gateway.settings import LimitSettings
from gateway.storage.records import DeviceRecord
from gateway.urgency import UrgencyHint, may_name_urgent
from gateway.urgent_salvage import flag_word, misplaced_urgent, unknown_channel

# An event's optional picture, under our name or another's: a fault in it loses the picture,
# never the event; under another name on an event that takes pictures, it is read as ours.
ATTACHMENT = "snapshot_jpeg_b64"
ATTACHMENTS = frozenset((ATTACHMENT, *(k for k, v in SAME_AS.items() if v == ATTACHMENT)))
# An urgent event up to this many times the size limit is trimmed to fit instead of refused:
# 1 MiB at the default 64 KiB, beyond anything the shipped broker lets through (320 KiB; a
# 4 MP snapshot in base64 fell between 256 KiB and that, and was refused unconfirmed).
OVERSIZED_URGENT_FACTOR = 16


class Salvaging:
    """What the Decoder tries before refusing (mixed into it: it decodes and builds the
    envelopes these paths return)."""

    _registry: DeviceRegistry
    _limits: LimitSettings
    _catalogue: KindCatalogue
    codecs: CodecSet
    urgency: UrgencyHint

    def decode(self, raw: RawMessage, now: float) -> Envelope:
        """Decode a message (the Decoder's)."""
        raise NotImplementedError

    def _envelope(self, raw: RawMessage, now: float, kind: DeviceKind, device: DeviceRecord,
                  channel: Channel, payload: object) -> Envelope:
        raise NotImplementedError

    def _without_attachment(self, raw: RawMessage, now: float, kind: DeviceKind,
                            device: DeviceRecord, channel: Channel, codec: object,
                            exc: DecodeError) -> Envelope | None:
        """An event whose only fault is its optional picture (`snapshot_jpeg_b64` with line
        breaks, a `data:` prefix, too long; a picture on an event that keeps none): kept
        without it, the fault reported — a blocked fire lane was refused whole over its
        snapshot (vendor round 2). A picture under another name (`image_base64`) is read as
        ours first where the event takes one (vendor round 10: a face terminal's picture
        refused an unlock whole, and was dropped from a watch-list alarm). None otherwise."""
        if channel != "event" or isinstance(codec, DialectCodec) \
                or b"64" not in raw.payload:
            return None
        members = object_members(raw.payload)
        if members is None:
            return None
        pictures = [(k, v) for k, v in members if k in ATTACHMENTS]
        if not pictures:
            return None
        rest = [(k, v) for k, v in members if k not in ATTACHMENTS]
        if len(pictures) == 1:
            kept = self._repaired_with_picture(raw, now, kind, device, codec, exc, rest,
                                               pictures[0])
            if kept is not None:
                return kept
        tries = [(rest, f"{', '.join(k for k, _ in pictures)} dropped, the event kept")]
        if len(pictures) == 1 and pictures[0][0] != ATTACHMENT:
            tries.insert(0, ([*rest, (ATTACHMENT, pictures[0][1])],
                             f"{ATTACHMENT} read from its other name"))
        for kept, note in tries:
            try:
                payload = orjson.dumps(dict(kept))
            except orjson.JSONEncodeError:
                continue
            found = _decoded(kind, codec, "event", payload, raw.received_at)
            if found is not None:
                event, repairs = found
                env = self._envelope(raw, now, kind, device, "event", event)
                return _noted(env, exc, [note, *repairs])
        return None

    def _repaired_with_picture(self, raw: RawMessage, now: float, kind: DeviceKind,
                               device: DeviceRecord, codec: object, exc: DecodeError,
                               rest: list[tuple[str, object]], picture: tuple[str, object]
                               ) -> Envelope | None:
        """The event's other fields repaired, its picture put back as it came: any repair of
        another field (`confidence: 96`, `door: 1`, `黑名单`) dropped a watch-listed face's
        picture (vendor round 12). None when the rest needs no repair or has none, or the
        picture does not pass on its own."""
        try:
            found = repaired(kind, "event", orjson.dumps(dict(rest)), raw.received_at)
            if found is None:
                return None
            fields = orjson.loads(found[0])
            fields[ATTACHMENT] = picture[1]
            event = codec.decode(kind, "event", orjson.dumps(fields))  # type: ignore[attr-defined]
        except (orjson.JSONEncodeError, orjson.JSONDecodeError, DecodeError):
            return None
        notes = list(found[1])
        if picture[0] != ATTACHMENT:
            notes.insert(0, f"{ATTACHMENT} read from its other name")
        return _noted(self._envelope(raw, now, kind, device, "event", event), exc, notes)

    def _repaired(self, raw: RawMessage, now: float, kind: DeviceKind, device: DeviceRecord,
                  channel: Channel, codec: object, exc: DecodeError) -> Envelope | None:
        """A reading or event kept with its plain repairs (devices/repair.py): "not
        measured" placeholders left out, a kind's word in another spelling, `"zone": 2`,
        `"floor": "12F"`, `"confidence": 95` — each reported. None otherwise."""
        if isinstance(codec, DialectCodec) or channel not in ("telemetry", "event"):
            return None
        found = _decoded(kind, codec, channel, raw.payload, raw.received_at, as_is=False)
        if found is None:
            return None
        reading, repairs = found
        env = self._envelope(raw, now, kind, device, channel, reading)
        return _noted(env, exc, repairs, ", the rest kept")

    def oversized_may_be_urgent(self, raw: RawMessage) -> bool:
        """Whether a message over the size limit may be an urgent event to trim and read
        (else it is refused unread; the pipeline does so before queueing it)."""
        if len(raw.payload) > OVERSIZED_URGENT_FACTOR * self._limits.max_payload_bytes:
            return False
        if self.urgency.device(raw) is not None:
            return True
        # Not only the spellings the quick pattern knows (`ＳＯＳ`, a reading's
        # `"alarm": "sos"` beside a Wi-Fi scan: red team round 6): any message whose bytes
        # may name one of its kind's urgent words is trimmed and read in full.
        levels = raw.topic.split("/")
        kind = self._catalogue.get(levels[2]) if len(levels) >= 5 \
            and raw.topic.startswith(topics.PREFIX + "/") else None
        return kind is not None and bool(kind.urgent) and may_name_urgent(kind, raw.payload)

    def oversized_event_in_service(self, raw: RawMessage) -> bool:
        """Whether a message over the size limit is an event of a device in service (on our
        topics), to trim and read like an urgent one: an NVR's 120-KB capture on
        `fire_lane_blocked` refused the alarm whole, where the same picture on a falling
        object was dropped and the event paged (vendor round 11)."""
        if len(raw.payload) > OVERSIZED_URGENT_FACTOR * self._limits.max_payload_bytes \
                or not topics.is_event(raw.topic):
            return False
        return self.in_service(raw)

    def in_service(self, raw: RawMessage) -> bool:
        """Whether a message on our topics comes from a registered device in service."""
        levels = raw.topic.split("/", 4)
        if len(levels) < 5 or levels[0] != "scgw":
            return False
        device = self._registry.get(levels[3])
        return device is not None and device.installed

    def _oversized_trimmed(self, raw: RawMessage, now: float) -> Envelope | None:
        """An urgent event over the size limit (a camera's falling object with its snapshot
        and a long track: each within its own documented limit, together over 64 KiB), or
        any event of a device in service, its largest fields dropped until it fits; None for
        anything else, which stays refused."""
        limit = self._limits.max_payload_bytes
        in_service = self.oversized_event_in_service(raw)
        if not in_service and not self.oversized_may_be_urgent(raw):
            return None
        trimmed = trim_to_fit(raw.payload, limit)
        if trimmed is None:
            return None
        payload, dropped = trimmed
        try:
            env = self.decode(replace(raw, payload=payload), now)
        except RejectError:
            return None
        if not env.urgent and not (in_service and env.channel == "event"):
            return None
        detail = f"{len(raw.payload)} bytes > limit {limit}: " + "; ".join(dropped)
        env.salvaged = ("oversized", detail + (f"; {env.salvaged[1]}" if env.salvaged else ""))
        return env

    def _salvaged_envelope(self, raw: RawMessage, now: float, kind: DeviceKind,
                           device: DeviceRecord, salvaged: Salvaged, exc: DecodeError,
                           ) -> Envelope:
        """The envelope of an urgent event kept although it broke the contract."""
        env = self._envelope(raw, now, kind, device, "event", salvaged.event)
        also = f"; {env.salvaged[1]}" if env.salvaged is not None else ""  # clock unset
        env.salvaged = (exc.reason, f"{exc}; " + "; ".join(salvaged.repairs) + also)
        env.claim = _other_device(raw.payload, device.id, self._registry)
        if salvaged.ts_from_receipt:
            env.skew_s = None  # the receipt time says nothing of the device's clock
            env.ts_replaced = True
        return env

    def _readings_beside(self, raw: RawMessage, now: float, kind: DeviceKind,
                         device: DeviceRecord, codec: object) -> Envelope | None:
        """The readings of a report whose alarm flag was taken as an urgent event
        (`{"alarm": 1, "battery_v": 2.9, "signal_dbm": -97}`), as a reading of their own: the
        twin kept the previous battery (vendor round 5, V5-N7). None when nothing but the
        flag, `ts` and `seq` is left, or what is left is no valid reading."""
        if isinstance(codec, DialectCodec):
            return None
        members = object_members(raw.payload)
        if members is None:
            return None
        readings = {k: v for k, v in members
                    if k != "type" and flag_word(kind, k, v) is None}
        if not set(readings) - {"ts", "seq"} or len(readings) == len(members):
            return None
        payload = orjson.dumps(readings)
        try:
            model = self.codecs.get(device.codec).decode(kind, "telemetry", payload)
        except (DecodeError, UnknownCodecError):
            return None
        return self._envelope(replace(raw, payload=payload), now, kind, device, "telemetry",
                              model)

    def _urgent_off_channel(self, raw: RawMessage, now: float, exc: DecodeError,
                            ) -> Envelope | None:
        """An urgent event of a registered device on a channel that is none of ours
        (`…/events`, `…/alarm`): taken as the event it names, like one on `…/telemetry`."""
        found = unknown_channel(raw.topic)
        kind = self._catalogue.get(found[0]) if found is not None else None
        if found is None or kind is None or not kind.urgent or raw.retain:
            return None
        device = self._registry.get(found[1])
        if device is None or device.status != "active" or device.kind != kind.key:
            return None
        try:
            codec = self.codecs.get(device.codec)
        except UnknownCodecError:
            return None
        salvaged = misplaced_urgent(kind, codec, raw, found[2])
        return None if salvaged is None else self._salvaged_envelope(
            raw, now, kind, device, salvaged, exc)

    def _salvaged_ack(self, raw: RawMessage, now: float, kind: DeviceKind,
                      device: DeviceRecord, exc: DecodeError) -> Envelope:
        """A command ack kept although it broke the contract, when its `id` and `ok` can be
        read (devices/salvage.salvage_ack); refused as before otherwise."""
        read = salvage_ack(raw.payload, raw.received_at)
        if read is None or raw.retain:
            raise RejectError(exc.reason, str(exc), device.id) from exc
        ack, repairs = read
        env = self._envelope(raw, now, kind, device, "cmd_ack", ack)
        env.salvaged = (exc.reason, f"{exc}; " + "; ".join(repairs))
        return env


def _other_device(payload: bytes, device_id: str, registry: DeviceRegistry) -> str | None:
    """A note when the payload names another registered device than the login's: a vendor
    cloud forwarding another detector's alarm on this one's login pages it here (vendor
    round 6: a fire in B8-2 was ticketed at B9-1), and the operator must be told to check.
    (A band's own IMEI, which is no device id here, says nothing.)"""
    members = object_members(payload)
    named = [record for k, v in members or ()
             if urgent_word(k) in DEVICE_KEYS and isinstance(v, str | int)
             and str(v) != device_id and (record := registry.get(str(v)[:64])) is not None]
    return claim_note(named[0], device_id) if named else None


def _decoded(kind: DeviceKind, codec: object, channel: Channel, payload: bytes,
             received_at: float, as_is: bool = True) -> tuple[object, list[str]] | None:
    """A message decoded as it is (unless `as_is` is off: that failed already), else with its
    plain repairs (and which), else None — also a picture's event once the picture is gone:
    the rest is small enough to repair (a face terminal's `二维码` beside it, vendor round 10)."""
    if as_is:
        try:
            return codec.decode(kind, channel, payload), []  # type: ignore[attr-defined]
        except DecodeError:
            pass
    found = repaired(kind, channel, payload, received_at)
    if found is None:
        return None
    try:
        return codec.decode(kind, channel, found[0]), found[1]  # type: ignore[attr-defined]
    except DecodeError:
        return None


def _noted(env: Envelope, exc: DecodeError, repairs: list[str], tail: str = "") -> Envelope:
    """A message kept after repairs: what was wrong and what was repaired, reported."""
    env.salvaged = (exc.reason, "; ".join([str(exc), *repairs]) + tail)
    if RECEIPT_TS in repairs:
        env.skew_s = None  # the receipt time says nothing of the device's clock
        env.ts_replaced = True  # a resend is matched by its bytes
    return env
