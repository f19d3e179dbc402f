"""Building blocks shared by every device kind: timestamps, payload bases, kind declarations."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from devices.commands import CommandSpec
from devices.place import Place

# Epoch milliseconds between 2000-01-01 and 2200-01-01: anything else is a unit mistake
# (seconds instead of milliseconds) rather than a real time.
_MIN_EPOCH_MS = 946_684_800_000
_MAX_EPOCH_MS = 7_258_118_400_000
_MIN_TIME = datetime(2000, 1, 1, tzinfo=UTC)
_MAX_TIME = datetime(2200, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"^\s*-?\d+(\.\d*)?([eE][-+]?\d+)?\s*$")


def _type_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("timestamp_type", message)


def _range_error(what: object) -> PydanticCustomError:
    if type(what) in (int, float) and _MIN_EPOCH_MS / 1000 <= what <= _MAX_EPOCH_MS / 1000:
        return PydanticCustomError(
            "out_of_range", "ts {value} is outside 2000..2200 as epoch milliseconds; it looks "
            "like epoch seconds (send milliseconds: seconds × 1000)", {"value": str(what)[:40]})
    if type(what) in (int, float) and _MIN_EPOCH_MS * 1000 <= what <= _MAX_EPOCH_MS * 1000:
        return PydanticCustomError(
            "out_of_range", "ts {value} is outside 2000..2200 as epoch milliseconds; it looks "
            "like epoch microseconds (send milliseconds: microseconds ÷ 1000)",
            {"value": str(what)[:40]})
    return PydanticCustomError("out_of_range", "ts {value} is outside 2000..2200",
                               {"value": str(what)[:40]})


def time_zone_mixup_h(skew_s: float) -> float | None:
    """The hours a device clock is off by when that is a whole or half number of hours from 1
    to 14 (within 2 minutes): the mark of local time sent as UTC, or UTC labelled with the
    local offset (`+08:00`) — else None."""
    hours = round(skew_s / 1800) / 2
    if 1 <= abs(hours) <= 14 and abs(skew_s - hours * 3600) <= 120:
        return hours
    return None


def clock_hint(skew_s: float, *, maybe_held: bool = False) -> str:
    """What a vendor reads about a clock off by `skew_s` seconds (device minus gateway);
    `maybe_held`: a message that may have waited in the device through an outage, whose
    lateness is its age, not a clock's fault (vendor round 4: a backlog's confirmations told
    a right clock to move two hours)."""
    if maybe_held and skew_s < 0:
        return (f"this event's ts is {-skew_s:.0f} s before the gateway received it: if the "
                "device held it while offline, that is its age and the clock may be right; "
                "if it was sent as it happened, " + clock_hint(skew_s))
    way = "ahead of" if skew_s > 0 else "behind"
    text = f"the device clock is {abs(skew_s):.0f} s {way} the gateway's"
    hours = time_zone_mixup_h(skew_s)
    if hours is not None:
        text += (f" — exactly {abs(hours):g} h: a time-zone mix-up? ts must be UTC (`Z`) or "
                 "carry the offset the clock really keeps (China time is `+08:00`); local "
                 "time sent as UTC, or UTC labelled `+08:00`, is off by the zone")
    return text


def _from_ms(value: float) -> datetime:
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite_number", "ts must be a finite number")
    if not _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:
        raise _range_error(value)
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _parse_ts(value: Any) -> datetime:
    """RFC 3339 text with an offset, or epoch milliseconds, within 2000..2200 (UTC out)."""
    if type(value) is int and _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:
        # The common case first (runs for every message): epoch ms within the plausible range.
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, bool):
        raise _type_error("ts must be RFC 3339 text or epoch ms, not a boolean")
    if isinstance(value, int | float):
        return _from_ms(value)
    if isinstance(value, str):
        if _NUMBER.match(value):
            number = float(value)
            if not (math.isfinite(number) and _MIN_EPOCH_MS <= number <= _MAX_EPOCH_MS):
                raise _range_error(value)
            raise _type_error("epoch ms must be a JSON number, not text")
        try:
            # RFC 3339 allows a lowercase "t" and "z"; fromisoformat takes capitals only.
            parsed = datetime.fromisoformat(value.upper())
        except ValueError as exc:
            raise _type_error(f"ts is not RFC 3339: {exc}") from exc
        value = parsed
    if not isinstance(value, datetime):
        raise _type_error("ts must be RFC 3339 text or epoch ms")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _type_error("ts needs a UTC offset (e.g. +08:00 or Z)")
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:  # year 1 at +14:00, say
        raise _range_error(value.isoformat()) from exc
    if not _MIN_TIME <= utc < _MAX_TIME:
        raise _range_error(value.isoformat())
    return utc


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_parse_ts),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "integer", "minimum": _MIN_EPOCH_MS, "maximum": _MAX_EPOCH_MS},
            ],
            "description": "RFC 3339 with offset, or epoch milliseconds (UTC), 2000..2200",
        }
    ),
]


def _finite(value: Any) -> Any:
    """Refuse NaN, ±Infinity and integers beyond 64 bits anywhere inside free-form JSON
    (command results): the store writes JSON that other tools must read back."""
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite_number", "numbers must be finite (no NaN/Infinity)")
    if type(value) is int and not -(2**63) <= value < 2**64:
        raise PydanticCustomError("int_too_big", "integers must fit in 64 bits")
    if isinstance(value, dict):
        for item in value.values():
            _finite(item)
    elif isinstance(value, list):
        for item in value:
            _finite(item)
    return value


FiniteJson = Annotated[dict[str, Any], AfterValidator(_finite)]
# The v1 contract has strict JSON types: "71" is not a heart rate and "yes" is not a
# boolean (vendor dialects convert explicitly). No NaN or Infinity anywhere.
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


DeviceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Percent = Annotated[float, Field(ge=0, le=100)]
# A radio's signal: NB-IoT and 4G modules report RSRP with decimals (-85.5 refused a whole
# heartbeat as "not an integer", and the pole was shown offline: vendor round 5).
SignalDbm = Annotated[float, Field(ge=-140, le=0, description="Radio signal, dBm")]
# A link to a picture operators may open: only schemes that fetch one (a `javascript:` link
# was stored as a ticket attachment, vendor round 2), long enough for a signed URL (a 700-
# character one was refused, vendor round 4).
SnapshotRef = Annotated[str, Field(min_length=1, max_length=1000,
                                   pattern=r"^(?i:https?|rtsps?|nvr|ftps?)://\S+$")]
# A base64 JPEG has to fit in the gateway's default 64 KiB payload limit with room to spare.
SNAPSHOT_MAX_CHARS = 56_000
# Plain base64 of a JPEG (its first bytes FF D8 FF read "/9j/"): no `data:` prefix, no line
# breaks, not a file name — a console could not show any of those.
JPEG_BASE64 = r"^/9j/[A-Za-z0-9+/]*={0,2}$"
# The picture itself, carried by an event an operator must see (`GET /alerts/{id}/snapshot`).
SnapshotJpeg = Annotated[str, Field(max_length=SNAPSHOT_MAX_CHARS, pattern=JPEG_BASE64)]

Channel = Literal["telemetry", "event", "status", "cmd_ack"]


def lowercase(value: object) -> object:
    """A word of a closed vocabulary in any case (`4G`, `UP`, `Lying`): firmware shouts."""
    return value.lower() if isinstance(value, str) else value


# Use as `Annotated[Literal[…], ANY_CASE]`.
ANY_CASE = BeforeValidator(lowercase)
CHANNELS: tuple[Channel, ...] = ("telemetry", "event", "status", "cmd_ack")


class Payload(BaseModel):
    """Fields every device message carries: the device's time and an optional sequence."""

    model_config = STRICT
    # A model that fills a field from others (a pile's hottest socket is its `temperature_c`):
    # what it read is stored, not the bytes as sent, or the filled field would be lost there.
    STORED_AS_READ: ClassVar[bool] = False

    ts: Timestamp = Field(description="When the device produced the message (UTC)")
    seq: int | None = Field(
        None, ge=0, le=2**63 - 1, description="Per-device sequence number, used for dedup"
    )


