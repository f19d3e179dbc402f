"""Building blocks shared by every device kind: timestamps, payload bases, kind declarations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

# Epoch milliseconds between 2000-01-01 and 2200-01-01: anything else is a unit mistake
# (seconds instead of milliseconds) rather than a real time.
_MIN_EPOCH_MS = 946_684_800_000
_MAX_EPOCH_MS = 7_258_118_400_000


def _coerce_ts(value: Any) -> Any:
    if type(value) is int and _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:
        # The common case first (runs for every message): epoch ms within the plausible range.
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, bool):
        raise PydanticCustomError("timestamp_type", "ts must be RFC 3339 text or epoch ms")
    if isinstance(value, int | float):
        if not _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:
            raise PydanticCustomError(
                "out_of_range", "epoch ms {value} is outside 2000..2200", {"value": value}
            )
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return value


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_coerce_ts),
    AfterValidator(_to_utc),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "integer", "minimum": _MIN_EPOCH_MS, "maximum": _MAX_EPOCH_MS},
            ],
            "description": "RFC 3339 with offset, or epoch milliseconds (UTC)",
        }
    ),
]

DeviceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Percent = Annotated[float, Field(ge=0, le=100)]

Channel = Literal["telemetry", "event", "status", "cmd_ack"]
CHANNELS: tuple[Channel, ...] = ("telemetry", "event", "status", "cmd_ack")


class Payload(BaseModel):
    """Fields every device message carries: the device's time and an optional sequence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ts: Timestamp = Field(description="When the device produced the message (UTC)")
    seq: int | None = Field(
        None, ge=0, le=2**63 - 1, description="Per-device sequence number, used for dedup"
    )


class Location(BaseModel):
    """A position fix with its accuracy and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float = Field(ge=-90, le=90, description="Latitude, WGS-84 degrees")
    lon: float = Field(ge=-180, le=180, description="Longitude, WGS-84 degrees")
    accuracy_m: float = Field(
        ge=0, le=100_000, description="Radius of the 68 % confidence circle, metres"
    )
    source: Literal["gps", "wifi", "cell"] = Field(
        "gps", description="Positioning method; cell fixes are coarse"
    )


class Telemetry(Payload):
    """Base of the periodic readings of every kind."""

    battery_pct: Percent | None = Field(None, description="Battery charge, percent")


class Event(Payload):
    """Base of discrete events; subclasses fix `type` to one word of the kind's vocabulary."""

    type: str


class Status(BaseModel):
    """Presence: `online` when the device connects, `offline` as its MQTT will."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: Literal["online", "offline"] = Field(description="Connection state")
    ts: Timestamp | None = Field(
        None, description="Optional; a will message is written at connect time, so it may lack one"
    )
    seq: int | None = Field(None, ge=0, le=2**63 - 1, description="Optional sequence number")


class CommandAck(BaseModel):
    """A device's answer to a command, echoing the command's `id`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64, description="The command id being answered")
    ok: bool = Field(description="Whether the command succeeded")
    ts: Timestamp = Field(description="When the device finished the command")
    seq: int | None = Field(None, ge=0, le=2**63 - 1, description="Optional sequence number")
    result: dict[str, Any] | None = Field(None, description="Command-specific result")
    error: str | None = Field(None, max_length=500, description="Why it failed, when ok=false")


class DeviceConfig(BaseModel):
    """Registration record of a device; each kind subclasses it with `kind: Literal[KEY]`."""

    model_config = ConfigDict(extra="forbid")

    id: DeviceId = Field(description="Device id; also its MQTT username")
    kind: str
    vendor: str = Field("", max_length=64, description="Manufacturer")
    model: str = Field("", max_length=64, description="Model name")
    codec: str = Field("json", description="Payload codec: 'json' (our contract) or a vendor's")
    site: str = Field("", max_length=64, description="Community / compound the device is in")
    building: str = Field("", max_length=64, description="Building (楼栋)")
    unit: str = Field("", max_length=64, description="Stairwell unit (单元)")
    grid: str = Field("", max_length=64, description="Grid cell (网格) responsible for the place")
    resident_id: str | None = Field(None, max_length=64, description="Resident the device serves")
    install_date: str | None = Field(
        None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="Installation date, YYYY-MM-DD"
    )


@dataclass(frozen=True)
class DeviceKind:
    """Declaration of one device kind: its key, names, payload models and defaults."""

    key: str
    name_zh: str
    name_en: str
    config: type[DeviceConfig]
    telemetry: type[Telemetry]
    events: tuple[type[Event], ...]
    offline_timeout_s: int
    description: str = ""
    commands: tuple[str, ...] = ()  # names the gateway may send on the kind's `cmd` topic
    # Event types that mean someone (or something) is in danger now: the gateway lets them
    # jump its ingest queue, with their own device's earlier messages.
    urgent: tuple[str, ...] = ()

    def vocabulary(self) -> tuple[str, ...]:
        """The closed list of event type words this kind may send."""
        return tuple(_event_type(model) for model in self.events)

    def signals(self) -> tuple[str, ...]:
        """Telemetry field names a threshold rule may watch."""
        skip = {"ts", "seq"}
        return tuple(name for name in self.telemetry.model_fields if name not in skip)


def _event_type(model: type[Event]) -> str:
    default = model.model_fields["type"].default
    if not isinstance(default, str):
        raise TypeError(f"{model.__name__}.type needs a Literal default")
    return default
