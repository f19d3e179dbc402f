"""Residents, family links, dead letters, rules, and the access audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel

from api.csv_export import csv_response
from api.deps import Admin, GatewayDep, Staff
from api.personal import client_address
from api.schemas import (
    AdminActionPublic,
    DeadLetterPublic,
    FamilyLink,
    ResidentPublic,
    ResidentUpdate,
    RulePublic,
    RuleSwitch,
)
from gateway.residents import Resident, ResidentRepository
from gateway.rule_admin import RuleNotRunningError, RuleSwitchRefusedError, switch_rule
from gateway.storage.admin_repo import AdminReads
from gateway.storage.message_reads import MessageReads
from gateway.storage.people_repo import PeopleReads, ResidentRow
from gateway.users import UserRepository

residents = APIRouter(prefix="/residents", tags=["residents"])
dead_letters = APIRouter(prefix="/dead-letters", tags=["dead letters"])
rules = APIRouter(prefix="/rules", tags=["rules"])
audit_log = APIRouter(prefix="/audit", tags=["audit"])


def _resident(row: ResidentRow) -> ResidentPublic:
    return ResidentPublic(id=row.id, name=row.name, tags=list(row.tags), site=row.site)


@residents.get("", response_model=list[ResidentPublic])
def list_residents(gw: GatewayDep, user: Staff, tag: str | None = None) -> list[ResidentPublic]:
    """Residents, optionally those carrying a tag (e.g. lives_alone)."""
    return [_resident(r) for r in PeopleReads(gw.store).residents()
            if tag is None or tag in r.tags]


@residents.get("/{resident_id}", response_model=ResidentPublic)
def get_resident(resident_id: str, gw: GatewayDep, user: Staff) -> ResidentPublic:
    """A resident's profile."""
    row = PeopleReads(gw.store).resident(resident_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such resident")
    return _resident(row)


@residents.put("/{resident_id}", response_model=ResidentPublic)
def put_resident(resident_id: str, body: ResidentUpdate, gw: GatewayDep,
                 user: Staff) -> ResidentPublic:
    """Create or update a profile (tags such as lives_alone change alert priority)."""
    if not resident_id or len(resident_id) > 64:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "bad resident id")
    repo: ResidentRepository = (gw.alerting.residents if gw.alerting
                                else ResidentRepository(gw.store, gw.clock))
    repo.upsert([Resident(resident_id, body.name, frozenset(body.tags), body.site)])
    return get_resident(resident_id, gw, user)


@residents.post("/{resident_id}/family", status_code=status.HTTP_201_CREATED)
def link_family(resident_id: str, body: FamilyLink, request: Request, gw: GatewayDep,
                user: Staff) -> dict:
    """Link a family account to a resident (it then sees the elder's location and vitals:
    written to the admin audit as `family_link`, in the same transaction)."""
    account = UserRepository(gw.store, gw.clock).get(body.username)
    if account is None or account.role != "family":
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "not a family account")
    get_resident(resident_id, gw, user)
    address = client_address(request)

    def link(now: float, tx: Any) -> None:
        tx.people.link_family([(resident_id, body.username, body.relation)])
        tx.audit.record_admin(at=now, actor=user.username, role=user.role,
                              action="family_link", target=resident_id,
                              detail=f"account={body.username} relation={body.relation}",
                              client_addr=address)

    gw.pipeline.call("family_link", link, gw.clock.time())
    return {"resident_id": resident_id, "username": body.username}


@dead_letters.get("", response_model=list[DeadLetterPublic])
def list_dead_letters(gw: GatewayDep, user: Staff, reason: str | None = None,
                      device_id: str | None = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DeadLetterPublic]:
    """Refused messages, newest first, by reason or device."""
    return [DeadLetterPublic(**r) for r in MessageReads(gw.store).dead_letters(
        reason=reason, device_id=device_id, limit=limit)]


@dead_letters.get("/summary")
def dead_letter_summary(gw: GatewayDep, user: Staff) -> dict[str, int]:
    """Count per reason."""
    return MessageReads(gw.store).dead_letter_counts()


