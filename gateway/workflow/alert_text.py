"""What a ticket opened by an alert says, in the users' words, and what it attaches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devices.words import shown_text
from gateway.device_claims import named_in
from gateway.workflow.config import Catalogue
from gateway.workflow.ports import TicketStore
from gateway.workflow.records import Ticket
from rules.evidence import WHERE_FACTS

CLOCK_NOTE_S = 60.0  # a device clock off by more than this is named on the ticket
SEVERITY_ZH = {"critical": "严重", "major": "重要", "minor": "次要", "info": "提示"}
# The event's facts a ticket names: where exactly to go (vendor round 4: a ticket for a
# forced door of a four-door controller did not say which door).
_WHERE_ZH = {"door": "门", "zone": "区域", "compartment": "格口", "floor": "楼层", "room": "房间"}
ATTACHMENTS_MAX = 8


class AlertText:
    """Writes a ticket's description from its alert: category, severity, who, where, which
    device, how often, and a device clock that was off (never a rule id)."""

    def __init__(self, catalogue: Catalogue,
                 names: Callable[[str], str | None] | None = None) -> None:
        self._catalogue = catalogue
        # Residents' names as the gateway holds them: no query per ticket (one round trip
        # each on PostgreSQL); a resident not held yet is read from the database.
        self._names = names

    def __call__(self, db: TicketStore, alert: Any) -> str:
        """The description of a ticket for `alert`."""
        cat = self._catalogue.get(alert.category)
        parts = [f"{cat.zh}（{SEVERITY_ZH.get(alert.severity, alert.severity)}）"]
        if alert.resident_id:
            name = (self._names(alert.resident_id) if self._names is not None else None
                    ) or db.resident_name(alert.resident_id)
            parts.append(f"居民 {name or alert.resident_id}")
        if alert.building:
            parts.append(alert.place.label_zh())
        parts.append(f"设备 {alert.device_id}")
        event = alert.detail.get("event") if isinstance(alert.detail, dict) else None
        for key in WHERE_FACTS:
            value = event.get(key) if isinstance(event, dict) else None
            if value is not None and value != "":
                values = value if isinstance(value, list) else [value]
                shown = "、".join(shown_text(str(v), 40) for v in values[:8])
                parts.append(f"{_WHERE_ZH[key]} 「{shown}」")
        parts += _what_zh(event)
        words = alert.detail.get("refused_words") if isinstance(alert.detail, dict) else None
        if isinstance(words, str) and words:
            # What a device tried to say in words the gateway does not know (vendor round 11:
            # a lift's 非平层困人 read as a "device fault" — people were shut in the car).
            quoted = "、".join(f"「{w}」" for w in words[:200].split(", "))
            parts.append(f"设备发来的未知事件词 {quoted}（请查看是否为报警 / check: an alarm?）")
        if alert.count > 1:
            parts.append(f"报警 {alert.count} 次")
        text = " · ".join(parts) + _clock_note(alert.clock_skew_s)
        # The gateway's own note, never text that echoes the payload (red team round 11: a
        # key named like the note forged this head).
        claimed = named_in(alert.detail.get("payload_claim")
                           if isinstance(alert.detail, dict) else None)
        if claimed is not None:
            # First, where the dispatcher reads: it may be another flat (vendor round 10).
            text = (f"【请核实地点】报文所指设备 {claimed[0]}（{claimed[1]}）与发送设备 "
                    f"{alert.device_id} 不符，可能是另一户 (the payload names device "
                    f"{claimed[0]} at {claimed[1]}: check the place)；") + text
        return text


# What a gas alarm says that changes what whoever goes must do (vendor round 10: a CO alarm
# read to the dispatcher as a second sensor of a kitchen gas leak, and a shut-off valve that
# failed to close was only a fact on the alert).
_GAS_ZH = {"co": "一氧化碳（CO）：开窗通风，呼叫 120", "natural_gas": "天然气", "lpg": "液化气",
           "coal_gas": "煤气"}


def _what_zh(event: object) -> list[str]:
    if not isinstance(event, dict):
        return []
    out = []
    gas = event.get("gas")
    if isinstance(gas, str) and gas in _GAS_ZH:
        out.append(f"气体 {_GAS_ZH[gas]}")
    if event.get("valve_closed") is False:
        out.append("阀门未关闭 (valve did not close)")
    return out


def _clock_note(skew: float | None) -> str:
    if skew is not None and skew >= CLOCK_NOTE_S:
        return (f"；设备时钟快 {skew:.0f} 秒，按网关收到时间报警"
                f" (device clock {skew:+.0f} s; paged on receipt)")
    if skew is not None and skew <= -CLOCK_NOTE_S:
        # Late: a slow clock, or an event the device held while offline (vendor round 4:
        # a break-in of two hours ago was called live, its device's clock wrong).
        return (f"；事件时间早于收到 {-skew:.0f} 秒（设备时钟慢，或离线后补传的旧事件，"
                f"请核对发生时间），按网关收到时间报警 (event ts {-skew:.0f} s before "
                "receipt: a slow device clock, or an old event uploaded after an outage; "
                "paged on receipt)")
    return ""


def restate(text: AlertText, db: TicketStore, ticket: Ticket, alert: Any) -> bool:
    """A repeat that named another place (door 3 after door 1) or brought another picture:
    the ticket says so — it was written once, at opening (vendor round 4). Whether the
    ticket changed. It keeps the latest ATTACHMENTS_MAX pictures."""
    event = alert.detail.get("event") if isinstance(alert.detail, dict) else None
    before = (ticket.description, list(ticket.attachments))
    if isinstance(event, dict) and any(isinstance(event.get(name), list)
                                       for name in WHERE_FACTS):
        ticket.description = text(db, alert)
    attach(ticket, alert)
    return (ticket.description, ticket.attachments) != before


def attach(ticket: Ticket, alert: Any) -> None:
    """The alert's picture goes onto the ticket, which keeps the latest ATTACHMENTS_MAX."""
    ref = snapshot_ref(alert)
    if ref and ref not in ticket.attachments:
        ticket.attachments = [*ticket.attachments, ref][-ATTACHMENTS_MAX:]


def snapshot_ref(alert: Any) -> str | None:
    """The link to the picture of the alert's latest event (a camera's or an NVR's)."""
    detail = alert.detail if isinstance(alert.detail, dict) else {}
    event = detail.get("event")
    ref = detail.get("snapshot_ref") or (event.get("snapshot_ref")
                                         if isinstance(event, dict) else None)
    return ref if isinstance(ref, str) else None
