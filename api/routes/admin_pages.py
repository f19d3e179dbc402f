"""What the admin page reads and changes beyond the existing routes: the device list without
personal data, rules with their thresholds, switches and history, and the audit of admin
actions and sign-ins with filters and CSV export (location reads: `/audit/access`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, GatewayDep
from api.personal import client_address
from api.routes.console import _page
from api.schemas import DeviceSummary
from gateway.rule_admin import RuleNotRunningError, switch_rule
from gateway.storage.admin_repo import AdminReads

pages = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/admin", tags=["admin"])
audit = APIRouter(prefix="/audit", tags=["audit"])

Since = Annotated[float | None, Query(description="epoch s, inclusive")]
Until = Annotated[float | None, Query(description="epoch s, exclusive")]


class RuleAdmin(BaseModel):
    """A rule as the admin page shows it."""

    id: str
    name_zh: str
    name_en: str
    kind: str
    severity: str
    category: str
    condition: str
    params: dict[str, Any] = Field(description="The condition as written (thresholds, windows)")
    running: bool = Field(description="Loaded and evaluated (false: disabled in its file)")
    enabled: bool = Field(description="Running and not switched off")
    switched_by: str | None = None
    switched_at: float | None = None
    switch_reason: str | None = None


class RuleSwitchBody(BaseModel):
    """Switch a rule on or off, saying why (kept in its history)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool
    reason: str = Field(min_length=2, max_length=500)


class RuleChange(BaseModel):
    """One line of a rule's history."""

    id: int
    rule_id: str
    change: str
    detail: str
    reason: str
    actor: str
    role: str
    at: float


class AdminAction(BaseModel):
    """One administrative action."""

    id: int
    at: float
    actor: str
    role: str
    action: str
    target: str
    detail: str
    client_addr: str


class SignIn(BaseModel):
    """One sign-in (a session): who, from where, how it ended."""

    id: str
    username: str
    role: str
    created_at: float
    last_used_at: float
    expires_at: float
    revoked_at: float | None
    revoked_reason: str | None
    client_addr: str
    user_agent: str


@pages.get("/admin")
def admin_page() -> Any:
    """The admin pages: users, devices, rules, audit logs, door plates."""
    return _page("admin.html")


class AdminOptions(BaseModel):
    """Choices the admin page's forms offer."""

    kinds: list[str]
    roles: list[str]
    grids: list[str]
    sites: list[str]
    provisioning: bool = Field(description="Device broker accounts are managed here")


@router.get("/options", response_model=AdminOptions)
def options(gw: GatewayDep, user: Admin) -> AdminOptions:
    """Device kinds, roles, the grids and sites in use, whether credentials are managed."""
    from devices.catalogue import CATALOGUE
    from gateway.storage.plates_repo import PlateReads
    from gateway.users import ROLES, UserRepository

    plates = PlateReads(gw.store).plates()
    grids = {d.grid for d in gw.registry.all()} | {p.grid for p in plates} | {
        u.grid for u in UserRepository(gw.store, gw.clock).accounts("grid_worker")}
    sites = {d.site for d in gw.registry.all()} | {p.site for p in plates}
    return AdminOptions(kinds=sorted(CATALOGUE.kinds), roles=list(ROLES),
                        grids=sorted(g for g in grids if g), sites=sorted(s for s in sites if s),
                        provisioning=gw.settings.provisioning.enabled)