def no_fix(location: object) -> bool:
    """Whether a location as sent is a GPS's "no fix" placeholder: lat 0 with lon 0."""
    return (isinstance(location, dict) and location.get("lat") in (0, "0", "0.0")
            and location.get("lon") in (0, "0", "0.0"))


# A cell fix claiming to be finer than this has no real radius (LBS lookups write 0 or a
# constant): read as this radius; a Wi-Fi fix of radius 0 likewise.
CELL_FIX_MIN_M = 50.0
UNKNOWN_CELL_ACCURACY_M = 1000.0
UNKNOWN_WIFI_ACCURACY_M = 100.0

class Location(BaseModel):
    """A position fix with its accuracy and where it came from."""

    model_config = STRICT

    lat: float = Field(ge=-90, le=90, description="Latitude, WGS-84 degrees")
    lon: float = Field(ge=-180, le=180, description="Longitude, WGS-84 degrees")
    accuracy_m: float = Field(
        ge=0, le=100_000, description="Radius of the 68 % confidence circle, metres"
    )
    source: Literal["gps", "wifi", "cell"] = Field(
        "gps", description="Positioning method; cell fixes are coarse"
    )

    @model_validator(mode="after")
    def _a_radius_it_can_have(self) -> Self:
        # Vendor round 10: LBS watches write 0 when the lookup gives no radius, and a cell
        # fix taken as exact raised a false wandering alarm for an elder at home (repaired:
        # devices/repair.py reads it as UNKNOWN_CELL_ACCURACY_M).
        if (self.source == "cell" and self.accuracy_m < CELL_FIX_MIN_M) or (
                self.source == "wifi" and self.accuracy_m == 0):
            raise PydanticCustomError(
                "no_radius", "a {source} fix of radius {radius} m has no real radius: send the "
                "radius the positioning service gave", {"source": self.source,
                                                        "radius": self.accuracy_m})
        return self

    @model_validator(mode="after")
    def _not_the_no_fix_placeholder(self) -> Self:
        # Cheap GPS modules report 0, 0 when they have no satellites (indoors): taken as a
        # place, it replaced the family's last good fix and raised a false wandering alarm
        # for an elder at home (vendor round 3). No community lies in the Gulf of Guinea.
        if self.lat == 0 and self.lon == 0:
            raise PydanticCustomError(
                "no_fix", "lat 0, lon 0 is a GPS without a fix, not a place: leave `location` "
                "out until there is one")
        return self


