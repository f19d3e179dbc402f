"""What the admin page reads and changes beyond the existing routes: the device list without
personal data, rules with their thresholds (changed within their declared bounds), switches
and history, and the audit of admin actions, sessions and sign-in attempts with filters and
CSV export (location reads: `/audit/access`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.csv_export import csv_response
from api.deps import Admin, GatewayDep
from api.personal import client_address
from api.routes.console import _page
from api.schemas import AdminActionPublic, DeviceSummary
from gateway.rule_admin import RuleNotRunningError, ThresholdError, retune_rule, switch_rule
from gateway.storage.admin_repo import AdminReads
from gateway.storage.sign_ins_repo import SignInReads
from rules.engine import Engine

pages = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/admin", tags=["admin"])
audit = APIRouter(prefix="/audit", tags=["audit"])

Since = Annotated[float | None, Query(description="epoch s, inclusive")]
Until = Annotated[float | None, Query(description="epoch s, exclusive")]


class BoundsPublic(BaseModel):
    """The range a threshold may be moved within (inclusive), as its rule file declares."""

    min: float
    max: float


class ThresholdPublic(BaseModel):
    """One comparison of a rule: the numbers it runs with now, the file's, and its bounds."""

    index: int = Field(description="Position among the rule's comparisons (address in edits)")
    signal: str
    op: str
    hysteresis: float
    current: dict[str, float] = Field(description="value, or low and high, as running now")
    declared: dict[str, float] = Field(description="The same as the rule file writes them")
    bounds: BoundsPublic | None = Field(description="None: not editable (no declared bounds)")
    editable: bool
    changed_by: str | None = None
    changed_at: float | None = None
    change_reason: str | None = None


class RuleAdmin(BaseModel):
    """A rule as the admin page shows it."""

    id: str
    name_zh: str
    name_en: str
    kind: str
    severity: str
    category: str
    condition: str
    params: dict[str, Any] = Field(
        description="The condition (thresholds, windows), with changed thresholds as running")
    thresholds: list[ThresholdPublic] = Field(
        default_factory=list, description="The rule's comparisons, with bounds and changes")
    running: bool = Field(description="Loaded and evaluated (false: disabled in its file)")
    enabled: bool = Field(description="Running and not switched off")
    switched_by: str | None = None
    switched_at: float | None = None
    switch_reason: str | None = None


class ThresholdEdit(BaseModel):
    """New number(s) for one threshold of a rule, within its declared bounds, and why."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(0, ge=0, le=20, description="Which comparison of the rule (see list)")
    signal: str | None = Field(
        None, max_length=64, description="Optional check: the comparison's signal")
    value: float | None = Field(None, allow_inf_nan=False, description="For gt/ge/lt/le")
    low: float | None = Field(None, allow_inf_nan=False, description="For outside/inside")
    high: float | None = Field(None, allow_inf_nan=False, description="For outside/inside")
    reason: str = Field(min_length=2, max_length=500)

    def changes(self) -> dict[str, float]:
        """The numbers given."""
        return {k: v for k in ("value", "low", "high") if (v := getattr(self, k)) is not None}


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


class SignInAttempt(BaseModel):
    """One sign-in attempt: the username as typed, from where, what came of it (never the
    password; `wrong_password` also covers unknown and disabled accounts, as the caller was
    told)."""

    id: int
    at: float
    username: str
    client_addr: str
    outcome: Literal["ok", "wrong_password", "throttled"]
    role: str | None = Field(description="The account's role, on success")
    user_agent: str


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


def _thresholds(engine: Engine, rule_id: str, stored: dict[tuple[str, int], dict[str, Any]]
                ) -> tuple[list[ThresholdPublic], dict[str, Any]]:
    """The rule's comparisons, and the flattened params they change (`condition.high`)."""
    found, params = [], {}
    for t in engine.tunables(rule_id):
        cur, bounds = t.current, t.declared.bounds
        row = stored.get((rule_id, t.index)) or {}
        found.append(ThresholdPublic(
            index=t.index, signal=t.declared.signal, op=t.declared.op,
            hysteresis=t.declared.hysteresis, current=cur.operands(),
            declared=t.declared.operands(),
            bounds=BoundsPublic(min=bounds.min, max=bounds.max) if bounds else None,
            editable=bounds is not None, changed_by=row.get("actor"),
            changed_at=row.get("at"), change_reason=row.get("reason")))
        params |= {f"{t.path}{k}": v for k, v in cur.operands().items()}
    return found, params


