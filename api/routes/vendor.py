"""A vendor's own view: its devices' refusals, last messages and commands; a dry-run validator.

Everything is scoped to the vendor's own devices (another vendor's id is 404, as if it did
not exist). A device bound to a resident never shows that person's position or vitals.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from api import refusals
from api.access import visible_device
from api.deps import GatewayDep, require
from api.notes import holds_withheld_note, redact_salvaged
from api.personal import Audit, holds_personal, redact_deep, redact_readings, vendor_blind
from api.routes.devices import command_public
from api.schemas import CommandPublic, DeadLetterPublic
from devices import topics
from devices.base import clock_hint
from devices.catalogue import CATALOGUE
from devices.errors import DecodeError
from gateway import batches
from gateway.decode import Decoder
from gateway.envelope import RawMessage
from gateway.rejections import REJECT_REASONS, OwnPublishError, RejectError
from gateway.storage.commands_repo import CommandReads
from gateway.storage.message_reads import MessageReads
from gateway.storage.records import DeviceRecord
from gateway.users import User

router = APIRouter(prefix="/vendor", tags=["vendor"])
VendorView = Annotated[User, Depends(require("admin", "operator", "vendor"))]
Limit = Annotated[int, Query(ge=1, le=1000)]


class MessagePublic(BaseModel):
    """An accepted message as stored."""

    channel: str
    type: str
    ts: float
    received_at: float
    seq: int | None
    stale: bool
    data: dict[str, Any]


class ValidateBody(BaseModel):
    """A message to judge: exactly what the device would publish."""

    topic: str = Field(max_length=512)
    payload: str | dict[str, Any] | list[Any] = Field(
        description="The payload text as the device sends it, or a JSON object (or an array "
        "of them: a queue of readings or events)")
    retain: bool = False


class Verdict(BaseModel):
    """What the gateway would do with the message (nothing was stored)."""

    outcome: Literal["accepted", "salvaged", "refused"] = Field(
        description="`salvaged`: an urgent event stored and paged although its payload breaks "
        "the contract (`reason` and `detail` say what to fix)")
    reason: str | None = None
    detail: str = ""
    kind: str | None = None
    channel: str | None = None
    type: str | None = None
    urgent: bool = False
    confirmed_on: str | None = Field(None, description="Where the confirmation would go")
    decoded: dict[str, Any] | None = None
    notes: list[str] = Field(default_factory=list)
    elements: list[Verdict] = Field(
        default_factory=list, description="A message carrying several readings or events: "
        "each one's verdict, in order")


def _own_ids(gw: Any, user: User, device_id: str | None) -> list[str]:
    if device_id is not None:
        return [visible_device(gw, user, device_id).id]
    return [d.id for d in gw.registry.all() if d.vendor == user.vendor]


@router.get("/dead-letters", response_model=list[DeadLetterPublic])
def dead_letters(gw: GatewayDep, user: VendorView, device_id: str | None = None,
                 reason: str | None = None,
                 since: Annotated[float | None, Query(description="epoch s")] = None,
                 limit: Limit = 100) -> list[DeadLetterPublic]:
    """Refused messages of the caller's own devices, newest first."""
    if reason is not None and reason not in REJECT_REASONS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"no refusal reason {reason!r}; one of: {', '.join(REJECT_REASONS)}")
    if since is not None and since > 10**11:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "since is epoch seconds; this looks like milliseconds")
    mine = None if user.role in ("admin", "operator") and device_id is None else \
        _own_ids(gw, user, device_id)
    rows = MessageReads(gw.store).dead_letters(device_ids=mine, reason=reason, since=since,
                                               limit=limit)
    if user.role == "vendor":
        rows = [_withheld_preview(gw, r) for r in rows]
    return [DeadLetterPublic(**r) for r in rows]


