"""What the rules engine needs from its host, as small protocols, plus the message view it reads."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel


class Clock(Protocol):
    """The injected source of time (the gateway's clock satisfies it)."""

    def time(self) -> float:
        """Seconds since the epoch."""
        ...


class Tx(Protocol):
    """An open transaction; rules keep their own tables in it (the gateway's SqliteTx)."""

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection inside the open transaction."""
        ...


class DeviceDirectory(Protocol):
    """Looks up the facts about a device that alerts carry (site, building, wearer)."""

    def subject(self, device_id: str) -> Subject | None:
        """The device's subject, or None when it is not registered."""
        ...


class ResidentDirectory(Protocol):
    """Looks up resident profile tags (六色台账), e.g. `lives_alone`."""

    def tags(self, resident_id: str) -> frozenset[str]:
        """The resident's tags; empty when unknown."""
        ...

    def safe_zones(self, resident_id: str) -> tuple[Polygon, ...]:
        """Safe zones drawn for this resident (by family or staff); empty when none."""
        ...


Polygon = tuple[tuple[float, float], ...]  # [lat, lon] corners


class NoResidents:
    """A directory that knows nobody (tests, benchmarks)."""

    def tags(self, resident_id: str) -> frozenset[str]:
        """No tags."""
        return frozenset()

    def safe_zones(self, resident_id: str) -> tuple[Polygon, ...]:
        """No zones."""
        return ()


@dataclass(slots=True, frozen=True)
class Subject:
    """The device an alert is about, with the places it belongs to."""

    device_id: str
    kind: str
    site: str = ""
    building: str = ""
    unit: str = ""
    grid: str = ""
    resident_id: str | None = None


@dataclass(slots=True)
class Message:
    """One accepted message as the rules see it; built by the gateway adapter."""

    subject: Subject
    channel: str  # telemetry, event, status
    type: str  # event type, `telemetry`, or `online`/`offline`
    payload: BaseModel | None
    ts: float  # device time, epoch seconds
    received_at: float  # gateway clock at receipt
    last_values: dict[str, Any] | None = None  # the device twin's previous telemetry
    urgent: bool = False  # an event of the kind's urgent list: never muted for its age
    skew_s: float | None = None  # device clock minus gateway clock at receipt

    @property
    def device_id(self) -> str:
        """Id of the sending device."""
        return self.subject.device_id

    @property
    def resident_id(self) -> str | None:
        """The resident concerned: named in the payload (unlock, parcel) or the device's."""
        payload = self.payload
        if payload is not None:
            for name in ("resident_id", "recipient_id"):
                value = getattr(payload, name, None)
                if value:
                    return str(value)
        return self.subject.resident_id

    def value(self, name: str) -> Any:
        """A payload field by name (None when absent)."""
        return getattr(self.payload, name, None) if self.payload is not None else None
