"""What the rules engine needs from its host, as small protocols, plus the message view it reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from devices.place import Place

if TYPE_CHECKING:
    from rules.muting import Silence
    from rules.records import Alert, AlertChange


class Clock(Protocol):
    """The injected source of time (the gateway's clock satisfies it)."""

    def time(self) -> float:
        """Seconds since the epoch."""
        ...


class AlertStore(Protocol):
    """Alerts and their audit trail, inside the open transaction."""

    def load_open(self) -> list[Alert]:
        """Every alert that is not cleared."""
        ...

    def load_open_for(self, device_ids: list[str]) -> list[Alert]:
        """The open alerts of some devices."""
        ...

    def insert(self, alert: Alert) -> int:
        """A new alert; returns its id."""
        ...

    def update(self, alert: Alert) -> None:
        """Write every field of an existing alert."""
        ...

    def update_many(self, alerts: list[Alert]) -> None:
        """Write several alerts at once."""
        ...

    def audit(self, change: AlertChange) -> None:
        """Record a transition with its actor and time."""
        ...

    def openings_since(self, rule_id: str, device_id: str, since: float) -> int:
        """How many alerts of (rule, device) opened at or after `since`."""
        ...


class SilenceStore(Protocol):
    """Silences, inside the open transaction."""

    def active(self, now: float) -> list[Silence]:
        """Silences neither ended nor expired."""
        ...

    def add(self, *, device_id: str | None, rule_id: str | None, site: str | None,
            starts_at: float, expires_at: float, author: str, reason: str,
            now: float) -> int:
        """A new silence; returns its id."""
        ...

    def end(self, silence_id: int, actor: str, at: float) -> None:
        """Mark a silence ended."""
        ...


StateRow = tuple[str, str, dict[str, Any], float | None]  # rule_id, device_id, data, due
ThresholdRow = tuple[str, int, str, dict[str, float]]  # rule_id, index, signal, operands


class RuleStateStore(Protocol):
    """Per (rule, device) condition state and operators' rule switches."""

    def load(self) -> list[StateRow]:
        """Every stored state."""
        ...

    def load_for(self, device_ids: list[str]) -> list[StateRow]:
        """The stored states of some devices."""
        ...

    def save(self, upserts: list[StateRow], deletes: list[tuple[str, str]],
             now: float) -> None:
        """Write changed states and drop empty ones."""
        ...

    def switches(self) -> dict[str, bool]:
        """Rule id → switched on."""
        ...

    def set_switch(self, rule_id: str, enabled: bool, actor: str, at: float,
                   reason: str) -> None:
        """Remember an operator's switch."""
        ...

    def thresholds(self) -> list[ThresholdRow]:
        """Every stored threshold change."""
        ...

    def set_threshold(self, rule_id: str, index: int, signal: str, values: dict[str, float],
                      actor: str, at: float, reason: str) -> None:
        """Remember a threshold change (empty `values`: back to the rule file's)."""
        ...


class Tx(Protocol):
    """An open transaction handing out the rules' repositories (the gateway's StoreTx)."""

    @property
    def alerts(self) -> AlertStore:
        """Alerts and their audit trail."""
        ...

    @property
    def silences(self) -> SilenceStore:
        """Silences."""
        ...

    @property
    def rule_state(self) -> RuleStateStore:
        """Condition state and rule switches."""
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
    offline_timeout_s: float | None = None  # its own silence before offline (None: its kind's)

    @property
    def place(self) -> Place:
        """Where the device is."""
        return Place.of(self)


# Event fields saying how long the reported condition had lasted when the event was sent (a
# radar's `stay_s`, an elevator car's `stopped_s`: vendor round 8).
LASTED_FIELDS: tuple[str, ...] = ("dwell_s", "open_s", "stay_s", "stopped_s", "away_s")
# Events that report a condition's end: a `dwell_s` there is how long it had lasted before
# `ts`, not after it.
ENDING_EVENTS = frozenset(("fire_lane_cleared",))
# Evidence an alert keeps of the event that raised it: small values only. A picture, a track
# or a location stays in the stored event (read from there when asked for), not on every alert.
EVIDENCE_TEXT_MAX = 200
# A link to a picture is kept whole (a cut signed URL opens nothing): as long as the longest
# a device kind accepts.
EVIDENCE_REF_MAX = 1000
_NOT_EVIDENCE = frozenset(("ts", "seq", "type"))


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
    # An urgent event kept although its payload broke the contract: what was wrong with it.
    salvaged: str | None = None
    # The gateway's own note that the payload named another registered device, and where
    # (staff only; kept apart from `salvaged`, which echoes the payload's words).
    claim: str | None = None

    @property
    def device_id(self) -> str:
        """Id of the sending device."""
        return self.subject.device_id

    @property
    def current_at(self) -> float:
        """Until when the message describes the present: its `ts`, moved on by how long the
        condition it reports had lasted (a lane blocked `dwell_s`, a door open `open_s`, a
        stay in the bathroom `stay_s`) —
        firmware that stamps such an event when the condition began is not stale for it."""
        lasted = 0.0
        payload = self.payload
        if payload is not None and self.type not in ENDING_EVENTS:
            for name in LASTED_FIELDS:
                value = getattr(payload, name, None)
                if isinstance(value, int | float) and value > 0:
                    lasted = float(value)
                    break
        return self.ts + lasted

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

    def evidence(self) -> dict[str, Any] | None:
        """What an event said, for the alert it raises: its type and device time, its scalar
        fields (text cut short), and `snapshot: true` when it carried a picture."""
        payload = self.payload
        if self.channel != "event" or payload is None:
            return None
        out: dict[str, Any] = {"type": self.type, "ts": self.ts}
        for name, value in payload.__dict__.items():
            if value is None or name in _NOT_EVIDENCE:
                continue
            if isinstance(value, str):
                if name.endswith("_b64"):
                    out["snapshot"] = True
                else:
                    out[name] = value[:EVIDENCE_REF_MAX if name.endswith("_ref")
                                      else EVIDENCE_TEXT_MAX]
            elif isinstance(value, bool | int | float):
                out[name] = value
        return out

    def value(self, name: str) -> Any:
        """A payload field by name (None when absent)."""
        return getattr(self.payload, name, None) if self.payload is not None else None