@router.get("/devices", response_model=list[DeviceSummary])
def devices(gw: GatewayDep, user: Admin, search: str = "", kind: str | None = None,
            status_: Annotated[str | None, Query(alias="status")] = None,
            limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[DeviceSummary]:
    """Registered devices with their binding and status (no twin: nothing personal)."""
    needle = search.strip().lower()[:64]
    found = []
    for d in sorted(gw.registry.all(), key=lambda d: d.id):
        if (kind and d.kind != kind) or (status_ and d.status != status_):
            continue
        if needle and needle not in " ".join(
                str(v or "") for v in (d.id, d.vendor, d.model, d.building, d.grid,
                                       d.resident_id)).lower():
            continue
        found.append(DeviceSummary(**{f: getattr(d, f) for f in DeviceSummary.model_fields}))
        if len(found) >= limit:
            break
    return found


def _flat(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= _flat(value, f"{name}.")
        elif value not in (None, [], {}):
            out[name] = value
    return out


@router.get("/rules", response_model=list[RuleAdmin])
def rules(gw: GatewayDep, user: Admin) -> list[RuleAdmin]:
    """Every rule of the loaded rule set, with its thresholds and who switched it last."""
    if gw.alerting is None:
        return []
    engine = gw.alerting.engine
    switches = AdminReads(gw.store).switches()
    out = []
    for r in engine.ruleset.rules:
        running = r.id in engine.evaluators
        last = switches.get(r.id) or {}
        out.append(RuleAdmin(
            id=r.id, name_zh=r.name.zh, name_en=r.name.en,
            kind=",".join([r.kind] if isinstance(r.kind, str) else r.kind),
            severity=r.severity, category=r.category, condition=r.condition.type,
            params=_flat(r.condition.model_dump(mode="json", exclude={"type"})),
            running=running, enabled=running and r.id not in engine.switched_off,
            switched_by=last.get("actor"), switched_at=last.get("at"),
            switch_reason=last.get("reason")))
    return out


@router.post("/rules/{rule_id}/switch", response_model=RuleAdmin)
def switch(rule_id: str, body: RuleSwitchBody, request: Request, gw: GatewayDep,
           user: Admin) -> RuleAdmin:
    """Switch a rule off (its open alerts clear) or back on, with the reason."""
    try:
        switch_rule(gw, rule_id, body.enabled, actor=user.username, role=user.role,
                    reason=body.reason, client_addr=client_address(request))
    except RuleNotRunningError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return next(r for r in rules(gw, user) if r.id == rule_id)


@router.get("/rules/changes", response_model=list[RuleChange])
def rule_changes(gw: GatewayDep, user: Admin, rule_id: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=2000)] = 200) -> list[dict]:
    """Who switched which rule, when and why; newest first."""
    return AdminReads(gw.store).rule_changes(rule_id=rule_id, limit=limit)


def _csv(rows: Iterable[dict[str, Any]], columns: list[str], name: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _actions(gw: Any, actor: str | None, action: str | None, target: str | None,
             since: float | None, until: float | None, limit: int) -> list[dict]:
    return AdminReads(gw.store).admin_actions(actor=actor, action=action, target=target,
                                              since=since, until=until, limit=limit)


@audit.get("/actions", response_model=list[AdminAction])
def actions(gw: GatewayDep, user: Admin, actor: str | None = None,
            action: Annotated[str | None, Query(description="prefix, e.g. user_")] = None,
            target: str | None = None, since: Since = None, until: Until = None,
            limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    """Administrative actions (accounts, devices, rules, door plates), newest first."""
    return _actions(gw, actor, action, target, since, until, limit)


@audit.get("/actions.csv", response_class=Response)
def actions_csv(gw: GatewayDep, user: Admin, actor: str | None = None,
                action: str | None = None, target: str | None = None, since: Since = None,
                until: Until = None,
                limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000) -> Response:
    """The same rows as CSV (UTF-8 with BOM for spreadsheet programs)."""
    return _csv(_actions(gw, actor, action, target, since, until, limit),
                list(AdminAction.model_fields), "admin-actions.csv")


@audit.get("/logins", response_model=list[SignIn])
def logins(gw: GatewayDep, user: Admin, username: str | None = None, since: Since = None,
           until: Until = None, limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    """Sign-ins (sessions), newest first: who, role, when, address, browser, how it ended.
    Ended sessions are kept a week; refused logins are counted in /metrics."""
    return AdminReads(gw.store).sign_ins(username=username, since=since, until=until,
                                         limit=limit)


@audit.get("/logins.csv", response_class=Response)
def logins_csv(gw: GatewayDep, user: Admin, username: str | None = None, since: Since = None,
               until: Until = None,
               limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000) -> Response:
    """The same rows as CSV."""
    rows = AdminReads(gw.store).sign_ins(username=username, since=since, until=until,
                                         limit=limit)
    return _csv(rows, list(SignIn.model_fields), "sign-ins.csv")
