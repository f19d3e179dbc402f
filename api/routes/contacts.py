"""A resident's phone and emergency contact: staff write it; the grid worker handling a ticket
for the resident reads it on the ticket, and every read is in the access audit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from api.deps import GatewayDep, IdPath, Staff, StaffOrGrid
from api.personal import Audit
from api.routes.ticket_detail import load
from api.schemas import ContactPublic, ContactUpdate
from gateway.storage.context_reads import names
from gateway.storage.people_repo import PeopleReads

router = APIRouter(tags=["residents"])


@router.put("/residents/{resident_id}/contact", status_code=status.HTTP_204_NO_CONTENT)
def put_contact(resident_id: str, body: ContactUpdate, gw: GatewayDep, user: Staff,
                auditor: Audit) -> None:
    """Set a resident's phone and emergency contact (written to the access audit)."""
    def write(now: float, tx: Any) -> None:  # the change and its audit row commit together
        if not tx.people.put_contact(
                resident_id, phone=body.phone, contact_name=body.contact_name,
                contact_relation=body.contact_relation, contact_phone=body.contact_phone,
                at=now, by=user.username):
            raise LookupError("no such resident")
        auditor.wrote("contact_write", resident_id, "phone / emergency contact", tx=tx)

    try:
        gw.pipeline.call("contact_write", write, gw.clock.time())
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.get("/tickets/{ticket_id}/contact", response_model=ContactPublic)
def ticket_contact(ticket_id: IdPath, gw: GatewayDep, user: StaffOrGrid,
                   auditor: Audit) -> ContactPublic:
    """The phone and emergency contact of the ticket's resident, for the grid worker it is
    dispatched to (or of its grid); each read is audited. Other roles: 403."""
    if user.role != "grid_worker":
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only the grid worker on the ticket sees the resident's phone")
    ticket = load(gw, user, ticket_id)
    contact = PeopleReads(gw.store).contact(ticket.resident_id) if ticket.resident_id else None
    if not ticket.resident_id or contact is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no contact on file for this ticket")
    auditor.disclosed("resident_contact", [ticket.resident_id], detail=f"ticket {ticket.code}")
    resident = ticket.resident_id
    return ContactPublic(resident_id=resident,
                         resident_name=names(gw.store, "residents", {resident}).get(resident,
                                                                                   resident),
                         **contact)
