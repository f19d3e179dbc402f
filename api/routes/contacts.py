"""A resident's phone and emergency contact: staff write it; the grid worker handling a ticket
for the resident reads it on the ticket, and every read is in the access audit."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.deps import GatewayDep, IdPath, Staff, StaffOrGrid
from api.personal import Audit
from api.routes.ticket_detail import load
from api.schemas import ContactPublic, ContactUpdate
from gateway.storage.context_reads import names

router = APIRouter(tags=["residents"])


@router.put("/residents/{resident_id}/contact", status_code=status.HTTP_204_NO_CONTENT)
def put_contact(resident_id: str, body: ContactUpdate, gw: GatewayDep, user: Staff,
                auditor: Audit) -> None:
    """Set a resident's phone and emergency contact (written to the access audit)."""
    if not gw.store.query("SELECT id FROM residents WHERE id = ?", (resident_id,)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such resident")
    with gw.store.transaction() as tx:  # the change and its audit row commit together
        tx.connection.execute(
            "INSERT OR REPLACE INTO resident_contacts (resident_id, phone, contact_name,"
            " contact_relation, contact_phone, updated_at, updated_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (resident_id, body.phone, body.contact_name, body.contact_relation,
             body.contact_phone, gw.clock.time(), user.username))
        auditor.wrote("contact_write", resident_id, "phone / emergency contact", tx=tx)


@router.get("/tickets/{ticket_id}/contact", response_model=ContactPublic)
def ticket_contact(ticket_id: IdPath, gw: GatewayDep, user: StaffOrGrid,
                   auditor: Audit) -> ContactPublic:
    """The phone and emergency contact of the ticket's resident, for the grid worker it is
    dispatched to (or of its grid); each read is audited. Other roles: 403."""
    if user.role != "grid_worker":
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only the grid worker on the ticket sees the resident's phone")
    ticket = load(gw, user, ticket_id)
    rows = gw.store.query(
        "SELECT phone, contact_name, contact_relation, contact_phone FROM resident_contacts"
        " WHERE resident_id = ?", (ticket.resident_id or "",))
    if not ticket.resident_id or not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no contact on file for this ticket")
    auditor.disclosed("resident_contact", [ticket.resident_id], detail=f"ticket {ticket.code}")
    resident = ticket.resident_id
    return ContactPublic(resident_id=resident,
                         resident_name=names(gw.store, "residents", {resident}).get(resident,
                                                                                   resident),
                         **rows[0])
