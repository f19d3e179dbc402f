"""Who may see which resident and device, and the audit log of personal-data reads."""

from __future__ import annotations

from fastapi import HTTPException, status

from api.personal import Auditor
from gateway.service import Gateway
from gateway.storage.people_repo import PeopleReads
from gateway.storage.records import DeviceRecord
from gateway.users import User


def linked_residents(gw: Gateway, user: User) -> list[str]:
    """Residents a family account is linked to."""
    return PeopleReads(gw.store).linked_residents(user.username)


def family_resident(gw: Gateway, auditor: Auditor, resident_id: str, action: str) -> None:
    """404 (and an audit row) unless `resident_id` is linked to this family account.

    404 rather than 403, so a family cannot even learn whether another elder exists.
    """
    if resident_id not in linked_residents(gw, auditor.user):
        auditor.refused(action, resident_id, "not linked")
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such elder")


def visible_device(gw: Gateway, user: User, device_id: str) -> DeviceRecord:
    """The device if this user may see it; 404 otherwise."""
    device = gw.registry.get(device_id)
    if device is None or not can_see_device(user, device):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such device")
    return device


def can_see_device(user: User, device: DeviceRecord) -> bool:
    """Staff see all; a grid worker its grid; a vendor its own devices; families none here."""
    if user.role in ("admin", "operator"):
        return True
    if user.role == "grid_worker":
        return device.grid == user.grid
    if user.role == "vendor":
        return device.vendor == user.vendor
    return False
