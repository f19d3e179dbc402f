"""Requests from the door-plate page: limits, one ticket per submission, tracking, rating.

The resident needs no account: the plate's signed link says which unit, a tracking link
(derived from the page's submission id with the plate key, stored only as a hash) lets the
same phone follow and rate the request. Every ticket change runs on the pipeline thread in
one transaction with the rows that belong to it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.abuse import SlidingLimiter
from gateway.plates import PlateLink, PlateTokens, new_secret, plate_key, track_hash
from gateway.request_photos import CleanPhoto
from gateway.storage.plates_repo import PlateReads, PlateRequestRow

if TYPE_CHECKING:
    from gateway.service import Gateway
    from gateway.workflow.records import Ticket

PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")
SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# The five steps a resident sees (收集→派发→处置→反馈→办结), from the workflow's states.
STEP_OF_STATE = {"collected": "collected", "dispatched": "dispatched", "handling": "handling",
                 "escalated": "handling", "transferred": "handling", "feedback": "feedback",
                 "closed": "closed", "rejected": "closed", "duplicate": "closed"}
STEPS = ("collected", "dispatched", "handling", "feedback", "closed")


class LimitedError(Exception):
    """Too many submissions: `scope` is "plate" or "address"; wait `retry_after` seconds."""

    def __init__(self, scope: str, retry_after: float, window_s: int, most: int) -> None:
        super().__init__(f"{scope} limit: {most} per {window_s} s")
        self.scope = scope
        self.retry_after = retry_after
        self.window_s = window_s
        self.most = most


class TrackingError(LookupError):
    """A tracking link that names no request (or one long closed)."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the resident gets back: the ticket and the tracking token."""

    ticket: Ticket
    track_token: str
    created: bool