@rules.get("", response_model=list[RulePublic])
def list_rules(gw: GatewayDep, user: Staff) -> list[RulePublic]:
    """The loaded rules."""
    if gw.alerting is None:
        return []
    engine = gw.alerting.engine
    return [
        RulePublic(id=r.id, kind=",".join([r.kind] if isinstance(r.kind, str) else r.kind),
                   severity=r.severity, category=r.category, condition=r.condition.type,
                   name_zh=r.name.zh, name_en=r.name.en,
                   enabled=r.id in engine.evaluators and r.id not in engine.switched_off)
        for r in engine.ruleset.rules
    ]


def _switch(rule_id: str, enabled: bool, body: RuleSwitch, request: Request, gw: GatewayDep,
            user: Staff) -> RulePublic:
    # The same service as the admin page: the switch lands in the rule's history and the
    # admin audit, in the transaction that makes it.
    try:
        switch_rule(gw, rule_id, enabled, actor=user.username, role=user.role,
                    reason=body.reason, client_addr=client_address(request))
    except RuleNotRunningError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no running rule with that id") from exc
    except RuleSwitchRefusedError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    return next(r for r in list_rules(gw, user) if r.id == rule_id)


@rules.post("/{rule_id}/disable", response_model=RulePublic)
def disable_rule(rule_id: str, body: RuleSwitch, request: Request, gw: GatewayDep,
                 user: Staff) -> RulePublic:
    """Switch a rule off: it stops raising alerts and its open alerts clear (kept in the
    rule's history and the admin audit, with the reason)."""
    return _switch(rule_id, False, body, request, gw, user)


@rules.post("/{rule_id}/enable", response_model=RulePublic)
def enable_rule(rule_id: str, body: RuleSwitch, request: Request, gw: GatewayDep,
                user: Staff) -> RulePublic:
    """Switch a rule back on (kept in its history and the admin audit)."""
    return _switch(rule_id, True, body, request, gw, user)


class AccessAuditPublic(BaseModel):
    """One audited read of personal data (or one refused attempt)."""

    id: int
    at: float
    actor: str
    role: str
    action: str
    resident_id: str | None
    residents: list[str]
    device_id: str | None
    range_from: float | None
    range_to: float | None
    outcome: str
    detail: str
    client_addr: str


def _access_rows(gw: GatewayDep, resident_id: str | None, actor: str | None,
                 action: str | None, since: float | None, until: float | None,
                 limit: int) -> list[dict]:
    return gw.audit.access_rows(resident_id=resident_id, actor=actor, action=action,
                                since=since, until=until, limit=limit)


@audit_log.get("/access", response_model=list[AccessAuditPublic])
def access_audit(gw: GatewayDep, user: Admin, resident_id: str | None = None,
                 actor: str | None = None, action: str | None = None,
                 since: Annotated[float | None, Query(description="epoch s")] = None,
                 until: Annotated[float | None, Query(description="epoch s")] = None,
                 limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    """Who read whose location or health data, when, for which range, from where, allowed or
    denied; newest first. `resident_id` also finds list reads that covered the resident."""
    return _access_rows(gw, resident_id, actor, action, since, until, limit)


@audit_log.get("/access.csv", response_class=Response)
def access_audit_csv(gw: GatewayDep, user: Admin, resident_id: str | None = None,
                     actor: str | None = None, action: str | None = None,
                     since: Annotated[float | None, Query(description="epoch s")] = None,
                     until: Annotated[float | None, Query(description="epoch s")] = None,
                     limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000) -> Response:
    """The same rows as CSV (UTF-8 with BOM so spreadsheet programs show Chinese correctly)."""
    rows = _access_rows(gw, resident_id, actor, action, since, until, limit)
    return csv_response(({**row, "residents": " ".join(row["residents"])} for row in rows),
                        list(AccessAuditPublic.model_fields), "access-audit.csv")


@audit_log.get("/admin", response_model=list[AdminActionPublic])
def admin_audit(gw: GatewayDep, user: Admin, target: str | None = None,
                actor: str | None = None,
                limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    """Administrative actions, newest first (the same rows as `/admin/audit/actions`, with
    fewer filters; kept for the integrations that read it)."""
    return AdminReads(gw.store).admin_actions(actor=actor, target=target, limit=limit)