@router.get("/rules", response_model=list[RuleAdmin])
def rules(gw: GatewayDep, user: Admin) -> list[RuleAdmin]:
    """Every rule of the loaded rule set, with its thresholds as running now (bounds, the
    file's numbers, who changed them) and who switched it last."""
    if gw.alerting is None:
        return []
    engine = gw.alerting.engine
    reads = AdminReads(gw.store)
    switches, stored = reads.switches(), reads.thresholds()
    out = []
    for r in engine.ruleset.rules:
        running = r.id in engine.evaluators
        last = switches.get(r.id) or {}
        thresholds, current = _thresholds(engine, r.id, stored) if running else ([], {})
        params = _flat(r.condition.model_dump(mode="json", exclude={"type"}))
        params = {k: v for k, v in params.items() if ".bounds." not in f".{k}"} | current
        out.append(RuleAdmin(
            id=r.id, name_zh=r.name.zh, name_en=r.name.en,
            kind=",".join([r.kind] if isinstance(r.kind, str) else r.kind),
            severity=r.severity, category=r.category, condition=r.condition.type,
            params=params, thresholds=thresholds,
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


@router.put("/rules/{rule_id}/threshold", response_model=RuleAdmin,
            responses={404: {"description": "No running rule with that id"},
                       422: {"description": "Not editable, or outside the declared bounds "
                                            "(the detail says which)"}})
def set_threshold(rule_id: str, body: ThresholdEdit, request: Request, gw: GatewayDep,
                  user: Admin) -> RuleAdmin:
    """Move a threshold of a running rule within the bounds its rule file declares; kept
    across restarts, written to the rule's history and the admin audit. Devices' condition
    state is kept: the next reading is judged against the new line."""
    if not body.changes():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "give value, or low and/or high")
    try:
        retune_rule(gw, rule_id, body.index, body.changes(), signal=body.signal,
                    actor=user.username, role=user.role, reason=body.reason,
                    client_addr=client_address(request))
    except RuleNotRunningError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ThresholdError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return next(r for r in rules(gw, user) if r.id == rule_id)


@router.get("/rules/changes", response_model=list[RuleChange])
def rule_changes(gw: GatewayDep, user: Admin, rule_id: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=2000)] = 200) -> list[dict]:
    """Who switched which rule or changed which threshold, when and why; newest first."""
    return AdminReads(gw.store).rule_changes(rule_id=rule_id, limit=limit)


def _csv(rows: Iterable[dict[str, Any]], columns: list[str], name: str) -> Response:
    return csv_response(rows, columns, name)


def _actions(gw: Any, actor: str | None, action: str | None, target: str | None,
             since: float | None, until: float | None, limit: int) -> list[dict]:
    return AdminReads(gw.store).admin_actions(actor=actor, action=action, target=target,
                                              since=since, until=until, limit=limit)


@audit.get("/actions", response_model=list[AdminActionPublic])
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
                list(AdminActionPublic.model_fields), "admin-actions.csv")


@audit.get("/logins", response_model=list[SignIn])
def logins(gw: GatewayDep, user: Admin, username: str | None = None, since: Since = None,
           until: Until = None, limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    """Sign-ins (sessions), newest first: who, role, when, address, browser, how it ended.
    Ended sessions are kept a week; every attempt, refused ones too: `/audit/sign-ins`."""
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


Outcome = Annotated[Literal["ok", "wrong_password", "throttled"] | None,
                    Query(description="ok, wrong_password or throttled")]


def _attempts(gw: Any, username: str | None, outcome: str | None, client_addr: str | None,
              since: float | None, until: float | None, limit: int) -> list[dict]:
    return SignInReads(gw.store).attempts(username=username, outcome=outcome,
                                          client_addr=client_addr, since=since, until=until,
                                          limit=limit)


@audit.get("/sign-ins", response_model=list[SignInAttempt])
def sign_in_attempts(gw: GatewayDep, user: Admin, username: str | None = None,
                     outcome: Outcome = None, client_addr: str | None = None,
                     since: Since = None, until: Until = None,
                     limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    """Every sign-in attempt, newest first: username as typed, address, outcome, time
    (kept `database.sign_in_retention_days`, at least 90 days)."""
    return _attempts(gw, username, outcome, client_addr, since, until, limit)


@audit.get("/sign-ins.csv", response_class=Response)
def sign_in_attempts_csv(gw: GatewayDep, user: Admin, username: str | None = None,
                         outcome: Outcome = None, client_addr: str | None = None,
                         since: Since = None, until: Until = None,
                         limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000) -> Response:
    """The same rows as CSV."""
    return _csv(_attempts(gw, username, outcome, client_addr, since, until, limit),
                list(SignInAttempt.model_fields), "sign-in-attempts.csv")