class PlateDesk:
    """The service behind the open resident page."""

    def __init__(self, gw: Gateway) -> None:
        self._gw = gw
        settings = gw.settings.plates
        self.settings = settings
        self._key = plate_key(gw.settings)
        self.tokens = PlateTokens(self._key)
        self.per_plate = SlidingLimiter(gw.clock, settings.per_plate)
        self.per_address = SlidingLimiter(gw.clock, settings.per_address)
        known = set(gw.workflow.catalogue.category_keys())
        self.categories = [c for c in settings.categories if c in known]

    # -- plates --------------------------------------------------------------------------

    def open(self, token: str) -> PlateLink:
        """The plate a link opens (PlateTokenError otherwise)."""
        return self.tokens.verify(token, self._gw.store)

    def issue(self, codes: list[str], actor: str) -> dict[str, tuple[int, str]]:
        """Give plates without a key their first one; code → (version, secret) for all."""
        def run(now: float, tx: Any) -> None:
            for code in codes:
                tx.plates.issue_key(code, new_secret(), now, actor)
        if codes:
            self._gw.pipeline.call("plates_issue", run, self._gw.clock.time(), 60.0)
        found = {p.code: p for p in PlateReads(self._gw.store).plates()}
        return {c: (found[c].version or 0, found[c].secret or "") for c in codes if c in found}

    def rotate(self, code: str, actor: str, role: str, client_addr: str) -> int:
        """A new secret and version for one plate (its old link stops working); audited."""
        def run(now: float, tx: Any) -> int:
            version = tx.plates.rotate_key(code, new_secret(), now, actor)
            tx.audit.record_admin(at=now, actor=actor, role=role, action="plate_rotate",
                                  target=code, detail=f"version={version}",
                                  client_addr=client_addr)
            return version
        return int(self._gw.pipeline.call("plate_rotate", run, self._gw.clock.time()))

    # -- limits --------------------------------------------------------------------------

    def check_address(self, address: str) -> None:
        """Count one attempt from `address`; LimitedError when it is over its limit."""
        wait, window, most = self.per_address.retry_after(address)
        self.per_address.hit(address)
        if wait > 0:
            raise LimitedError("address", wait, window, most)

    def check_plate(self, code: str) -> None:
        """LimitedError when the plate has sent as many requests as it may for now."""
        wait, window, most = self.per_plate.retry_after(code)
        if wait > 0:
            raise LimitedError("plate", wait, window, most)

    # -- requests ------------------------------------------------------------------------

    def track_token(self, code: str, submission_id: str) -> str:
        """The tracking token of a submission (the same for a retried submit)."""
        mac = hmac.new(self._key, f"scgw-track\x1f{code}\x1f{submission_id}".encode(),
                       hashlib.sha256).digest()[:16]
        return mac.hex()

    def submit(self, link: PlateLink, *, category: str, text: str, phone: str,
               photo: CleanPhoto | None, submission_id: str | None,
               client_addr: str) -> Receipt:
        """Open the ticket (or find the one this submission id already opened)."""
        if category not in self.categories:
            raise ValueError(f"unknown category {category!r}")
        phone = phone.strip()
        if phone and not PHONE.match(phone):
            raise ValueError("电话号码格式不对 (not a phone number)")
        sid = submission_id if submission_id and SUBMISSION_ID.match(submission_id) else (
            secrets.token_urlsafe(16))
        code = link.plate.code
        token = self.track_token(code, sid)
        desk = self

        def run(now: float, tx: Any) -> tuple[Ticket, bool]:
            earlier = tx.plates.find_submission(code, sid)
            if earlier is not None:
                return desk._ticket(tx, earlier.ticket_id), False
            ticket = desk._gw.workflow.submit_request(
                tx, category=category, text=text, door_plate=code, now=now,
                actor=f"resident@{code}")
            tx.plates.add_request(PlateRequestRow(
                ticket_id=ticket.id, code=code, plate_version=link.version, submission_id=sid,
                track_hash=track_hash(token), phone=phone, client_addr=client_addr,
                created_at=now))
            if photo is not None:
                photo_id = tx.plates.add_photo(
                    ticket_id=ticket.id, media_type=photo.media_type, width=photo.width,
                    height=photo.height, data=photo.data, now=now)
                ticket.attachments = [*ticket.attachments, f"request-photo:{photo_id}"]
                tx.tickets.update(ticket)
            return ticket, True

        ticket, created = self._gw.pipeline.call("plate_request", run, self._gw.clock.time())
        if created:
            self.per_plate.hit(code)
        return Receipt(ticket, token, created)

    def _ticket(self, tx: Any, ticket_id: int) -> Ticket:
        ticket = tx.tickets.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket {ticket_id}")
        return ticket

    # -- tracking ------------------------------------------------------------------------

    def find(self, track: str) -> PlateRequestRow:
        """The request a tracking link names, while it may still be followed."""
        if not track or len(track) > 64:
            raise TrackingError("no such request")
        reads = PlateReads(self._gw.store)
        found = reads.request_by_track(track_hash(track))
        if found is None:
            raise TrackingError("no such request")
        view = reads.ticket_view(found.ticket_id)
        keep_s = self.settings.track_days_after_close * 86_400
        if view is None or (view["closed_at"] is not None
                            and self._gw.clock.time() > view["closed_at"] + keep_s):
            raise TrackingError("no such request")
        return found

    def view(self, found: PlateRequestRow) -> dict[str, Any]:
        """What the tracking page shows: the five steps with their times, result, rating."""
        reads = PlateReads(self._gw.store)
        view = reads.ticket_view(found.ticket_id)
        assert view is not None  # find() checked it
        reached: dict[str, float] = {"collected": view["created_at"]}
        for event in reads.ticket_steps(found.ticket_id):
            step = STEP_OF_STATE.get(event["to_state"])
            if step and event["action"] != "reopen":
                reached.setdefault(step, event["at"])
            if event["action"] == "reopen":  # back to handling: later steps happen again
                for later in ("feedback", "closed"):
                    reached.pop(later, None)
        current = STEP_OF_STATE.get(view["state"], "collected")
        return {**view, "step": current, "steps": [
            {"step": s, "at": reached.get(s)} for s in STEPS],
            "plate": found.code, "photos": len(reads.photo_ids(found.ticket_id)),
            "can_rate": view["state"] == "feedback"}

    def rate(self, found: PlateRequestRow, rating: int, note: str) -> None:
        """The resident's satisfaction closes the request (the workflow needs it)."""
        self._gw.pipeline.call("plate_rating", lambda now, tx: self._gw.workflow.transition(
            tx, found.ticket_id, "close", actor=f"resident@{found.code}", now=now, note=note,
            rating=rating), self._gw.clock.time())

    def reopen(self, found: PlateRequestRow, note: str) -> None:
        """Not solved: back to the worker (handling), with the resident's words."""
        self._gw.pipeline.call("plate_reopen", lambda now, tx: self._gw.workflow.transition(
            tx, found.ticket_id, "reopen", actor=f"resident@{found.code}", now=now,
            note=note), self._gw.clock.time())
