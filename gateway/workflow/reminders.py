"""Expiry reminders (到期提醒): one ticket per asset and expiry date, N days ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from devices.place import Place
from gateway.workflow.states import FINAL

if TYPE_CHECKING:
    from gateway.workflow.ports import Tx
    from gateway.workflow.service import WorkflowService


def upsert_asset(tx: Tx, *, id: str, kind: str, name: str, expires_on: date, now: float,
                 place: dict[str, str] | None = None, device_id: str | None = None,
                 remind_days: int | None = None, actor: str = "system") -> None:
    """Register or update an asset with an expiry date (extinguisher, certificate, …). A
    renewed date notes itself on the open reminder of the old one (vendor round 3: the old
    reminder stayed as it was, as if nothing had been done)."""
    old = next(iter(tx.assets.assets(id)), None)
    tx.assets.upsert_asset(id=id, kind=kind, name=name, place=place or {},
                            device_id=device_id, expires_on=expires_on,
                            remind_days=remind_days, now=now)
    if old is None or old["expires_on"] == expires_on.isoformat() \
            or old["reminder_ticket_id"] is None:
        return
    ticket = tx.tickets.get(old["reminder_ticket_id"])
    if ticket is not None and ticket.state not in FINAL:
        tx.tickets.add_event(
            ticket.id, now, actor, "comment", ticket.state, ticket.state,
            note=f"有效期已更新为 {expires_on.isoformat()}（原 {old['expires_on']}），可办结 / "
                 f"renewed to {expires_on.isoformat()} (was {old['expires_on']}): may be closed",
            detail={"renewed_to": expires_on.isoformat(), "was": old["expires_on"]})


# How the reminder's Chinese text names an asset kind (others by their key).
KIND_ZH = {"fire_extinguisher": "灭火器", "hydrant_inspection": "消防栓检验",
           "fire_equipment_inspection": "消防设施检验", "health_certificate": "健康证"}


def reminder_text(kind: str, name: str, expiry: date, today: date) -> tuple[str, bool]:
    """A reminder ticket's description (Chinese, then English) and whether it is overdue."""
    days = (expiry - today).days
    zh = KIND_ZH.get(kind, kind)
    if days < 0:
        return (f"{name}（{zh}）已于 {expiry.isoformat()} 过期 {-days} 天，请尽快更换或检验 / "
                f"{kind} {name} expired on {expiry.isoformat()}, {-days} days ago", True)
    return (f"{name}（{zh}）将于 {expiry.isoformat()} 到期（还有 {days} 天）/ "
            f"{kind} {name} expires on {expiry.isoformat()} (in {days} days)", False)


def open_due_reminders(service: WorkflowService, tx: Tx, now: float) -> int:
    """Open a reminder ticket for every asset entering its window; exactly once per expiry."""
    today = datetime.fromtimestamp(now, UTC).astimezone(service._tz).date()
    rows = tx.assets.assets_not_reminded()
    opened = 0
    for (asset_id, kind, name, site, building, unit, grid, device_id, expires_on,
         remind_days) in rows:
        expiry = date.fromisoformat(expires_on)
        days = service.settings.reminder_days if remind_days is None else remind_days
        if (expiry - today).days > days:  # (no date arithmetic that can leave 1–9999)
            continue
        text, overdue = reminder_text(kind, name, expiry, today)
        ticket = service.open_ticket(
            tx, source="reminder", category="facility_expiry", now=now,
            # Already expired: an extinguisher that may not work is more than a chore.
            priority="high" if overdue else None,
            place=Place(site=site or "", building=building or "", unit=unit or "",
                        grid=grid or ""),
            device_id=device_id, title=f"{name} {'已过期' if overdue else '到期提醒'}",
            description=text, dedup_key=f"reminder-{asset_id}-{expires_on}",
        )
        tx.assets.reminded(asset_id, expires_on, ticket.id, now)
        opened += 1
    return opened
