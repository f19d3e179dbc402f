"""Plain records the store reads and writes (kept free of any database API)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from devices.place import Place

DeviceStatus = Literal["active", "disabled", "pending"]


@dataclass(slots=True)
class DeviceRecord:
    """A registered device as the gateway keeps it in memory and in the `devices` table."""

    id: str
    kind: str
    vendor: str = ""
    model: str = ""
    codec: str = "json"
    site: str = ""
    building: str = ""
    unit: str = ""
    grid: str = ""
    resident_id: str | None = None
    install_date: str | None = None
    status: DeviceStatus = "active"
    created_at: float = 0.0
    updated_at: float = 0.0
    # When `resident_id` last changed (bound, re-bound, unbound); 0: not since it is recorded.
    bound_at: float = 0.0
    # The role that disabled it ("vendor", "operator", "admin"; "" when not known or not
    # disabled): only a vendor's own disable may be lifted by the vendor.
    disabled_by: str = ""
    # Its own silence before it counts as offline (None: its kind's).
    offline_timeout_s: float | None = None

    @property
    def disabled_by_vendor(self) -> bool:
        """Whether the device is disabled, by its vendor and by nobody else."""
        return self.status == "disabled" and self.disabled_by == "vendor"

    @property
    def holds_personal(self) -> bool:
        """Whether what the device reports is, or was, someone's (positions, vital signs)."""
        return self.resident_id is not None or self.bound_at > 0

    @property
    def installed(self) -> bool:
        """Whether an operator placed it or bound it to someone: the community's from then on."""
        return self.resident_id is not None or bool(
            self.site or self.building or self.unit or self.grid)

    @property
    def place(self) -> Place:
        """Where the device is installed."""
        return Place.of(self)

    def as_row(self) -> dict[str, Any]:
        """Column → value mapping."""
        return asdict(self)


@dataclass(slots=True)
class Twin:
    """The last known state of one device."""

    device_id: str
    online: bool = False
    online_source: str | None = None  # "status", "message", "timeout", "will"
    online_changed: float | None = None
    last_seen: float | None = None
    battery_pct: float | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    location_source: str | None = None
    location_ts: float | None = None
    last_telemetry: dict[str, Any] | None = field(default=None)


@dataclass(slots=True)
class SeqWindow:
    """The highest seq a device channel sent, a bitmap of the ones below it, and its time.

    Stored in `seq_windows` keyed by (device_id, channel prefix: "t", "e", "s", "a").
    """

    high: int
    mask: int  # bit i set: seq `high - i` was accepted (63 bits: a signed SQLite integer)
    ts: float  # device time of the message that carried `high`
    # Highest seq of the counter before it last restarted (-1: never restarted). A seq at or
    # below it may be a replay from before the restart, so the stored rows decide it.
    retired: int = -1


@dataclass(slots=True)
class DeadLetter:
    """A message the gateway refused, with why."""

    received_at: float
    topic: str
    reason: str
    detail: str
    device_id: str | None
    payload: bytes
    payload_size: int


@dataclass(slots=True)
class StoredMessage:
    """An accepted telemetry, event, status or command-ack row."""

    device_id: str
    kind: str
    channel: str
    type: str
    ts: float
    received_at: float
    seq: int | None
    stale: bool
    data: str