def _withheld_preview(gw: Any, row: dict[str, Any]) -> dict[str, Any]:
    """A refused message as its vendor may see it: whole for a device that never served
    anyone; for one that serves or served a resident, neither payload nor a detail that could
    quote it (a vendor's own field names are not ours to recognise)."""
    device = gw.registry.get(row["device_id"]) if row["device_id"] else None
    if device is None or not (device.holds_personal or device.installed):
        return row
    return refusals.withheld(row)


@router.get("/devices/{device_id}/messages", response_model=list[MessagePublic])
def messages(device_id: str, gw: GatewayDep, user: VendorView, auditor: Audit,
             channel: Literal["telemetry", "event", "status", "cmd_ack"] | None = None,
             limit: Limit = 50) -> list[MessagePublic]:
    """The device's last accepted messages, newest first (personal fields withheld from a
    vendor once the device serves a resident; staff reading them are audited)."""
    device = visible_device(gw, user, device_id)
    withheld = vendor_blind(user, device)
    found = MessageReads(gw.store).recent(device.id, channel, limit)
    if withheld:
        if device.holds_personal:
            # When an elder fell or pressed SOS is theirs, not the maker's (red team round
            # 2: /devices/{id}/events hid it, this route did not).
            found = [m for m in found if m["channel"] != "event"]
        return [MessagePublic(**{**m, "data": _vendor_data(m)}) for m in found]
    # A note may be all that says a value (`systolic_mmhg 231 read as not measured`).
    if any(holds_personal(m["data"]) or holds_withheld_note(m["data"]) for m in found):
        auditor.disclosed("device_messages", [device.resident_id], device_id=device.id,
                          range_from=min(m["received_at"] for m in found),
                          range_to=max(m["received_at"] for m in found))
    return [MessagePublic(**m) for m in found]


