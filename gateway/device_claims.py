"""A message naming another registered device than the login that sent it (a vendor cloud
forwarding several detectors' alarms on one login): what the alert and its ticket say.

The event stays the login's — the broker vouches for the login, not for what a payload
claims, and one device's leaked password must not raise alarms in every flat of its vendor —
but whoever is sent must know that it may be another flat: the named device's place is on the
alert's payload problem and at the head of the ticket (vendor round 10: a fire forwarded on
another detector's login sent the fire brigade to the wrong flat, the hint only in a field).
"""

from __future__ import annotations

import re

from devices.place import Place
from gateway.storage.records import DeviceRecord

_NAMED = re.compile(r"the payload names device '([^']{1,64})' \(at ([^)]{0,80})\)")


def claim_note(named: DeviceRecord, device_id: str) -> str:
    """The payload problem of a message from `device_id` naming `named`."""
    place = Place(site=named.site, building=named.building, unit=named.unit)
    where = " ".join(p for p in (named.site, place.label_zh()) if p) or "no place"
    return (f"the payload names device {named.id!r} (at {where}), not {device_id!r}: it was "
            f"taken as {device_id}'s — check which device sent it")


def named_in(problem: object) -> tuple[str, str] | None:
    """(device id, its place) when a payload problem says the payload named another
    device, else None."""
    found = _NAMED.search(problem) if isinstance(problem, str) else None
    return (found[1], found[2]) if found is not None else None
