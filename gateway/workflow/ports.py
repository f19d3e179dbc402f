"""What the request workflow needs from storage, as protocols (gateway/storage implements them)."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from gateway.workflow.records import Ticket


class TicketStore(Protocol):
    """Tickets, their events and links, notifications, the outbox, assets — in one transaction."""

    def insert(self, ticket: Ticket) -> int:
        """A new ticket; returns its id."""
        ...

    def update(self, ticket: Ticket) -> None:
        """Write every field of an existing ticket."""
        ...

    def new_id(self) -> int:
        """The id the next new ticket gets."""
        ...

    def stage(self, ticket: Ticket) -> None:
        """Hold a new ticket while it is routed (`get` and `update` see it)."""
        ...

    def save_staged(self) -> None:
        """The routing is done: write the held ticket (or leave it for the batch's end)."""
        ...

    def get(self, ticket_id: int) -> Ticket | None:
        """One ticket."""
        ...

    def by_dedup_key(self, key: str) -> Ticket | None:
        """The ticket created under an idempotency key."""
        ...

    def for_alert(self, alert_id: int) -> Ticket | None:
        """The ticket an alert episode is linked to."""
        ...

    def open_for_resident(self, resident_id: str, category: str,
                          since: float) -> Ticket | None:
        """The newest open ticket an alert about the resident opened in the category since
        `since`."""
        ...

    def open_with_sla(self) -> list[Ticket]:
        """Tickets whose SLA clocks may still run."""
        ...

    def add_event(self, ticket_id: int, at: float, actor: str, action: str,
                  from_state: str | None, to_state: str, note: str = "",
                  detail: dict[str, Any] | None = None) -> None:
        """Audit one transition or update."""
        ...

    def events(self, ticket_id: int) -> list[dict[str, Any]]:
        """A ticket's audit trail, oldest first."""
        ...

    def link_alert(self, alert_id: int, ticket_id: int, at: float) -> None:
        """An alert episode belongs to a ticket."""
        ...

    def alert_devices(self, ticket_id: int) -> list[str]:
        """The devices whose alerts are linked to a ticket, each once."""
        ...

    def alert_ids(self, ticket_id: int) -> list[int]:
        """The alerts linked to a ticket."""
        ...

    def notify(self, *, at: float, audience: str, recipient: str, kind: str, body: str,
               ticket_id: int | None = None, alert_id: int | None = None,
               resident_id: str | None = None) -> None:
        """Record a notification."""
        ...

    def family_of(self, resident_id: str) -> list[str]:
        """Family accounts linked to a resident."""
        ...

    def resident_name(self, resident_id: str) -> str | None:
        """A resident's name, if on file."""
        ...

    def door_plate(self, code: str) -> tuple[str, str, str, str, str] | None:
        """(site, building, unit, room, grid) of a door-plate code."""
        ...

    def account(self, username: str) -> tuple[str, str | None, bool] | None:
        """(role, grid, disabled) of an account."""
        ...

    def grid_workers(self) -> list[tuple[str, str, str]]:
        """(username, display name, grid) of every enabled grid worker."""
        ...

    def open_counts_by_assignee(self, states: tuple[str, ...]) -> dict[str, int]:
        """Tickets in `states` per assignee."""
        ...

    def enqueue(self, *, ticket_id: int, kind: str, payload: dict[str, Any],
                now: float) -> None:
        """Queue a delivery to the 12345 channel."""
        ...


class AssetStore(Protocol):
    """Assets with expiry dates and the reminders sent for them."""

    def upsert_asset(self, *, id: str, kind: str, name: str, place: dict[str, str],
                     device_id: str | None, expires_on: date, remind_days: int | None,
                     now: float) -> None:
        """Register or update an asset with an expiry date."""
        ...

    def assets(self, asset_id: str | None = None) -> list[dict[str, Any]]:
        """Every asset (or one) with its expiry and reminder ticket."""
        ...

    def asset_of_device(self, device_id: str) -> dict[str, Any] | None:
        """The asset linked to a device (`device_id`), or None."""
        ...

    def assets_linked(self, device_id: str) -> list[str]:
        """The ids of every asset linked to a device."""
        ...

    def delete_asset(self, asset_id: str) -> bool:
        """Retire an asset; whether it existed."""
        ...

    def assets_not_reminded(self) -> list[tuple[Any, ...]]:
        """Assets whose current expiry has not been reminded of."""
        ...

    def reminded(self, asset_id: str, expires_on: str, ticket_id: int, now: float) -> None:
        """Remember a reminder."""
        ...


class AlertsAwaiting(Protocol):
    """The alerts whose ticket waits for their grace period to pass."""

    def awaiting_ticket(self, severity: str, opened_before: float, limit: int) -> list[Any]:
        """Open, unmuted alerts of `severity` raised before `opened_before` with no ticket,
        oldest first (rules.records.Alert)."""
        ...


class Tx(Protocol):
    """An open transaction handing out the workflow's repositories (the gateway's StoreTx)."""

    @property
    def tickets(self) -> TicketStore:
        """Tickets and everything around them."""
        ...

    @property
    def assets(self) -> AssetStore:
        """Assets with expiry dates, for the reminders."""
        ...

    @property
    def alerts(self) -> AlertsAwaiting:
        """Alerts, for the tickets that wait out a grace period."""
        ...