def _vendor_data(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message of a device that serves someone, as its vendor may see it: a repair
    note names the fields it repaired, never their values (red team round 12: `heart_rate_bpm
    '131' read as a number`)."""
    data = redact_salvaged(redact_deep(redact_readings(message["data"]) or {}))
    if message["channel"] == "cmd_ack":
        # A result is in the device's own words; the command's view shows its declared fields.
        data.pop("result", None)
    return data


@router.get("/devices/{device_id}/commands", response_model=list[CommandPublic])
def commands(device_id: str, gw: GatewayDep, user: VendorView, auditor: Audit,
             limit: Limit = 50) -> list[CommandPublic]:
    """The commands sent to the device and what became of each, newest first (a fix in a
    result is withheld from a vendor once the device serves a resident)."""
    device = visible_device(gw, user, device_id)
    return [command_public(user, device, r, auditor)
            for r in CommandReads(gw.store).of_device(device.id, limit)]


def _wire(payload: Any) -> bytes:
    """The bytes a device would send for the payload given (a string is sent as it is)."""
    if isinstance(payload, str):
        return payload.encode()
    # The standard library writes what it parsed back as it was (integers past 64 bits, NaN),
    # so the decoder judges what the device would send; orjson would refuse or rewrite them.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@router.post("/validate", response_model=Verdict)
def validate(body: ValidateBody, gw: GatewayDep, user: VendorView) -> Verdict:
    """Judge a message exactly as ingest would (size, topic, kind, device, payload, time),
    storing nothing. A device id nobody registered yet is judged as if it were yours."""
    payload = _wire(body.payload)
    now = gw.clock.time()
    raw = RawMessage(body.topic, payload, qos=1, retain=body.retain, received_at=now)
    notes: list[str] = []
    try:
        parts = topics.parse(body.topic)
    except DecodeError:
        parts = None
    registry: Any = gw.registry
    if parts is not None:
        existing = gw.registry.get(parts.device_id)
        if existing is not None:
            visible_device(gw, user, parts.device_id)  # another vendor's: 404
        elif CATALOGUE.get(parts.kind) is not None:
            notes.append(f"{parts.device_id} is not registered: until it is, its messages "
                         "are refused as unknown_device")
            registry = _Pretend(DeviceRecord(parts.device_id, parts.kind,
                                             vendor=user.vendor or ""))
    elif (route := gw.codecs.route(body.topic)) is not None and route.match.device_id:
        if gw.registry.get(route.match.device_id) is not None:
            # A dialect's own topic names the device too: another vendor's is not there to
            # probe (its existence and codec were told).
            visible_device(gw, user, route.match.device_id)
        elif route.codec.single_kind is not None:
            # Judged as if it were yours, registered with this dialect, like our own topics.
            notes.append(f"{route.match.device_id} is not registered: until it is (codec "
                         f"{route.codec.name}), its messages are refused as unknown_device")
            registry = _Pretend(DeviceRecord(route.match.device_id, route.codec.single_kind,
                                             vendor=user.vendor or "", codec=route.codec.name))
    decoder = Decoder(registry, gw.settings.limits, codecs=gw.codecs,  # dialects too
                      urgency=gw.decoder.urgency)
    try:
        # Judged as ingest judges it: a wrapper naming another registered device of the
        # sender's owner (red team round 8: a one-argument check answered 500).
        several = batches.parts(raw, lambda named, sender: gw.registry.get(named) is not None
                                and gw.same_owner(named, sender),
                                gw.settings.limits.max_payload_bytes)
    except batches.BatchError as exc:
        return Verdict(outcome="refused", reason="schema_invalid", detail=str(exc), notes=notes)
    if several is None:
        return _judge(gw, decoder, raw, now, notes)
    # A queue: each element as ingest judges it (vendor round 5 re-check: every queue the
    # gateway takes was refused here, or read as one salvaged event).
    elements = [_judge(gw, decoder, part, now, []) for part in several.parts]
    outcomes = {v.outcome for v in elements}
    notes.append(f"a queue of {len(elements)}: each element is judged as if sent alone "
                 "(`elements`)")
    if several.unread is not None:
        notes.append(several.unread)
    refused = sum(v.outcome == "refused" for v in elements)
    return Verdict(outcome="refused" if refused else "salvaged" if "salvaged" in outcomes
                   else "accepted",
                   detail=f"{refused} of {len(elements)} elements refused" if refused else "",
                   notes=notes, elements=elements)


def _judge(gw: Any, decoder: Decoder, raw: RawMessage, now: float,
           notes: list[str]) -> Verdict:
    """One message's verdict, as ingest would give it."""
    try:
        env = decoder.decode(raw, now)
    except RejectError as rej:
        return Verdict(outcome="refused", reason=rej.reason, detail=rej.detail, notes=notes)
    except OwnPublishError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "that topic is one the gateway sends to devices") from None
    if env.seq is None and env.channel != "status":
        notes.append("no seq: duplicates are recognised only by identical ts and content")
    if env.urgent and env.seq is None:
        notes.append("an urgent event needs a seq to be matched with its confirmation")
    if env.skew_s is not None and abs(env.skew_s) > gw.settings.limits.clock_skew_alert_s:
        # What ingest would judge from this ts: a UTC clock labelled +08:00 was accepted here
        # without a word (vendor round 3).
        notes.append(clock_hint(env.skew_s) + (
            "; stored flagged stale: not shown as current, never paged" if env.stale else ""))
    reason, detail = env.salvaged if env.salvaged is not None else (None, "")
    return Verdict(outcome="salvaged" if reason else "accepted", reason=reason, detail=detail,
                   kind=env.kind, channel=env.channel, type=env.type,
                   urgent=env.urgent, notes=notes,
                   confirmed_on=topics.topic(env.kind, env.device_id, "event/ack")
                   if env.urgent else None,
                   decoded=env.payload.model_dump(mode="json", exclude_none=True))


class _Pretend:
    """A registry that knows one device: how a not-yet-registered device would be judged."""

    def __init__(self, record: DeviceRecord) -> None:
        self._record = record

    def get(self, device_id: str) -> DeviceRecord | None:
        """The pretended device."""
        return self._record if device_id == self._record.id else None
