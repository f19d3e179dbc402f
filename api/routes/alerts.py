"""Alerts: filter, acknowledge, clear, comment; silences."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import GatewayDep, IdPath, Staff, StaffOrGrid
from api.schemas import AlertAction, AlertPublic, CommentBody, SilenceCreate
from rules.errors import AlertError

router = APIRouter(prefix="/alerts", tags=["alerts"])
silences = APIRouter(prefix="/silences", tags=["alerts"])

_FIELDS = ", ".join(AlertPublic.model_fields)


def _alerting(gw: Any) -> Any:
    if gw.alerting is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the rules engine is off")
    return gw.alerting


def _alert_row(gw: Any, alert_id: int) -> dict[str, Any]:
    rows = gw.store.query(f"SELECT {_FIELDS} FROM alerts WHERE id = ?", (alert_id,))
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
    return rows[0]


def _visible(user: Any, row: dict[str, Any]) -> bool:
    return user.role != "grid_worker" or row["grid"] == user.grid


@router.get("", response_model=list[AlertPublic])
def list_alerts(
    gw: GatewayDep, user: StaffOrGrid,
    state: Annotated[str | None, Query(pattern="^(active|acknowledged|cleared|open)$")] = None,
    severity: str | None = None, device_id: str | None = None, rule_id: str | None = None,
    site: str | None = None, limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> list[AlertPublic]:
    """Alerts, newest first; `state=open` means not cleared. Grid workers see their grid."""
    where, args = ["1=1"], []
    if state == "open":
        where.append("state != 'cleared'")
    elif state:
        where.append("state = ?")
        args.append(state)
    for column, value in (("severity", severity), ("device_id", device_id),
                          ("rule_id", rule_id), ("site", site)):
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    if user.role == "grid_worker":
        where.append("grid = ?")
        args.append(user.grid or "")
    rows = gw.store.query(
        f"SELECT {_FIELDS} FROM alerts WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        (*args, limit),
    )
    return [AlertPublic(**r) for r in rows]


@router.get("/{alert_id}", response_model=AlertPublic)
def get_alert(alert_id: IdPath, gw: GatewayDep, user: StaffOrGrid) -> AlertPublic:
    """One alert."""
    row = _alert_row(gw, alert_id)
    if not _visible(user, row):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
    return AlertPublic(**row)


@router.post("/{alert_id}/ack", response_model=AlertPublic)
def ack(alert_id: IdPath, body: AlertAction, gw: GatewayDep, user: StaffOrGrid) -> AlertPublic:
    """Acknowledge: someone is on it (the alert stays open until its condition clears)."""
    row = _alert_row(gw, alert_id)
    if not _visible(user, row):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
    try:
        _alerting(gw).ack(alert_id, user.username, body.note)
    except AlertError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return AlertPublic(**_alert_row(gw, alert_id))


@router.post("/{alert_id}/clear", response_model=AlertPublic)
def clear(alert_id: IdPath, body: AlertAction, gw: GatewayDep, user: Staff) -> AlertPublic:
    """Clear by hand."""
    _alert_row(gw, alert_id)
    try:
        _alerting(gw).clear(alert_id, user.username, body.note)
    except AlertError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return AlertPublic(**_alert_row(gw, alert_id))


@router.post("/{alert_id}/comments", status_code=status.HTTP_201_CREATED)
def comment(alert_id: IdPath, body: CommentBody, gw: GatewayDep, user: StaffOrGrid) -> dict:
    """Add a comment to the alert's audit trail."""
    row = _alert_row(gw, alert_id)
    if not _visible(user, row):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
    with gw.store.transaction() as tx:
        tx.connection.execute(
            "INSERT INTO alert_audit (alert_id, at, actor, action, from_state, to_state, note)"
            " VALUES (?, ?, ?, 'comment', ?, ?, ?)",
            (alert_id, gw.clock.time(), user.username, row["state"], row["state"], body.text),
        )
    return {"alert_id": alert_id, "comment": body.text}


@router.get("/{alert_id}/audit")
def audit_trail(alert_id: IdPath, gw: GatewayDep, user: StaffOrGrid) -> list[dict]:
    """Every transition and comment of an alert."""
    row = _alert_row(gw, alert_id)
    if not _visible(user, row):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
    return gw.store.query("SELECT at, actor, action, from_state, to_state, note FROM alert_audit"
                          " WHERE alert_id = ? ORDER BY id", (alert_id,))


@silences.post("", status_code=status.HTTP_201_CREATED)
def create_silence(body: SilenceCreate, gw: GatewayDep, user: Staff) -> dict:
    """Mute matching alerts until the silence expires (they are still recorded)."""
    if not (body.device_id or body.rule_id or body.site):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "a silence needs a device_id, rule_id or site")
    try:
        silence_id = _alerting(gw).silence(
            author=user.username, reason=body.reason, duration_s=body.duration_s,
            device_id=body.device_id, rule_id=body.rule_id, site=body.site)
    except AlertError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return {"id": silence_id}


@silences.get("")
def list_silences(gw: GatewayDep, user: Staff) -> list[dict]:
    """Silences that have not ended."""
    return gw.store.query(
        "SELECT id, device_id, rule_id, site, starts_at, expires_at, author, reason"
        " FROM silences WHERE ended_at IS NULL AND expires_at > ? ORDER BY id",
        (gw.clock.time(),))


@silences.delete("/{silence_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_silence(silence_id: IdPath, gw: GatewayDep, user: Staff) -> None:
    """End a silence early."""
    if not gw.store.query("SELECT id FROM silences WHERE id = ?", (silence_id,)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such silence")
    try:
        _alerting(gw).unsilence(silence_id, user.username)
    except AlertError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