class Telemetry(Payload):
    """Base of the periodic readings of every kind."""

    battery_pct: Percent | None = Field(None, description="Battery charge, percent")
    battery_v: float | None = Field(
        None, ge=0, le=60, description="Battery voltage, V, for a device that measures volts "
        "(NB-IoT detectors: 3.0 is a full lithium cell); never in battery_pct, where 2.95 "
        "reads as an empty battery")


def _type_required(schema: dict[str, Any]) -> None:
    # Subclasses give `type` a Literal default (the vocabulary is read from it), but a device
    # must always send it: the published schema says so.
    required = schema.setdefault("required", [])
    if "type" not in required:
        required.insert(0, "type")


class Event(Payload):
    """Base of discrete events; subclasses fix `type` to one word of the kind's vocabulary."""

    model_config = ConfigDict(**STRICT, json_schema_extra=_type_required)

    type: str


class Status(BaseModel):
    """Presence: `online` when the device connects, `offline` as its MQTT will."""

    model_config = STRICT

    state: Literal["online", "offline"] = Field(description="Connection state")
    ts: Timestamp | None = Field(
        None, description="Optional; a will message is written at connect time, so it may lack one"
    )
    seq: int | None = Field(None, ge=0, le=2**63 - 1, description="Optional sequence number")


class CommandAck(BaseModel):
    """A device's answer to a command, echoing the command's `id`."""

    model_config = STRICT

    id: str = Field(min_length=1, max_length=64, description="The command id being answered")
    ok: bool = Field(description="Whether the command succeeded")
    ts: Timestamp = Field(description="When the device finished the command")
    seq: int | None = Field(None, ge=0, le=2**63 - 1, description="Optional sequence number")
    result: FiniteJson | None = Field(None, description="Command-specific result")
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
    offline_timeout_s: int | None = Field(
        None, ge=300, le=7 * 86_400,
        description="Silence after which this device is offline, seconds (default: its "
        "kind's `offline_timeout_s` setting): a battery door contact or PIR that reports "
        "only on change and checks in hourly, in a kind whose controllers beat every minute")

    @property
    def place(self) -> Place:
        """Where the device is installed."""
        return Place.of(self)


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
    # The longest silence a registration may give one of its devices (`offline_timeout_s`):
    # a battery sensor reporting on change checks in daily at the least; a mains-powered
    # device (a pole, a car, a camera) may not be set to go quiet longer than its kind
    # (red team round 10: a vendor's 7 days hid a dead alarm pole from the control room).
    own_timeout_max_s: int = 26 * 3600
    # What the gateway may send on the kind's `cmd` topic (devices/commands.py).
    command_specs: tuple[CommandSpec, ...] = ()
    # Event types that mean someone (or something) is in danger now: the gateway lets them
    # jump its ingest queue, with their own device's earlier messages.
    urgent: tuple[str, ...] = ()
    # Events confirmed on `…/event/ack` as the urgent ones are, without jumping the queue: a
    # band resends its suspected fall until told it arrived (red team round 11).
    confirmed: tuple[str, ...] = ()
    # Its readings alone may be the alarm (a gas concentration, a smoke chamber) and come
    # seldom: they travel on the event lane too and go to the front of the ingest queue, a
    # few a minute per device. A gas reading of 40 %LEL waited 16-46 s behind another
    # device's flood of readings (red team round 11). Never a kind of frequent readings
    # (a band): the lane would queue its SOS behind them.
    lane_readings: bool = False
    # Other words firmware uses for those types (`sos` on an alarm pole, `fire_alarm` on a
    # smoke detector). The contract still refuses them; only the salvage of an urgent event
    # reads them, so such a press pages (with a note) instead of being refused unconfirmed.
    urgent_aliases: tuple[tuple[str, str], ...] = ()
    # Parts of a word for an event the kind does not know that name one of its urgent types
    # (`devices.words.stems`): `卫生间跌倒`, `烟雾浓度超标`, `高空坠物` were refused, never
    # paged, however many aliases each round added (vendor round 12).
    urgent_stems: tuple[tuple[str, str, bool], ...] = ()
    # Other words for the kind's other events (`报警解除` for `alarm_cleared`): read as the
    # event and reported as a repair, like a word in another spelling.
    other_words: tuple[tuple[str, str], ...] = ()

    @property
    def commands(self) -> tuple[str, ...]:
        """Names of the commands the kind understands."""
        return tuple(c.name for c in self.command_specs)

    def command(self, name: str) -> CommandSpec | None:
        """A command of this kind by name."""
        return next((c for c in self.command_specs if c.name == name), None)

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
